"""rsi_reversion and donchian_breakout on hand-made bars, where every trade is worked out on
paper, plus their parameter checks and a smoke run on real data."""

from __future__ import annotations

import numpy as np
import pytest

from backtune.data.ohlcv import OHLCV
from backtune.engine.backtest import EngineSettings, run_backtest
from backtune.params import ParamError
from backtune.registry import get_strategy

HOUR = 3_600 * 10**9
NO_COMMISSION = EngineSettings(initial_capital=1_000.0, commission=0.0)


def make_bars(close, high, low, open_) -> OHLCV:
    n = len(close)
    return OHLCV(
        time=np.arange(n, dtype=np.int64) * HOUR,
        open=np.asarray(open_, dtype=float),
        high=np.asarray(high, dtype=float),
        low=np.asarray(low, dtype=float),
        close=np.asarray(close, dtype=float),
        volume=np.ones(n),
    )


def backtest(strategy_id, bars, **given):
    strategy = get_strategy(strategy_id)
    return run_backtest(bars, strategy, strategy.validate(given), settings=NO_COMMISSION)


def trades_of(result):
    t = result.trades
    return [
        (int(d), int(e), int(x), round(float(ep), 9), round(float(xp), 9))
        for d, e, x, ep, xp in zip(t.direction, t.entry_idx, t.exit_idx, t.entry_price, t.exit_price)
    ]


# --- rsi_reversion -------------------------------------------------------------------------

# RSI(2) of these closes (Wilder, seeded with the mean of the first two changes):
#   bar:    2      3     4     5     6     7     8     9     10    11
#   RSI:  100.0  33.3  14.3  45.5  68.4  82.9  91.0  61.6  21.0  21.0
# Bar 5 crosses up through 30 (14.3 -> 45.5) and is still below 50: long signal, filled at
# bar 6's open; bar 6 is above 50: exit at bar 7's open. Bar 9 crosses down through 70
# (91.0 -> 61.6) and is still above 50: short signal, filled at bar 10's open; bar 10 is
# below 50: exit at bar 11's open.
RSI_CLOSE = [100, 101, 102, 100, 98, 99, 100, 101, 102, 101.5, 100, 100]
RSI_OPEN = [100] + [c + 0.2 for c in RSI_CLOSE[:-1]]  # each bar opens 0.2 above the last close
RSI_HIGH = [max(o, c) + 0.3 for o, c in zip(RSI_OPEN, RSI_CLOSE)]
RSI_LOW = [min(o, c) - 0.3 for o, c in zip(RSI_OPEN, RSI_CLOSE)]
RSI_PLAIN = dict(rsi_length=2, trend_length=0, stop_atr=0.0)


def rsi_bars(high=RSI_HIGH, low=RSI_LOW):
    return make_bars(RSI_CLOSE, high, low, RSI_OPEN)


def test_rsi_long_on_cross_up_short_on_cross_down_exits_at_the_exit_level():
    result = backtest("rsi_reversion", rsi_bars(), **RSI_PLAIN)
    assert trades_of(result) == [(1, 6, 7, 99.2, 100.2), (-1, 10, 11, 101.7, 100.2)]
    assert result.open_position is None


def test_rsi_long_only_when_shorts_are_disallowed():
    result = backtest("rsi_reversion", rsi_bars(), **RSI_PLAIN, allow_shorts=False)
    assert trades_of(result) == [(1, 6, 7, 99.2, 100.2)]


def test_rsi_skips_an_entry_whose_exit_condition_already_holds():
    # With the exit level at 40, bar 5's RSI of 45.5 has already reverted: no long.
    result = backtest("rsi_reversion", rsi_bars(), **RSI_PLAIN, exit_level=40.0)
    assert trades_of(result) == [(-1, 10, 11, 101.7, 100.2)]


def test_rsi_trend_filter_keeps_entries_on_the_right_side_of_the_sma():
    # SMA(2): bar 5 close 99 > 98.5 (long allowed), bar 9 close 101.5 < 101.75 (short allowed).
    allowed = backtest("rsi_reversion", rsi_bars(), **{**RSI_PLAIN, "trend_length": 2})
    assert [t[:3] for t in trades_of(allowed)] == [(1, 6, 7), (-1, 10, 11)]
    # SMA(4): bar 5 close 99 < 99.75 (no long), bar 9 close 101.5 > 101.125 (no short).
    blocked = backtest("rsi_reversion", rsi_bars(), **{**RSI_PLAIN, "trend_length": 4})
    assert trades_of(blocked) == [] and blocked.open_position is None


def test_rsi_atr_stop_is_measured_from_the_fill_price():
    # ATR(1) is the signal bar's true range. Bar 5: high 99.3, low 97.9, previous close 98
    # -> 1.4, so the long filled at 99.2 stops at 97.8. Bar 9: high 102.5, low 101.2,
    # previous close 102 -> 1.3, so the short filled at 101.7 stops at 103.0.
    high, low = list(RSI_HIGH), list(RSI_LOW)
    low[6] = 97.5
    high[10] = 103.5
    result = backtest("rsi_reversion", rsi_bars(high, low), **{**RSI_PLAIN, "stop_atr": 1.0, "atr_length": 1})
    assert trades_of(result) == [(1, 6, 6, 99.2, 97.8), (-1, 10, 10, 101.7, 103.0)]


