"""The optimisation API over real HTTP, against gunicorn with two workers, as deployed.

tests/test_api_jobs.py checks the same flows through Flask's test client, inside one
process. Here requests land on either of two web worker processes, jobs run in detached
coordinators, and the server is killed and restarted mid-run, so what is checked is what
only a deployment has: state shared through the run directories, long requests on
threads, uploads through a real HTTP parser, and jobs that outlive their web server.

The server runs with the settings the Docker image uses where they matter (the journal
on a volume, BACKTUNE_JOURNAL_DIR), one job at a time and a 1 MB upload limit.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from backtune.jobs.store import FINISHED
from tests.conftest import backtesting_csv
from tests.helpers import BAD_REQUESTS, long_job_with_trials, make_home, server_env
from tests.live_server import LiveServer

pytestmark = pytest.mark.e2e

GOOG = backtesting_csv("GOOG").read_bytes()
OVER_1MB = GOOG * (2**20 // len(GOOG) + 1)  # BACKTUNE_MAX_UPLOAD_MB is 1 here
SMALL_SPACE = {"param_ranges": {"n1": [5, 20, 1], "n2": [30, 80, 5]}, "enabled_params": ["n1", "n2"]}


@pytest.fixture(scope="module")
def live_home(tmp_path_factory) -> Path:
    return make_home(tmp_path_factory.mktemp("e2e") / "home")


@pytest.fixture(scope="module")
def live_env(live_home: Path) -> dict[str, str]:
    return server_env(live_home)


def test_upload_then_optimise_by_dataset_id_with_progress_results_and_dashboard(server):
    windows_export = GOOG.replace(b"\n", b"\r\n")  # not byte-equal to the GOOG sample already in the store
    uploaded = server.post_form("/api/datasets", {}, {"file": ("goog.csv", windows_export)})
    assert uploaded.status == 201, uploaded.json()
    dataset_id = uploaded.json()["id"]
    assert uploaded.headers["Location"] == f"/api/datasets/{dataset_id}"
    again = server.post_form("/api/datasets", {}, {"file": ("again.csv", windows_export)})
    assert again.status == 200 and again.json()["id"] == dataset_id

    response = server.post_json(
        "/api/optimize",
        {
            "strategy": "sma_cross",
            "dataset": dataset_id,
            "worker_processes": 2,
            "optuna_sampler": "random",
            # A time budget, so the run lasts long enough for polls to see it progress: a
            # trial budget of hundreds ends between two polls on a quiet machine.
            "optuna_budget_mode": "time",
            "optuna_time_limit": 4,
            **SMALL_SPACE,
        },
    )
    assert response.status == 202, response.json()
    job_id = response.json()["job_id"]
    assert response.headers["Location"] == f"/api/jobs/{job_id}"

    done_counts = []
    deadline = time.monotonic() + 120
    while (job := server.get(f"/api/jobs/{job_id}").json())["status"] not in FINISHED:
        assert time.monotonic() < deadline, server.log_tail()
        done_counts.append((job["progress"] or {}).get("done") or 0)
        time.sleep(0.1)
    assert job["status"] == "done", job.get("error")
    assert done_counts == sorted(done_counts), done_counts
    total = job["summary"]["trials"]["total"]
    assert total >= 5 and job["progress"]["workers"]
    assert any(0 < n < total for n in done_counts), f"no progress seen while it ran: {done_counts}"

    results = server.get(f"/api/jobs/{job_id}/results?limit=5").json()
    assert results["total"] == total and [r["rank"] for r in results["results"]] == [1, 2, 3, 4, 5]
    csv = server.get(f"/api/jobs/{job_id}/results?format=csv")
    assert csv.status == 200 and csv.headers["Content-Type"].startswith("text/csv")
    assert csv.body.startswith(b"# Metadata") and job_id in csv.headers["Content-Disposition"]

    page = server.get(job["links"]["dashboard"])
    assert page.status == 200 and page.headers["Content-Type"].startswith("text/html")
    assert server.get("/dashboard").status == 200
    studies = {s["study_name"]: s["study_id"] for s in server.get("/api/studies").json()["study_summaries"]}
    study = server.get(f"/api/studies/{studies[job_id]}")
    assert study.status == 200 and len(study.json()["trials"]) == job["summary"]["trials"]["total"]


def test_multipart_upload_with_config_string_and_warmup_bars_waits_for_results(server):
    config = {
        "worker_processes": 2,
        "optuna_n_trials": 12,
        "optuna_sampler": "random",
        "enabled_params": ["n1"],
        "fixed_params": {"n2": 60, "dateFilter": True, "start": "2008-01-01", "end": "2012-12-31"},
    }
    response = server.post_form(
        "/api/optimize?wait=true",
        {"strategy": "sma_cross", "warmupBars": "100", "config": json.dumps(config)},
        {"file": ("goog daily.csv", GOOG)},
        timeout=120,
    )
    assert response.status == 200, response.json()
    body = response.json()
    assert body["status"] == "done" and body["total"] >= 12
    assert all(r["params"]["n2"] == 60 for r in body["results"])
    job = server.get(f"/api/jobs/{body['job_id']}").json()
    assert job["config"]["window"] == {"start": "2008-01-01", "end": "2012-12-31", "warmup_bars": 100}
    assert job["config"]["workers"] == 2


def test_cancel_a_running_job_then_resume_it(server):
    job_id = long_job_with_trials(server)
    asked = time.monotonic()
    cancelled = server.delete(f"/api/jobs/{job_id}")
    assert cancelled.status == 200 and time.monotonic() - asked < 6
    assert cancelled.json()["status"] == "cancelled"
    kept = cancelled.json()["summary"]["trials"]["total"]
    assert kept >= 5 and server.get(f"/api/jobs/{job_id}/results").json()["total"] > 0

    resumed = server.post_json(f"/api/jobs/{job_id}/resume", {"trials": 6})
    assert resumed.status == 202 and resumed.headers["Location"] == f"/api/jobs/{job_id}"
    job = server.wait_for_job(job_id)
    assert job["status"] == "done" and 6 <= job["summary"]["trials"]["total"] - kept <= 7  # overshoot: workers - 1
    assert server.delete(f"/api/jobs/{job_id}").status == 409


def test_a_restart_mid_run_leaves_the_job_interrupted_with_its_trials_and_resumable(tmp_path):
    home = make_home(tmp_path / "home")
    server = LiveServer(home, **server_env(home))
    try:
        job_id = long_job_with_trials(server.start())
        # The container goes away: the web server and the job's processes die at once.
        server.kill()
        server.kill_coordinators()
        server.start()

        job = server.get(f"/api/jobs/{job_id}").json()
        assert job["status"] == "interrupted"
        kept = job["summary"]["trials"]["total"]
        assert kept >= 5 and job["summary"]["trials"]["running"] == 0
        assert server.get(f"/api/jobs/{job_id}/results").json()["total"] > 0
        assert server.post_json(f"/api/jobs/{job_id}/resume", {"trials": 4}).status == 202
        resumed = server.wait_for_job(job_id)
        assert resumed["status"] == "done" and 4 <= resumed["summary"]["trials"]["total"] - kept <= 5
    finally:
        server.stop()


def one_per_field(cases: list[tuple]) -> list[tuple]:
    """The first case for each (status, field): every validation path of the table, once."""
    firsts: dict[tuple, tuple] = {}
    for case in cases:
        firsts.setdefault(case[1:], case)
    return list(firsts.values())


@pytest.mark.parametrize("change, status, field", one_per_field(BAD_REQUESTS))
def test_bad_optimize_requests_get_a_4xx_naming_the_field(server, change, status, field):
    body = {"strategy": "sma_cross", "csvPath": "GOOG.csv", "optuna_n_trials": 5, **change}
    body = {k: v for k, v in body.items() if v is not None or k == "strategy"}
    response = server.post_json("/api/optimize", body)
    assert response.status == status, response.json()
    error = response.json()["error"]
    assert error["field"] == field and error["message"] and error["code"]


BAD_BODIES = {
    "oversize upload": (lambda s: s.post_form("/api/datasets", {}, {"file": ("big.csv", OVER_1MB)}), 413, "file"),
    "oversize optimise upload": (
        lambda s: s.post_form("/api/optimize", {"strategy": "sma_cross"}, {"file": ("big.csv", OVER_1MB)}),
        413,
        "file",
    ),
    "not a CSV": (
        lambda s: s.post_form("/api/datasets", {}, {"file": ("chart.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR")}),
        400,
        "file",
    ),
    "text, not a table": (
        lambda s: s.post_form("/api/datasets", {}, {"file": ("notes.csv", b"hello\nworld\n")}),
        400,
        "file",
    ),
    "empty file": (lambda s: s.post_form("/api/datasets", {}, {"file": ("empty.csv", b"")}), 400, "file"),
    "no file part": (lambda s: s.post_form("/api/datasets", {"name": "x"}), 400, "file"),
    "malformed JSON": (
        lambda s: s.request("POST", "/api/optimize", b"{oops", {"Content-Type": "application/json"}),
        400,
        "body",
    ),
    "config not JSON": (
        lambda s: s.post_form("/api/optimize", {"strategy": "sma_cross", "csvPath": "GOOG.csv", "config": "{oops"}),
        400,
        "config",
    ),
    "plain text body": (
        lambda s: s.request("POST", "/api/optimize", b"x", {"Content-Type": "text/plain"}),
        415,
        "body",
    ),
    "unknown job": (lambda s: s.get("/api/jobs/nope"), 404, "job_id"),
    "resume an unknown job": (lambda s: s.post_json("/api/jobs/nope/resume", {"trials": 3}), 404, "job_id"),
}


@pytest.mark.parametrize("send, status, field", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_bad_uploads_and_bodies_get_a_4xx_naming_the_field(server, send, status, field):
    response = send(server)
    assert response.status == status, response.body[:300]
    error = response.json()["error"]
    assert error["field"] == field and error["message"] and error["code"]
