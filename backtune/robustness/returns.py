"""Per-bar returns of a trial's trading window, summarised in one compiled pass.

The worker records, for every trial, the return moments the probabilistic and deflated
Sharpe ratios need, and the per-block sums CSCV needs, so nothing after the run has to
backtest again. Returns are those of ``backtune.metrics``: the curve ``[initial,
*equity[trade_start:]]``, one return per window bar, so ``sharpe_per_bar`` times the
annualising factor is the reported ``sharpe``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from backtune.result import BacktestResult
from backtune.robustness.sharpe import psr_dsr
from backtune.robustness.values import finite_or_none

# Per-trial metrics added beside backtune.metrics': the PSR/DSR inputs, then PSR and DSR.
TRIAL_METRICS = ("sharpe_per_bar", "returns_skew", "returns_kurtosis", "n_returns", "psr", "dsr")


@dataclass(frozen=True)
class ReturnStats:
    """Moments of the per-bar returns (NaN when undefined) and, per block, ``(n, sum, sumsq)``."""

    n_returns: int
    sharpe_per_bar: float
    skew: float
    kurtosis: float
    blocks: np.ndarray

    def as_metrics(self) -> dict[str, float | int | None]:
        """The trial metrics that let anyone recompute PSR and DSR (docs/robustness.md)."""
        return {
            "sharpe_per_bar": finite_or_none(self.sharpe_per_bar),
            "returns_skew": finite_or_none(self.skew),
            "returns_kurtosis": finite_or_none(self.kurtosis),
            "n_returns": self.n_returns,
        }


def window_returns(result: BacktestResult) -> np.ndarray:
    """The per-bar returns of the trading window (NaN after equity reaches zero)."""
    equity = result.equity[result.trade_start :]
    previous = np.concatenate(([result.initial_capital], equity[:-1]))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(previous > 0.0, equity / np.where(previous > 0.0, previous, 1.0) - 1.0, np.nan)


def return_stats(result: BacktestResult, blocks: int) -> ReturnStats:
    """Moments and block sums of ``result``'s per-bar returns in ``blocks`` contiguous blocks."""
    equity = result.equity[result.trade_start :]
    bounds = block_bounds(equity.shape[0], blocks)
    n, sharpe, skew, kurtosis, table = _pass(float(result.initial_capital), equity, bounds)
    return ReturnStats(int(n), sharpe, skew, kurtosis, table)


def block_bounds(n_returns: int, blocks: int) -> np.ndarray:
    """Start of each block and the end of the last: sizes differ by at most one bar
    (``numpy.array_split``'s rule), the longer blocks first."""
    size, extra = divmod(n_returns, blocks)
    sizes = np.full(blocks, size, dtype=np.int64)
    sizes[:extra] += 1
    return np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)


def moments(returns: np.ndarray) -> tuple[int, float, float, float]:
    """``(n, sharpe per bar, skewness, raw kurtosis)`` of any returns array, e.g. the
    stitched out-of-sample returns of a walk-forward run."""
    returns = np.ascontiguousarray(returns, dtype=np.float64)
    n, sharpe, skew, kurtosis, _ = _pass(1.0, np.cumprod(1.0 + returns), np.array([0, returns.shape[0]]))
    return int(n), sharpe, skew, kurtosis


def returns_sharpe_figures(
    returns: np.ndarray, sharpe_variance: float = math.nan, n_trials: int = 0
) -> dict[str, float | int | None]:
    """The per-trial figures (``TRIAL_METRICS``) of any returns array: e.g. the stitched
    out-of-sample returns of a walk-forward run, deflated by the trials that chose them."""
    n, sharpe, skew, kurtosis = moments(returns)
    stats = ReturnStats(n, sharpe, skew, kurtosis, np.zeros((0, 3)))
    return {**stats.as_metrics(), **psr_dsr(sharpe, n, skew, kurtosis, sharpe_variance, n_trials)}


@njit(cache=True, nogil=True)
def _pass(initial: float, equity: np.ndarray, bounds: np.ndarray) -> tuple[int, float, float, float, np.ndarray]:
    """Two passes over the returns (mean first, then central moments, for accuracy on
    returns whose mean is tiny against their spread), plus the block sums. Skewness and
    kurtosis are the population moments m3 / m2^1.5 and m4 / m2^2 (normal: 0 and 3);
    the Sharpe ratio divides the mean by the sample standard deviation, as
    ``backtune.metrics`` does. A curve that reaches zero equity has no returns beyond."""
    m = equity.shape[0]
    table = np.zeros((bounds.shape[0] - 1, 3))
    previous = initial
    total = 0.0
    valid = 0
    block = 0
    for k in range(m):
        while k >= bounds[block + 1]:
            block += 1
        value = equity[k]
        if previous <= 0.0:
            break
        r = value / previous - 1.0
        previous = value
        total += r
        valid += 1
        table[block, 0] += 1.0
        table[block, 1] += r
        table[block, 2] += r * r
    if valid < 2 or valid < m:
        return valid, math.nan, math.nan, math.nan, table
    mean = total / valid
    m2 = m3 = m4 = 0.0
    previous = initial
    for k in range(m):
        d = equity[k] / previous - 1.0 - mean
        previous = equity[k]
        d2 = d * d
        m2 += d2
        m3 += d2 * d
        m4 += d2 * d2
    m2 /= valid
    m3 /= valid
    m4 /= valid
    if m2 <= 1e-24 * max(mean * mean, 1e-300):
        return valid, math.nan, math.nan, math.nan, table
    std = math.sqrt(m2 * valid / (valid - 1))
    return valid, mean / std, m3 / m2**1.5, m4 / (m2 * m2), table
