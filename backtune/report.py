"""JSON-ready views of a backtest, shared by the CLI and the web API so both speak alike."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from backtune.result import BacktestResult, OpenPosition, Trades


def iso_utc(ns: int) -> str:
    """ISO-8601 UTC with a ``Z`` suffix, seconds precision (bar times never need more)."""
    return pd.Timestamp(int(ns), unit="ns", tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def trade_records(trades: Trades) -> list[dict[str, Any]]:
    return [
        {
            "direction": "long" if d == 1 else "short",
            "entry_time": iso_utc(et),
            "exit_time": iso_utc(xt),
            "entry_price": float(ep),
            "exit_price": float(xp),
            "size": float(sz),
            "net_pnl": float(pnl),
            "pnl_pct": float(pct),
            "bars": int(bars),
        }
        for d, et, xt, ep, xp, sz, pnl, pct, bars in zip(
            trades.direction.tolist(),
            trades.entry_time.tolist(),
            trades.exit_time.tolist(),
            trades.entry_price.tolist(),
            trades.exit_price.tolist(),
            trades.size.tolist(),
            trades.net_pnl.tolist(),
            trades.pnl_pct.tolist(),
            trades.bars_held.tolist(),
        )
    ]


def open_position_record(position: OpenPosition | None, last_idx: int) -> dict[str, Any] | None:
    if position is None:
        return None
    return {
        "direction": "long" if position.direction == 1 else "short",
        "entry_time": iso_utc(position.entry_time),
        "entry_price": position.entry_price,
        "size": position.size,
        "mark_price": position.mark_price,
        "unrealized_pnl": position.unrealized_pnl,
        "bars": last_idx - position.entry_idx,
    }


def window_record(result: BacktestResult) -> dict[str, Any]:
    """Where the run traded: the first tradable bar, the last bar, and the warm-up it used."""
    time = result.bars.time
    return {
        "start": iso_utc(time[result.trade_start]),
        "end": iso_utc(time[-1]),
        "warmup_bars": int(result.trade_start),
        "first_bar": iso_utc(time[0]),
        "bars": int(time.shape[0] - result.trade_start),
    }


def backtest_report(
    strategy_id: str, params: Mapping[str, Any], result: BacktestResult, metrics: Mapping[str, Any]
) -> dict[str, Any]:
    return {
        "strategy": strategy_id,
        "params": dict(params),
        "window": window_record(result),
        "metrics": dict(metrics),
        "trades": trade_records(result.trades),
        "open_position": open_position_record(result.open_position, len(result.bars) - 1),
    }


def equity_points(result: BacktestResult, max_points: int = 1_000) -> list[list[Any]]:
    """``[iso_time, equity, drawdown_pct]`` over the trading window, thinned to at most
    ``max_points`` by an even stride that always keeps the last bar and the deepest
    drawdown, so a chart shows the curve's real extremes."""
    start = result.trade_start
    equity = result.equity[start:]
    time = result.bars.time[start:]
    peak = np.maximum.accumulate(np.maximum(equity, result.initial_capital))
    drawdown = (equity / peak - 1.0) * 100.0
    keep = np.unique(
        np.concatenate(
            [
                np.linspace(0, len(equity) - 1, num=min(max_points - 1, len(equity))).astype(np.int64),
                [int(np.argmin(drawdown))],
            ]
        )
    )
    return [[iso_utc(time[i]), float(equity[i]), float(drawdown[i])] for i in keep.tolist()]
