"""Probability of backtest overfitting by combinatorially symmetric cross-validation.

Bailey, Borwein, López de Prado & Zhu, "The probability of backtest overfitting",
Journal of Computational Finance 20(4), 2017 (SSRN 2326253); docs/robustness.md.

Each trial's per-bar returns arrive summarised per block as ``(n, sum, sum of squares)``,
which is all a Sharpe ratio over a union of blocks needs, so the 12,870 splits of 16
blocks over 1,000 trials are one compiled pass over a small table, not 12,870 passes over
the bars.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations

import numpy as np
from numba import njit

from backtune.robustness.values import finite_or_none

MIN_TRIALS = 10
DEFAULT_BLOCKS = 16
BLOCK_RANGE = (4, 32)


@dataclass(frozen=True)
class CscvResult:
    """One entry per split: the logit of the in-sample winner's out-of-sample relative rank,
    and that trial's in- and out-of-sample per-bar Sharpe ratios."""

    blocks: int
    n_trials: int
    logits: np.ndarray
    is_sharpe: np.ndarray
    oos_sharpe: np.ndarray

    @property
    def pbo(self) -> float:
        """Share of splits where the in-sample winner ranks at or below the out-of-sample median."""
        return float(np.mean(self.logits <= 0.0))

    @property
    def prob_oos_loss(self) -> float:
        """Share of splits where the in-sample winner loses money (Sharpe < 0) out of sample;
        an undefined Sharpe ratio (no movement at all) is no loss."""
        return float(np.mean(np.isfinite(self.oos_sharpe) & (self.oos_sharpe < 0.0)))

    def degradation(self) -> tuple[float, float]:
        """Slope and R^2 of the least-squares line of out-of-sample on in-sample Sharpe."""
        ok = np.isfinite(self.is_sharpe) & np.isfinite(self.oos_sharpe)
        x, y = self.is_sharpe[ok], self.oos_sharpe[ok]
        if x.shape[0] < 2 or np.ptp(x) == 0.0:
            return math.nan, math.nan
        slope, intercept = np.polyfit(x, y, 1)
        residual = y - (slope * x + intercept)
        total = np.sum((y - y.mean()) ** 2)
        r2 = 1.0 - np.sum(residual**2) / total if total > 0.0 else math.nan
        return float(slope), float(r2)

    def summary(self) -> dict[str, object]:
        slope, r2 = self.degradation()
        return {
            "pbo": self.pbo,
            "logits": [round(float(v), 6) for v in self.logits],
            "degradation": {"slope": finite_or_none(slope), "r2": finite_or_none(r2)},
            "prob_oos_loss": self.prob_oos_loss,
            "blocks": self.blocks,
            "n_trials_used": self.n_trials,
        }


def check_blocks(blocks: int) -> None:
    low, high = BLOCK_RANGE
    if isinstance(blocks, bool) or not isinstance(blocks, int) or not low <= blocks <= high or blocks % 2:
        raise ValueError(f"blocks must be an even whole number in {low}..{high}, got {blocks!r}")


def splits(blocks: int) -> np.ndarray:
    """Every choice of half the blocks as the in-sample set, as a 0/1 matrix (splits x blocks)."""
    chosen = np.array(list(combinations(range(blocks), blocks // 2)), dtype=np.int64)
    matrix = np.zeros((chosen.shape[0], blocks), dtype=np.bool_)
    np.put_along_axis(matrix, chosen, True, axis=1)
    return matrix


def cscv(stats: np.ndarray) -> CscvResult:
    """CSCV over ``stats`` (trials x blocks x 3: n, sum, sum of squares of per-bar returns).

    Trials come best first by the run's target, so a tie in-sample goes to the better-ranked one.
    """
    stats = np.ascontiguousarray(stats, dtype=np.float64)
    if stats.ndim != 3 or stats.shape[2] != 3:
        raise ValueError(f"expected trials x blocks x 3 block statistics, got shape {stats.shape}")
    n_trials, blocks = stats.shape[:2]
    check_blocks(blocks)
    if n_trials < 2:
        raise ValueError(f"CSCV needs at least two trials, got {n_trials}")
    logits, is_sharpe, oos_sharpe = _cscv_pass(stats, splits(blocks))
    return CscvResult(blocks, n_trials, logits, is_sharpe, oos_sharpe)


@njit(cache=True, nogil=True)
def _sharpe(n: float, total: float, squares: float) -> float:
    """Mean over sample standard deviation from sums; -inf when undefined, so it never wins."""
    if n < 2.0:
        return -np.inf
    mean = total / n
    variance = (squares - total * mean) / (n - 1.0)
    if variance <= 1e-30:
        return -np.inf
    return mean / math.sqrt(variance)


@njit(cache=True, nogil=True)
def _signed_square(n: float, total: float, squares: float) -> float:
    """sign(SR) x SR^2, an increasing function of the Sharpe ratio, so it ranks trials as
    the Sharpe ratio does without a square root: the split loop runs 25 million of these."""
    if n < 2.0:
        return -np.inf
    spread = (squares - total * total / n) * n * n / (n - 1.0)
    if spread <= 1e-30 * n * n:
        return -np.inf
    return total * abs(total) / spread


@njit(cache=True, nogil=True)
def _cscv_pass(stats: np.ndarray, in_sample: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per split: every trial's in-sample sums (the blocks' sums added, trial-contiguous so
    the adds vectorise), out-of-sample sums as the totals minus those, both Sharpe ratios
    (as signed squares), the in-sample best and its out-of-sample rank."""
    n_trials, blocks = stats.shape[0], stats.shape[1]
    n_splits = in_sample.shape[0]
    by_block = np.empty((3, blocks, n_trials))
    for t in range(n_trials):
        for b in range(blocks):
            for k in range(3):
                by_block[k, b, t] = stats[t, b, k]
    totals = np.zeros((3, n_trials))
    for k in range(3):
        for b in range(blocks):
            totals[k] += by_block[k, b]
    inside = np.empty((3, n_trials))
    oos = np.empty(n_trials)
    logits = np.empty(n_splits)
    is_best = np.empty(n_splits)
    oos_best = np.empty(n_splits)
    for s in range(n_splits):
        inside[:] = 0.0
        for b in range(blocks):
            if in_sample[s, b]:
                for k in range(3):
                    row = by_block[k, b]
                    acc = inside[k]
                    for t in range(n_trials):
                        acc[t] += row[t]
        best = -1
        best_key = -np.inf
        for t in range(n_trials):
            key = _signed_square(inside[0, t], inside[1, t], inside[2, t])
            if best < 0 or key > best_key:
                best, best_key = t, key
            oos[t] = _signed_square(
                totals[0, t] - inside[0, t], totals[1, t] - inside[1, t], totals[2, t] - inside[2, t]
            )
        chosen = oos[best]
        below = 0
        equal = 0
        for t in range(n_trials):
            if oos[t] < chosen:
                below += 1
            elif oos[t] == chosen:
                equal += 1
        # Average rank (1 = worst) of the chosen trial among its ties, as a fraction of N + 1.
        omega = (below + (equal + 1) / 2.0) / (n_trials + 1.0)
        logits[s] = math.log(omega / (1.0 - omega))
        is_best[s] = _sharpe(inside[0, best], inside[1, best], inside[2, best])
        oos_best[s] = _sharpe(
            totals[0, best] - inside[0, best], totals[1, best] - inside[1, best], totals[2, best] - inside[2, best]
        )
    return logits, is_best, oos_best
