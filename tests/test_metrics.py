"""Metrics against hand-worked examples, the documented edge cases and a slow reference.

Expected values are derived in each test from the definitions in docs/metrics.md, never
by calling the code under test, so a change of formula shows up as a failure here.
"""

from __future__ import annotations

import json
import math
import statistics
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from backtune.data.ohlcv import OHLCV
from backtune.metrics import METRIC_KEYS, METRICS, compute_metrics
from backtune.result import BacktestResult, OpenPosition, Trades

NS = 10**9
HOUR = 3_600 * NS
DAY = 24 * HOUR
JAN_1_2024 = int(np.datetime64("2024-01-01T00:00", "ns").astype(np.int64))


def make_result(
    equity,
    *,
    initial: float = 100.0,
    trade_start: int = 0,
    times=None,
    close=None,
    pnl=(),
    pnl_pct=None,
    entries=None,
    exits=None,
    open_entry: int | None = None,
) -> BacktestResult:
    """A result from the few fields a test cares about; the rest get harmless defaults.

    Bars default to daily and 24/7 starting 2024-01-01, and trades to one-bar holds at
    consecutive bars, so a test spells out only what its expectation depends on.
    """
    equity = np.asarray(equity, dtype=float)
    n = equity.shape[0]
    times = np.arange(n, dtype=np.int64) * DAY + JAN_1_2024 if times is None else np.asarray(times, np.int64)
    close = np.full(n, 10.0) if close is None else np.asarray(close, dtype=float)
    bars = OHLCV(times, close, close, close, close, np.zeros(n))
    pnl = np.asarray(pnl, dtype=float)
    k = pnl.shape[0]
    entries = np.arange(k, dtype=np.int64) + trade_start if entries is None else np.asarray(entries, np.int64)
    exits = entries + 1 if exits is None else np.asarray(exits, np.int64)
    trades = Trades(
        direction=np.ones(k, np.int64),
        entry_idx=entries,
        exit_idx=exits,
        entry_time=times[entries],
        exit_time=times[np.minimum(exits, n - 1)],
        entry_price=close[entries],
        exit_price=close[np.minimum(exits, n - 1)],
        size=np.ones(k),
        net_pnl=pnl,
        pnl_pct=pnl / 10.0 if pnl_pct is None else np.asarray(pnl_pct, dtype=float),
    )
    open_position = None
    if open_entry is not None:
        open_position = OpenPosition(1, open_entry, int(times[open_entry]), 10.0, 1.0, 10.0, 0.0)
    return BacktestResult(bars, trade_start, trades, open_position, equity, equity.copy(), initial, 0.0)


# --- hand-worked examples -------------------------------------------------------------


def test_drawdown_peak_to_trough_and_recovery():
    m = compute_metrics(make_result([100, 110, 99, 120]))
    assert m.max_drawdown_pct == pytest.approx(10.0)  # 110 -> 99
    assert m.max_drawdown == pytest.approx(11.0)
    # Peak 110 at the close of bar 1, regained at the close of bar 3.
    assert m.max_drawdown_duration_bars == 2
    assert m.max_drawdown_duration_days == pytest.approx(2.0)
    assert m.ulcer_index == pytest.approx(math.sqrt((0 + 0 + 10**2 + 0) / 4))
    assert m.net_profit == pytest.approx(20.0)
    assert m.net_profit_pct == pytest.approx(20.0)
    assert m.romad == pytest.approx(20.0 / 10.0)
    assert m.recovery_factor == pytest.approx(20.0 / 11.0)


def test_loss_on_first_bar_is_a_drawdown_from_initial_capital():
    m = compute_metrics(make_result([95, 100, 101]))
    assert m.max_drawdown_pct == pytest.approx(5.0)
    assert m.max_drawdown_duration_bars == 2  # from the window start to bar 1's close


def test_drawdown_never_regained_runs_to_end_of_last_bar():
    # 4-hour bars; peak 120 at the close of bar 1, still underwater at the last close.
    times = JAN_1_2024 + np.arange(5) * 4 * HOUR
    m = compute_metrics(make_result([100, 120, 90, 100, 110], times=times))
    assert m.max_drawdown_duration_bars == 3
    assert m.max_drawdown_duration_days == pytest.approx(3 * 4 / 24)
    assert m.max_drawdown_pct == pytest.approx(25.0)


