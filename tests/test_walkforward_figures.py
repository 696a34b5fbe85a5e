"""Stitching and the walk-forward figures, against independent computations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from backtune.data.loader import load_csv
from backtune.engine.backtest import EngineSettings, run_backtest
from backtune.metrics import compute_metrics
from backtune.walkforward import figures
from backtune.walkforward.stitch import stitch, window_return
from backtune.window import DataWindow
from strategies.sma_cross import STRATEGY
from tests.conftest import backtesting_csv


@pytest.fixture(scope="module")
def window_results():
    bars = load_csv(backtesting_csv("GOOG")).bars
    settings = EngineSettings(10_000.0, 0.002)
    edges = [(600, 899), (900, 1199), (1200, 1499)]
    return (
        bars,
        edges,
        [
            run_backtest(
                bars,
                STRATEGY,
                STRATEGY.validate({"n1": 10, "n2": 30}),
                DataWindow(int(bars.time[a]), int(bars.time[b]), 50),
                settings,
                close_at_end=True,
            )
            for a, b in edges
        ],
    )


def test_stitched_equity_is_the_compounding_of_the_windows(window_results):
    bars, edges, results = window_results
    stitched = stitch(results)
    returns = [window_return(r) for r in results]
    assert stitched.equity[-1] == pytest.approx(10_000.0 * np.prod([1 + r for r in returns]), rel=1e-12)
    # Within each window the stitched curve moves by that window's own per-bar returns.
    offset = 0
    previous = 10_000.0
    for result in results:
        own = np.concatenate([[result.initial_capital], result.equity[result.trade_start :]])
        length = own.shape[0] - 1
        mine = np.concatenate([[previous], stitched.equity[offset : offset + length]])
        np.testing.assert_allclose(mine[1:] / mine[:-1], own[1:] / own[:-1], rtol=1e-12)
        offset += length
        previous = mine[-1]
    assert offset == len(stitched.bars) == edges[-1][1] - edges[0][0] + 1
    np.testing.assert_array_equal(stitched.bars.time, bars.time[edges[0][0] : edges[-1][1] + 1])


def test_stitched_trades_are_the_windows_trades_in_order(window_results):
    _, _, results = window_results
    stitched = stitch(results)
    trades = stitched.trades
    assert len(trades) == sum(len(r.trades) for r in results)
    np.testing.assert_array_equal(trades.entry_time, np.concatenate([r.trades.entry_time for r in results]))
    assert np.all(np.diff(trades.entry_time) > 0)
    # Entry and exit indices point at the stitched bars with those times.
    np.testing.assert_array_equal(stitched.bars.time[trades.entry_idx], trades.entry_time)
    np.testing.assert_array_equal(stitched.bars.time[trades.exit_idx], trades.exit_time)
    assert stitched.equity[-1] == pytest.approx(10_000.0 + trades.net_pnl.sum(), rel=1e-9)
    metrics = compute_metrics(stitched)
    assert metrics.total_trades == len(trades)
    assert metrics.net_profit_pct == pytest.approx((stitched.equity[-1] / 10_000.0 - 1) * 100, rel=1e-12)


def test_t_statistic_matches_scipy(window_results):
    stitched = stitch(window_results[2])
    curve = np.concatenate([[10_000.0], stitched.equity])
    expected = stats.ttest_1samp(np.diff(curve) / curve[:-1], 0.0).statistic
    assert figures.t_statistic(stitched.equity, 10_000.0) == pytest.approx(expected, rel=1e-10)
    assert figures.t_statistic(np.full(50, 10_000.0), 10_000.0) is None


def test_efficiency_share_and_profitable_windows_by_hand():
    windows = [
        figures.WindowFigures(is_return_pct=20.0, is_days=365.25, oos_return=0.10, oos_days=182.625),
        figures.WindowFigures(is_return_pct=40.0, is_days=365.25, oos_return=-0.05, oos_days=182.625),
        figures.WindowFigures(is_return_pct=30.0, is_days=365.25, oos_return=0.20, oos_days=182.625),
    ]
    # In-sample: 20, 40, 30 % a year -> mean 30. Out-of-sample: 25.4 % over 1.5 years -> 16.93 % a year.
    stitched_pct = (1.10 * 0.95 * 1.20 - 1) * 100
    assert figures.walk_forward_efficiency(windows, stitched_pct) == pytest.approx(
        100 * (stitched_pct / 1.5) / 30.0, rel=1e-12
    )
    assert figures.profitable_windows_pct(windows) == pytest.approx(200 / 3)
    # Profits in the account: 1000, -550, 2090 (of 10,000 compounding) -> largest 2090 / 2540.
    assert figures.largest_window_profit_share(windows, 10_000.0) == pytest.approx(100 * 2090 / 2540, rel=1e-12)
    losing = [figures.WindowFigures(-5.0, 100.0, -0.01, 30.0)] * 2
    assert figures.walk_forward_efficiency(losing, -2.0) is None
    assert figures.largest_window_profit_share(losing, 10_000.0) is None


def test_verdict_applies_each_threshold():
    values = {
        "wfe": 55.0,
        "profitable_windows_pct": 50.0,
        "largest_window_profit_share": 50.0,
        "max_drawdown_pct": 39.9,
        "total_trades": None,
    }
    thresholds = {
        "wfe": 50.0,
        "profitable_windows_pct": 50.0,
        "largest_window_profit_share": 50.0,
        "max_drawdown_pct": 40.0,
        "total_trades": 30.0,
    }
    verdict = figures.verdict(values, thresholds)
    assert {c["name"]: c["pass"] for c in verdict["criteria"]} == {
        "wfe": True,
        "profitable_windows_pct": True,
        "largest_window_profit_share": False,
        "max_drawdown_pct": True,
        "total_trades": False,
    }
    assert verdict["pass"] is False
    assert (
        figures.verdict({**values, "largest_window_profit_share": 49.0, "total_trades": 30}, thresholds)["pass"] is True
    )
    assert figures.verdict({**values, "total_trades": 30}, {**thresholds, "largest_window_profit_share": 60.0})["pass"]


def test_pooled_sharpe_variance_weights_each_window_by_its_degrees_of_freedom():
    assert figures.pooled_sharpe_variance([0.01, None, 0.04, float("nan")], [3, 5, 11, 7]) == pytest.approx(
        (2 * 0.01 + 10 * 0.04) / 12
    )
    assert np.isnan(figures.pooled_sharpe_variance([0.02, None], [1, 9]))
