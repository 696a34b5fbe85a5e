"""``--close-at-end``: the open position is closed at the last bar's close, commission charged.

The oracle is backtesting.py without ``finalize_trades`` (its ``finalize_trades`` fills the
closing order at the last bar's open, not its close): every closed trade as it reports it,
plus one exit at the last close whose profit and fee are computed here by hand.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from backtesting import Backtest

from backtune.data.loader import load_csv
from backtune.engine.backtest import EngineSettings, run_backtest
from backtune.metrics import compute_metrics
from strategies.sma_cross import STRATEGY
from tests.conftest import LINK_15M, backtesting_csv
from tests.helpers import SmaCross, cli, oracle_frame


@pytest.mark.parametrize(
    "path, n1, n2, cash, commission",
    [
        (backtesting_csv("GOOG"), 10, 20, 10_000, 0.002),
        (LINK_15M, 12, 48, 10_000, 0.0005),
    ],
)
def test_closes_at_the_last_close_against_backtesting_py(path, n1, n2, cash, commission):
    bars = load_csv(path).bars
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = Backtest(oracle_frame(bars), SmaCross, cash=cash, commission=commission).run(n1=n1, n2=n2)
    expected = stats["_trades"]
    result = run_backtest(
        bars,
        STRATEGY,
        STRATEGY.validate({"n1": n1, "n2": n2}),
        settings=EngineSettings(cash, commission),
        close_at_end=True,
    )
    trades = result.trades
    assert result.open_position is None
    assert len(trades) == len(expected) + 1
    np.testing.assert_allclose(trades.net_pnl[:-1], expected["PnL"], rtol=1e-9, atol=1e-9)
    last_close = float(bars.close[-1])
    open_trade = stats._strategy.position  # still open in the oracle, marked to the last close
    size = abs(open_trade.size)
    entry = float(trades.entry_price[-1])
    direction = 1 if open_trade.is_long else -1
    assert (trades.exit_idx[-1], trades.exit_price[-1], trades.size[-1]) == (len(bars) - 1, last_close, size)
    by_hand = (last_close - entry) * size * direction - (entry + last_close) * size * commission
    assert trades.net_pnl[-1] == pytest.approx(by_hand, rel=1e-12)
    assert result.equity[-1] == pytest.approx(stats["Equity Final [$]"] - last_close * size * commission, rel=1e-9)
    assert result.equity[-1] == pytest.approx(cash + trades.net_pnl.sum(), rel=1e-12)
    assert result.closed_equity[-1] == result.equity[-1]
    assert compute_metrics(result).total_trades == len(expected) + 1


def test_a_flat_run_is_unchanged():
    bars = load_csv(backtesting_csv("GOOG")).bars
    params = STRATEGY.validate({"n1": 10, "n2": 20})
    flat = run_backtest(bars.slice(0, 20), STRATEGY, params, close_at_end=True)
    assert flat.open_position is None and len(flat.trades) == 0
    np.testing.assert_array_equal(flat.equity, run_backtest(bars.slice(0, 20), STRATEGY, params).equity)


def test_cli_option_realises_the_open_position():
    common = (
        "backtest",
        "--data",
        str(backtesting_csv("GOOG")),
        "--strategy",
        "sma_cross",
        "--start",
        "2006-01-01",
        "--end",
        "2007-06-30",
        "--warmup",
        "30",
        "--commission",
        "0.002",
        "--json",
    )
    marked = json.loads(cli(*common).stdout)
    done = cli(*common, "--close-at-end")
    assert done.returncode == 0, done.stderr
    closed = json.loads(done.stdout)
    position = marked["open_position"]
    assert position is not None and closed["open_position"] is None
    assert len(closed["trades"]) == len(marked["trades"]) + 1
    last = closed["trades"][-1]
    assert last["exit_time"] == closed["window"]["end"] and last["exit_price"] == position["mark_price"]
    exit_fee = position["mark_price"] * position["size"] * 0.002
    expected = marked["metrics"]["net_profit"] - exit_fee
    assert closed["metrics"]["net_profit"] == pytest.approx(expected, rel=1e-12)