def test_drawdown_duration_in_days_is_measured_independently_of_bars():
    # Bars on days 0..5, then a gap to day 15; mean spacing 15/6 = 2.5 days.
    times = JAN_1_2024 + np.array([0, 1, 2, 3, 4, 5, 15]) * DAY
    m = compute_metrics(make_result([100, 90, 95, 98, 100, 99, 100], times=times))
    # Spell 1: peak at day-1 point, regained at the day-5 point: 4 bars, 4 days.
    # Spell 2: peak at the day-5 point, regained at the last close (day 15 + 2.5).
    assert m.max_drawdown_duration_bars == 4
    assert m.max_drawdown_duration_days == pytest.approx(12.5)


def test_sharpe_and_sortino_on_daily_24_7_bars():
    # Returns +10%, -10%, +10%; one bar a day, so 365.25 bars a year.
    m = compute_metrics(make_result([110, 99, 108.9]))
    mean = 0.1 / 3
    stdev = math.sqrt(((0.2 / 3) ** 2 * 2 + (0.4 / 3) ** 2) / 2)
    downside = math.sqrt(0.1**2 / 3)
    assert m.sharpe == pytest.approx(mean / stdev * math.sqrt(365.25))
    assert m.sortino == pytest.approx(mean / downside * math.sqrt(365.25))


def test_annualisation_counts_weekday_bars_not_calendar_days():
    weekdays = [w * 7 + d for w in range(4) for d in range(5)]  # Mon-Fri for 4 weeks
    times = JAN_1_2024 + np.array(weekdays) * DAY
    equity = [
        100,
        101,
        100.5,
        102,
        101,
        103,
        104,
        102.5,
        103,
        105,
        104,
        106,
        105.5,
        107,
        106,
        108,
        107.5,
        109,
        110,
        109,
    ]
    m = compute_metrics(make_result(equity, times=times))
    returns = [b / a - 1 for a, b in zip([100.0, *equity[:-1]], equity)]
    bars_per_year = 365.25 / (25 / 19)  # 19 gaps over 25 calendar days
    expected = statistics.mean(returns) / statistics.stdev(returns) * math.sqrt(bars_per_year)
    assert m.sharpe == pytest.approx(expected)
    years = 20 * (25 / 19) / 365.25
    assert m.cagr_pct == pytest.approx(((109 / 100) ** (1 / years) - 1) * 100)
    assert m.calmar == pytest.approx(m.cagr_pct / m.max_drawdown_pct)


def test_trade_statistics():
    pnl = [50, -20, 30, -10, 0]
    m = compute_metrics(
        make_result([100] * 12, pnl=pnl, pnl_pct=[5, -2, 3, -1, 0], entries=[0, 2, 4, 6, 8], exits=[1, 5, 5, 7, 11])
    )
    assert (m.total_trades, m.winning_trades, m.losing_trades) == (5, 2, 2)
    assert m.win_rate_pct == pytest.approx(40.0)
    assert m.gross_profit == pytest.approx(80.0)
    assert m.gross_loss == pytest.approx(30.0)
    assert m.profit_factor == pytest.approx(80 / 30)
    assert m.avg_trade == pytest.approx(10.0)
    assert m.avg_trade_pct == pytest.approx(1.0)
    assert m.avg_win == pytest.approx(40.0)
    assert m.avg_loss == pytest.approx(15.0)
    assert m.largest_win == pytest.approx(50.0)
    assert m.largest_loss == pytest.approx(20.0)
    assert m.expectancy == pytest.approx(10 / 15)
    # Deviations from the mean 10: 40, -30, 20, -20, -10 -> sample variance 3400/4.
    assert m.sqn == pytest.approx(math.sqrt(5) * 10 / math.sqrt(3400 / 4))
    assert m.avg_bars_held == pytest.approx((1 + 3 + 1 + 1 + 3) / 5)


def test_exposure_counts_overlaps_once_and_ignores_warm_up():
    # 12 bars, window from bar 2 (10 bars). Trades hold bars 1-4 (1 is warm-up), 3-5
    # (overlap), 8; the open position holds 10-11. Held in the window: 2,3,4,5,8,10,11.
    result = make_result([100] * 12, trade_start=2, pnl=[1, 1, 1], entries=[1, 3, 8], exits=[5, 6, 9], open_entry=10)
    assert compute_metrics(result).exposure_pct == pytest.approx(70.0)


