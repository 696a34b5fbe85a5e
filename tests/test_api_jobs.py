"""The optimisation API with real coordinator processes, through Flask's test client.

(tests/test_e2e_gunicorn.py repeats the main flows over HTTP against gunicorn.)
"""

from __future__ import annotations

import io
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import optuna
import pytest

from app import create_app
from tests.conftest import backtesting_csv
from tests.helpers import BAD_REQUESTS, goog_home, wait_for_job


@pytest.fixture()
def home(tmp_path: Path) -> Path:
    return goog_home(tmp_path)


@pytest.fixture()
def app_settings(home: Path) -> dict[str, Any]:
    return {"home": str(home), "max_jobs": 1, "max_workers": 2}


def submit(client, **options):
    body = {
        "strategy": "sma_cross",
        "csvPath": "GOOG.csv",
        "worker_processes": 2,
        "optuna_sampler": "random",
        "optuna_n_trials": 20,
        **options,
    }
    response = client.post("/api/optimize", json=body)
    assert response.status_code == 202, response.json
    return response


wait_for = wait_for_job


@pytest.mark.slow
def test_json_request_runs_to_ranked_results_csv_and_trial_detail(client):
    response = submit(client, param_ranges={"n1": [5, 20, 1], "n2": [30, 80, 5]}, enabled_params=["n1", "n2"])
    job_id = response.json["job_id"]
    assert response.headers["Location"] == f"/api/jobs/{job_id}"
    assert set(response.json["links"]) >= {"self", "results", "dashboard"}
    job = wait_for(client, job_id)
    assert job["status"] == "done" and job["summary"]["trials"]["total"] >= 20
    assert job["progress"]["done"] >= 20 and job["progress"]["trials_per_s"] > 0

    results = client.get(f"/api/jobs/{job_id}/results").json
    assert results["total"] == job["summary"]["trials"]["total"] and results["results"][0]["rank"] == 1
    scores = [r["score"] for r in results["results"] if r["rank"] is not None]
    assert scores == sorted(scores, reverse=True)
    first = results["results"][0]
    assert set(first) >= {"rank", "number", "params", "metrics", "score", "state"}
    assert 5 <= first["params"]["n1"] <= 20 and 30 <= first["params"]["n2"] <= 80

    by_drawdown = client.get(f"/api/jobs/{job_id}/results?sort=max_drawdown_pct&order=asc&limit=5&offset=2").json
    drawdowns = [r["metrics"]["max_drawdown_pct"] for r in by_drawdown["results"]]
    assert len(drawdowns) == 5 and drawdowns == sorted(drawdowns)

    csv = client.get(f"/api/jobs/{job_id}/results?format=csv")
    assert csv.mimetype == "text/csv" and csv.data.startswith(b"# Metadata")

    trial = client.get(f"/api/jobs/{job_id}/trials/{first['number']}").json
    assert trial["metrics"]["total_trades"] == len(trial["trades"])
    assert trial["equity"][-1][1] == pytest.approx(10_000 * (1 + first["metrics"]["net_profit_pct"] / 100))
    listed = client.get("/api/jobs").json
    assert listed["jobs"][0]["job_id"] == job_id and listed["jobs"][0]["best_value"] == pytest.approx(first["score"])


@pytest.mark.slow
def test_multipart_upload_with_config_string_and_wait(client):
    config = {
        "worker_processes": 1,
        "optuna_n_trials": 8,
        "optuna_sampler": "random",
        "enabled_params": ["n1"],
        "fixed_params": {"n2": 60, "dateFilter": True, "start": "2008-01-01", "end": "2012-12-31"},
    }
    data = {
        "strategy": "sma_cross",
        "warmupBars": "100",
        "config": json.dumps(config),
        "file": (io.BytesIO(backtesting_csv("GOOG").read_bytes()), "goog daily.csv"),
    }
    response = client.post("/api/optimize?wait=true", data=data, content_type="multipart/form-data")
    assert response.status_code == 200, response.json
    body = response.json
    assert body["status"] == "done" and 8 <= body["total"] <= 9  # two workers may overshoot by one
    assert all(r["params"]["n2"] == 60 for r in body["results"])
    job = client.get(f"/api/jobs/{body['job_id']}").json
    assert job["dataset"] == "goog_daily.csv"
    assert job["config"]["window"] == {"start": "2008-01-01", "end": "2012-12-31", "warmup_bars": 100}


@pytest.mark.slow
def test_jobs_queue_in_order_beyond_max_jobs_and_cancel_works_for_both_states(client):
    long_job = submit(client, optuna_budget_mode="time", optuna_time_limit=60, optuna_n_trials=None).json["job_id"]
    queued = submit(client).json["job_id"]
    third = submit(client).json["job_id"]
    running = wait_for(client, long_job, statuses=("running",))
    assert running["queue_position"] is None
    assert client.get(f"/api/jobs/{queued}").json["queue_position"] == 1
    assert client.get(f"/api/jobs/{third}").json["queue_position"] == 2

    cancelled_queued = client.delete(f"/api/jobs/{third}")
    assert cancelled_queued.status_code == 200 and cancelled_queued.json["status"] == "cancelled"

    wait_for(client, long_job, statuses=("running",))
    while client.get(f"/api/jobs/{long_job}").json["trials"] < 5:
        time.sleep(0.2)
    asked = time.time()
    cancelled = client.delete(f"/api/jobs/{long_job}").json
    assert cancelled["status"] == "cancelled" and time.time() - asked < 5
    assert cancelled["summary"]["trials"]["total"] > 0
    assert client.get(f"/api/jobs/{long_job}/results").json["total"] > 0
    assert wait_for(client, queued)["status"] == "done"  # the queue moved on
    assert client.delete(f"/api/jobs/{queued}").status_code == 409


