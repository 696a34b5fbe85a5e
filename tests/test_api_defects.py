"""Regression tests of issue 9's defects 5, 6, 8, 9, 11 and 14: each sends the input that
misbehaved and asserts what the API must do instead (real coordinators, real runs)."""

from __future__ import annotations

import http.client
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from app import create_app
from backtune.errors import FieldError
from backtune.jobs.store import JobStore
from backtune.optimize.config import MAX_SEED, MAX_SEED_PARAMS, RunConfig
from tests.conftest import backtesting_csv
from tests.helpers import assert_api_error, wait_for_job
from tests.live_server import LiveServer

GOOG = backtesting_csv("GOOG")
BODY = {
    "strategy": "sma_cross",
    "csvPath": "GOOG.csv",
    "worker_processes": 1,
    "optuna_sampler": "random",
    "optuna_n_trials": 5,
}
OPTIONS = {k: v for k, v in BODY.items() if k not in ("strategy", "csvPath")}  # a form's config


@pytest.fixture()
def home(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    shutil.copy(GOOG, tmp_path / "data" / "GOOG.csv")
    return tmp_path


def app_client(home: Path, **settings):
    return create_app({"home": str(home), "max_jobs": 1, "max_workers": 2, **settings}).test_client()


@pytest.fixture()
def client(home: Path):
    return app_client(home)


def submit(client, **changes):
    return client.post("/api/optimize", json={**BODY, **changes})


def send_text(client, text: str):
    return client.post("/api/optimize", data=text, content_type="application/json")


def with_goog(extra: str) -> str:
    return '{"strategy": "sma_cross", "csvPath": "GOOG.csv", ' + extra + "}"


# --- 5: seed_params bounded, run within the budget -------------------------------------


def test_more_seeds_than_trials_are_refused_naming_seed_params(client):
    seeds = [{"n1": 5 + i, "n2": 40} for i in range(10)]
    error = assert_api_error(submit(client, seed_params=seeds), 400, "seed_params")
    assert "budget of 5 trials" in error["message"]


def test_the_seed_list_is_bounded_without_a_trial_budget(client):
    seeds = [{"n1": 10, "n2": 40}] * (MAX_SEED_PARAMS + 1)
    body = {**BODY, "optuna_budget_mode": "time", "optuna_time_limit": 5, "seed_params": seeds}
    del body["optuna_n_trials"]
    assert_api_error(client.post("/api/optimize", json=body), 400, "seed_params")


def test_seeds_within_the_budget_run_first_and_none_is_left_waiting(client):
    seeds = [{"n1": 10, "n2": 40}, {"n1": 12, "n2": 50}, {"n1": 7, "n2": 90}]
    job_id = submit(client, seed_params=seeds, enabled_params=["n1", "n2"]).json["job_id"]
    job = wait_for_job(client, job_id)
    assert job["status"] == "done" and job["summary"]["trials"]["waiting"] == 0
    rows = client.get(f"/api/jobs/{job_id}/results?sort=number&order=asc").json["results"]
    assert [(r["params"]["n1"], r["params"]["n2"]) for r in rows[:3]] == [(10, 40), (12, 50), (7, 90)]
    assert 5 <= len(rows) <= 6 and all(r["state"] == "COMPLETE" for r in rows)


# --- 6: wrong types, NaN, Infinity, deep nesting, bad query parameters ------------------

BAD_BODIES = [
    ("strategy as a list", '{"strategy": ["sma_cross"], "csvPath": "GOOG.csv"}', "strategy"),
    ("trials NaN", with_goog('"optuna_n_trials": NaN'), "optuna_n_trials"),
    ("trials Infinity", with_goog('"optuna_n_trials": Infinity'), "optuna_n_trials"),
    ("warm-up trials NaN", with_goog('"optuna_warmup_trials": NaN'), "optuna_warmup_trials"),
    (
        "patience Infinity",
        with_goog('"optuna_budget_mode": "convergence", "optuna_convergence": Infinity'),
        "optuna_convergence",
    ),
    ("seed NaN", with_goog('"seed": NaN'), "seed"),
    ("capital -Infinity", with_goog('"capital": -Infinity'), "capital"),
    ("target nested", with_goog('"optuna_target": [["a"]]'), "optuna_target"),
    ("enabled nested", with_goog('"enabled_params": [["n1"]]'), "enabled_params"),
    ("range NaN", with_goog('"enabled_params": ["n1"], "param_ranges": {"n1": [5, NaN, 1]}'), "n1"),
    ("fixed value nested", with_goog('"fixed_params": {"n1": [[5]]}'), "n1"),
    ("nested 10,000 deep", with_goog('"fixed_params": ' + "[" * 10_000 + "]" * 10_000), "body"),
    ("not an object", "[1, 2]", "body"),
]


@pytest.mark.parametrize("text, field", [row[1:] for row in BAD_BODIES], ids=[row[0] for row in BAD_BODIES])
def test_bad_json_values_are_a_400_naming_the_field(client, text, field):
    error = assert_api_error(send_text(client, text), 400, field)
    assert error["code"] != "internal_error" and len(error["message"]) < 400


@pytest.mark.parametrize(
    "config, form, field",
    [
        ('{"optuna_n_trials": NaN}', {}, "optuna_n_trials"),
        ('{"seed": 1e400}', {}, "seed"),
        ("[" * 10_000, {}, "config"),
        ("{}", {"warmupBars": "\u00b2"}, "warmupBars"),
        ("{}", {"strategy": ""}, "strategy"),
    ],
)
def test_bad_form_values_are_a_400_naming_the_field(client, config, form, field):
    data = {"strategy": "sma_cross", "csvPath": "GOOG.csv", "config": config, **form}
    assert_api_error(client.post("/api/optimize", data=data, content_type="multipart/form-data"), 400, field)


@pytest.mark.parametrize(
    "query, field",
    [
        ("limit=%C2%B2", "limit"),
        ("limit=1e3", "limit"),
        ("offset=%E2%91%A0", "offset"),
        ("limit=" + "9" * 5000, "limit"),
        ("sort=%00", "sort"),
        ("format=xml", "format"),
        ("order=", "order"),
    ],
)
def test_bad_query_parameters_are_a_400_naming_the_parameter(client, query, field):
    job_id = submit(client).json["job_id"]
    wait_for_job(client, job_id)
    assert_api_error(client.get(f"/api/jobs/{job_id}/results?{query}"), 400, field)
    assert client.get(f"/api/jobs/{job_id}/results?limit=2&offset=1").json["limit"] == 2


# --- 8: trial and time budgets bounded by settings --------------------------------------


def test_budgets_beyond_the_settings_are_refused(home):
    client = app_client(home, max_trials=5, max_run_s=30)
    assert_api_error(submit(client, optuna_n_trials=1e12), 400, "optuna_n_trials")
    error = assert_api_error(submit(client, optuna_n_trials=6), 400, "optuna_n_trials")
    assert "BACKTUNE_MAX_TRIALS" in error["message"]
    error = assert_api_error(
        submit(client, optuna_budget_mode="time", optuna_time_limit=1e308), 400, "optuna_time_limit"
    )
    assert "BACKTUNE_MAX_RUN_S" in error["message"]
    assert_api_error(submit(client, optuna_budget_mode="time", optuna_time_limit=31), 400, "optuna_time_limit")
    job_id = submit(client, optuna_n_trials=5).json["job_id"]
    assert wait_for_job(client, job_id)["status"] == "done"
    assert_api_error(client.post(f"/api/jobs/{job_id}/resume", json={"trials": 6}), 400, "trials")
    assert_api_error(client.post(f"/api/jobs/{job_id}/resume", json={"seconds": 31}), 400, "seconds")
    assert client.post(f"/api/jobs/{job_id}/resume", json={"trials": 2}).status_code == 202


def test_a_convergence_run_without_a_cap_is_capped_by_the_setting(home):
    client = app_client(home, max_trials=7)
    response = submit(client, optuna_budget_mode="convergence", optuna_convergence=3, optuna_n_trials=None)
    assert response.status_code == 202, response.json
    assert client.get(f"/api/jobs/{response.json['job_id']}").json["config"]["budget"]["trials"] == 7


def test_the_default_limits_refuse_a_trillion_trials(client):
    error = assert_api_error(submit(client, optuna_n_trials=10**12), 400, "optuna_n_trials")
    assert "at most 100000" in error["message"]


def test_workers_above_the_servers_limit_are_refused_not_clamped(client):
    error = assert_api_error(submit(client, worker_processes=3), 400, "worker_processes")
    assert "BACKTUNE_MAX_WORKERS" in error["message"]


# --- 9: refused at submission; a later failure says why ----------------------------------


def test_a_window_outside_the_data_or_a_huge_seed_is_refused_at_submission(client, home):
    outside = {"dateFilter": True, "start": "2030-01-01", "end": None}
    assert_api_error(submit(client, fixed_params=outside), 400, "start")
    assert_api_error(
        submit(client, fixed_params={"dateFilter": True, "start": None, "end": "1990-01-01"}), 400, "start"
    )
    assert_api_error(submit(client, seed=2**70), 400, "seed")
    assert client.get("/api/jobs").json["total"] == 0
    assert not [p for p in (home / "runs").iterdir() if p.is_dir()]


def test_the_engine_refuses_a_seed_numpy_cannot_take():
    raw = {"data": str(GOOG), "strategy": "sma_cross", "seed": MAX_SEED + 1}
    with pytest.raises(FieldError) as refused:
        RunConfig.parse(raw)
    assert refused.value.field == "seed"
    assert RunConfig.parse({**raw, "seed": MAX_SEED}).seed == MAX_SEED


def test_a_job_that_fails_later_says_why_in_its_top_level_error(client, home):
    blocker = submit(client, optuna_budget_mode="time", optuna_time_limit=60, optuna_n_trials=None).json["job_id"]
    wait_for_job(client, blocker, statuses=("running",))
    doomed = submit(client).json["job_id"]
    bars = JobStore(home / "runs").run(doomed).bars_dir / "prices.npy"
    bars.write_bytes(b"not an array")
    client.delete(f"/api/jobs/{blocker}")
    job = wait_for_job(client, doomed)
    assert job["status"] == "failed"
    assert job["error"].startswith("every worker failed: "), job["error"]
    assert "pickle" in job["error"].lower() or "ValueError" in job["error"], job["error"]


# --- 11: every too-large body is a 413 saying so ----------------------------------------


def test_an_over_limit_json_body_is_a_413_saying_the_body_is_too_large(home):
    client = app_client(home, max_json_kb=4)
    padding = {"fixed_params": {"dateFilter": False, "start": "x" * 5000}}
    error = assert_api_error(submit(client, **padding), 413, "body", "request_entity_too_large")
    assert "too large" in error["message"] and "4 KB" in error["message"]
    # Chunked: werkzeug ignores any Content-Length then, and the server has terminated the stream.
    chunked = client.post(
        "/api/optimize",
        input_stream=io.BytesIO(json.dumps({**BODY, **padding}).encode()),
        content_type="application/json",
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert_api_error(chunked, 413, "body")
    assert_api_error(client.post("/api/backtest", json={"strategy": "sma_cross", "start": "x" * 5000}), 413, "body")


def test_an_over_limit_upload_or_form_field_is_a_413_saying_the_body_is_too_large(home):
    client = app_client(home, max_upload_mb=1, max_json_kb=4)
    big = b"time,open,high,low,close\n" + b"1700000000,1,2,0.5,1.5\n" * 60_000
    for path in ("/api/datasets", "/api/optimize"):
        response = client.post(
            path,
            data={"strategy": "sma_cross", "file": (io.BytesIO(big), "big.csv")},
            content_type="multipart/form-data",
        )
        assert "too large" in assert_api_error(response, 413, "file")["message"]
    form = {"strategy": "sma_cross", "csvPath": "GOOG.csv", "config": json.dumps({"seed_params": [{"n1": 5}] * 500})}
    assert_api_error(client.post("/api/optimize", data=form, content_type="multipart/form-data"), 413, "file")


def test_a_chunked_json_body_over_the_limit_is_a_413_over_http(tmp_path):
    """Through gunicorn, which terminates chunked bodies itself: no Content-Length at all."""
    with LiveServer(tmp_path / "home", workers=1, BACKTUNE_MAX_JSON_KB="64") as server:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        chunks = (b'{"strategy": "sma_cross", "fixed_params": {"start": "' + b"x" * 100_000, b'"}}')
        connection.request(
            "POST",
            "/api/optimize",
            body=iter(chunks),
            encode_chunked=True,
            headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        )
        response = connection.getresponse()
        error = json.loads(response.read())["error"]
        connection.close()
    assert response.status == 413 and error["field"] == "body" and "too large" in error["message"]


# --- 14: a rejected request stores nothing ---------------------------------------------


def csv_bytes(rows: int, seed: int) -> bytes:
    """A small OHLCV file whose bytes no other test uses."""
    closes = 100 + np.cumsum(np.random.default_rng(seed).normal(0, 1, rows))
    lines = ["time,open,high,low,close"] + [
        f"{1_700_000_000 + 3600 * i},{c:.4f},{c + 1:.4f},{c - 1:.4f},{c:.4f}" for i, c in enumerate(closes)
    ]
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.parametrize(
    "config, form, field",
    [
        ({"optuna_sampler": "nope"}, {}, "optuna_sampler"),
        ({"fixed_params": {"dateFilter": True, "start": "2030-01-01"}}, {}, "start"),
        ({"colour": "blue"}, {}, "colour"),
        ({}, {"warmupBars": "-1"}, "warmupBars"),
    ],
)
def test_a_rejected_optimise_request_with_a_new_file_stores_nothing(client, home, config, form, field):
    listed = client.get("/api/datasets").json["total"]
    stored = sorted((home / "data" / "datasets").iterdir())
    data = {
        "strategy": "sma_cross",
        "config": json.dumps({**OPTIONS, **config}),
        "file": (io.BytesIO(csv_bytes(300, seed=len(field))), "new.csv"),
        **form,
    }
    assert_api_error(client.post("/api/optimize", data=data, content_type="multipart/form-data"), 400, field)
    assert client.get("/api/datasets").json["total"] == listed
    assert sorted((home / "data" / "datasets").iterdir()) == stored


def test_an_accepted_optimise_request_keeps_its_new_file(client):
    before = client.get("/api/datasets").json["total"]
    data = {
        "strategy": "sma_cross",
        "config": json.dumps(OPTIONS),
        "file": (io.BytesIO(csv_bytes(300, seed=99)), "kept.csv"),
    }
    response = client.post("/api/optimize", data=data, content_type="multipart/form-data")
    assert response.status_code == 202, response.json
    listed = client.get("/api/datasets").json
    assert listed["total"] == before + 1 and any(d["name"] == "kept.csv" for d in listed["datasets"])
    wait_for_job(client, response.json["job_id"])