def test_exposure_ignores_trades_closed_during_warm_up():
    # Window bars 3-5; the first trade ends before it, the second holds bars 3 and 4.
    result = make_result([100] * 6, trade_start=3, pnl=[1, 1], entries=[0, 1], exits=[1, 5])
    assert compute_metrics(result).exposure_pct == pytest.approx(200 / 3)


def test_consistency_by_utc_calendar_month():
    # Daily bars 2024-01-30 .. 2024-03-02: Jan (2 bars), Feb (29), Mar (2).
    start = int(np.datetime64("2024-01-30", "ns").astype(np.int64))
    times = start + np.arange(33) * DAY
    equity = np.empty(33)
    equity[:2] = [101, 102]  # January closes above the initial 100
    equity[2:31] = np.linspace(101.5, 90, 29)  # February closes below January
    equity[31:] = [91, 90.5]  # March closes above February's 90
    assert compute_metrics(make_result(equity, times=times)).consistency_pct == pytest.approx(200 / 3)


def test_consistency_skips_months_without_bars():
    # Hourly bars in January and March only: March is compared with January.
    jan = JAN_1_2024 + np.arange(10) * HOUR
    mar = int(np.datetime64("2024-03-31T23:00", "ns").astype(np.int64))
    times = np.append(jan, mar)
    equity = [100.0] * 9 + [99.0, 99.5]
    assert compute_metrics(make_result(equity, times=times)).consistency_pct == pytest.approx(50.0)


def test_buy_and_hold_from_first_tradable_close():
    result = make_result([100] * 5, trade_start=1, close=[50, 100, 120, 90, 150])
    assert compute_metrics(result).buy_and_hold_pct == pytest.approx(50.0)


def test_warm_up_bars_do_not_change_any_metric():
    window_times = JAN_1_2024 + np.arange(4) * DAY
    plain = make_result([105, 95, 110, 108], times=window_times, pnl=[5, -8], entries=[0, 2], exits=[1, 3])
    warm_times = np.concatenate([JAN_1_2024 - np.arange(3, 0, -1) * DAY, window_times])
    warmed = make_result(
        [100, 100, 100, 105, 95, 110, 108], times=warm_times, trade_start=3, pnl=[5, -8], entries=[3, 5], exits=[4, 6]
    )
    assert compute_metrics(warmed).as_dict() == compute_metrics(plain).as_dict()


# --- documented edge cases ---------------------------------------------------------------


def test_no_trades_and_flat_equity():
    m = compute_metrics(make_result([100.0] * 30))
    zeros = (
        "net_profit",
        "net_profit_pct",
        "cagr_pct",
        "max_drawdown",
        "max_drawdown_pct",
        "max_drawdown_duration_bars",
        "max_drawdown_duration_days",
        "ulcer_index",
        "consistency_pct",
        "total_trades",
        "winning_trades",
        "losing_trades",
        "gross_profit",
        "gross_loss",
        "exposure_pct",
    )
    undefined = (
        "win_rate_pct",
        "avg_trade",
        "avg_trade_pct",
        "avg_win",
        "avg_loss",
        "largest_win",
        "largest_loss",
        "profit_factor",
        "expectancy",
        "sqn",
        "avg_bars_held",
        "sharpe",
        "sortino",
        "calmar",
        "romad",
        "recovery_factor",
    )
    for key in zeros:
        assert getattr(m, key) == 0, key
    for key in undefined:
        assert math.isnan(getattr(m, key)), key
    as_dict = m.as_dict()
    assert all(as_dict[key] is None for key in undefined)
    encoded = json.loads(json.dumps(as_dict, allow_nan=False))
    assert encoded["total_trades"] == 0 and isinstance(encoded["total_trades"], int)
    assert json.dumps(encoded["gross_loss"]) == "0.0"  # not "-0.0"


def test_all_winners_have_unbounded_profit_factor():
    m = compute_metrics(make_result([100, 110, 105, 120], pnl=[10, 10]))
    assert m.profit_factor == math.inf
    assert m.expectancy == math.inf
    assert m.gross_loss == 0.0
    assert math.isnan(m.avg_loss) and math.isnan(m.largest_loss)
    assert m.win_rate_pct == 100.0
    assert m.sqn == math.inf  # identical PnLs: zero dispersion, positive mean
    as_dict = m.as_dict()
    assert as_dict["profit_factor"] is None and as_dict["expectancy"] is None
    json.dumps(as_dict, allow_nan=False)


