"""What one backtest produces: closed trades, the open position and two equity curves."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backtune.data.ohlcv import OHLCV

LONG = 1
SHORT = -1


@dataclass(frozen=True)
class Trades:
    """Closed trades as parallel arrays (columnar, so metrics stay vectorised).

    ``direction`` is +1 (long) or -1 (short); ``entry_idx``/``exit_idx`` index the bars
    the strategy saw (``BacktestResult.bars``); times are int64 ns UTC; ``net_pnl`` is
    after both commissions; ``pnl_pct`` is ``net_pnl`` over the entry notional, in %.
    """

    direction: np.ndarray
    entry_idx: np.ndarray
    exit_idx: np.ndarray
    entry_time: np.ndarray
    exit_time: np.ndarray
    entry_price: np.ndarray
    exit_price: np.ndarray
    size: np.ndarray
    net_pnl: np.ndarray
    pnl_pct: np.ndarray

    def __len__(self) -> int:
        return int(self.direction.shape[0])

    @property
    def bars_held(self) -> np.ndarray:
        return self.exit_idx - self.entry_idx


@dataclass(frozen=True)
class OpenPosition:
    """A position still open at the last bar, marked to that bar's close."""

    direction: int
    entry_idx: int
    entry_time: int
    entry_price: float
    size: float
    mark_price: float
    unrealized_pnl: float


@dataclass(frozen=True)
class BacktestResult:
    """Everything metrics, the CLI and the web layer need from one run.

    ``bars`` is the slice the strategy saw (warm-up included); trading was allowed from
    ``trade_start`` on, and metrics are computed over ``bars[trade_start:]``.
    ``equity`` is mark-to-market at each bar's close; ``closed_equity`` counts only
    realised PnL (and entry commissions already paid).
    """

    bars: OHLCV
    trade_start: int
    trades: Trades
    open_position: OpenPosition | None
    equity: np.ndarray
    closed_equity: np.ndarray
    initial_capital: float
    commission: float
