"""Helpers shared by several test modules."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from tests.conftest import backtesting_csv

FINISHED = ("done", "failed", "cancelled", "interrupted")


def wait_for_job(client: Any, job_id: str, statuses: tuple[str, ...] = FINISHED, timeout: float = 120.0) -> dict:
    """The job's record (through a Flask test client) once its status is one of ``statuses``."""
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/api/jobs/{job_id}").json
        if job["status"] in statuses:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {job['status']} after {timeout} s")
        time.sleep(0.2)


def goog_home(folder: Path) -> Path:
    """A BACKTUNE_HOME whose data folder holds GOOG.csv, for requests by ``csvPath``."""
    (folder / "data").mkdir()
    shutil.copy(backtesting_csv("GOOG"), folder / "data" / "GOOG.csv")
    return folder
