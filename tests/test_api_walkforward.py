"""Walk-forward jobs through the API: real coordinator processes, Flask's test client."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from app import create_app
from app.web.contract.models.walkforward import HoldoutOpened, WalkForwardReport
from tests.conftest import backtesting_csv
from tests.helpers import assert_api_error, backtest_window_cli
from tests.helpers import wait_for_job as wait_for


@pytest.fixture()
def client(tmp_path: Path):
    (tmp_path / "data").mkdir()
    shutil.copy(backtesting_csv("GOOG"), tmp_path / "data" / "GOOG.csv")
    return create_app({"home": str(tmp_path), "max_jobs": 1, "max_workers": 2}).test_client()


def submit(client, walkforward=None, **options):
    body = {
        "strategy": "sma_cross",
        "csvPath": "GOOG.csv",
        "worker_processes": 1,
        "optuna_n_trials": 20,
        "seed": 3,
        "warmupBars": 50,
        "walkforward": {"windows": 2, "holdout_days": 365} if walkforward is None else walkforward,
        **options,
    }
    return client.post("/api/walkforward", json=body)


def test_a_walkforward_job_runs_reports_and_opens_its_holdout(client):
    response = submit(client)
    assert response.status_code == 202, response.json
    accepted = response.json
    job_id = accepted["job_id"]
    assert accepted["kind"] == "walkforward" and accepted["windows"] == 2
    assert accepted["links"]["walkforward"] == f"/api/jobs/{job_id}/walkforward"
    job = wait_for(client, job_id)
    assert job["status"] == "done" and job["kind"] == "walkforward"
    assert job["progress"]["windows"] == 2 and job["progress"]["window"] == 1

    report = client.get(f"/api/jobs/{job_id}/walkforward").json
    WalkForwardReport.model_validate(report)
    assert len(report["windows"]) == 2 and report["holdout"]["sealed"] is True
    assert report["run_dir"] == job_id  # relative to the runs folder: no server path leaks
    # Each window's study is in the embedded dashboard, under a name with the window index.
    studies = {s["study_name"]: s for s in client.get("/api/studies").json["study_summaries"]}
    assert set(studies) == {f"{job_id}-w00", f"{job_id}-w01"} == {w["study"] for w in report["windows"]}
    assert report["windows"][1]["dashboard"] == f"/dashboard/studies/{studies[f'{job_id}-w01']['study_id']}"
    study = client.get(f"/api/studies/{studies[f'{job_id}-w01']['study_id']}").json
    assert len(study["trials"]) == report["windows"][1]["trials"]
    # The API's report is the CLI's object for the same run directory.
    window = report["windows"][1]
    assert backtest_window_cli(backtesting_csv("GOOG"), window, 50)["metrics"] == window["oos_metrics"]

    first = client.post(f"/api/jobs/{job_id}/holdout")
    assert first.status_code == 200, first.json
    HoldoutOpened.model_validate(first.json)
    second = client.post(f"/api/jobs/{job_id}/holdout").json
    assert len(second["openings"]) == 2 and second["metrics"] == first.json["metrics"]
    assert second["params"] == report["windows"][-1]["params"]
    holdout = client.get(f"/api/jobs/{job_id}/walkforward").json["holdout"]
    assert holdout["sealed"] is False and holdout["openings"] == second["openings"]


@pytest.mark.parametrize(
    "walkforward, field",
    [
        ({"is_days": 5000, "oos_days": 100}, "walkforward.is_days"),
        ({"windows": 2, "holdout_days": 9000}, "walkforward.holdout_days"),
        ({"windows": 2, "gap": 3}, "walkforward.gap"),
        ({"windows": "two"}, "walkforward.windows"),
        ({"windows": 1}, "walkforward.windows"),
        ({"mode": "sideways", "windows": 2}, "walkforward.mode"),
        ({}, "walkforward.is_days"),
        ({"windows": 2, "thresholds": {"wfe": "high"}}, "walkforward.thresholds.wfe"),
    ],
)
def test_bad_walkforward_settings_are_400_naming_the_field(client, walkforward, field):
    response = submit(client, walkforward)
    assert response.status_code == 400, response.json
    assert response.json["error"]["field"] == field
    assert client.get("/api/jobs").json["total"] == 0


def test_an_unknown_setting_is_named_with_the_settings_it_could_have_been(client):
    error = assert_api_error(
        submit(client, {"windows": 2, "thresholds": {"wfe": 60, "sharpe": 1}}),
        400,
        "walkforward.thresholds.sharpe",
        "unknown_field",
    )
    assert "known: wfe, profitable_windows_pct" in error["message"]
    error = assert_api_error(submit(client, {"windows": 2, "gap": 3}), 400, "walkforward.gap", "unknown_field")
    assert "gap_bars" in error["message"] and "optuna_n_trials" not in error["message"]


def test_the_server_limits_bound_each_window(tmp_path: Path):
    (tmp_path / "data").mkdir()
    shutil.copy(backtesting_csv("GOOG"), tmp_path / "data" / "GOOG.csv")
    client = create_app({"home": str(tmp_path), "max_workers": 1, "max_trials": 5}).test_client()
    error = assert_api_error(submit(client, optuna_n_trials=6), 400, "optuna_n_trials")
    assert "BACKTUNE_MAX_TRIALS" in error["message"]
    assert_api_error(submit(client, optuna_n_trials=5, worker_processes=2), 400, "worker_processes")
    accepted = submit(client, optuna_n_trials=5)
    assert accepted.status_code == 202, accepted.json
    client.delete(f"/api/jobs/{accepted.json['job_id']}")
    assert wait_for(client, accepted.json["job_id"])["status"] in ("cancelled", "done")


def test_missing_walkforward_object_and_wrong_job_kind(client):
    body = {"strategy": "sma_cross", "csvPath": "GOOG.csv", "optuna_n_trials": 5}
    response = client.post("/api/walkforward", json=body)
    assert response.status_code == 400 and response.json["error"]["field"] == "walkforward"
    optimisation = client.post("/api/optimize", json={**body, "worker_processes": 1}).json["job_id"]
    assert client.get(f"/api/jobs/{optimisation}/walkforward").status_code == 404
    assert client.post(f"/api/jobs/{optimisation}/holdout").status_code == 404
    assert client.get("/api/jobs/nope/walkforward").status_code == 404


def test_cancel_then_resume_continues_from_the_unfinished_window(client):
    job_id = submit(client, optuna_n_trials=400, walkforward={"windows": 3}).json["job_id"]
    deadline = time.time() + 120
    while (client.get(f"/api/jobs/{job_id}").json.get("progress") or {}).get("window", 0) < 1:
        assert time.time() < deadline
        time.sleep(0.2)
    assert client.delete(f"/api/jobs/{job_id}").status_code == 200
    job = wait_for(client, job_id)
    assert job["status"] == "cancelled"
    kept = client.get(f"/api/jobs/{job_id}/walkforward").json
    assert kept["status"] == "cancelled" and 1 <= len(kept["windows"]) < 3
    holdout = client.post(f"/api/jobs/{job_id}/holdout")
    assert holdout.status_code == 409
    resumed = client.post(f"/api/jobs/{job_id}/resume", json={})
    assert resumed.status_code == 202, resumed.json
    job = wait_for(client, job_id, timeout=240)
    report = client.get(f"/api/jobs/{job_id}/walkforward").json
    assert job["status"] == "done" and len(report["windows"]) == 3
    assert report["windows"][0] == kept["windows"][0]


def test_preview_gives_the_schedule_the_run_would_use(client):
    body = {
        "strategy": "sma_cross",
        "csvPath": "GOOG.csv",
        "warmupBars": 50,
        "walkforward": {"is_days": 720, "oos_days": 360, "gap_bars": 2, "holdout_days": 365},
    }
    preview = client.post("/api/walkforward/preview", json=body)
    assert preview.status_code == 200, preview.json
    from backtune.data.loader import load_csv
    from backtune.walkforward.runner import span_record
    from backtune.walkforward.schedule import build_schedule
    from backtune.walkforward.settings import WalkForwardSettings
    from backtune.window import DataWindow

    bars = load_csv(backtesting_csv("GOOG")).bars
    schedule = build_schedule(bars.time, DataWindow(warmup_bars=50), WalkForwardSettings.parse(body["walkforward"]))
    assert preview.json["windows"] == [
        {"index": w.index, "is": span_record(bars, w.in_sample), "oos": span_record(bars, w.out_of_sample)}
        for w in schedule.windows
    ]
    assert preview.json["holdout"] == span_record(bars, schedule.holdout)
    refused = client.post("/api/walkforward/preview", json={**body, "walkforward": {"is_days": 4000, "oos_days": 10}})
    assert refused.status_code == 400 and refused.json["error"]["field"] == "walkforward.is_days"
    assert client.get("/api/jobs").json["total"] == 0


def test_a_walkforward_whose_coordinator_died_is_interrupted_and_resumable(client, tmp_path):
    import os
    import signal

    job_id = submit(client, optuna_budget_mode="time", optuna_time_limit=6, optuna_n_trials=None).json["job_id"]
    wait_for(client, job_id, statuses=("running",))
    while ((client.get(f"/api/jobs/{job_id}").json.get("progress") or {}).get("done") or 0) < 5:
        time.sleep(0.2)
    state = json.loads((tmp_path / "runs" / job_id / "state.json").read_text())
    os.kill(state["coordinator_pid"], signal.SIGKILL)
    time.sleep(0.5)

    restarted = create_app({"home": str(tmp_path), "max_jobs": 1, "max_workers": 2}).test_client()
    assert restarted.get(f"/api/jobs/{job_id}").json["status"] == "interrupted"
    assert restarted.get(f"/api/jobs/{job_id}/walkforward").json["windows"] == []
    assert restarted.post(f"/api/jobs/{job_id}/resume", json={}).status_code == 202
    assert wait_for(restarted, job_id)["status"] == "done"
    report = restarted.get(f"/api/jobs/{job_id}/walkforward").json
    assert len(report["windows"]) == 2 and report["status"] == "done"


def test_a_queued_walkforward_is_removed_from_the_queue(client):
    running = submit(client, optuna_n_trials=5000).json["job_id"]
    queued = submit(client).json["job_id"]
    assert client.get(f"/api/jobs/{queued}").json["status"] == "queued"
    cancelled = client.delete(f"/api/jobs/{queued}")
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    report = client.get(f"/api/jobs/{queued}/walkforward").json
    assert report["status"] == "cancelled" and report["windows"] == []
    client.delete(f"/api/jobs/{running}")
    assert wait_for(client, running)["status"] == "cancelled"
