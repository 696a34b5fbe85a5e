"""Helpers shared by test modules (fixtures stay in conftest.py)."""

from __future__ import annotations

import time
from typing import Any

FINISHED = ("done", "failed", "cancelled", "interrupted")


def wait_for_job(client: Any, job_id: str, statuses: tuple[str, ...] = FINISHED, timeout: float = 120.0) -> dict:
    """Poll a job through Flask's test client until it reaches one of ``statuses``."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        job = client.get(f"/api/jobs/{job_id}").json
        if job["status"] in statuses:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still {job['status']} after {timeout} s")


def assert_api_error(response: Any, status: int, field: str | None, code: str | None = None) -> dict[str, Any]:
    """The API's error shape, with the status, the field and (if given) the code expected."""
    body = response.get_json() if hasattr(response, "get_json") else response.json()
    assert response.status_code == status if hasattr(response, "status_code") else response.status == status, body
    error = body["error"]
    assert error["field"] == field and error["message"], error
    if code is not None:
        assert error["code"] == code, error
    return error
