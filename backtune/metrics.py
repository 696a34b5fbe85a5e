"""Performance metrics of one backtest, computed once per optimisation trial.

Every figure covers the trading window ``bars[trade_start:]`` only, so a long indicator
warm-up neither dilutes nor flatters the result. Formulas, units and edge-case
conventions are specified in ``docs/metrics.md``; this module is their implementation.

This runs once per optimisation trial, tens of thousands of times, so the per-bar work
is one compiled pass with no temporary arrays and everything else scales with the number
of trades or months, never with pandas: a 20k-bar, 100-trade result takes well under a
millisecond.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any, Literal

import numpy as np
from numba import njit

from backtune.result import BacktestResult, Trades

Direction = Literal["higher", "lower"]

_NS_PER_DAY = 86_400 * 10**9
_DAYS_PER_YEAR = 365.25
_NS_PER_YEAR = _DAYS_PER_YEAR * _NS_PER_DAY
# A denominator this small relative to its numerator is floating-point residue of an
# exact zero (e.g. the std of identical per-bar returns), not a real dispersion.
_ZERO_DENOMINATOR_RTOL = 1e-12


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """How the optimiser and the UI should treat one metric.

    ``direction`` is None for figures that describe a run without ranking it (such as
    buy-and-hold, which is the same for every parameter set), so they are never offered
    as optimisation targets.
    """

    key: str
    label: str
    unit: str
    direction: Direction | None


def _metric(label: str, unit: str, direction: Direction | None) -> Any:
    """Keeps each metric's description next to its field, so the two cannot drift apart."""
    return field(metadata={"label": label, "unit": unit, "direction": direction})


@dataclass(frozen=True, slots=True)
class Metrics:
    """One backtest's figures. Floats may be NaN (undefined) or ±inf (unbounded).

    Keeping NaN and inf here, instead of None, lets the optimiser compare values without
    special cases; ``as_dict`` is the boundary where they become JSON-safe.
    """

    net_profit: float = _metric("Net profit", "currency", "higher")
    net_profit_pct: float = _metric("Net profit", "%", "higher")
    cagr_pct: float = _metric("Annualised return (CAGR)", "%", "higher")
    buy_and_hold_pct: float = _metric("Buy & hold return", "%", None)
    max_drawdown: float = _metric("Max drawdown", "currency", "lower")
    max_drawdown_pct: float = _metric("Max drawdown", "%", "lower")
    max_drawdown_duration_bars: int = _metric("Max drawdown duration", "bars", "lower")
    max_drawdown_duration_days: float = _metric("Max drawdown duration", "days", "lower")
    ulcer_index: float = _metric("Ulcer index", "%", "lower")
    sharpe: float = _metric("Sharpe ratio", "ratio", "higher")
    sortino: float = _metric("Sortino ratio", "ratio", "higher")
    calmar: float = _metric("Calmar ratio", "ratio", "higher")
    romad: float = _metric("Return over max drawdown", "ratio", "higher")
    recovery_factor: float = _metric("Recovery factor", "ratio", "higher")
    consistency_pct: float = _metric("Profitable months", "%", "higher")
    total_trades: int = _metric("Total trades", "trades", None)
    winning_trades: int = _metric("Winning trades", "trades", "higher")
    losing_trades: int = _metric("Losing trades", "trades", "lower")
    win_rate_pct: float = _metric("Win rate", "%", "higher")
    gross_profit: float = _metric("Gross profit", "currency", "higher")
    gross_loss: float = _metric("Gross loss", "currency", "lower")
    profit_factor: float = _metric("Profit factor", "ratio", "higher")
    avg_trade: float = _metric("Average trade", "currency", "higher")
    avg_trade_pct: float = _metric("Average trade", "%", "higher")
    avg_win: float = _metric("Average win", "currency", "higher")
    avg_loss: float = _metric("Average loss", "currency", "lower")
    largest_win: float = _metric("Largest win", "currency", "higher")
    largest_loss: float = _metric("Largest loss", "currency", "lower")
    expectancy: float = _metric("Expectancy", "R", "higher")
    sqn: float = _metric("System quality number", "ratio", "higher")
    avg_bars_held: float = _metric("Average bars held", "bars", None)
    exposure_pct: float = _metric("Exposure", "%", None)

    def as_dict(self) -> dict[str, float | int | None]:
        """Plain Python values for JSON; NaN and ±inf become None (see docs/metrics.md)."""
        out: dict[str, float | int | None] = {}
        for key in METRIC_KEYS:
            value = getattr(self, key)
            if isinstance(value, int):
                out[key] = value
            else:
                out[key] = float(value) if math.isfinite(value) else None
        return out


