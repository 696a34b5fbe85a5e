"""The walk-forward figures and the verdict (formulas and sources in docs/walkforward.md)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

DAYS_PER_YEAR = 365.25


@dataclass(frozen=True)
class WindowFigures:
    """What one finished window contributes: its in-sample return (the carried parameters
    on the in-sample range), its out-of-sample return, and both spans in days."""

    is_return_pct: float
    is_days: float
    oos_return: float
    oos_days: float


def annualised_pct(return_pct: float, days: float) -> float:
    """Simple (not compounded) annualisation, as Pardo annualises for the efficiency ratio."""
    return return_pct * DAYS_PER_YEAR / days


def walk_forward_efficiency(windows: Sequence[WindowFigures], stitched_return_pct: float) -> float | None:
    """Pardo's WFE in %: the stitched out-of-sample return, annualised, over the mean of the
    windows' annualised in-sample returns; undefined (None) when that mean is not positive."""
    mean_is = float(np.mean([annualised_pct(w.is_return_pct, w.is_days) for w in windows]))
    if not mean_is > 0:
        return None
    oos = annualised_pct(stitched_return_pct, sum(w.oos_days for w in windows))
    return 100.0 * oos / mean_is


def profitable_windows_pct(windows: Sequence[WindowFigures]) -> float:
    return 100.0 * sum(1 for w in windows if w.oos_return > 0) / len(windows)


def largest_window_profit_share(windows: Sequence[WindowFigures], capital: float) -> float | None:
    """The largest window's profit in the stitched account, in % of the total profit;
    undefined (None) when the windows made no profit in total."""
    equity = capital * np.cumprod([1.0 + w.oos_return for w in windows])
    profits = np.diff(np.concatenate([[capital], equity]))
    total = float(profits.sum())
    if not total > 0:
        return None
    return 100.0 * float(profits.max()) / total


def t_statistic(equity: np.ndarray, capital: float) -> float | None:
    """t of the mean per-bar return of the stitched curve against zero: mean / (s / sqrt(n));
    None when the returns do not vary (no trade)."""
    curve = np.concatenate([[capital], equity])
    returns = curve[1:] / curve[:-1] - 1.0
    if returns.shape[0] < 2:
        return None
    std = float(np.std(returns, ddof=1))
    if not std > 0:
        return None
    return float(np.mean(returns)) / std * math.sqrt(returns.shape[0])


def pooled_sharpe_variance(variances: Sequence[float | None], trials: Sequence[int]) -> float:
    """The windows' within-study variances of the per-bar Sharpe ratio pooled as one
    variance, ``Σ (N_k - 1) V_k / Σ (N_k - 1)``, over the windows where it is defined: each
    window searched the same space on its own data, so the spread of luck among a window's
    trials is what deflates the carried ones. NaN when no window has one."""
    pairs = [(v, n - 1) for v, n in zip(variances, trials) if v is not None and math.isfinite(v) and n >= 2]
    weight = sum(w for _, w in pairs)
    return sum(v * w for v, w in pairs) / weight if weight > 0 else math.nan


# name -> whether passing means "at least" (True) or "below" (False) the threshold.
CRITERIA: Mapping[str, bool] = {
    "wfe": True,
    "profitable_windows_pct": True,
    "largest_window_profit_share": False,
    "max_drawdown_pct": False,
    "total_trades": True,
}


def verdict(values: Mapping[str, float | None], thresholds: Mapping[str, float]) -> dict[str, Any]:
    """Each criterion with its value, threshold and pass; an undefined value fails."""
    criteria = []
    for name, at_least in CRITERIA.items():
        value, threshold = values.get(name), thresholds[name]
        passed = value is not None and (value >= threshold if at_least else value < threshold)
        criteria.append({"name": name, "value": value, "threshold": threshold, "pass": bool(passed)})
    return {"pass": all(c["pass"] for c in criteria), "criteria": criteria}
