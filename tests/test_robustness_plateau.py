"""Plateau neighbours against individual backtests, in-process and on a warm pool; sampling rules."""

from __future__ import annotations

import json

import numpy as np
import pytest

from backtune.data.loader import load_csv
from backtune.engine.backtest import run_backtest
from backtune.metrics import compute_metrics
from backtune.optimize.config import RunConfig
from backtune.optimize.pool import WorkerPool
from backtune.optimize.run import execute_run, prepare_run
from backtune.optimize.space import SearchSpace
from backtune.registry import get_strategy
from backtune.robustness.plateau import at_edge, best_numbers, neighbours, offsets, plateaus, robust_order
from backtune.robustness.report import plateau_path, trial_robustness
from tests.conftest import backtesting_csv

GOOG = backtesting_csv("GOOG")
SPACE = {"n1": {"low": 5, "high": 30, "step": 1}, "n2": {"low": 31, "high": 120, "step": 1}}


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    config = RunConfig.parse(
        {
            "data": str(GOOG),
            "strategy": "sma_cross",
            "workers": 1,
            "sampler": "random",
            "seed": 2,
            "space": SPACE,
            "budget": {"mode": "trials", "trials": 15},
            "capital": 10_000,
            "commission": 0.002,
            "target": "net_profit",
        }
    )
    run = prepare_run(config, tmp_path_factory.mktemp("runs"))
    execute_run(run)
    return run, config, json.loads(run.results_file.read_text())["results"]


def independent_target(config: RunConfig, params: dict) -> float:
    strategy = get_strategy("sma_cross")
    result = run_backtest(load_csv(GOOG).bars, strategy, strategy.validate(params), config.window, config.settings)
    return getattr(compute_metrics(result), config.targets[0].metric)


def test_neighbours_equal_individual_backtests(finished):
    run, config, rows = finished
    found = plateaus(run, rows, best_numbers(rows, 2)).plateaus
    best = sorted((r for r in rows if r["rank"]), key=lambda r: r["rank"])[:2]
    assert [p.number for p in found] == [r["number"] for r in best]
    for plateau, row in zip(found, best):
        n1, n2 = row["params"]["n1"], row["params"]["n2"]
        expected = {
            (n1 + a if 5 <= n1 + a <= 30 else n1, n2 + b if 31 <= n2 + b <= 120 else n2)
            for a in (-1, 0, 1)
            for b in (-1, 0, 1)
        } - {(n1, n2)}
        assert {(p["n1"], p["n2"]) for p in plateau.neighbours} == expected
        for params, value in zip(plateau.neighbours, plateau.targets):
            assert value == pytest.approx(independent_target(config, params), rel=1e-12)
        summary = plateau.summary()
        values = np.array(plateau.targets)
        assert summary["p5"] == pytest.approx(np.percentile(values, 5))
        assert summary["worst"] == values.min() and summary["median"] == pytest.approx(np.median(values))
        if row["values"][0] > 0:
            assert summary["retention"] == pytest.approx(summary["p5"] / row["values"][0])
    retentions = [p.summary()["retention"] for p in found]
    best_kept = found[int(np.argmax([r if r is not None else -np.inf for r in retentions]))].number
    assert robust_order([p.summary() for p in found])[0] == best_kept


def test_pool_gives_the_same_neighbours(finished):
    run, _, rows = finished
    numbers = best_numbers(rows, 3)
    alone = plateaus(run, rows, numbers).plateaus
    with WorkerPool(2) as pool:
        pooled = plateaus(run, rows, numbers, pool=pool).plateaus
    assert [p.targets for p in pooled] == [p.targets for p in alone]


def test_trial_report_is_cached(finished):
    run, _, rows = finished
    number = next(r["number"] for r in rows if r["rank"] is not None and "plateau" not in r)
    assert not plateau_path(run, number, 3).exists()
    report = trial_robustness(run, rows, number, scenarios=500, seed=3)
    assert report["plateau"]["neighbours"] == len(report["plateau"]["table"])
    assert report["monte_carlo"]["scenarios"] == 500
    assert json.loads(plateau_path(run, number, 3).read_text()) == report["plateau"]
    assert trial_robustness(run, rows, number, scenarios=500, seed=3) == report


def test_sampling_is_full_up_to_729_then_a_seeded_sample():
    assert len(offsets(2, 1)) == 8 and (0, 0) not in offsets(2, 1)
    assert len(offsets(6, 1)) == 728
    sample = offsets(8, 1)
    assert len(sample) == len(set(sample)) == 729
    assert all(len(o) == 8 and set(o) <= {-1, 0, 1} and any(o) for o in sample)
    assert offsets(8, 1) == sample and offsets(8, 2) != sample


def test_steps_floats_categoricals_and_edges():
    strategy = get_strategy("trailing_ma")
    space = SearchSpace.parse(
        strategy,
        {
            "maType": {"choices": ["SMA", "EMA"]},
            "stopLongX": {"low": 1.0, "high": 3.0, "step": 0.1},
            "trailRRLong": {"low": 0.5, "high": 2.0, "step": None},
            "maLength": {"low": 25, "high": 500, "step": 25},
        },
    )
    params = {**space.fixed, "maType": "EMA", "stopLongX": 2.9, "trailRRLong": 1.0, "maLength": 25}
    found = neighbours(space, params)
    assert {p["maType"] for p in found} == {"EMA"}
    assert {p["stopLongX"] for p in found} == {2.8, 2.9, 3.0}
    assert sorted({p["trailRRLong"] for p in found}) == pytest.approx([0.925, 1.0, 1.075])
    assert {p["maLength"] for p in found} == {25, 50}
    assert len(found) == 3 * 3 * 2 - 1  # maLength cannot go below 25: those moves keep it, once
    assert at_edge(space, params) == ["maLength"]
