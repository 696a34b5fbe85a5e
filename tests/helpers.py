"""Helpers shared by test modules (so test modules never import each other)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

FINISHED = ("done", "failed", "cancelled", "interrupted")


def finished_job(client, body: dict, timeout: float = 120.0) -> str:
    """Submit an optimisation through the API's test client and wait for it to finish; its id."""
    response = client.post("/api/optimize", json=body)
    assert response.status_code == 202, response.json
    job_id = response.json["job_id"]
    deadline = time.time() + timeout
    while (status := client.get(f"/api/jobs/{job_id}").json["status"]) not in FINISHED:
        assert time.time() < deadline, f"job {job_id} still {status} after {timeout} s"
        time.sleep(0.2)
    assert status == "done", status
    return job_id


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


def playwright_or_skip():
    """Playwright's sync API, or skip the calling test module when the browser or the package is missing."""
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)
    return pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
