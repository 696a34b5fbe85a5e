"""One backtest: window the bars, ask the strategy for signals, run the kernel, package."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

from backtune.data.ohlcv import OHLCV
from backtune.engine import kernel
from backtune.engine.signals import Fill
from backtune.errors import FieldError
from backtune.result import BacktestResult, OpenPosition, Trades, closed_at_end
from backtune.strategy import Strategy
from backtune.window import DataWindow, resolve_window


class SettingsError(FieldError):
    """A bad engine setting (capital, commission)."""


@dataclass(frozen=True)
class EngineSettings:
    """Account settings shared by every strategy. ``commission`` is a fraction of notional, per side."""

    initial_capital: float = 10_000.0
    commission: float = 0.0005

    @classmethod
    def checked(cls, initial_capital: float, commission: float) -> EngineSettings:
        """Settings from user input, refusing values no account can have."""
        if not math.isfinite(initial_capital) or initial_capital <= 0:
            raise SettingsError("capital", f"must be a positive number, got {initial_capital}")
        if not math.isfinite(commission) or not 0 <= commission < 0.1:
            raise SettingsError("commission", f"must be a fraction in [0, 0.1), got {commission}")
        return cls(float(initial_capital), float(commission))


def run_backtest(
    bars: OHLCV,
    strategy: Strategy,
    params: Mapping[str, Any],
    window: DataWindow = DataWindow(),
    settings: EngineSettings = EngineSettings(),
    close_at_end: bool = False,
) -> BacktestResult:
    """Backtest ``strategy`` with already validated ``params`` (see ``Strategy.validate``).

    With ``close_at_end`` a position still open at the last bar is closed at that bar's
    close, commission charged, so the window's whole profit is realised (walk-forward
    windows are judged on that).
    """
    span = resolve_window(bars, window)
    view = bars.slice(span.first, span.last)
    signals = strategy.signals(view, params)
    rules = strategy.rules(params)
    matrix, equity, closed_equity, position = kernel.simulate(
        view.time,
        view.open,
        view.high,
        view.low,
        view.close,
        signals.entry_long,
        signals.entry_short,
        signals.exit_long,
        signals.exit_short,
        signals.stop_long,
        signals.stop_short,
        signals.target_long,
        signals.target_short,
        signals.trail_long,
        signals.trail_short,
        rules.fill == Fill.NEXT_OPEN,
        int(rules.sizing),
        float(rules.risk_pct),
        float(rules.lot_size),
        float(rules.equity_fraction),
        rules.alternate,
        rules.reverse,
        rules.reenter,
        rules.gap_fills,
        float(rules.trail_rr_long),
        float(rules.trail_rr_short),
        int(rules.max_hold_long_ns),
        int(rules.max_hold_short_ns),
        span.trade_start,
        float(settings.initial_capital),
        float(settings.commission),
    )
    result = BacktestResult(
        bars=view,
        trade_start=span.trade_start,
        trades=Trades(*_trade_columns(matrix, view.time)),
        open_position=_open_position(position, view),
        equity=equity,
        closed_equity=closed_equity,
        initial_capital=float(settings.initial_capital),
        commission=float(settings.commission),
    )
    return closed_at_end(result) if close_at_end else result


@njit(cache=True)
def _trade_columns(matrix: np.ndarray, time: np.ndarray) -> tuple[np.ndarray, ...]:
    """The kernel's trade rows as ``Trades``' typed columns, in field order.

    One compiled pass: the numpy version needed a dozen calls (casts, gathers, the
    percentage), which cost more than the arithmetic at a thousand trades.
    """
    count = matrix.shape[0]
    direction = np.empty(count, dtype=np.int8)
    entry_idx = np.empty(count, dtype=np.int64)
    exit_idx = np.empty(count, dtype=np.int64)
    entry_time = np.empty(count, dtype=np.int64)
    exit_time = np.empty(count, dtype=np.int64)
    pnl_pct = np.empty(count)
    for i in range(count):
        row = matrix[i]
        direction[i] = row[kernel.T_DIR]
        entry_idx[i] = row[kernel.T_ENTRY_IDX]
        exit_idx[i] = row[kernel.T_EXIT_IDX]
        entry_time[i] = time[entry_idx[i]]
        exit_time[i] = time[exit_idx[i]]
        pnl_pct[i] = row[kernel.T_NET] / (row[kernel.T_ENTRY_PRICE] * row[kernel.T_SIZE]) * 100.0
    return (
        direction,
        entry_idx,
        exit_idx,
        entry_time,
        exit_time,
        matrix[:, kernel.T_ENTRY_PRICE].copy(),
        matrix[:, kernel.T_EXIT_PRICE].copy(),
        matrix[:, kernel.T_SIZE].copy(),
        matrix[:, kernel.T_NET].copy(),
        pnl_pct,
    )


def _open_position(position: np.ndarray, view: OHLCV) -> OpenPosition | None:
    direction = int(position[kernel.P_DIR])
    if direction == 0:
        return None
    entry_idx = int(position[kernel.P_ENTRY_IDX])
    entry_price = float(position[kernel.P_ENTRY_PRICE])
    size = float(position[kernel.P_SIZE])
    mark = float(view.close[-1])
    return OpenPosition(
        direction=direction,
        entry_idx=entry_idx,
        entry_time=int(view.time[entry_idx]),
        entry_price=entry_price,
        size=size,
        mark_price=mark,
        unrealized_pnl=(mark - entry_price) * size * direction,
    )
