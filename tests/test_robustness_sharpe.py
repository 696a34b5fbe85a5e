"""PSR and DSR against the papers' formulas written out with scipy, on returns with known moments."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from backtune.engine.backtest import EngineSettings, run_backtest
from backtune.registry import get_strategy
from backtune.robustness.returns import moments, return_stats, returns_sharpe_figures, window_returns
from backtune.robustness.sharpe import (
    _normal_ppf,
    deflated_sharpe,
    expected_max_sharpe,
    probabilistic_sharpe,
    sharpe_variance,
)
from backtune.window import DataWindow


def psr_paper(returns: np.ndarray, benchmark: float) -> float:
    """Bailey & López de Prado (2012), eq. for PSR, from the raw returns."""
    sr = returns.mean() / returns.std(ddof=1)
    g3 = stats.skew(returns)
    g4 = stats.kurtosis(returns, fisher=False)
    z = (sr - benchmark) * math.sqrt(len(returns) - 1) / math.sqrt(1 - g3 * sr + (g4 - 1) / 4 * sr**2)
    return float(stats.norm.cdf(z))


def emax_paper(variance: float, n_trials: int) -> float:
    """Bailey & López de Prado (2014): E[max SR] with the Euler-Mascheroni constant."""
    gamma = np.euler_gamma
    return math.sqrt(variance) * (
        (1 - gamma) * stats.norm.ppf(1 - 1 / n_trials) + gamma * stats.norm.ppf(1 - 1 / (n_trials * math.e))
    )


def test_moments_of_returns_with_known_skew_and_kurtosis():
    # Gamma(k) shifted to mean 0.0005: skew 2/sqrt(k), raw kurtosis 3 + 6/k.
    k = 4.0
    rng = np.random.default_rng(1)
    returns = (rng.gamma(k, 1.0, 400_000) - k) * 0.002 + 0.0005
    n, sharpe, skew, kurtosis = moments(returns)
    assert n == returns.shape[0]
    assert sharpe == pytest.approx(returns.mean() / returns.std(ddof=1), rel=1e-9)
    assert skew == pytest.approx(stats.skew(returns), rel=1e-9)
    assert kurtosis == pytest.approx(stats.kurtosis(returns, fisher=False), rel=1e-9)
    assert skew == pytest.approx(2 / math.sqrt(k), rel=0.03)
    assert kurtosis == pytest.approx(3 + 6 / k, rel=0.03)


@pytest.mark.parametrize("benchmark", [0.0, 0.02, -0.01])
def test_psr_matches_the_paper_on_skewed_returns(benchmark):
    rng = np.random.default_rng(2)
    returns = rng.lognormal(0.0, 0.5, 3_000) * 0.01 - 0.0155
    n, sharpe, skew, kurtosis = moments(returns)
    assert probabilistic_sharpe(sharpe, n, skew, kurtosis, benchmark) == pytest.approx(
        psr_paper(returns, benchmark), rel=1e-9, abs=1e-12
    )


def test_psr_is_uniform_under_the_null():
    """With a true Sharpe ratio of 0, P(PSR > 0.95) must be about 5%: the test's size."""
    rng = np.random.default_rng(3)
    values = []
    for _ in range(2_000):
        returns = rng.standard_t(5, 500) * 0.01
        n, sharpe, skew, kurtosis = moments(returns)
        values.append(probabilistic_sharpe(sharpe, n, skew, kurtosis))
    assert np.mean(np.array(values) > 0.95) == pytest.approx(0.05, abs=0.015)


def test_expected_max_sharpe_matches_the_paper_and_simulation():
    for variance, n_trials in ((1e-4, 10), (2.5e-3, 1_000), (1.0, 2)):
        assert expected_max_sharpe(variance, n_trials) == pytest.approx(emax_paper(variance, n_trials), rel=1e-7)
    # The best of 100 zero-Sharpe trials of 1,000 bars: simulated mean of the maximum.
    rng = np.random.default_rng(4)
    maxima, variances = [], []
    for _ in range(300):
        r = rng.normal(0.0, 0.01, (100, 1_000))
        sharpes = r.mean(axis=1) / r.std(axis=1, ddof=1)
        maxima.append(sharpes.max())
        variances.append(sharpe_variance(sharpes.tolist()))
    assert np.mean(maxima) == pytest.approx(expected_max_sharpe(float(np.mean(variances)), 100), rel=0.05)


def test_dsr_is_psr_against_the_expected_maximum():
    rng = np.random.default_rng(5)
    returns = rng.normal(0.001, 0.01, 2_000)
    n, sharpe, skew, kurtosis = moments(returns)
    expected = psr_paper(returns, emax_paper(4e-4, 500))
    assert deflated_sharpe(sharpe, n, skew, kurtosis, 4e-4, 500) == pytest.approx(expected, rel=1e-7)
    assert deflated_sharpe(sharpe, n, skew, kurtosis, 4e-4, 500) < probabilistic_sharpe(sharpe, n, skew, kurtosis)


def test_undefined_inputs_give_nan():
    assert math.isnan(probabilistic_sharpe(0.1, 1, 0.0, 3.0))
    assert math.isnan(expected_max_sharpe(1e-4, 1))
    assert math.isnan(sharpe_variance([0.1, None, float("nan")]))
    assert math.isnan(moments(np.zeros(100))[1])


def test_normal_quantile_matches_scipy():
    for p in np.concatenate([np.logspace(-10, -1, 30), np.linspace(0.02, 0.98, 49), 1 - np.logspace(-10, -1, 30)]):
        assert _normal_ppf(float(p)) == pytest.approx(stats.norm.ppf(p), abs=1e-7)


def test_trial_return_stats_match_its_equity_curve(link_bars):
    strategy = get_strategy("trailing_ma")
    result = run_backtest(
        link_bars,
        strategy,
        strategy.validate({}),
        DataWindow.parse("2025-06-15", "2025-11-15", 1000),
        EngineSettings(100.0, 0.0005),
    )
    returns = window_returns(result)
    got = return_stats(result, 16)
    assert got.n_returns == len(result.bars) - result.trade_start == returns.shape[0]
    assert got.sharpe_per_bar == pytest.approx(returns.mean() / returns.std(ddof=1), rel=1e-9)
    assert got.skew == pytest.approx(stats.skew(returns), rel=1e-9)
    assert got.kurtosis == pytest.approx(stats.kurtosis(returns, fisher=False), rel=1e-9)
    for block, part in zip(got.blocks, np.array_split(returns, 16)):
        assert block == pytest.approx([part.shape[0], part.sum(), (part**2).sum()], rel=1e-9, abs=1e-15)


def test_figures_of_any_returns_array_as_walk_forward_would_report_them():
    rng = np.random.default_rng(6)
    returns = rng.standard_t(4, 5_000) * 0.01 + 0.0008
    got = returns_sharpe_figures(returns, 3e-4, 200)
    sr = returns.mean() / returns.std(ddof=1)
    assert got["n_returns"] == 5_000 and got["sharpe_per_bar"] == pytest.approx(sr, rel=1e-9)
    assert got["psr"] == pytest.approx(psr_paper(returns, 0.0), rel=1e-9)
    assert got["dsr"] == pytest.approx(psr_paper(returns, emax_paper(3e-4, 200)), rel=1e-7)
    assert returns_sharpe_figures(returns)["dsr"] is None  # no population to deflate by
