"""A trial's robustness report (plateau and Monte Carlo), computed once and cached.

Each part is a JSON file in the run directory's ``robustness/`` folder: a plateau per
trial and seed, a Monte Carlo per trial, scenario count, seed and drawdown level. A
finished run's trials never change, so a part is computed once, whoever asks first: the
run's own end (the plateaus of its best trials, ``backtune.robustness.robust_best``), the
CLI or the web API.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from backtune.engine.backtest import run_backtest
from backtune.optimize.config import RunConfig
from backtune.optimize.rundir import RunDir
from backtune.optimize.shared_bars import load_bars
from backtune.registry import get_strategy
from backtune.robustness.montecarlo import monte_carlo
from backtune.robustness.plateau import Plateau, best_numbers, plateaus, robust_order

FOLDER = "robustness"
# Part of each cached file's name: a report of an older layout is computed afresh, not served.
LAYOUT = 3


def plateau_path(run: RunDir, number: int, seed: int) -> Path:
    return run.path / FOLDER / f"plateau-trial-{number}-seed-{seed}-v{LAYOUT}.json"


def save_plateau(run: RunDir, plateau: Plateau, config: RunConfig, seed: int) -> dict[str, Any]:
    """The plateau's summary and neighbour table, as served and cached."""
    report = {**plateau.summary(), "table": plateau.table(config.space)}
    path = plateau_path(run, plateau.number, seed)
    path.parent.mkdir(exist_ok=True)
    run.write_json(path, report)
    return report


def trial_plateaus(
    run: RunDir, rows: Sequence[Mapping[str, Any]], numbers: Sequence[int], seed: int = 1, pool: Any = None
) -> list[dict[str, Any]]:
    """The plateau reports of trials ``numbers``: cached ones read, the rest computed in one batch."""
    missing = [n for n in numbers if not plateau_path(run, n, seed).exists()]
    if missing:
        config = RunConfig.parse(run.read_json(run.config_file))
        for found in plateaus(run, rows, missing, seed, pool).plateaus:
            save_plateau(run, found, config, seed)
    return [run.read_json(plateau_path(run, n, seed)) for n in numbers]


def monte_carlo_path(run: RunDir, number: int, scenarios: int, seed: int, drawdown_pct: float | None) -> Path:
    level = "" if drawdown_pct is None else f"-drawdown-{drawdown_pct:g}"
    return run.path / FOLDER / f"monte-carlo-trial-{number}-scenarios-{scenarios}-seed-{seed}{level}-v{LAYOUT}.json"


def cached_robustness(
    run: RunDir, number: int, scenarios: int, seed: int, drawdown_pct: float | None
) -> dict[str, Any] | None:
    """The trial's report when both its parts are cached, else None."""
    parts = (plateau_path(run, number, seed), monte_carlo_path(run, number, scenarios, seed, drawdown_pct))
    if not all(p.exists() for p in parts):
        return None
    return {"number": number, "plateau": run.read_json(parts[0]), "monte_carlo": run.read_json(parts[1])}


def trial_monte_carlo(
    run: RunDir, row: Mapping[str, Any], scenarios: int, seed: int, drawdown_pct: float | None = None
) -> dict[str, Any]:
    cache = monte_carlo_path(run, row["number"], scenarios, seed, drawdown_pct)
    if cache.exists():
        return run.read_json(cache)
    config = RunConfig.parse(run.read_json(run.config_file))
    strategy = get_strategy(config.strategy)
    params = strategy.validate({**config.space.fixed, **row["params"]})
    result = run_backtest(load_bars(run.bars_dir), strategy, params, config.window, config.settings)
    report = monte_carlo(result, scenarios, seed, drawdown_pct)
    cache.parent.mkdir(exist_ok=True)
    run.write_json(cache, report)
    return report


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
    row = next(r for r in rows if r["number"] == number)
    return {
        "number": number,
        "plateau": trial_plateaus(run, rows, [number], seed, pool)[0],
        "monte_carlo": trial_monte_carlo(run, row, scenarios, seed, drawdown_pct),
    }


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
    numbers = best_numbers(rows, top)
    found = trial_plateaus(run, rows, numbers, seed, pool)
    by_number = {r["number"]: r for r in rows}
    trials = [
        {
            "number": p["number"],
            "plateau": {k: v for k, v in p.items() if k != "table"},
            "monte_carlo": trial_monte_carlo(run, by_number[p["number"]], scenarios, seed, drawdown_pct),
        }
        for p in found
    ]
    return {"run_id": run.run_id, "trials": trials, "robust_order": robust_order([t["plateau"] for t in trials])}
