"""Helpers shared by test modules (fixtures stay in conftest.py)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import backtesting_csv

FINISHED = ("done", "failed", "cancelled", "interrupted")
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


def playwright_or_skip() -> Any:
    """Playwright's sync API, or the calling test module skipped with the reason."""
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)
    return pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")


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


def assert_api_error(response: Any, status: int, field: str | None, code: str | None = None) -> dict[str, Any]:
    """The API's error shape, with the status, the field and (if given) the code expected."""
    body = response.get_json() if hasattr(response, "get_json") else response.json()
    assert response.status_code == status if hasattr(response, "status_code") else response.status == status, body
    error = body["error"]
    assert error["field"] == field and error["message"], error
    if code is not None:
        assert error["code"] == code, error
    return error
