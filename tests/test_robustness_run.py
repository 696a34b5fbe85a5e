"""The overfitting summary of a real run (two spawned workers, a real journal) against
statistics recomputed independently from backtests of its trials."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from backtune.data.loader import load_csv
from backtune.engine.backtest import run_backtest
from backtune.errors import FieldError
from backtune.optimize.config import RunConfig
from backtune.optimize.run import execute_run, prepare_run
from backtune.optimize.rundir import RunDir
from backtune.registry import get_strategy
from backtune.robustness.cscv import cscv
from backtune.robustness.overfitting import block_table
from backtune.robustness.returns import window_returns
from tests.conftest import backtesting_csv

GOOG = str(backtesting_csv("GOOG"))


def goog_config(**overrides) -> RunConfig:
    raw = {
        "data": GOOG,
        "strategy": "sma_cross",
        "workers": 2,
        "sampler": "random",
        "seed": 11,
        "space": {"n1": {"low": 5, "high": 30, "step": 1}, "n2": {"low": 31, "high": 120, "step": 1}},
        "budget": {"mode": "trials", "trials": 30},
        "capital": 10_000,
        "commission": 0.002,
        "cscv_blocks": 8,
    }
    raw.update(overrides)
    return RunConfig.parse(raw)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    config = goog_config()
    run = prepare_run(config, tmp_path_factory.mktemp("runs"))
    summary = execute_run(run)
    return run, config, summary


def trial_returns(config: RunConfig, params: dict) -> np.ndarray:
    strategy = get_strategy(config.strategy)
    result = run_backtest(
        load_csv(Path(GOOG)).bars,
        strategy,
        strategy.validate({**config.space.fixed, **params}),
        config.window,
        config.settings,
    )
    return window_returns(result)


def test_psr_and_dsr_of_every_trial_follow_from_their_returns(finished_run):
    run, config, summary = finished_run
    rows = json.loads(run.results_file.read_text())["results"]
    complete = [r for r in rows if r["rank"] is not None]
    sharpes = [r["metrics"]["sharpe_per_bar"] for r in complete]
    over = summary["overfitting"]
    assert over["n_trials"] == len(complete) == summary["trials"]["complete"]
    assert over["sharpe_variance"] == pytest.approx(np.var(sharpes, ddof=1), rel=1e-12)
    gamma = np.euler_gamma
    n_trials = len(complete)
    sr0 = math.sqrt(over["sharpe_variance"]) * (
        (1 - gamma) * stats.norm.ppf(1 - 1 / n_trials) + gamma * stats.norm.ppf(1 - 1 / (n_trials * math.e))
    )
    for row in complete[:5]:
        r = trial_returns(config, row["params"])
        sr = r.mean() / r.std(ddof=1)
        g3, g4 = stats.skew(r), stats.kurtosis(r, fisher=False)
        m = row["metrics"]
        assert (m["sharpe_per_bar"], m["returns_skew"], m["returns_kurtosis"], m["n_returns"]) == pytest.approx(
            (sr, g3, g4, len(r)), rel=1e-9
        )
        spread = math.sqrt(1 - g3 * sr + (g4 - 1) / 4 * sr**2)
        assert m["psr"] == pytest.approx(stats.norm.cdf(sr * math.sqrt(len(r) - 1) / spread), rel=1e-9)
        assert m["dsr"] == pytest.approx(stats.norm.cdf((sr - sr0) * math.sqrt(len(r) - 1) / spread), rel=1e-6)


def test_pbo_equals_cscv_over_recomputed_block_statistics(finished_run):
    run, config, summary = finished_run
    rows = json.loads(run.results_file.read_text())["results"]
    complete = sorted((r for r in rows if r["rank"] is not None), key=lambda r: r["rank"])
    table = []
    for row in complete:
        parts = np.array_split(trial_returns(config, row["params"]), 8)
        table.append([[p.shape[0], p.sum(), (p**2).sum()] for p in parts])
    expected = cscv(np.array(table))
    over = summary["overfitting"]
    assert over["n_trials_used"] == len(complete) and over["blocks"] == 8
    assert over["pbo"] == pytest.approx(expected.pbo)
    np.testing.assert_allclose(over["logits"], expected.logits, atol=1e-6)
    assert json.loads(run.state_file.read_text())["summary"]["overfitting"]["logits"] is None


def test_trials_missing_from_the_block_logs_are_backtested_again(finished_run, tmp_path):
    run, config, _ = finished_run
    rows = json.loads(run.results_file.read_text())["results"]
    numbers, logged = block_table(run, config, rows)
    copy = RunDir(tmp_path / run.run_id)
    shutil.copytree(run.path, copy.path)
    shutil.rmtree(copy.path / "blocks")
    again, recomputed = block_table(copy, config, rows)
    assert again == numbers and len(numbers) == sum(r["rank"] is not None for r in rows)
    np.testing.assert_allclose(recomputed, logged, rtol=1e-12)


@pytest.mark.parametrize("blocks", [5, 2, 40, "16"])
def test_bad_block_counts_are_refused(blocks):
    with pytest.raises(FieldError) as error:
        goog_config(cscv_blocks=blocks)
    assert error.value.field == "cscv_blocks"