def test_all_losers():
    m = compute_metrics(make_result([100, 90, 70, 70], pnl=[-10, -20]))
    assert m.profit_factor == 0.0
    assert m.win_rate_pct == 0.0
    assert m.expectancy == pytest.approx(-1.0)
    assert m.gross_profit == 0.0
    assert math.isnan(m.avg_win) and math.isnan(m.largest_win)
    assert m.sqn == pytest.approx(math.sqrt(2) * -15 / statistics.stdev([-10, -20]))


def test_only_break_even_trades_have_undefined_ratios():
    m = compute_metrics(make_result([100] * 4, pnl=[0, 0]))
    assert (m.total_trades, m.winning_trades, m.losing_trades) == (2, 0, 0)
    assert m.win_rate_pct == 0.0
    assert math.isnan(m.profit_factor) and math.isnan(m.expectancy) and math.isnan(m.sqn)


def test_zero_drawdown_with_profit_is_unbounded():
    m = compute_metrics(make_result([101, 103, 104, 108]))
    assert m.max_drawdown == 0.0 and m.max_drawdown_pct == 0.0 and m.ulcer_index == 0.0
    assert m.max_drawdown_duration_bars == 0 and m.max_drawdown_duration_days == 0.0
    assert m.calmar == m.romad == m.recovery_factor == math.inf
    assert m.sortino == math.inf  # no losing bar
    assert math.isfinite(m.sharpe) and m.sharpe > 0


def test_single_trade():
    m = compute_metrics(make_result([100, 104, 104], pnl=[4]))
    assert math.isnan(m.sqn)
    assert m.avg_trade == m.largest_win == m.gross_profit == 4.0
    assert m.profit_factor == math.inf


def test_identical_returns_have_unbounded_sharpe():
    # Each bar +10%; float residue makes the stdev ~1e-17, which must not read as risk.
    m = compute_metrics(make_result([110, 121, 133.1, 146.41]))
    assert m.sharpe == math.inf
    assert m.as_dict()["sharpe"] is None


def test_one_bar_window():
    m = compute_metrics(make_result([100, 100, 95], trade_start=2))
    assert math.isnan(m.sharpe) and math.isnan(m.sortino) and math.isnan(m.cagr_pct)
    assert math.isnan(m.calmar)
    assert m.max_drawdown_pct == pytest.approx(5.0)
    assert m.max_drawdown_duration_bars == 1


def test_equity_wiped_out():
    m = compute_metrics(make_result([50, 0, 0]))
    assert math.isnan(m.sharpe) and math.isnan(m.sortino)
    assert m.cagr_pct == -100.0
    assert m.max_drawdown_pct == pytest.approx(100.0)


@pytest.mark.parametrize(
    "changes",
    [{"initial": 0.0}, {"trade_start": 3}, {"trade_start": -1}],
)
def test_invalid_input_is_rejected(changes):
    with pytest.raises(ValueError):
        compute_metrics(make_result([100, 101, 102], **changes))


def test_equity_length_must_match_bars():
    good = make_result([100, 101, 102])
    bad = BacktestResult(good.bars, 0, good.trades, None, good.equity[:2], good.equity[:2], 100.0, 0.0)
    with pytest.raises(ValueError):
        compute_metrics(bad)


# --- the metric catalogue ----------------------------------------------------------------


def test_catalogue_entries_are_usable_by_optimiser_and_ui():
    for spec in METRICS:
        assert spec.direction in ("higher", "lower", None)
        assert spec.unit in ("currency", "%", "bars", "days", "trades", "ratio", "R")
        assert spec.label
    # A table column is labelled "label (unit)": no two metrics may share one.
    assert len({(spec.label, spec.unit) for spec in METRICS}) == len(METRICS)


def test_every_metric_is_specified_in_the_docs():
    doc = (Path(__file__).resolve().parents[1] / "docs" / "metrics.md").read_text()
    missing = [key for key in METRIC_KEYS if f"| `{key}` |" not in doc]
    assert not missing


# --- property check against a slow reference ---------------------------------------------


