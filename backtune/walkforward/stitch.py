"""The out-of-sample windows joined into one account, compounding window to window.

Every window is backtested on its own from the run's capital; stitched, window k starts
with the equity window k-1 ended on, so its curve, trade sizes and profits are scaled by
that equity over the capital. The final equity is capital x prod(1 + r_k), and the
result is an ordinary ``BacktestResult``, so every metric of docs/metrics.md applies.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from backtune.data.ohlcv import OHLCV
from backtune.result import BacktestResult, Trades

PRICE_FIELDS = ("time", "open", "high", "low", "close", "volume")


def window_return(result: BacktestResult) -> float:
    """The window's return on its capital (its equity is realised: closed at the end)."""
    return float(result.equity[-1]) / result.initial_capital - 1.0


def stitch(results: Sequence[BacktestResult]) -> BacktestResult:
    """One result over the windows' trading bars (their warm-ups dropped), compounded."""
    if not results:
        raise ValueError("nothing to stitch: no finished window")
    capital = results[0].initial_capital
    equity_so_far = capital
    offset = 0
    bars, equity, closed, trades = [], [], [], []
    for result in results:
        start = result.trade_start
        scale = equity_so_far / result.initial_capital
        bars.append(result.bars.slice(start, len(result.bars) - 1))
        equity.append(result.equity[start:] * scale)
        closed.append(result.closed_equity[start:] * scale)
        trades.append(_shifted(result.trades, offset - start, scale))
        offset += len(result.bars) - start
        equity_so_far = float(equity[-1][-1])
    return BacktestResult(
        bars=OHLCV(
            *(np.concatenate([getattr(b, f) for b in bars]) for f in PRICE_FIELDS),
            has_volume=results[0].bars.has_volume,
        ),
        trade_start=0,
        trades=Trades(**{f: np.concatenate([getattr(t, f) for t in trades]) for f in Trades.__dataclass_fields__}),
        open_position=None,
        equity=np.concatenate(equity),
        closed_equity=np.concatenate(closed),
        initial_capital=capital,
        commission=results[0].commission,
    )


def _shifted(trades: Trades, shift: int, scale: float) -> Trades:
    """Indices moved onto the stitched bars; sizes and money scaled, percentages kept."""
    return Trades(
        direction=trades.direction,
        entry_idx=trades.entry_idx + shift,
        exit_idx=trades.exit_idx + shift,
        entry_time=trades.entry_time,
        exit_time=trades.exit_time,
        entry_price=trades.entry_price,
        exit_price=trades.exit_price,
        size=trades.size * scale,
        net_pnl=trades.net_pnl * scale,
        pnl_pct=trades.pnl_pct,
    )
