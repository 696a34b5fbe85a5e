"""The robustness endpoints on a real job (coordinator process, two workers), through Flask's test client."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from app import create_app
from backtune.robustness.cscv import cscv
from tests.conftest import backtesting_csv
from tests.helpers import finished_job


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    (home / "data").mkdir()
    shutil.copy(backtesting_csv("GOOG"), home / "data" / "GOOG.csv")
    return home


@pytest.fixture(scope="module")
def client(home):
    return create_app({"home": str(home), "max_jobs": 1, "max_workers": 2}).test_client()


@pytest.fixture(scope="module")
def app_runs(home):
    return (home / "runs").resolve()


@pytest.fixture(scope="module")
def job(client):
    return finished_job(
        client,
        {
            "strategy": "sma_cross",
            "csvPath": "GOOG.csv",
            "worker_processes": 2,
            "optuna_sampler": "random",
            "optuna_n_trials": 24,
            "param_ranges": {"n1": [5, 20, 1], "n2": [30, 80, 5]},
            "enabled_params": ["n1", "n2"],
        },
    )


def test_cscv_matrix_recomputes_the_pbo(client, job):
    body = client.get(f"/api/jobs/{job}/cscv").json
    assert body["blocks"] == 16 and len(body["stats"]) == len(body["trials"]) >= 10
    assert np.array(body["stats"]).shape == (len(body["trials"]), 16, 3)
    again = cscv(np.array(body["stats"]))
    assert body["pbo"] == pytest.approx(again.pbo)
    np.testing.assert_allclose(body["logits"], again.logits, rtol=1e-12)
    np.testing.assert_allclose(body["oos_sharpe"], again.oos_sharpe, rtol=1e-12)
    assert len(body["is_sharpe"]) == len(body["logits"]) == 12_870
    results = client.get(f"/api/jobs/{job}/results?sort=dsr&order=desc").json
    dsr = [r["metrics"]["dsr"] for r in results["results"] if r["metrics"].get("dsr") is not None]
    assert dsr == sorted(dsr, reverse=True) and len(dsr) > 0
    assert results["summary"]["overfitting"]["pbo"] == pytest.approx(body["pbo"])


def test_trial_robustness_on_demand_then_cached(client, job):
    best = client.get(f"/api/jobs/{job}/results").json["results"][0]["number"]
    first = client.get(f"/api/jobs/{job}/trials/{best}/robustness?scenarios=300&seed=2")
    assert first.status_code == 200, first.json
    body = first.json
    assert set(body) == {"number", "plateau", "monte_carlo"} and body["number"] == best
    assert body["monte_carlo"]["scenarios"] == 300 and body["plateau"]["neighbours"] == len(body["plateau"]["table"])
    assert client.get(f"/api/jobs/{job}/trials/{best}/robustness?scenarios=300&seed=2").json == body
    level = client.get(f"/api/jobs/{job}/trials/{best}/robustness?scenarios=300&seed=2&drawdown=12.5").json
    assert list(level["monte_carlo"]["bootstrap"]["prob_drawdown_exceeds"]) == ["10", "12.5", "20", "30", "50"]
    assert level["plateau"] == body["plateau"]


@pytest.mark.parametrize(
    "path, status, field",
    [
        ("/trials/{best}/robustness?scenarios=0", 400, "scenarios"),
        ("/trials/{best}/robustness?seed=x", 400, "seed"),
        ("/trials/{best}/robustness?drawdown=-3", 400, "drawdown"),
        ("/trials/{best}/robustness?drawdown=nan", 400, "drawdown"),
        ("/trials/{best}/robustness?scenarios=100001", 400, "scenarios"),
        ("/trials/{best}/robustness?seed=1.5", 400, "seed"),
        ("/trials/{best}/robustness?trials=3", 400, "trials"),
        ("/trials/99999/robustness", 404, "number"),
        ("/heatmap?x=n1&y=nope", 400, "y"),
    ],
)
def test_bad_requests_name_the_field(client, job, path, status, field):
    best = client.get(f"/api/jobs/{job}/results").json["results"][0]["number"]
    response = client.get(f"/api/jobs/{job}" + path.format(best=best))
    assert response.status_code == status and response.json["error"]["field"] == field


def test_heatmap_cells_match_the_results(client, job):
    body = client.get(f"/api/jobs/{job}/heatmap?x=n1&y=n2").json
    rows = [r for r in client.get(f"/api/jobs/{job}/results?limit=1000").json["results"] if r["rank"]]
    for j, n2 in enumerate(body["y"]["values"]):
        for i, n1 in enumerate(body["x"]["values"]):
            values = [r["values"][0] for r in rows if (r["params"]["n1"], r["params"]["n2"]) == (n1, n2)]
            assert body["max"][j][i] == (max(values) if values else None)


def test_unknown_job(client):
    assert client.get("/api/jobs/nope/cscv").status_code == 404


def test_results_carry_the_robust_best_order(client, job):
    body = client.get(f"/api/jobs/{job}/results?sort=robust_rank&order=asc").json
    robust = body["summary"]["robust_best"]
    assert robust["top"] == 5 and len(robust["trials"]) == 5
    ranked = [r for r in body["results"] if r.get("robust_rank") is not None]
    assert [r["robust_rank"] for r in ranked] == [1, 2, 3, 4, 5] == [r["robust_rank"] for r in body["results"][:5]]
    assert [r["number"] for r in ranked] == [t["number"] for t in robust["trials"]]
    assert {r["rank"] for r in ranked} == {1, 2, 3, 4, 5}
    report = client.get(f"/api/jobs/{job}/trials/{ranked[0]['number']}/robustness?scenarios=100").json
    assert {k: v for k, v in report["plateau"].items() if k != "table"} == ranked[0]["plateau"]


@pytest.mark.parametrize("value", [-1, 21, 2.5])
def test_plateau_top_is_bounded(client, value):
    response = client.post("/api/optimize", json={"strategy": "sma_cross", "csvPath": "GOOG.csv", "plateau_top": value})
    assert response.status_code == 400 and response.json["error"]["field"] == "plateau_top"


def test_a_report_that_cannot_be_computed_is_a_503_naming_the_trial(client, job, app_runs):
    rows = client.get(f"/api/jobs/{job}/results?limit=1000").json["results"]
    number = next(r["number"] for r in rows if r["rank"] is not None and r.get("robust_rank") is None)
    bars = app_runs / job / "bars"
    bars.rename(bars.with_name("bars-away"))
    try:
        response = client.get(f"/api/jobs/{job}/trials/{number}/robustness?scenarios=100&seed=9")
    finally:
        bars.with_name("bars-away").rename(bars)
    assert response.status_code == 503, response.json
    assert response.json["error"]["field"] == "number" and f"trial {number}" in response.json["error"]["message"]
    assert str(app_runs) not in response.get_data(as_text=True)
    again = client.get(f"/api/jobs/{job}/trials/{number}/robustness?scenarios=100&seed=9")
    assert again.status_code == 200 and again.json["number"] == number


def test_the_child_is_stopped_at_its_time_limit(client, job, app_runs):
    from backtune.child import ChildFailed
    from backtune.optimize.rundir import RunDir
    from backtune.robustness.isolated import robustness_report

    with pytest.raises(ChildFailed, match="0.05 s limit"):
        robustness_report(RunDir(app_runs / job), 0, 100, 123, None, limit_s=0.05)
