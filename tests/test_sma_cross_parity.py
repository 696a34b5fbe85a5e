"""sma_cross against the installed backtesting.py, trade for trade."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from backtesting import Backtest

from backtune.data.loader import load_csv
from backtune.engine.backtest import EngineSettings, run_backtest
from strategies.sma_cross import STRATEGY
from tests.conftest import LINK_15M, backtesting_csv
from tests.helpers import SmaCross, oracle_frame


def compare(bars, n1, n2, cash, commission):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = Backtest(oracle_frame(bars), SmaCross, cash=cash, commission=commission).run(n1=n1, n2=n2)
    expected = stats["_trades"]
    result = run_backtest(
        bars, STRATEGY, STRATEGY.validate({"n1": n1, "n2": n2}), settings=EngineSettings(cash, commission)
    )
    trades = result.trades
    assert len(trades) == len(expected)
    np.testing.assert_array_equal(trades.size * trades.direction, expected["Size"].to_numpy())
    np.testing.assert_array_equal(trades.entry_idx, expected["EntryBar"].to_numpy())
    np.testing.assert_array_equal(trades.exit_idx, expected["ExitBar"].to_numpy())
    np.testing.assert_array_equal(
        pd.to_datetime(trades.entry_time, utc=True).tz_localize(None), expected["EntryTime"].to_numpy()
    )
    np.testing.assert_allclose(trades.entry_price, expected["EntryPrice"], rtol=1e-12)
    np.testing.assert_allclose(trades.exit_price, expected["ExitPrice"], rtol=1e-12)
    np.testing.assert_allclose(trades.net_pnl, expected["PnL"], rtol=1e-9, atol=1e-9)
    net_profit_pct = (result.equity[-1] / cash - 1) * 100
    assert net_profit_pct == pytest.approx(stats["Return [%]"], rel=1e-6)
    np.testing.assert_allclose(result.equity, stats["_equity_curve"]["Equity"].to_numpy(), rtol=1e-9)
    return trades


def test_reproduces_backtesting_py_smacross_on_goog():
    trades = compare(load_csv(backtesting_csv("GOOG")).bars, 10, 20, 10_000, 0.002)
    assert len(trades) == 93


@pytest.mark.parametrize(
    "name, n1, n2, cash, commission",
    [
        ("EURUSD", 5, 30, 100_000, 0.0002),
        ("EURUSD", 20, 60, 50_000, 0.0),
        ("BTCUSD", 3, 8, 1_000_000, 0.001),
        ("GOOG", 15, 50, 25_000, 0.005),
    ],
)
def test_matches_backtesting_py_on_other_data_and_parameters(name, n1, n2, cash, commission):
    assert len(compare(load_csv(backtesting_csv(name)).bars, n1, n2, cash, commission)) > 3


def test_matches_backtesting_py_on_crypto_15m():
    compare(load_csv(LINK_15M).bars, 12, 48, 10_000, 0.0005)