METRICS: tuple[MetricSpec, ...] = tuple(MetricSpec(key=f.name, **f.metadata) for f in fields(Metrics))
METRIC_KEYS: tuple[str, ...] = tuple(spec.key for spec in METRICS)


def compute_metrics(result: BacktestResult) -> Metrics:
    """Every metric of ``result`` over its trading window (see docs/metrics.md)."""
    bars = result.bars
    n = len(bars)
    start = result.trade_start
    if not result.initial_capital > 0:
        raise ValueError(f"initial_capital must be positive, got {result.initial_capital}")
    if not 0 <= start < n:
        raise ValueError(f"trade_start {start} leaves no trading window in {n} bars")
    if result.equity.shape[0] != n:
        raise ValueError(f"equity has {result.equity.shape[0]} values for {n} bars")

    initial = float(result.initial_capital)
    equity = result.equity[start:]
    window_time = bars.time[start:]
    close = bars.close
    years, end_time = _window_span(window_time)
    (
        max_drawdown,
        max_drawdown_pct,
        duration_bars,
        duration_ns,
        ulcer_index,
        return_mean,
        return_std,
        downside_dev,
    ) = _curve_pass(initial, equity, window_time, end_time)

    final = float(equity[-1])
    net_profit = final - initial
    net_profit_pct = net_profit / initial * 100.0
    cagr_pct = _cagr_pct(final / initial, years)
    # Bars per year from the observed mean spacing: m bars over ``years``.
    annualise = math.sqrt(equity.shape[0] / years) if years > 0.0 else math.nan
    trades = result.trades
    position = result.open_position

    return Metrics(
        net_profit=net_profit,
        net_profit_pct=net_profit_pct,
        cagr_pct=cagr_pct,
        buy_and_hold_pct=(float(close[-1]) / float(close[start]) - 1.0) * 100.0,
        max_drawdown=max_drawdown,
        max_drawdown_pct=max_drawdown_pct,
        max_drawdown_duration_bars=int(duration_bars),
        max_drawdown_duration_days=duration_ns / _NS_PER_DAY,
        ulcer_index=ulcer_index,
        sharpe=_ratio(return_mean, return_std) * annualise,
        sortino=_ratio(return_mean, downside_dev) * annualise,
        calmar=_ratio(cagr_pct, max_drawdown_pct),
        romad=_ratio(net_profit_pct, max_drawdown_pct),
        recovery_factor=_ratio(net_profit, max_drawdown),
        consistency_pct=_consistency_pct(initial, equity, window_time, _month_index(int(window_time[0]))),
        exposure_pct=_exposure_pct(
            trades.entry_idx, trades.exit_idx, -1 if position is None else position.entry_idx, start, n
        ),
        **_trade_stats(trades),
    )