def reference_metrics(result: BacktestResult) -> dict[str, float]:
    """The docs/metrics.md definitions, written as plainly as possible (loops, datetime)."""
    start = result.trade_start
    initial = result.initial_capital
    times = [int(t) for t in result.bars.time[start:]]
    m = len(times)
    curve = [initial] + [float(e) for e in result.equity[start:]]
    spacing = (times[-1] - times[0]) / (m - 1) if m > 1 else 0.0
    point_time = times + [times[-1] + round(spacing)]
    years = m * spacing / (365.25 * DAY)

    peaks = [max(curve[: k + 1]) for k in range(m + 1)]
    drops = [peaks[k] - curve[k] for k in range(m + 1)]
    drops_pct = [100 * drops[k] / peaks[k] for k in range(m + 1)]
    longest_bars, longest_ns = 0, 0
    for j in range(m):
        if curve[j + 1] < curve[j]:
            k = next((k for k in range(j + 1, m + 1) if curve[k] >= curve[j]), m)
            longest_bars = max(longest_bars, k - j)
            longest_ns = max(longest_ns, point_time[k] - point_time[j])

    def ratio(a: float, b: float) -> float:
        if math.isnan(a) or math.isnan(b):
            return math.nan
        if b > 1e-12 * abs(a):
            return a / b
        return math.nan if a == 0 else math.copysign(math.inf, a)

    returns = [curve[k] / curve[k - 1] - 1 for k in range(1, m + 1)] if min(curve[:-1]) > 0 else []
    if len(returns) >= 2 and years > 0:
        scale = math.sqrt(365.25 * DAY / spacing)
        downside = math.sqrt(sum(min(r, 0) ** 2 for r in returns) / m)
        sharpe = ratio(statistics.mean(returns), statistics.stdev(returns)) * scale
        sortino = ratio(statistics.mean(returns), downside) * scale
    else:
        sharpe = sortino = math.nan
    final = curve[-1]
    if years <= 0:
        cagr = math.nan
    elif final <= 0:
        cagr = -100.0
    else:
        cagr = ((final / initial) ** (1 / years) - 1) * 100

    month_close: dict[tuple[int, int], float] = {}
    for k, t in enumerate(times):
        stamp = datetime.fromtimestamp(t / NS, tz=UTC)
        month_close[(stamp.year, stamp.month)] = curve[k + 1]
    opening, profitable = initial, 0
    for closing in month_close.values():
        profitable += closing > opening
        opening = closing

    trades = result.trades
    n = len(result.bars)
    held = set()
    for entry, exit_ in zip(trades.entry_idx, trades.exit_idx):
        held.update(range(int(entry), int(exit_)))
    if result.open_position is not None:
        held.update(range(result.open_position.entry_idx, n))
    held = {i for i in held if i >= start}

    pnl = [float(p) for p in trades.net_pnl]
    wins = [p for p in pnl if p > 0]
    losses = [-p for p in pnl if p < 0]
    count = len(pnl)
    avg_trade = sum(pnl) / count if count else math.nan
    net = final - initial
    max_dd, max_dd_pct = max(drops), max(drops_pct)
    return {
        "net_profit": net,
        "net_profit_pct": 100 * net / initial,
        "cagr_pct": cagr,
        "buy_and_hold_pct": 100 * (result.bars.close[-1] / result.bars.close[start] - 1),
        "max_drawdown": max_dd,
        "max_drawdown_pct": max_dd_pct,
        "max_drawdown_duration_bars": longest_bars,
        "max_drawdown_duration_days": longest_ns / DAY,
        "ulcer_index": math.sqrt(sum(d * d for d in drops_pct[1:]) / m),
        "sharpe": sharpe,
        "sortino": sortino,
        "calmar": ratio(cagr, max_dd_pct),
        "romad": ratio(100 * net / initial, max_dd_pct),
        "recovery_factor": ratio(net, max_dd),
        "consistency_pct": 100 * profitable / len(month_close),
        "total_trades": count,
        "winning_trades": len(wins),
        "losing_trades": len(losses),
        "win_rate_pct": 100 * len(wins) / count if count else math.nan,
        "gross_profit": sum(wins),
        "gross_loss": sum(losses),
        "profit_factor": ratio(sum(wins), sum(losses)),
        "avg_trade": avg_trade,
        "avg_trade_pct": statistics.mean(trades.pnl_pct) if count else math.nan,
        "avg_win": statistics.mean(wins) if wins else math.nan,
        "avg_loss": statistics.mean(losses) if losses else math.nan,
        "largest_win": max(wins) if wins else math.nan,
        "largest_loss": max(losses) if losses else math.nan,
        "expectancy": ratio(avg_trade, statistics.mean(losses) if losses else 0.0),
        "sqn": ratio(math.sqrt(count) * avg_trade, statistics.stdev(pnl)) if count >= 2 else math.nan,
        "avg_bars_held": statistics.mean(int(x) - int(e) for e, x in zip(trades.entry_idx, trades.exit_idx))
        if count
        else math.nan,
        "exposure_pct": 100 * len(held) / m,
    }


