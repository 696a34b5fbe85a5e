"""A trial's robustness report (plateau and Monte Carlo), computed on demand and cached.

The cache is a JSON file per trial, seed and scenario count in the run directory's
``robustness/`` folder: a finished run's trials never change, so a report is computed
once, whoever asks (the CLI or the web API).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from backtune.engine.backtest import run_backtest
from backtune.optimize.config import RunConfig
from backtune.optimize.rundir import RunDir
from backtune.optimize.shared_bars import load_bars
from backtune.registry import get_strategy
from backtune.robustness.montecarlo import monte_carlo
from backtune.robustness.plateau import plateaus, robust_order

log = logging.getLogger("backtune.robustness")
FOLDER = "robustness"
# Part of each cached report's name: a report of an older layout is computed afresh, not served.
LAYOUT = 2


def trial_monte_carlo(
    run: RunDir, row: Mapping[str, Any], scenarios: int, seed: int, drawdown_pct: float | None = None
) -> dict[str, Any]:
    config = RunConfig.parse(run.read_json(run.config_file))
    strategy = get_strategy(config.strategy)
    params = strategy.validate({**config.space.fixed, **row["params"]})
    result = run_backtest(load_bars(run.bars_dir), strategy, params, config.window, config.settings)
    return monte_carlo(result, scenarios, seed, drawdown_pct)


def trial_robustness(
    run: RunDir,
    rows: Sequence[Mapping[str, Any]],
    number: int,
    scenarios: int = 10_000,
    seed: int = 1,
    pool: Any = None,
    drawdown_pct: float | None = None,
) -> dict[str, Any]:
    """``{"plateau", "monte_carlo"}`` of trial ``number`` (a completed trial of ``rows``)."""
    level = "" if drawdown_pct is None else f"-drawdown-{drawdown_pct:g}"
    cache = run.path / FOLDER / f"trial-{number}-scenarios-{scenarios}-seed-{seed}{level}-v{LAYOUT}.json"
    if cache.exists():
        return run.read_json(cache)
    row = next(r for r in rows if r["number"] == number)
    found = plateaus(run, [{**row, "rank": 0}], top=1, seed=seed, pool=pool)[0]
    config = RunConfig.parse(run.read_json(run.config_file))
    report = {
        "number": number,
        "plateau": {**found.summary(), "table": found.table(config.space)},
        "monte_carlo": trial_monte_carlo(run, row, scenarios, seed, drawdown_pct),
    }
    cache.parent.mkdir(exist_ok=True)
    run.write_json(cache, report)
    log.info("run %s: robustness of trial %d computed (%d neighbours)", run.run_id, number, len(found.targets))
    return report


def study_robustness(
    run: RunDir,
    rows: Sequence[Mapping[str, Any]],
    top: int = 5,
    scenarios: int = 10_000,
    seed: int = 1,
    pool: Any = None,
    drawdown_pct: float | None = None,
) -> dict[str, Any]:
    """Plateaus of the ``top`` best trials (one batch of backtests), their "robust best"
    order and the Monte Carlo of each."""
    found = plateaus(run, rows, top, seed, pool)
    by_number = {r["number"]: r for r in rows}
    trials = [
        {
            "number": p.number,
            "plateau": p.summary(),
            "monte_carlo": trial_monte_carlo(run, by_number[p.number], scenarios, seed, drawdown_pct),
        }
        for p in found
    ]
    return {"run_id": run.run_id, "trials": trials, "robust_order": robust_order(found)}