def _ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, where a zero denominator means "unbounded", not an error.

    Denominators here are non-negative dispersions or losses, so x/0 is ±inf (e.g. a
    profit with no losing trade) and 0/0 is NaN (nothing happened, nothing to rank).
    """
    if math.isnan(numerator) or math.isnan(denominator):
        return math.nan
    if denominator > _ZERO_DENOMINATOR_RTOL * abs(numerator):
        return numerator / denominator
    if numerator == 0.0:
        return math.nan
    return math.copysign(math.inf, numerator)


def _window_span(window_time: np.ndarray) -> tuple[float, int]:
    """The window's length in years and the time its last bar closes.

    Bars only carry open times, so the last bar is taken to last one mean bar spacing.
    Using the mean (not the median) makes the bars-per-year figure reflect weekends,
    holidays and overnight gaps: daily stock bars come out near 252 a year, 24/7 crypto
    bars at 365.25 days' worth, with no per-market configuration.
    """
    m = window_time.shape[0]
    if m < 2:
        return 0.0, int(window_time[-1])
    first, last = int(window_time[0]), int(window_time[-1])
    spacing = (last - first) / (m - 1)
    return m * spacing / _NS_PER_YEAR, last + round(spacing)


@njit(cache=True, nogil=True)
def _curve_pass(
    initial: float, equity: np.ndarray, window_time: np.ndarray, end_time: int
) -> tuple[float, float, int, int, float, float, float, float]:
    """Drawdown and per-bar-return statistics of the curve ``[initial, *equity]``.

    One compiled pass with no temporaries: numpy's equivalent needs several bar-sized
    arrays per call, and at 20k bars their allocation (page faults) costs more than the
    arithmetic. Point 0 is the capital the window starts with, so a loss on the first
    bar counts as both a drawdown and a return. Point k closes at the open of window bar
    k, the last one at ``end_time``. Returns (max drawdown, max drawdown %, longest
    underwater spell in bars and in ns, ulcer index, mean return, sample std of returns,
    downside deviation); the return statistics are NaN when undefined.

    The variance comes from sums of returns shifted by the first return, in the same
    pass: with the shift the sums stay small, so their difference loses no precision
    that matters, and a curve of identical returns gives a variance of exactly 0.
    """
    m = equity.shape[0]
    peak = initial
    pct_of_peak = 100.0 / peak  # a multiplication per bar instead of a division
    peak_point = 0
    max_drop = 0.0
    max_drop_pct = 0.0
    drop_pct_sq = 0.0
    longest_bars = 0
    longest_ns = 0
    previous = initial
    returns_valid = True
    shift = equity[0] / initial - 1.0
    shifted_sum = 0.0
    shifted_sq = 0.0
    downside_sq = 0.0
    for k in range(1, m + 1):
        value = equity[k - 1]
        if previous <= 0.0:
            returns_valid = False
        else:
            r = value / previous - 1.0
            d = r - shift
            shifted_sum += d
            shifted_sq += d * d
            if r < 0.0:
                downside_sq += r * r
        previous = value
        if value >= peak:
            if peak_point < k - 1:
                point_time = window_time[k] if k < m else end_time
                longest_bars = max(longest_bars, k - peak_point)
                longest_ns = max(longest_ns, point_time - window_time[peak_point])
            peak = value
            pct_of_peak = 100.0 / peak
            peak_point = k
        else:
            drop = peak - value
            drop_pct = drop * pct_of_peak
            max_drop = max(max_drop, drop)
            max_drop_pct = max(max_drop_pct, drop_pct)
            drop_pct_sq += drop_pct * drop_pct
    if peak_point < m:
        longest_bars = max(longest_bars, m - peak_point)
        longest_ns = max(longest_ns, end_time - window_time[peak_point])
    ulcer = math.sqrt(drop_pct_sq / m)

    if not returns_valid or m < 2:
        return max_drop, max_drop_pct, longest_bars, longest_ns, ulcer, math.nan, math.nan, math.nan
    mean = shift + shifted_sum / m
    variance = max(shifted_sq - shifted_sum * shifted_sum / m, 0.0) / (m - 1)
    return (
        max_drop,
        max_drop_pct,
        longest_bars,
        longest_ns,
        ulcer,
        mean,
        math.sqrt(variance),
        math.sqrt(downside_sq / m),
    )


def _cagr_pct(growth: float, years: float) -> float:
    """Compound annual growth; -100% once equity is wiped out, where a root is undefined."""
    if years <= 0.0:
        return math.nan
    if growth <= 0.0:
        return -100.0
    try:
        return (math.pow(growth, 1.0 / years) - 1.0) * 100.0
    except OverflowError:
        return math.inf


def _month_index(time_ns: int) -> int:
    """Calendar months (UTC) from January 1970 to the month holding ``time_ns``."""
    return int(np.datetime64(time_ns, "ns").astype("datetime64[M]").astype(np.int64))


@njit(cache=True, nogil=True)
def _month_start_ns(month_index: int) -> int:
    """When a calendar month (counted from January 1970) begins, in ns UTC.

    The proleptic-Gregorian day count of its first day, by the standard era arithmetic
    (400-year eras of 146,097 days), so no calendar library is needed in compiled code.
    """
    year = 1970 + month_index // 12
    month = month_index % 12 + 1
    if month <= 2:
        year -= 1
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * ((month + 9) % 12) + 2) // 5
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return (era * 146_097 + day_of_era - 719_468) * _NS_PER_DAY


@njit(cache=True, nogil=True)
def _consistency_pct(initial: float, equity: np.ndarray, window_time: np.ndarray, first_month: int) -> float:
    """Share of calendar months (UTC) whose last equity beats the previous month's last.

    Each month's end is located by binary search over the sorted bar times, so the cost
    depends on the number of months, not bars, and no per-bar calendar conversion runs.
    A month without bars (a data gap) is skipped, so each month is compared with the
    last month that has bars. ``first_month`` is the month of the window's first bar.
    """
    m = window_time.shape[0]
    last_time = window_time[m - 1]
    opening = initial
    months = 0
    profitable = 0
    first_bar = 0
    month = first_month
    while first_bar < m:
        month += 1
        next_start = _month_start_ns(month)
        bar_after = m if next_start > last_time else np.searchsorted(window_time, next_start)
        if bar_after == first_bar:
            continue
        closing = equity[bar_after - 1]
        months += 1
        profitable += closing > opening
        opening = closing
        first_bar = bar_after
    return profitable / months * 100.0


@njit(cache=True, nogil=True)
def _exposure_pct(entries: np.ndarray, exits: np.ndarray, open_entry: int, start: int, n: int) -> float:
    """Percentage of window bars holding a position, overlapping trades counted once.

    Works on the trade intervals (in entry order, each adding only what lies beyond the
    furthest exit so far), so the cost depends on the trade count, not the bar count.
    ``open_entry`` is the open position's entry bar (-1: none); it is held to the end.
    Trades from the kernel come sorted already, which spares the sort.
    """
    if open_entry >= 0:
        entries = np.append(entries, open_entry)
        exits = np.append(exits, n)
    if not _ascending(entries):
        order = np.argsort(entries, kind="mergesort")
        entries, exits = entries[order], exits[order]
    # Clipping exits to the window start also clips every interval's start, through
    # covered_until, so warm-up bars are never counted.
    covered_until = start
    held = 0
    for i in range(entries.shape[0]):
        exit_ = max(exits[i], start)
        held += max(exit_ - max(entries[i], covered_until), 0)
        covered_until = max(covered_until, exit_)
    return held / (n - start) * 100.0


@njit(cache=True, nogil=True)
def _ascending(values: np.ndarray) -> bool:
    """A separate function on purpose: numba compiles an early ``break`` out of this
    check, followed by reassigning the arrays, into a trade loop several times slower."""
    for i in range(1, values.shape[0]):
        if values[i] < values[i - 1]:
            return False
    return True


def _trade_stats(trades: Trades) -> dict[str, float | int]:
    """Closed-trade statistics; the open position is excluded because its PnL is not final."""
    (
        count,
        winning,
        losing,
        gross_profit,
        gross_loss,
        avg_trade,
        pnl_std,
        avg_trade_pct,
        largest_win,
        largest_loss,
        avg_bars_held,
    ) = _trade_pass(trades.net_pnl, trades.pnl_pct, trades.entry_idx, trades.exit_idx)
    return {
        "total_trades": count,
        "winning_trades": winning,
        "losing_trades": losing,
        "win_rate_pct": winning / count * 100.0 if count else math.nan,
        "gross_profit": gross_profit,
        "gross_loss": gross_loss,
        "profit_factor": _ratio(gross_profit, gross_loss),
        "avg_trade": avg_trade,
        "avg_trade_pct": avg_trade_pct,
        "avg_win": gross_profit / winning if winning else math.nan,
        "avg_loss": gross_loss / losing if losing else math.nan,
        "largest_win": largest_win,
        "largest_loss": largest_loss,
        "expectancy": _expectancy(avg_trade, gross_loss, losing),
        "sqn": _ratio(math.sqrt(count) * avg_trade, pnl_std) if count >= 2 else math.nan,
        "avg_bars_held": avg_bars_held,
    }


@njit(cache=True, nogil=True)
def _trade_pass(
    pnl: np.ndarray, pnl_pct: np.ndarray, entries: np.ndarray, exits: np.ndarray
) -> tuple[int, int, int, float, float, float, float, float, float, float, float]:
    """The sums and extremes behind the trade statistics, in one compiled pass (plus one
    for the deviation): a result can hold thousands of trades, and a dozen numpy
    reductions, each with its own call overhead and temporaries, cost more than the
    arithmetic. Returns (count, winning, losing, gross profit, gross loss, mean PnL,
    sample std of PnL, mean PnL %, largest win, largest loss, mean bars held); means,
    the std and extremes of an empty set are NaN."""
    count = pnl.shape[0]
    winning = losing = 0
    gross_profit = gross_loss = pnl_sum = pct_sum = 0.0
    largest_win = largest_loss = 0.0
    held = 0
    for i in range(count):
        p = pnl[i]
        pnl_sum += p
        pct_sum += pnl_pct[i]
        held += exits[i] - entries[i]
        if p > 0.0:
            winning += 1
            gross_profit += p
            largest_win = max(largest_win, p)
        elif p < 0.0:
            losing += 1
            gross_loss -= p
            largest_loss = max(largest_loss, -p)
    if count == 0:
        return 0, 0, 0, 0.0, 0.0, math.nan, math.nan, math.nan, math.nan, math.nan, math.nan
    mean = pnl_sum / count
    squares = 0.0
    for i in range(count):
        squares += (pnl[i] - mean) ** 2
    std = math.sqrt(squares / (count - 1)) if count >= 2 else math.nan
    return (
        count,
        winning,
        losing,
        gross_profit,
        gross_loss,
        mean,
        std,
        pct_sum / count,
        largest_win if winning else math.nan,
        largest_loss if losing else math.nan,
        held / count,
    )


def _expectancy(avg_trade: float, gross_loss: float, losing: int) -> float:
    """Average trade in units of the average loss (an R-multiple proxy).

    The currency form, win% x avg win - loss% x avg loss, is algebraically the average
    trade, so it would duplicate ``avg_trade``; scaling by the typical loss instead makes
    the figure comparable across instruments and position sizes.
    """
    return _ratio(avg_trade, gross_loss / losing if losing else 0.0)
