"""Monte Carlo of trades: reproducible, order-invariant final equity, and exact on small cases."""

from __future__ import annotations

from collections import Counter
from itertools import permutations, product

import numpy as np
import pytest

from backtune.engine.backtest import EngineSettings, run_backtest
from backtune.registry import get_strategy
from backtune.robustness.montecarlo import BOOTSTRAP, RESHUFFLE, monte_carlo, simulate, trade_returns
from backtune.window import DataWindow


def drawdown_pct(returns, initial=100.0) -> float:
    """Max drawdown in % of the running peak of the compounded curve, written out plainly."""
    equity, peak, worst = initial, initial, 0.0
    for r in returns:
        equity *= 1 + r
        peak = max(peak, equity)
        worst = max(worst, (peak - equity) / peak * 100)
    return round(worst, 9)


@pytest.fixture(scope="module")
def link_result(link_bars):
    strategy = get_strategy("trailing_ma")
    return run_backtest(
        link_bars,
        strategy,
        strategy.validate({}),
        DataWindow.parse("2025-06-15", "2025-11-15", 1000),
        EngineSettings(100.0, 0.0005),
    )


def test_trade_returns_compound_to_the_final_closed_equity(link_result):
    returns = trade_returns(link_result)
    assert len(returns) == len(link_result.trades) > 50
    expected = link_result.initial_capital + link_result.trades.net_pnl.sum()
    assert 100.0 * np.prod(1 + returns) == pytest.approx(expected, rel=1e-12)


def test_same_seed_same_scenarios_and_reshuffle_keeps_final_equity(link_result):
    first = monte_carlo(link_result, scenarios=2_000, seed=5)
    assert monte_carlo(link_result, scenarios=2_000, seed=5) == first
    assert monte_carlo(link_result, scenarios=2_000, seed=6) != first
    final = 100.0 + link_result.trades.net_pnl.sum()
    shuffled = simulate(trade_returns(link_result), 100.0, 2_000, 5, RESHUFFLE)
    np.testing.assert_allclose(shuffled.final_equity, final, rtol=1e-12)
    assert np.ptp(shuffled.max_drawdown_pct) > 0  # the order matters for the drawdown
    assert first["reshuffle"]["final_equity"]["p5"] == pytest.approx(final, rel=1e-12)
    histogram = first["reshuffle"]["drawdown_histogram"]
    counts, edges = np.histogram(shuffled.max_drawdown_pct, bins=len(histogram["counts"]))
    assert histogram == {"edges": edges.tolist(), "counts": counts.tolist()} and sum(counts) == 2_000
    boot = first["bootstrap"]["final_equity"]
    assert boot["p5"] < final < boot["p95"]


def test_reshuffle_draws_every_order_equally_often():
    returns = np.array([0.1, -0.2, 0.05, -0.1])
    exact = Counter(drawdown_pct(p) for p in permutations(returns))  # 24 orders
    got = simulate(returns, 100.0, 48_000, 3, RESHUFFLE)
    seen = Counter(np.round(got.max_drawdown_pct, 9))
    assert set(seen) == set(exact)
    for level, count in exact.items():
        assert seen[level] / 48_000 == pytest.approx(count / 24, abs=0.01)


def test_bootstrap_matches_the_exact_resampling_distribution():
    returns = np.array([0.2, -0.1, -0.15])
    exact_dd = Counter(drawdown_pct(p) for p in product(returns, repeat=3))  # 27 equally likely draws
    exact_final = Counter(round(100 * np.prod(1 + np.array(p)), 9) for p in product(returns, repeat=3))
    got = simulate(returns, 100.0, 54_000, 4, BOOTSTRAP)
    seen_dd = Counter(np.round(got.max_drawdown_pct, 9))
    seen_final = Counter(np.round(got.final_equity, 9))
    for exact, seen in ((exact_dd, seen_dd), (exact_final, seen_final)):
        assert set(seen) == set(exact)
        for value, count in exact.items():
            assert seen[value] / 54_000 == pytest.approx(count / 27, abs=0.01)


def test_fan_starts_at_the_capital_and_ends_at_the_final_equity():
    returns = np.array([0.1, -0.05, 0.02, 0.03])
    got = simulate(returns, 50.0, 100, 1, BOOTSTRAP)
    assert got.fan_at.tolist() == [0, 1, 2, 3, 4]
    np.testing.assert_allclose(got.fan[:, 0], 50.0)
    np.testing.assert_allclose(got.fan[:, -1], got.final_equity)