@pytest.mark.parametrize(
    "given, field",
    [
        ({"oversold": 50.0}, "oversold"),
        ({"oversold": 35.0, "exit_level": 30.0}, "oversold"),
        ({"overbought": 50.0}, "overbought"),
        ({"trend_length": 1}, "trend_length"),
    ],
)
def test_rsi_check_names_the_field(given, field):
    with pytest.raises(ParamError) as info:
        get_strategy("rsi_reversion").validate(given)
    assert info.value.field == field


# --- donchian_breakout ---------------------------------------------------------------------

# Entry channel 3 bars, exit channel 2 bars, both over the bars *before* the signal bar;
# N = ATR(1) = the signal bar's true range; every fill is at the signal bar's close.
#   bar 4: close 102 > max(high[1..3]) 101: long. N 2.5, stop 99.5, size 10% * 1000 / 2.5 = 40.
#   bar 8: close 101.8 < min(low[6..7]) 102: exit long; not below min(low[5..7]) 101.5, so flat.
#   bar 9: close 101 < min(low[6..8]) 101.6: short. N 1.1 (high 101.9 - low 100.8), stop 102.1,
#          never reached (no high after bar 9 exceeds 101.2).
#   bar 12: close 100 is not above max(high[10..11]) 100.5: still short.
#   bar 13: close 100.8 > max(high[10..12]) 100.5 is a long breakout: the short is reversed
#           at 100.8 (the exit above max(high[11..12]) 100.2 is the same fill).
DC_CLOSE = [100, 100, 100, 100, 102, 103, 104, 102.5, 101.8, 101, 99, 98, 100, 100.8, 100.5]
DC_HIGH = [101, 101, 101, 101, 102.5, 103.5, 104.5, 104, 102.6, 101.9, 100.5, 99, 100.2, 101, 101.2]
DC_LOW = [99, 99, 99, 99, 100, 101.5, 102.5, 102, 101.6, 100.8, 98.5, 97.5, 97.8, 99.5, 100]
DC_OPEN = [100] + DC_CLOSE[:-1]
DC_TEST = dict(entry_length=3, exit_length=2, atr_length=1, stop_n=1.0, risk_pct=10.0)


def dc_bars(close=DC_CLOSE, high=DC_HIGH, low=DC_LOW):
    return make_bars(close, high, low, [close[0]] + list(close[:-1]))


def test_donchian_breakout_exit_breakdown_and_reversal():
    result = backtest("donchian_breakout", dc_bars(), **DC_TEST)
    assert trades_of(result) == [(1, 4, 8, 102.0, 101.8), (-1, 9, 13, 101.0, 100.8)]
    assert result.trades.size[0] == pytest.approx(40.0)
    # The first trade lost 0.2 * 40 = 8: 10% of 992 over 1.1 is 90.18..., floored to 0.01.
    assert result.trades.size[1] == pytest.approx(90.18)
    pos = result.open_position
    assert (pos.direction, pos.entry_idx, pos.entry_price) == (1, 13, 100.8)


def test_donchian_long_only_when_shorts_are_disallowed():
    result = backtest("donchian_breakout", dc_bars(), **DC_TEST, allow_shorts=False)
    assert trades_of(result) == [(1, 4, 8, 102.0, 101.8)]
    assert result.open_position.direction == 1 and result.open_position.entry_idx == 13


def test_donchian_n_stop_exits_intrabar_and_loses_risk_pct():
    close, high, low = list(DC_CLOSE), list(DC_HIGH), list(DC_LOW)
    close[5], high[5], low[5] = 100.5, 102.2, 99.0  # trades through the 99.5 stop
    result = backtest("donchian_breakout", dc_bars(close, high, low), **DC_TEST)
    assert trades_of(result)[0] == (1, 4, 5, 102.0, 99.5)
    assert result.trades.net_pnl[0] == pytest.approx(-100.0)  # 10% of 1000


def test_donchian_without_n_stop_uses_the_exit_channel_at_entry():
    # Bar 4: the lowest low of bars 3..4 is 99, so 100 of risk over 3 points -> 33.33 units.
    result = backtest("donchian_breakout", dc_bars(), **{**DC_TEST, "stop_n": 0.0})
    assert trades_of(result)[0] == (1, 4, 8, 102.0, 101.8)
    assert result.trades.size[0] == pytest.approx(33.33)


@pytest.mark.parametrize("given", [{"exit_length": 20}, {"entry_length": 30, "exit_length": 40}])
def test_donchian_check_names_the_exit_length(given):
    with pytest.raises(ParamError) as info:
        get_strategy("donchian_breakout").validate(given)
    assert info.value.field == "exit_length"


# --- Real data ------------------------------------------------------------------------------


@pytest.mark.parametrize("strategy_id", ["rsi_reversion", "donchian_breakout"])
def test_defaults_on_link_15m_trade_and_stay_consistent(link_bars, strategy_id):
    strategy = get_strategy(strategy_id)
    result = run_backtest(link_bars, strategy, strategy.defaults)
    t = result.trades
    assert len(t) >= 10
    assert np.all(t.entry_idx <= t.exit_idx)  # a next-open entry can be stopped on its own bar
    assert np.all(t.exit_idx[:-1] <= t.entry_idx[1:])  # one position at a time
    assert set(np.unique(t.direction)) == {-1, 1}
    assert np.all(t.size > 0)
    assert np.all(np.isfinite(result.equity)) and np.all(np.isfinite(result.closed_equity))
    pos = result.open_position
    open_fee = pos.entry_price * pos.size * result.commission if pos else 0.0
    assert result.closed_equity[-1] == pytest.approx(result.initial_capital + t.net_pnl.sum() - open_fee)
