"""Helpers shared by test modules (so test modules never import each other)."""

from __future__ import annotations

import time

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
