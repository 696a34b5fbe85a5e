"""The post-run step: deflate every completed trial's Sharpe ratio and run CSCV.

Both need the whole population of trials, so, like ``percentile_score``, they are
computed once the workers are done, from what the workers recorded: the return moments
in each trial's metrics and the block statistics in the run's block logs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from backtune.engine.backtest import run_backtest
from backtune.optimize.config import RunConfig
from backtune.optimize.rundir import RunDir
from backtune.optimize.shared_bars import load_bars
from backtune.registry import get_strategy
from backtune.robustness.blocklog import read_block_logs
from backtune.robustness.cscv import MIN_TRIALS, cscv
from backtune.robustness.returns import return_stats
from backtune.robustness.sharpe import psr_dsr, sharpe_variance
from backtune.robustness.values import finite_or_none

log = logging.getLogger("backtune.robustness")


def deflate(rows: Sequence[dict[str, Any]]) -> tuple[float, int]:
    """Add ``psr`` and ``dsr`` to the metrics of every ranked (completed) row, in place.

    N is the number of completed trials; the variance is that of their per-bar Sharpe
    ratios. Returns ``(sharpe_variance, n_trials)``.
    """
    complete = [r for r in rows if r.get("rank") is not None]
    variance = sharpe_variance([r["metrics"].get("sharpe_per_bar") for r in complete])
    for row in complete:
        metrics = row["metrics"]
        inputs = [metrics.get(k) for k in ("sharpe_per_bar", "n_returns", "returns_skew", "returns_kurtosis")]
        if any(v is None for v in inputs):
            metrics.update(psr=None, dsr=None)
            continue
        sharpe, n, skew, kurtosis = inputs
        metrics.update(psr_dsr(sharpe, n, skew, kurtosis, variance, len(complete)))
    return variance, len(complete)


def study_overfitting(run: RunDir, config: RunConfig, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The run summary's ``overfitting`` object; adds ``psr``/``dsr`` to the rows' metrics."""
    variance, n_trials = deflate(rows)
    summary: dict[str, Any] = {
        "pbo": None,
        "logits": None,
        "degradation": None,
        "prob_oos_loss": None,
        "blocks": config.cscv_blocks,
        "n_trials_used": 0,
        "sharpe_variance": finite_or_none(variance),
        "n_trials": n_trials,
    }
    trials, table = block_table(run, config, rows)
    if len(trials) >= MIN_TRIALS:
        summary.update(cscv(table).summary())
    return summary


def block_table(run: RunDir, config: RunConfig, rows: Sequence[Mapping[str, Any]]) -> tuple[list[int], np.ndarray]:
    """Trial numbers and their (trials x blocks x 3) statistics: the best ``cscv_max_trials``
    completed trials by target, best first. Trials missing from the block logs (run by a
    worker on another host, or before the logs existed) are backtested again here."""
    chosen = sorted((r for r in rows if r.get("rank") is not None), key=lambda r: r["rank"])[: config.cscv_max_trials]
    logged = read_block_logs(run.path, config.cscv_blocks)
    missing = [r for r in chosen if r["number"] not in logged]
    if missing:
        logged.update(_recompute(run, config, missing))
        log.info("run %s: backtested %d trials again for their block statistics", run.run_id, len(missing))
    numbers = [r["number"] for r in chosen]
    table = np.array([logged[n] for n in numbers]) if numbers else np.zeros((0, config.cscv_blocks, 3))
    return numbers, table


def _recompute(run: RunDir, config: RunConfig, rows: Sequence[Mapping[str, Any]]) -> dict[int, np.ndarray]:
    bars = load_bars(run.bars_dir)
    strategy = get_strategy(config.strategy)
    out = {}
    for row in rows:
        params = strategy.validate({**config.space.fixed, **row["params"]})
        result = run_backtest(bars, strategy, params, config.window, config.settings)
        out[row["number"]] = return_stats(result, config.cscv_blocks).blocks
    return out
