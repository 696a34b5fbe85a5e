"""A run directory: everything one optimisation run owns, under one safe, unique name."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backtune.files import atomic_writer

RUN_ID_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-")
# The state of a run directory that is set up but not yet queued (web jobs) or started.
PREPARED = "prepared"


def new_run_id(strategy: str) -> str:
    """Sortable by start time, unique, and safe as a file name and a URL segment."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    slug = "".join(c if c in RUN_ID_CHARS else "-" for c in strategy.lower())[:24]
    return f"{stamp}-{slug}-{secrets.token_hex(3)}"


@dataclass(frozen=True)
class RunDir:
    path: Path

    @property
    def run_id(self) -> str:
        return self.path.name

    @property
    def config_file(self) -> Path:
        return self.path / "run.json"

    @property
    def state_file(self) -> Path:
        return self.path / "state.json"

    @property
    def sqlite(self) -> Path:
        return self.path / "study.db"

    @property
    def live_sqlite(self) -> Path:
        return self.path / "live.db"

    @property
    def results_file(self) -> Path:
        return self.path / "results.json"

    @property
    def results_csv(self) -> Path:
        return self.path / "results.csv"

    @property
    def log_file(self) -> Path:
        return self.path / "run.log"

    @property
    def stop_file(self) -> Path:
        return self.path / "STOP"

    @property
    def bars_dir(self) -> Path:
        return self.path / "bars"

    @property
    def workers_dir(self) -> Path:
        return self.path / "workers"

    @property
    def kept_journal(self) -> Path:
        return self.path / "journal.log"

    def worker_status(self, index: int) -> Path:
        return self.workers_dir / f"worker-{index}.json"

    def request_stop(self) -> None:
        """Workers look for this file between trials; creating it is the whole cancel protocol."""
        self.stop_file.touch()

    def withdraw_stop(self) -> None:
        """Forget an earlier cancel, before the run is resumed."""
        self.stop_file.unlink(missing_ok=True)

    @property
    def stop_requested(self) -> bool:
        return self.stop_file.exists()

    def update_state(self, **changes: Any) -> dict[str, Any]:
        """Read-modify-write of state.json (callers that race take the job store's lock)."""
        state = self.read_json(self.state_file) if self.state_file.exists() else {}
        state.update(changes, updated=time.time())
        self.write_json(self.state_file, state)
        return state

    def read_json(self, path: Path) -> dict[str, Any]:
        return json.loads(path.read_text(encoding="utf-8"))

    def write_json(self, path: Path, data: Any) -> None:
        """Atomic, so a reader (another process, the web app) never sees half a file."""
        with atomic_writer(path) as out:
            out.write(json.dumps(data, indent=2, default=str).encode("utf-8"))
