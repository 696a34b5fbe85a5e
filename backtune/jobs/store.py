"""Reading and changing job state on disk, safely from many processes at once.

Linux and macOS only: the lock is ``fcntl.flock``, as is the journal's
(``backtune.optimize.storage``; README, "Platforms").
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backtune.files import exclusive_lock
from backtune.optimize.rundir import RunDir

QUEUED, RUNNING, DONE = "queued", "running", "done"
FAILED, CANCELLED, INTERRUPTED = "failed", "cancelled", "interrupted"
ACTIVE = (QUEUED, RUNNING)
FINISHED = (DONE, FAILED, CANCELLED, INTERRUPTED)


@dataclass(frozen=True)
class JobStore:
    """All jobs under ``runs_dir``; every state change happens under one file lock."""

    runs_dir: Path

    def locked(self) -> AbstractContextManager[None]:
        """Serialises scheduling and state changes across gunicorn workers and coordinators."""
        return exclusive_lock(self.runs_dir / ".lock")

    def run(self, job_id: str) -> RunDir | None:
        """The job's run directory, or None for an id that is unknown or not a safe name."""
        if not job_id or "/" in job_id or job_id.startswith("."):
            return None
        run = RunDir(self.runs_dir / job_id)
        return run if run.state_file.is_file() else None

    def all(self) -> list[RunDir]:
        """Every job, oldest first."""
        if not self.runs_dir.is_dir():
            return []
        return sorted((RunDir(p.parent) for p in self.runs_dir.glob("*/state.json")), key=lambda r: r.run_id)

    def state(self, run: RunDir) -> dict[str, Any]:
        return run.read_json(run.state_file)

    def queued(self) -> list[RunDir]:
        """Queued jobs in the order they will start."""
        jobs = [(self.state(r), r) for r in self.all()]
        return [
            r
            for s, r in sorted(
                ((s, r) for s, r in jobs if s["status"] == QUEUED), key=lambda item: item[0].get("queued_at", 0.0)
            )
        ]

    def running(self) -> list[RunDir]:
        return [r for r in self.all() if self.state(r)["status"] == RUNNING]


def process_alive(pid: int | None, run_id: str | None = None) -> bool:
    """True when process ``pid`` exists and, given ``run_id``, has it on its command line
    (a coordinator does; this guards against a reused pid)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if run_id is None:
        return True
    try:
        return run_id.encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True
