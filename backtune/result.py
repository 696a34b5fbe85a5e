"""What one backtest produces: closed trades, the open position and two equity curves."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from backtune.data.ohlcv import OHLCV


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


def truncated(result: BacktestResult, last: int) -> BacktestResult:
    """The run as it stood at the close of bar ``last``: trades closed by then, and the one
    still open marked to that close. Lets a pruner judge a trial on part of its window."""
    trades = result.trades
    closed = trades.exit_idx <= last
    open_now = (trades.entry_idx <= last) & ~closed
    position = result.open_position if result.open_position and result.open_position.entry_idx <= last else None
    if open_now.any():
        i = int(np.flatnonzero(open_now)[0])
        position = OpenPosition(
            int(trades.direction[i]),
            int(trades.entry_idx[i]),
            int(trades.entry_time[i]),
            float(trades.entry_price[i]),
            float(trades.size[i]),
            0.0,
            0.0,
        )
    if position is not None:
        mark = float(result.bars.close[last])
        position = replace(
            position, mark_price=mark, unrealized_pnl=(mark - position.entry_price) * position.size * position.direction
        )
    return replace(
        result,
        bars=result.bars.slice(0, last),
        trades=Trades(**{name: getattr(trades, name)[closed] for name in Trades.__dataclass_fields__}),
        open_position=position,
        equity=result.equity[: last + 1],
        closed_equity=result.closed_equity[: last + 1],
    )


def closed_at_end(result: BacktestResult) -> BacktestResult:
    """The run with its open position (if any) closed at the last bar's close, the exit
    commission charged as on any exit; both equity curves then end on the realised equity."""
    position = result.open_position
    if position is None:
        return result
    last = len(result.bars) - 1
    price = float(result.bars.close[last])
    gross = (price - position.entry_price) * position.size * position.direction
    exit_fee = price * position.size * result.commission
    net = gross - exit_fee - position.entry_price * position.size * result.commission
    closing = {
        "direction": position.direction,
        "entry_idx": position.entry_idx,
        "exit_idx": last,
        "entry_time": position.entry_time,
        "exit_time": int(result.bars.time[last]),
        "entry_price": position.entry_price,
        "exit_price": price,
        "size": position.size,
        "net_pnl": net,
        "pnl_pct": net / (position.entry_price * position.size) * 100.0,
    }
    trades = result.trades
    columns = {
        name: np.append(getattr(trades, name), np.array(value, dtype=getattr(trades, name).dtype))
        for name, value in closing.items()
    }
    equity = result.equity.copy()
    closed_equity = result.closed_equity.copy()
    closed_equity[last] += gross - exit_fee
    equity[last] = closed_equity[last]
    return replace(result, trades=Trades(**columns), open_position=None, equity=equity, closed_equity=closed_equity)
