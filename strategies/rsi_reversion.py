"""Wilder RSI mean reversion: buy the bounce out of oversold, sell the fade out of overbought.

Rules, evaluated at each bar's close and filled at the next bar's open:

- Long entry: RSI crosses up through ``oversold`` (previous bar <= level, this bar > level).
- Long exit: RSI is above ``exit_level`` (the move has reverted towards the middle).
- Short entry / exit (when ``allow_shorts``): the mirror image — RSI crosses down through
  ``overbought``; exit once RSI is below ``exit_level``.
- An entry whose exit condition already holds (RSI jumped straight past ``exit_level``) is
  skipped: the reversion it bets on has already happened.
- Trend filter (``trend_length`` > 0): longs only while close is above the SMA of that
  length, shorts only while below; no entries until the SMA is defined.
- Stop (``stop_atr`` > 0): ``stop_atr`` ATRs (as of the signal bar) beyond the fill price,
  i.e. the next bar's open. Anchoring the stop to the fill rather than the signal close
  makes the distance exactly ``stop_atr`` ATRs and means an opening gap can never put the
  stop on the wrong side of the entry (which would book an instant, fictitious win).

Sizing is all-in (whole equity, commission included, floored to ``lot_size``): the stop is
optional, and risk sizing would need one on every trade. Positions are not reversed; one
side must be closed before the other is entered.
"""

from __future__ import annotations

import numpy as np

from backtune.data.ohlcv import OHLCV
from backtune.engine.signals import ExecutionRules, Fill, Signals, Sizing
from backtune.indicators import atr, rsi, sma
from backtune.params import Param, ParamError
from backtune.strategy import Params, Strategy

PARAMS = (
    Param(
        "rsi_length",
        "int",
        14,
        label="RSI length",
        group="RSI",
        min=2,
        max=30,
        step=1,
        bounds=(1, 1_000),
        description="Bars in Wilder's RSI of close.",
    ),
    Param(
        "oversold",
        "float",
        30.0,
        label="Oversold level",
        group="RSI",
        min=10.0,
        max=35.0,
        step=5.0,
        bounds=(0.0, 100.0),
        description="A long is entered when RSI crosses up through this level.",
    ),
    Param(
        "exit_level",
        "float",
        50.0,
        label="Exit level",
        group="RSI",
        min=40.0,
        max=60.0,
        step=5.0,
        bounds=(0.0, 100.0),
        description="Longs exit once RSI is above this level, shorts once it is below; "
        "must lie between the oversold and overbought levels.",
    ),
    Param(
        "overbought",
        "float",
        70.0,
        label="Overbought level",
        group="RSI",
        min=65.0,
        max=90.0,
        step=5.0,
        bounds=(0.0, 100.0),
        description="A short is entered when RSI crosses down through this level.",
    ),
    Param(
        "allow_shorts",
        "bool",
        True,
        label="Allow shorts",
        group="Direction",
        description="Trade the overbought side too; off: long only.",
    ),
    Param(
        "trend_length",
        "int",
        200,
        label="Trend SMA length",
        group="Trend filter",
        min=50,
        max=400,
        step=50,
        bounds=(0, 5_000),
        description="Longs only above, shorts only below the SMA of close of this length; 0 disables.",
    ),
    Param(
        "stop_atr",
        "float",
        3.0,
        label="Stop (ATR multiple)",
        group="Stop",
        min=1.0,
        max=5.0,
        step=0.5,
        bounds=(0.0, 100.0),
        description="Protective stop this many ATRs from the entry price; 0 disables.",
    ),
    Param(
        "atr_length",
        "int",
        14,
        label="ATR length",
        group="Stop",
        min=5,
        max=50,
        step=1,
        bounds=(1, 1_000),
        optimize=False,
        description="Wilder smoothing period of the Average True Range used for the stop.",
    ),
    Param(
        "lot_size",
        "float",
        0.01,
        label="Lot size",
        group="Sizing",
        min=0.01,
        max=1.0,
        step=0.01,
        bounds=(1e-12, 1e12),
        optimize=False,
        description="Quantities are floored to a multiple of this.",
    ),
)


def _crossed(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """``before`` held on the previous bar and ``after`` holds on this one (False on bar 0)."""
    out = np.zeros(after.shape[0], dtype=np.bool_)
    out[1:] = before[:-1] & after[1:]
    return out


def signals(bars: OHLCV, params: Params) -> Signals:
    close = bars.close
    n = len(bars)
    line = rsi(close, params["rsi_length"])
    oversold, overbought, exit_level = params["oversold"], params["overbought"], params["exit_level"]
    with np.errstate(invalid="ignore"):
        exit_long = line > exit_level
        exit_short = line < exit_level
        entry_long = _crossed(line <= oversold, line > oversold) & ~exit_long
        entry_short = _crossed(line >= overbought, line < overbought) & ~exit_short & params["allow_shorts"]
        if params["trend_length"] > 0:
            trend = sma(close, params["trend_length"])
            entry_long &= close > trend
            entry_short &= close < trend
    stops = {}
    if params["stop_atr"] > 0:
        fill = np.full(n, np.nan)
        fill[:-1] = bars.open[1:]  # the next-open price an entry signalled on each bar fills at
        distance = params["stop_atr"] * atr(bars.high, bars.low, close, params["atr_length"])
        stops = {"stop_long": fill - distance, "stop_short": fill + distance}
    return Signals.build(
        n, entry_long=entry_long, entry_short=entry_short, exit_long=exit_long, exit_short=exit_short, **stops
    )


def rules(params: Params) -> ExecutionRules:
    return ExecutionRules(fill=Fill.NEXT_OPEN, sizing=Sizing.ALL_IN, lot_size=params["lot_size"], gap_fills=True)


def check(params: Params) -> None:
    if not params["oversold"] < params["exit_level"]:
        raise ParamError(
            "oversold", f"oversold {params['oversold']} must be below the exit level {params['exit_level']}"
        )
    if not params["exit_level"] < params["overbought"]:
        raise ParamError(
            "overbought", f"overbought {params['overbought']} must be above the exit level {params['exit_level']}"
        )
    if params["trend_length"] == 1:
        raise ParamError("trend_length", "a 1-bar SMA is the close itself; use 0 to disable the filter or >= 2")


STRATEGY = Strategy(
    id="rsi_reversion",
    name="RSI mean reversion",
    description="Long when RSI leaves oversold, short when it leaves overbought, out at the exit level; "
    "optional trend filter and ATR stop.",
    params=PARAMS,
    signals=signals,
    rules=rules,
    check=check,
)