def random_result(seed: int) -> BacktestResult:
    """Irregular bars (gaps, skipped months), flat stretches, overlapping trades."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 300))
    step = int(rng.choice([HOUR, 4 * HOUR, DAY]))
    gaps = np.where(rng.random(n) < 0.03, rng.integers(1, 60, n) * DAY, 0)
    times = int(rng.integers(1_600_000_000, 1_700_000_000)) * NS + np.cumsum(step + gaps) - step
    trade_start = int(rng.integers(0, n))
    returns = rng.normal(0.0, 0.02, n) * (rng.random(n) < 0.7)
    returns[:trade_start] = 0.0
    equity = 1_000.0 * np.cumprod(1.0 + returns)
    count = int(rng.integers(0, 12)) if n - trade_start > 1 else 0
    entries = rng.integers(trade_start, n - 1, count) if count else np.zeros(0, np.int64)
    exits = entries + rng.integers(0, 20, count)
    exits = np.minimum(exits, n - 1)
    pnl = np.round(rng.normal(0.0, 10.0, count), 1) * (rng.random(count) < 0.9)
    close = 50.0 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_entry = int(rng.integers(trade_start, n)) if rng.random() < 0.3 else None
    return make_result(
        equity,
        initial=1_000.0,
        trade_start=trade_start,
        times=times,
        close=close,
        pnl=pnl,
        pnl_pct=rng.normal(0, 1, count),
        entries=entries,
        exits=exits,
        open_entry=open_entry,
    )


@pytest.mark.parametrize("seed", range(200))
def test_matches_slow_reference(seed):
    result = random_result(seed)
    actual = compute_metrics(result)
    expected = reference_metrics(result)
    assert set(expected) == set(METRIC_KEYS)
    for key, want in expected.items():
        got = getattr(actual, key)
        if math.isnan(want):
            assert math.isnan(got), key
        else:
            assert got == pytest.approx(want, rel=1e-9, abs=1e-9), key


# --- parity with backtesting.py where the definitions coincide ---------------------------


def test_agrees_with_backtesting_py_on_shared_definitions():
    """backtesting.py is an independent oracle for the figures it defines the same way.

    Its profit factor (ratio of trade returns), Sharpe (daily resampling), exposure and
    buy-and-hold (after its own warm-up) are defined differently, so they are not compared.
    """
    import warnings

    from backtesting import Backtest

    from backtune.data.loader import load_csv
    from backtune.engine.backtest import EngineSettings, run_backtest
    from strategies.sma_cross import STRATEGY
    from tests.conftest import backtesting_csv
    from tests.helpers import SmaCross, oracle_frame

    bars = load_csv(backtesting_csv("GOOG")).bars
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = Backtest(oracle_frame(bars), SmaCross, cash=10_000, commission=0.002).run(n1=10, n2=20)
    result = run_backtest(
        bars, STRATEGY, STRATEGY.validate({"n1": 10, "n2": 20}), settings=EngineSettings(10_000, 0.002)
    )
    m = compute_metrics(result)
    assert m.net_profit_pct == pytest.approx(stats["Return [%]"], rel=1e-9)
    assert m.max_drawdown_pct == pytest.approx(-stats["Max. Drawdown [%]"], rel=1e-9)
    assert m.total_trades == stats["# Trades"]
    assert m.win_rate_pct == pytest.approx(stats["Win Rate [%]"], rel=1e-9)
    assert m.sqn == pytest.approx(stats["SQN"], rel=1e-9)
