"""The run-end plateau step ("robust best") of a real run on a warm pool, against
independent backtests of every neighbour."""

from __future__ import annotations

import csv
import json
import math
from itertools import product

import numpy as np
import pytest

from backtune.data.loader import load_csv
from backtune.engine.backtest import run_backtest
from backtune.errors import FieldError
from backtune.metrics import compute_metrics
from backtune.optimize.config import RunConfig
from backtune.optimize.pool import WorkerPool
from backtune.optimize.run import execute_run, prepare_run
from backtune.registry import get_strategy
from backtune.robustness.plateau import plateaus
from backtune.robustness.report import plateau_path, trial_robustness
from tests.conftest import backtesting_csv

GOOG = backtesting_csv("GOOG")
LOW, HIGH = (5, 31), (30, 120)
CENTRE = (10, 40)
# The centre and its 8 neighbours run first: a neighbourhood the study has already backtested.
GRID = [{"n1": CENTRE[0] + a, "n2": CENTRE[1] + b} for a, b in product((-1, 0, 1), repeat=2)]


def config(**overrides) -> RunConfig:
    raw = {
        "data": str(GOOG),
        "strategy": "sma_cross",
        "workers": 2,
        "sampler": "random",
        "seed": 5,
        "space": {"n1": {"low": LOW[0], "high": HIGH[0], "step": 1}, "n2": {"low": LOW[1], "high": HIGH[1], "step": 1}},
        "budget": {"mode": "trials", "trials": 30},
        "commission": 0.002,
        "target": "net_profit",
        "seed_params": GRID,
        "plateau_top": 3,
    }
    return RunConfig.parse({**raw, **overrides})


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    run = prepare_run(config(), tmp_path_factory.mktemp("runs"))
    progress = []
    with WorkerPool(2) as pool:
        summary = execute_run(run, pool=pool, on_progress=progress.append)
    # The last snapshot, once every worker has stopped, says the run is finishing (the plateau step follows).
    assert [p.phase for p in progress] == ["searching"] * (len(progress) - 1) + ["finishing"]
    assert progress[-1].done == summary["trials"]["total"]
    return run, summary, json.loads(run.results_file.read_text())["results"]


def neighbourhood(n1: int, n2: int) -> set[tuple[int, int]]:
    """Every ±1 move, a parameter kept where it would leave its range."""
    keep = lambda v, d, i: v + d if LOW[i] <= v + d <= HIGH[i] else v  # noqa: E731
    return {(keep(n1, a, 0), keep(n2, b, 1)) for a, b in product((-1, 0, 1), repeat=2)} - {(n1, n2)}


def backtest(n1: int, n2: int) -> dict:
    strategy = get_strategy("sma_cross")
    run_config = config()
    result = run_backtest(
        load_csv(GOOG).bars, strategy, strategy.validate({"n1": n1, "n2": n2}), run_config.window, run_config.settings
    )
    return compute_metrics(result).as_dict()


def test_the_best_trials_are_ranked_again_by_their_neighbours_retention(finished):
    _, summary, rows = finished
    robust = summary["robust_best"]
    best = [r for r in rows if r["rank"] is not None][:3]
    assert robust["top"] == 3 and sorted(t["number"] for t in robust["trials"]) == sorted(r["number"] for r in best)
    for row in best:
        value = row["values"][0]
        found = [backtest(*p) for p in sorted(neighbourhood(row["params"]["n1"], row["params"]["n2"]))]
        targets = np.array([m["net_profit_pct"] for m in found])
        p5 = np.percentile(targets, 5)
        plateau = row["plateau"]
        assert plateau["neighbours"] == len(found) and plateau["invalid"] == 0
        assert plateau["p5"] == pytest.approx(p5, rel=1e-12)
        assert plateau["median"] == pytest.approx(np.median(targets), rel=1e-12)
        assert plateau["worst"] == pytest.approx(targets.min(), rel=1e-12)
        assert plateau["share_profitable"] == pytest.approx(np.mean(targets > 0))
        assert plateau["retention"] == (pytest.approx(p5 / value, rel=1e-12) if value > 0 else None)
    by_robust_rank = sorted(best, key=lambda r: r["robust_rank"])
    assert [r["number"] for r in by_robust_rank] == [t["number"] for t in robust["trials"]]
    retentions = [r["plateau"]["retention"] for r in by_robust_rank if r["plateau"]["retention"] is not None]
    assert retentions == sorted(retentions, reverse=True)
    chosen = {t["number"] for t in robust["trials"]}
    assert all("plateau" not in r and "robust_rank" not in r for r in rows if r["number"] not in chosen)


def test_the_spreadsheet_export_has_the_robust_rank_and_retention(finished):
    run, _, rows = finished
    table = list(csv.DictReader(run.results_csv.read_text().split("# Ranked trials\n", 1)[1].splitlines()))
    exported = {int(line["trial"]): line for line in table}
    for row in rows:
        line = exported[row["number"]]
        if "robust_rank" in row:
            assert int(line["robust_rank"]) == row["robust_rank"]
            retention = row["plateau"]["retention"]
            assert float(line["retention"] or "nan") == pytest.approx(retention or math.nan, nan_ok=True)
        else:
            assert line["robust_rank"] == line["retention"] == ""


def test_neighbours_the_study_already_ran_are_not_backtested_again(finished):
    run, summary, rows = finished
    complete = {(r["params"]["n1"], r["params"]["n2"]): r for r in rows if r["rank"] is not None}
    centre = complete[CENTRE]
    batch = plateaus(run, rows, [centre["number"]])
    assert batch.backtested == 0
    (plateau,) = batch.plateaus
    expected = {(p["n1"], p["n2"]): complete[(p["n1"], p["n2"])]["values"][0] for p in plateau.neighbours}
    assert plateau.targets == [expected[(p["n1"], p["n2"])] for p in plateau.neighbours]
    # The run's own step: each distinct neighbour of its best trials that is no completed trial, once.
    best = [r for r in rows if r.get("robust_rank")]
    distinct = set().union(*(neighbourhood(r["params"]["n1"], r["params"]["n2"]) for r in best))
    assert summary["robust_best"]["backtested"] == len(distinct - set(complete))
    assert summary["robust_best"]["neighbours"] == sum(r["plateau"]["neighbours"] for r in best)


def test_a_trials_report_serves_the_plateau_the_run_computed(finished):
    run, summary, rows = finished
    number = summary["robust_best"]["trials"][0]["number"]
    cached = plateau_path(run, number, 1)
    written = cached.stat().st_mtime_ns
    report = trial_robustness(run, rows, number, scenarios=200, seed=1)
    assert cached.stat().st_mtime_ns == written
    row = next(r for r in rows if r["number"] == number)
    assert {k: v for k, v in report["plateau"].items() if k != "table"} == row["plateau"]
    assert len(report["plateau"]["table"]) == row["plateau"]["neighbours"]


def test_plateau_top_zero_skips_the_step(tmp_path):
    run = prepare_run(config(plateau_top=0, workers=1, budget={"mode": "trials", "trials": 12}), tmp_path)
    summary = execute_run(run)
    assert summary["robust_best"] is None
    rows = json.loads(run.results_file.read_text())["results"]
    assert rows and all("plateau" not in r and "robust_rank" not in r for r in rows)
    assert not (run.path / "robustness").exists()


@pytest.mark.parametrize("value", [-1, 21, 2.5, "5"])
def test_plateau_top_out_of_bounds_is_refused_by_name(value):
    with pytest.raises(FieldError) as error:
        config(plateau_top=value)
    assert error.value.field == "plateau_top"
