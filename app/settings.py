"""Web settings from environment variables, with the defaults documented in docs/deployment.md."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Mapping


@dataclass(frozen=True)
class Settings:
    home: Path
    data_dir: Path
    runs_dir: Path
    max_upload_mb: int = 200
    max_jobs: int = 1
    max_workers: int = os.cpu_count() or 1
    csv_roots: tuple[Path, ...] = ()
    api_token: str | None = None
    wait_limit_s: float = 300.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ, overrides: Mapping[str, Any] | None = None) -> "Settings":
        home = Path(env.get("BACKTUNE_HOME", Path.cwd() / "var")).resolve()
        data_dir = Path(env.get("BACKTUNE_DATA_DIR", home / "data")).resolve()
        settings = cls(
            home=home,
            data_dir=data_dir,
            runs_dir=Path(env.get("BACKTUNE_RUNS_DIR", home / "runs")).resolve(),
            max_upload_mb=int(env.get("BACKTUNE_MAX_UPLOAD_MB", cls.max_upload_mb)),
            max_jobs=int(env.get("BACKTUNE_MAX_JOBS", cls.max_jobs)),
            max_workers=int(env.get("BACKTUNE_MAX_WORKERS", cls.max_workers)),
            csv_roots=tuple(Path(p).resolve() for p in env.get("BACKTUNE_CSV_ROOTS", str(data_dir)).split(os.pathsep)
                            if p),
            api_token=env.get("BACKTUNE_API_TOKEN") or None,
            wait_limit_s=float(env.get("BACKTUNE_WAIT_LIMIT_S", cls.wait_limit_s)),
        )
        if overrides:
            known = {f.name for f in fields(cls)}
            settings = replace(settings, **{k: v for k, v in overrides.items() if k in known})
        return settings

    def ensure_dirs(self) -> None:
        for folder in (self.data_dir, self.runs_dir):
            folder.mkdir(parents=True, exist_ok=True)
