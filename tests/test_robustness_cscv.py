"""PBO by CSCV against a brute-force CSCV over raw per-bar returns, and on studies whose answer is known."""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np
import pytest
from scipy.stats import rankdata

from backtune.robustness.cscv import cscv, splits
from backtune.robustness.returns import block_bounds


def block_stats(returns: np.ndarray, blocks: int) -> np.ndarray:
    bounds = block_bounds(returns.shape[1], blocks)
    parts = [returns[:, bounds[b] : bounds[b + 1]] for b in range(blocks)]
    return np.stack(
        [np.stack([np.full(len(returns), p.shape[1]), p.sum(axis=1), (p**2).sum(axis=1)], axis=1) for p in parts],
        axis=1,
    )


def brute_force(returns: np.ndarray, blocks: int) -> tuple[list[float], list[float], list[float]]:
    """The paper's procedure, literally: split the T x N matrix of returns into S row
    blocks, and for each half/half split concatenate the rows, compute every trial's
    Sharpe ratio in and out of sample, pick the in-sample best, rank it out of sample."""
    parts = np.array_split(np.arange(returns.shape[1]), blocks)
    logits, is_best, oos_best = [], [], []
    for chosen in combinations(range(blocks), blocks // 2):
        is_idx = np.concatenate([parts[b] for b in chosen])
        oos_idx = np.concatenate([parts[b] for b in range(blocks) if b not in chosen])
        is_sr = returns[:, is_idx].mean(axis=1) / returns[:, is_idx].std(axis=1, ddof=1)
        oos_sr = returns[:, oos_idx].mean(axis=1) / returns[:, oos_idx].std(axis=1, ddof=1)
        best = int(np.argmax(is_sr))
        omega = rankdata(oos_sr)[best] / (len(oos_sr) + 1)
        logits.append(math.log(omega / (1 - omega)))
        is_best.append(is_sr[best])
        oos_best.append(oos_sr[best])
    return logits, is_best, oos_best


def test_matches_brute_force_cscv_on_raw_returns():
    rng = np.random.default_rng(7)
    returns = rng.normal(0.0, 0.01, (40, 601)) + rng.normal(0.0, 0.0005, (40, 1))
    got = cscv(block_stats(returns, 6))
    logits, is_best, oos_best = brute_force(returns, 6)
    assert len(got.logits) == math.comb(6, 3) == 20
    np.testing.assert_allclose(got.logits, logits, rtol=1e-9)
    np.testing.assert_allclose(got.is_sharpe, is_best, rtol=1e-9)
    np.testing.assert_allclose(got.oos_sharpe, oos_best, rtol=1e-9)
    assert got.pbo == pytest.approx(np.mean(np.array(logits) <= 0))
    assert got.prob_oos_loss == pytest.approx(np.mean(np.array(oos_best) < 0))
    slope, intercept = np.polyfit(is_best, oos_best, 1)
    r2 = np.corrcoef(is_best, oos_best)[0, 1] ** 2
    assert got.degradation() == pytest.approx((slope, r2), rel=1e-9)


def test_pbo_near_zero_when_one_trial_truly_dominates():
    rng = np.random.default_rng(8)
    returns = rng.normal(0.0, 0.01, (50, 4_000))
    returns[17] += 0.004  # a real edge, large against the noise of any half of the window
    got = cscv(block_stats(returns, 16))
    assert got.pbo < 0.01
    assert got.prob_oos_loss < 0.01


def test_pbo_near_half_or_above_on_pure_noise():
    rng = np.random.default_rng(9)
    returns = rng.normal(0.0, 0.01, (200, 3_000))
    got = cscv(block_stats(returns, 16))
    assert 0.35 <= got.pbo <= 0.8
    slope, _ = got.degradation()
    assert slope < 0.3  # in-sample luck does not carry over


def test_splits_are_every_half():
    matrix = splits(8)
    assert matrix.shape == (70, 8) and set(matrix.sum(axis=1)) == {4}
    assert len({row.tobytes() for row in matrix}) == 70


@pytest.mark.parametrize("blocks", [3, 5, 2, 34])
def test_blocks_must_be_even_and_in_range(blocks):
    with pytest.raises(ValueError, match="blocks must be an even whole number"):
        cscv(np.ones((12, blocks, 3)))
