"""Monte Carlo of a trial's trades: reorder them (reshuffle) and resample them (bootstrap).

Each closed trade becomes a return on the closed equity it was taken with, so a scenario
compounds the returns in its own order: a reshuffle keeps the final equity exactly (a
product does not depend on the order) and shows how deep the drawdown could have been;
a bootstrap draws as many trades with replacement and spreads the final equity as well.
All scenarios run in one compiled pass seeded with ``seed``, so a result is reproducible.
Drawdowns are measured trade to trade, on closed equity (docs/robustness.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from backtune.result import BacktestResult

DRAWDOWN_LEVELS = (10.0, 20.0, 30.0, 50.0)
FAN_QUANTILES = (5.0, 25.0, 50.0, 75.0, 95.0)
FAN_POINTS = 50
HISTOGRAM_BINS = 30
RESHUFFLE, BOOTSTRAP = 0, 1


def trade_returns(result: BacktestResult) -> np.ndarray:
    """Each closed trade's net PnL over the closed equity before it, in exit order, so that
    compounding them reproduces the final closed equity: initial x prod(1 + r) = initial + sum(pnl)."""
    order = np.argsort(result.trades.exit_idx, kind="stable")
    pnl = result.trades.net_pnl[order]
    before = result.initial_capital + np.concatenate(([0.0], np.cumsum(pnl)[:-1]))
    if np.any(before <= 0.0):
        raise ValueError("the closed equity reached zero; trade returns beyond it are undefined")
    return pnl / before


@dataclass(frozen=True)
class Scenarios:
    """Per scenario: final equity and max drawdown (%); equity at ``fan_at`` trade counts."""

    final_equity: np.ndarray
    max_drawdown_pct: np.ndarray
    fan_at: np.ndarray
    fan: np.ndarray

    def summary(self, levels: tuple[float, ...] = DRAWDOWN_LEVELS) -> dict[str, object]:
        return {
            "final_equity": _quantiles(self.final_equity),
            "max_drawdown_pct": _quantiles(self.max_drawdown_pct),
            "prob_drawdown_exceeds": {f"{level:g}": float(np.mean(self.max_drawdown_pct > level)) for level in levels},
            "drawdown_histogram": _histogram(self.max_drawdown_pct),
            "fan": {
                "trades": self.fan_at.tolist(),
                **{f"p{q:g}": np.percentile(self.fan, q, axis=0).tolist() for q in FAN_QUANTILES},
            },
        }


def simulate(returns: np.ndarray, initial: float, scenarios: int, seed: int, mode: int) -> Scenarios:
    """``scenarios`` orderings (RESHUFFLE) or resamples (BOOTSTRAP) of ``returns``."""
    if scenarios < 1:
        raise ValueError(f"scenarios must be at least 1, got {scenarios}")
    returns = np.ascontiguousarray(returns, dtype=np.float64)
    fan_at = np.unique(np.linspace(0, returns.shape[0], min(FAN_POINTS, returns.shape[0] + 1)).round().astype(np.int64))
    final, drawdown, fan = _simulate(returns, float(initial), scenarios, seed, mode, fan_at)
    return Scenarios(final, drawdown, fan_at, fan)


def monte_carlo(
    result: BacktestResult, scenarios: int = 10_000, seed: int = 1, drawdown_pct: float | None = None
) -> dict[str, object]:
    """Both simulations of ``result``'s closed trades, summarised for the API and the CLI;
    ``drawdown_pct`` adds a level to the probabilities of exceeding a drawdown."""
    levels = tuple(sorted({*DRAWDOWN_LEVELS, *(() if drawdown_pct is None else (float(drawdown_pct),))}))
    returns = trade_returns(result)
    initial = result.initial_capital
    out: dict[str, object] = {
        "scenarios": scenarios,
        "seed": seed,
        "trades": int(returns.shape[0]),
        "initial_capital": initial,
    }
    if returns.shape[0] == 0:
        return {**out, "reshuffle": None, "bootstrap": None}
    out["reshuffle"] = simulate(returns, initial, scenarios, seed, RESHUFFLE).summary(levels)
    out["bootstrap"] = simulate(returns, initial, scenarios, seed, BOOTSTRAP).summary(levels)
    return out


@njit(cache=True, nogil=True)
def _simulate(
    returns: np.ndarray, initial: float, scenarios: int, seed: int, mode: int, fan_at: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    np.random.seed(seed)
    n = returns.shape[0]
    growth = 1.0 + returns
    order = growth.copy()
    final = np.empty(scenarios)
    drawdown = np.empty(scenarios)
    fan = np.empty((scenarios, fan_at.shape[0]))
    for s in range(scenarios):
        if mode == RESHUFFLE:
            for i in range(n - 1, 0, -1):  # Fisher-Yates
                j = int(np.random.random() * (i + 1))
                order[i], order[j] = order[j], order[i]
        else:
            for i in range(n):
                order[i] = growth[int(np.random.random() * n)]
        equity = initial
        peak = initial
        lowest = 1.0  # the lowest equity / running peak so far
        point = 0
        if fan_at[0] == 0:
            fan[s, 0] = initial
            point = 1
        for i in range(n):
            equity *= order[i]
            if equity > peak:
                peak = equity
            else:
                lowest = min(lowest, equity / peak)
            if point < fan_at.shape[0] and fan_at[point] == i + 1:
                fan[s, point] = equity
                point += 1
        final[s] = equity
        drawdown[s] = (1.0 - lowest) * 100.0
    return final, drawdown, fan


def _quantiles(values: np.ndarray) -> dict[str, float]:
    p5, p50, p95 = np.percentile(values, (5.0, 50.0, 95.0))
    return {"p5": float(p5), "p50": float(p50), "p95": float(p95)}


def _histogram(values: np.ndarray) -> dict[str, list[float] | list[int]]:
    """Counts of ``values`` in equal-width bins: the drawdown distribution, for a chart."""
    counts, edges = np.histogram(values, bins=HISTOGRAM_BINS)
    return {"edges": edges.tolist(), "counts": counts.tolist()}