@pytest.mark.slow
def test_resume_adds_trials_with_continued_numbering(client, home):
    job_id = submit(client, optuna_n_trials=10).json["job_id"]
    wait_for(client, job_id)
    response = client.post(f"/api/jobs/{job_id}/resume", json={"trials": 6})
    assert response.status_code == 202
    job = wait_for(client, job_id, timeout=120)
    total = job["summary"]["trials"]["total"]
    assert job["status"] == "done" and 16 <= total <= 18  # each of the two runs may overshoot by one
    study = optuna.load_study(study_name="backtune", storage=f"sqlite:///{home / 'runs' / job_id / 'study.db'}")
    assert [t.number for t in study.trials] == list(range(total))


@pytest.mark.slow
def test_a_job_whose_coordinator_died_is_interrupted_at_start_up_and_resumable(home):
    app = create_app({"home": str(home), "max_jobs": 1})
    client = app.test_client()
    job_id = submit(client, optuna_budget_mode="time", optuna_time_limit=60, optuna_n_trials=None).json["job_id"]
    wait_for(client, job_id, statuses=("running",))
    while client.get(f"/api/jobs/{job_id}").json["trials"] < 5:
        time.sleep(0.2)
    state = json.loads((home / "runs" / job_id / "state.json").read_text())
    os.kill(state["coordinator_pid"], signal.SIGKILL)  # the container went away mid-run
    time.sleep(0.5)

    restarted = create_app({"home": str(home), "max_jobs": 1}).test_client()
    job = restarted.get(f"/api/jobs/{job_id}").json
    assert job["status"] == "interrupted"
    kept = job["summary"]["trials"]["total"]
    assert kept >= 5 and job["summary"]["trials"]["running"] == 0
    assert restarted.post(f"/api/jobs/{job_id}/resume", json={"trials": 4}).status_code == 202
    resumed = wait_for(restarted, job_id)
    assert resumed["status"] == "done" and 4 <= resumed["summary"]["trials"]["total"] - kept <= 5


@pytest.mark.parametrize("change, status, field", BAD_REQUESTS)
def test_bad_optimize_requests_get_a_4xx_naming_the_field(client, home, change, status, field):
    (home / "data" / "bad.csv").write_text(
        "time,open,high,low,close\n1700000000,1,2,0.5,1.5\n1700000060,1,0.4,0.5,1.5\n"
    )
    body = {"strategy": "sma_cross", "csvPath": "GOOG.csv", "optuna_n_trials": 5, **change}
    body = {k: v for k, v in body.items() if v is not None or k == "strategy"}
    response = client.post("/api/optimize", json=body)
    assert response.status_code == status, response.json
    error = response.json["error"]
    assert error["field"] == field and error["message"] and error["code"]


def test_malformed_bodies_and_unknown_jobs(client):
    assert client.post("/api/optimize", data="{oops", content_type="application/json").json["error"]["field"] == "body"
    form = client.post(
        "/api/optimize",
        data={"strategy": "sma_cross", "config": "{oops", "csvPath": "GOOG.csv"},
        content_type="multipart/form-data",
    )
    assert form.status_code == 400 and form.json["error"]["field"] == "config"
    assert client.post("/api/optimize", data="x", content_type="text/plain").status_code == 415
    assert client.get("/api/jobs/nope").status_code == 404
    assert client.get("/api/jobs/..%2F..%2Fetc").status_code == 404
    assert client.post("/api/jobs/nope/resume", json={"trials": 3}).status_code == 404


@pytest.mark.slow
def test_results_paging_and_resume_arguments_are_validated(client):
    job_id = submit(client, optuna_n_trials=6).json["job_id"]
    wait_for(client, job_id)
    for query, field in (("sort=alpha", "sort"), ("order=up", "order"), ("limit=0", "limit"), ("offset=-1", "offset")):
        response = client.get(f"/api/jobs/{job_id}/results?{query}")
        assert response.status_code == 400 and response.json["error"]["field"] == field
    for body, field in (({}, "trials"), ({"trials": 0}, "trials"), ({"seconds": -1}, "seconds")):
        response = client.post(f"/api/jobs/{job_id}/resume", json=body)
        assert response.status_code == 400 and response.json["error"]["field"] == field
    assert client.get(f"/api/jobs/{job_id}/trials/999").status_code == 404


def test_api_token_is_required_when_configured(home):
    client = create_app({"home": str(home), "api_token": "s3cret"}).test_client()
    assert client.get("/api/jobs").status_code == 401
    assert client.get("/api/jobs", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/api/jobs", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert client.get("/healthz").status_code == 200


@pytest.mark.slow
def test_each_job_links_to_its_study_in_the_dashboard(client):
    job_id = submit(client, optuna_n_trials=5).json["job_id"]
    wait_for(client, job_id)
    link = client.get(f"/api/jobs/{job_id}").json["links"]["dashboard"]
    study_id = int(link.rsplit("/", 1)[-1])
    study = client.get(f"/api/studies/{study_id}").json
    assert len(study["trials"]) == 5
