"""Web settings from environment variables, with the defaults documented in docs/deployment.md."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from backtune.optimize.storage_url import StorageUrlError, parse_storage


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
    trusted_origins: tuple[str, ...] = ()
    max_trials: int = 100_000
    max_run_s: float = 86_400.0
    max_json_kb: int = 1_024
    database_url: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ, overrides: Mapping[str, Any] | None = None) -> Settings:
        """Environment first, then ``overrides`` (the app factory's config); folders that are
        not given are derived from the effective home, so overriding ``home`` moves them all."""
        given = dict(overrides or {})
        unknown = set(given) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")

        def pick(name: str, variable: str, default: Any) -> Any:
            return given[name] if name in given else env.get(variable, default)

        home = Path(pick("home", "BACKTUNE_HOME", Path.cwd() / "var")).resolve()
        data_dir = Path(pick("data_dir", "BACKTUNE_DATA_DIR", home / "data")).resolve()
        origins = pick("trusted_origins", "BACKTUNE_TRUSTED_ORIGINS", "")
        roots = pick("csv_roots", "BACKTUNE_CSV_ROOTS", str(data_dir))
        if isinstance(roots, str):
            roots = [p for p in roots.split(os.pathsep) if p]
        return cls(
            home=home,
            data_dir=data_dir,
            runs_dir=Path(pick("runs_dir", "BACKTUNE_RUNS_DIR", home / "runs")).resolve(),
            max_upload_mb=int(pick("max_upload_mb", "BACKTUNE_MAX_UPLOAD_MB", cls.max_upload_mb)),
            max_jobs=int(pick("max_jobs", "BACKTUNE_MAX_JOBS", cls.max_jobs)),
            max_workers=int(pick("max_workers", "BACKTUNE_MAX_WORKERS", cls.max_workers)),
            csv_roots=tuple(Path(p).resolve() for p in roots),
            api_token=pick("api_token", "BACKTUNE_API_TOKEN", None) or None,
            wait_limit_s=float(pick("wait_limit_s", "BACKTUNE_WAIT_LIMIT_S", cls.wait_limit_s)),
            trusted_origins=tuple(origins.replace(",", " ").split()) if isinstance(origins, str) else tuple(origins),
            max_trials=int(pick("max_trials", "BACKTUNE_MAX_TRIALS", cls.max_trials)),
            max_run_s=float(pick("max_run_s", "BACKTUNE_MAX_RUN_S", cls.max_run_s)),
            max_json_kb=int(pick("max_json_kb", "BACKTUNE_MAX_JSON_KB", cls.max_json_kb)),
            database_url=_database_url(pick("database_url", "BACKTUNE_DATABASE_URL", None)),
        )

    def ensure_dirs(self) -> None:
        for folder in (self.data_dir, self.runs_dir):
            folder.mkdir(parents=True, exist_ok=True)


def _database_url(text: str | None) -> str | None:
    """Where web jobs keep their live study when remote workers are to join them: a database
    URL (``backtune.optimize.storage_url``), never a journal path, checked at start-up."""
    if not text:
        return None
    if not parse_storage(text, "BACKTUNE_DATABASE_URL").is_database:
        raise StorageUrlError(
            "BACKTUNE_DATABASE_URL",
            "expected a database URL such as postgresql+psycopg://user@host:5432/db, not a file path",
        )
    return text
