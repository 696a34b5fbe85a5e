"""The kernel's execution rules on hand-made bars, where every fill can be worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from backtune.data.ohlcv import OHLCV
from backtune.engine.backtest import EngineSettings, run_backtest
from backtune.engine.signals import ExecutionRules, Fill, Signals, Sizing
from backtune.strategy import Strategy
from backtune.window import DataWindow

HOUR = 3_600 * 10**9
DAY = 24 * HOUR


def bars_from(closes, highs=None, lows=None, opens=None, step=HOUR) -> OHLCV:
    close = np.asarray(closes, dtype=float)
    n = close.shape[0]
    return OHLCV(
        time=np.arange(n, dtype=np.int64) * step,
        open=np.asarray(opens if opens is not None else close, dtype=float),
        high=np.asarray(highs if highs is not None else close, dtype=float),
        low=np.asarray(lows if lows is not None else close, dtype=float),
        close=close,
        volume=np.ones(n),
    )


def run(bars, rules, capital=1_000.0, commission=0.0, window=DataWindow(), **arrays):
    """Backtest fixed signal arrays (by bar index) under ``rules``."""
    n = len(bars)
    full = {}
    for name, value in arrays.items():
        if name.startswith(("entry", "exit")):
            flags = np.zeros(n, dtype=np.bool_)
            flags[list(value)] = True
            full[name] = flags
        else:
            full[name] = np.asarray(value, dtype=float)
    strategy = Strategy(
        id="fixed",
        name="fixed",
        description="",
        params=(),
        signals=lambda b, p: Signals.build(len(b), **{k: v[-len(b) :] for k, v in full.items()}),
        rules=lambda p: rules,
    )
    return run_backtest(bars, strategy, {}, window, EngineSettings(capital, commission))


def as_tuples(result):
    t = result.trades
    return [
        (int(d), int(e), int(x), float(ep), float(xp))
        for d, e, x, ep, xp in zip(t.direction, t.entry_idx, t.exit_idx, t.entry_price, t.exit_price)
    ]


CLOSE_RISK = ExecutionRules(fill=Fill.CLOSE, sizing=Sizing.RISK, risk_pct=10.0, lot_size=1.0)
NEXT_OPEN_ALL_IN = ExecutionRules(fill=Fill.NEXT_OPEN, sizing=Sizing.ALL_IN, lot_size=1.0, reverse=True)


def test_long_stop_hit_fills_at_stop_and_books_pnl_with_commission():
    bars = bars_from([100, 101, 99, 97], lows=[100, 100, 94, 96])
    result = run(bars, CLOSE_RISK, commission=0.001, entry_long=[0], stop_long=[95, 0, 0, 0])
    # Risk 10% of 1000 = 100 over a distance of 5 -> 20 units; stop at 95 hit on bar 2.
    assert as_tuples(result) == [(1, 0, 2, 100.0, 95.0)]
    assert result.trades.size[0] == 20
    expected_net = (95 - 100) * 20 - 95 * 20 * 0.001 - 100 * 20 * 0.001
    assert result.trades.net_pnl[0] == pytest.approx(expected_net)
    assert result.equity[-1] == pytest.approx(1_000 + expected_net)
    assert result.closed_equity[0] == pytest.approx(1_000 - 100 * 20 * 0.001)


def test_short_target_hit_fills_at_target():
    bars = bars_from([100, 99, 95, 96], highs=[100, 100, 99, 97], lows=[100, 98, 89, 95])
    result = run(bars, CLOSE_RISK, entry_short=[0], stop_short=[105, 0, 0, 0], target_short=[90, 0, 0, 0])
    assert as_tuples(result) == [(-1, 0, 2, 100.0, 90.0)]
    assert result.trades.net_pnl[0] == pytest.approx(10 * 20)


def test_stop_checked_before_target_when_both_touch():
    bars = bars_from([100, 100], highs=[100, 120], lows=[100, 80])
    result = run(bars, CLOSE_RISK, entry_long=[0], stop_long=[95, 0], target_long=[110, 0])
    assert as_tuples(result)[0][4] == 95.0


def test_trail_activates_then_rises_with_trail_line_and_exits_at_level():
    closes = [100, 104, 108, 110, 106]
    highs = [100, 106, 109, 111, 107]
    lows = [100, 103, 106, 108, 104.5]
    trail = [np.nan, 90, 101, 105, 104]
    rules = ExecutionRules(fill=Fill.CLOSE, sizing=Sizing.RISK, risk_pct=10.0, trail_rr_long=1.0)
    result = run(
        bars_from(closes, highs, lows),
        rules,
        entry_long=[0],
        stop_long=[95] * 5,
        target_long=[200] * 5,
        trail_long=trail,
    )
    # Activation at 100 + 5*1 = 105 (bar 1); level: 95 -> 101 -> 105, never falls to 104; bar 4 low 104.5 <= 105.
    assert as_tuples(result) == [(1, 0, 4, 100.0, 105.0)]


def test_trail_exit_price_capped_by_high_when_bar_gaps_below_level():
    rules = ExecutionRules(fill=Fill.CLOSE, sizing=Sizing.RISK, risk_pct=10.0, trail_rr_long=0.5)
    bars = bars_from([100, 110, 96], highs=[100, 111, 97], lows=[100, 109, 95.5])
    result = run(bars, rules, entry_long=[0], stop_long=[95] * 3, target_long=[200] * 3, trail_long=[np.nan, 108, 108])
    assert as_tuples(result) == [(1, 0, 2, 100.0, 97.0)]


def test_max_holding_time_exits_at_close():
    rules = ExecutionRules(fill=Fill.CLOSE, sizing=Sizing.RISK, risk_pct=10.0, max_hold_long_ns=DAY)
    bars = bars_from([100 + i * 0.01 for i in range(30)], step=HOUR)
    result = run(bars, rules, entry_long=[2], stop_long=[90] * 30)
    assert as_tuples(result)[0][1:3] == (2, 26)


def test_alternate_forbids_two_longs_in_a_row():
    rules = ExecutionRules(fill=Fill.CLOSE, sizing=Sizing.RISK, risk_pct=10.0, alternate=True)
    bars = bars_from([100, 100, 94, 100, 100, 100], lows=[100, 100, 94, 100, 100, 100])
    result = run(bars, rules, entry_long=[0, 3, 4], entry_short=[5], stop_long=[95] * 6, stop_short=[110] * 6)
    assert [t[:2] for t in as_tuples(result)] == [(1, 0)]
    assert result.open_position is not None and result.open_position.direction == -1
    assert result.open_position.entry_idx == 5


def test_no_reentry_on_the_bar_a_position_closed():
    bars = bars_from([100, 94, 100, 100], lows=[100, 94, 100, 100])
    result = run(bars, CLOSE_RISK, entry_long=[0, 1, 2], stop_long=[95] * 4)
    assert [t[1:3] for t in as_tuples(result)] == [(0, 1)]
    assert result.open_position.entry_idx == 2


def test_entries_wait_for_trade_start_but_indicators_see_warmup():
    bars = bars_from([100.0] * 10)
    window = DataWindow(start=int(bars.time[6]), warmup_bars=3)
    result = run(bars, CLOSE_RISK, window=window, entry_long=[4, 5, 8], stop_long=[95] * 10)
    # The strategy sees bars 3..9 (3 warm-up); bars 4 and 5 (slice 1, 2) are before trade_start.
    assert result.trade_start == 3 and len(result.bars) == 7
    assert result.open_position.entry_idx == 5  # bar 8 of the file


def test_risk_sizing_floors_to_lot_and_skips_zero_size():
    rules = ExecutionRules(fill=Fill.CLOSE, sizing=Sizing.RISK, risk_pct=1.0, lot_size=0.25)
    bars = bars_from([100.0, 100.0, 100.0])
    result = run(bars, rules, entry_long=[0], stop_long=[97.0, 0, 0])
    assert result.open_position.size == pytest.approx(3.25)  # 10 / 3 = 3.33 -> 3.25
    tiny = run(bars, rules, capital=10.0, entry_long=[0], stop_long=[97.0, 0, 0])
    assert tiny.open_position is None and len(tiny.trades) == 0


def test_next_open_fill_and_reversal_with_all_in_sizing():
    bars = bars_from([10, 11, 12, 11, 10], opens=[10, 10.5, 12, 12.5, 9])
    result = run(bars, NEXT_OPEN_ALL_IN, capital=1_000.0, entry_long=[0], entry_short=[2])
    # Long at bar 1's open 10.5 (95 units), reversed at bar 3's open 12.5.
    assert as_tuples(result) == [(1, 1, 3, 10.5, 12.5)]
    assert result.trades.size[0] == 95
    cash = 1_000 + 95 * 2
    assert result.open_position.size == cash // 12.5
    assert result.equity[-1] == pytest.approx(cash + (12.5 - 10) * (cash // 12.5))


def test_signal_on_last_bar_never_fills_in_next_open_mode():
    result = run(bars_from([10, 11, 12]), NEXT_OPEN_ALL_IN, entry_long=[2])
    assert result.open_position is None and len(result.trades) == 0


def test_exit_signal_closes_at_next_open_without_reversing():
    bars = bars_from([10, 11, 12, 13], opens=[10, 10, 11.5, 12.5])
    rules = ExecutionRules(fill=Fill.NEXT_OPEN, sizing=Sizing.ALL_IN)
    result = run(bars, rules, entry_long=[0], exit_long=[1])
    assert as_tuples(result) == [(1, 1, 2, 10.0, 11.5)]
    assert result.open_position is None


def test_open_position_is_marked_to_market_not_closed():
    bars = bars_from([100, 101, 103])
    result = run(bars, CLOSE_RISK, entry_long=[0], stop_long=[95] * 3)
    assert len(result.trades) == 0
    pos = result.open_position
    assert pos.unrealized_pnl == pytest.approx((103 - 100) * 20)
    assert result.equity[-1] == pytest.approx(1_000 + 60)
    assert result.closed_equity[-1] == pytest.approx(1_000)


def test_opposite_signal_is_ignored_while_in_a_position_without_reverse():
    rules = ExecutionRules(fill=Fill.NEXT_OPEN, sizing=Sizing.ALL_IN)
    result = run(bars_from([10, 11, 12, 11, 10]), rules, entry_long=[0], entry_short=[2])
    assert len(result.trades) == 0 and result.open_position.direction == 1


def test_gap_fills_take_the_open_when_a_bar_opens_beyond_the_stop():
    bars = bars_from([100, 101, 90], opens=[100, 100.5, 92], lows=[100, 100, 89])
    level = run(bars, CLOSE_RISK, entry_long=[0], stop_long=[95] * 3)
    assert as_tuples(level)[0][4] == 95.0
    gap = ExecutionRules(fill=Fill.CLOSE, sizing=Sizing.RISK, risk_pct=10.0, gap_fills=True)
    assert as_tuples(run(bars, gap, entry_long=[0], stop_long=[95] * 3))[0][4] == 92.0


def test_gap_fills_favour_a_short_target_gapped_through():
    bars = bars_from([100, 99, 85], opens=[100, 99.5, 86], highs=[100, 100, 87], lows=[100, 98, 84])
    gap = ExecutionRules(fill=Fill.CLOSE, sizing=Sizing.RISK, risk_pct=10.0, gap_fills=True)
    result = run(bars, gap, entry_short=[0], stop_short=[105] * 3, target_short=[90] * 3)
    assert as_tuples(result) == [(-1, 0, 2, 100.0, 86.0)]


def test_all_in_entry_with_a_stop_on_the_wrong_side_of_the_fill_is_skipped():
    bars = bars_from([10, 11, 12], opens=[10, 12, 12])
    rules = ExecutionRules(fill=Fill.NEXT_OPEN, sizing=Sizing.ALL_IN)
    result = run(bars, rules, entry_long=[0], stop_long=[12.5, 0, 0])
    assert result.open_position is None and len(result.trades) == 0


def test_reenter_closes_and_reopens_on_a_same_direction_signal():
    bars = bars_from([10, 11, 12, 13, 14], opens=[10, 10.5, 11.5, 12.5, 13.5])
    rules = ExecutionRules(fill=Fill.NEXT_OPEN, sizing=Sizing.ALL_IN, reverse=True, reenter=True)
    result = run(bars, rules, capital=1_000.0, entry_long=[0, 2])
    assert as_tuples(result) == [(1, 1, 3, 10.5, 12.5)]
    assert result.open_position.entry_idx == 3 and result.open_position.direction == 1
    plain = run(bars, NEXT_OPEN_ALL_IN, capital=1_000.0, entry_long=[0, 2])
    assert len(plain.trades) == 0 and plain.open_position.entry_idx == 1


@pytest.mark.slow
def test_a_fresh_process_loads_the_kernel_from_numba_cache_instead_of_compiling():
    import subprocess
    import sys

    from tests.conftest import ROOT, backtesting_csv

    script = (
        "from backtune.data.loader import load_csv; from backtune.engine import kernel;"
        "from backtune.engine.backtest import run_backtest; from backtune.registry import get_strategy;"
        f"bars = load_csv({str(backtesting_csv('GOOG'))!r}).bars; s = get_strategy('sma_cross');"
        "run_backtest(bars, s, s.validate({}));"
        "print(sum(kernel.simulate.stats.cache_hits.values()), sum(kernel.simulate.stats.cache_misses.values()))"
    )
    for _ in range(2):  # the first run may compile and write the cache; the second must not compile
        done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    hits, misses = map(int, done.stdout.split())
    assert hits >= 1 and misses == 0
