"""Turtle-style Donchian channel breakout with volatility (N) sizing.

Rules, evaluated at each bar's close:

- Long entry: close above the highest high of the previous ``entry_length`` bars.
- Long exit: close below the lowest low of the previous ``exit_length`` bars (a shorter
  channel than the entry's, so a trend is given room but a reversal is cut early).
- Short entry / exit (when ``allow_shorts``): the mirror image on the lows / highs.
- A breakout against an open position reverses it in the same fill (a close through the
  entry channel is also through the shorter exit channel, so the exit and the new entry
  happen together, as they would with both orders resting).
- Stop: ``stop_n`` times N (the ATR of ``atr_length`` bars) from the entry price. With
  ``stop_n`` 0 there is no N stop; the stop sits instead at the exit channel as it stands
  at entry (the lowest low of the last ``exit_length`` bars for a long), i.e. where the
  system exit would trigger then.
- Size: the turtles sized by volatility; here each entry risks ``risk_pct`` % of closed-
  trade equity between the entry and its stop, floored to ``lot_size``, so the size
  shrinks as N grows. With a 2N stop, ``risk_pct`` 2 is the turtles' unit (1 % of equity
  per 1N move); an entry whose stop distance is zero is skipped (nothing to size).

Fills are at the signal bar's close. The turtles entered with stop orders at the channel
level, during the breakout bar itself; the close of that bar is the nearest bar-level
price, and since it lies beyond the channel it is usually no better than the stop order
would have got. Waiting for the next open would add a bar of latency the system never had.
"""

from __future__ import annotations

import numpy as np

from backtune.data.ohlcv import OHLCV
from backtune.engine.signals import ExecutionRules, Fill, Signals, Sizing
from backtune.indicators import atr, donchian, rolling_max, rolling_min
from backtune.params import Param, ParamError
from backtune.strategy import Params, Strategy

PARAMS = (
    Param(
        "entry_length",
        "int",
        20,
        label="Entry channel length",
        group="Channels",
        min=20,
        max=100,
        step=5,
        bounds=(2, 10_000),
        description="A close beyond the extreme of this many previous bars enters.",
    ),
    Param(
        "exit_length",
        "int",
        10,
        label="Exit channel length",
        group="Channels",
        min=5,
        max=50,
        step=5,
        bounds=(1, 10_000),
        description="A close beyond the opposite extreme of this many previous bars exits; "
        "must be shorter than the entry channel.",
    ),
    Param(
        "allow_shorts",
        "bool",
        True,
        label="Allow shorts",
        group="Direction",
        description="Trade downside breakouts too; off: long only.",
    ),
    Param(
        "stop_n",
        "float",
        2.0,
        label="Stop (N multiple)",
        group="Risk",
        min=1.0,
        max=4.0,
        step=0.5,
        bounds=(0.0, 100.0),
        description="Stop this many ATRs (N) from the entry price; 0 places it at the exit channel instead.",
    ),
    Param(
        "atr_length",
        "int",
        20,
        label="N (ATR) length",
        group="Risk",
        min=10,
        max=50,
        step=5,
        bounds=(1, 1_000),
        optimize=False,
        description="Wilder smoothing period of the Average True Range (the turtles' N).",
    ),
    Param(
        "risk_pct",
        "float",
        1.0,
        label="Risk per trade %",
        group="Sizing",
        min=0.5,
        max=3.0,
        step=0.5,
        bounds=(0.01, 100.0),
        optimize=False,
        description="% of closed-trade equity lost if the stop is hit; sets the position size.",
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


def signals(bars: OHLCV, params: Params) -> Signals:
    high, low, close = bars.high, bars.low, bars.close
    entry_upper, entry_lower = donchian(high, low, params["entry_length"])
    exit_upper, exit_lower = donchian(high, low, params["exit_length"])
    with np.errstate(invalid="ignore"):
        entry_long = close > entry_upper
        entry_short = (close < entry_lower) & params["allow_shorts"]
        exit_long = (close < exit_lower) & ~entry_short
        exit_short = (close > exit_upper) & ~entry_long
    if params["stop_n"] > 0:
        distance = params["stop_n"] * atr(high, low, close, params["atr_length"])
        stop_long, stop_short = close - distance, close + distance
    else:
        stop_long = rolling_min(low, params["exit_length"])
        stop_short = rolling_max(high, params["exit_length"])
    return Signals.build(
        len(bars),
        entry_long=entry_long,
        entry_short=entry_short,
        exit_long=exit_long,
        exit_short=exit_short,
        stop_long=stop_long,
        stop_short=stop_short,
    )


def rules(params: Params) -> ExecutionRules:
    return ExecutionRules(
        fill=Fill.CLOSE,
        sizing=Sizing.RISK,
        risk_pct=params["risk_pct"],
        lot_size=params["lot_size"],
        reverse=True,
        gap_fills=True,
    )


def check(params: Params) -> None:
    if params["exit_length"] >= params["entry_length"]:
        raise ParamError(
            "exit_length",
            f"exit channel length {params['exit_length']} must be below the entry "
            f"channel length {params['entry_length']}",
        )


STRATEGY = Strategy(
    id="donchian_breakout",
    name="Donchian breakout",
    description="Turtle-style channel breakout: enter on a close beyond the entry channel, exit on the "
    "shorter opposite channel; ATR (N) stops and risk-based sizing.",
    params=PARAMS,
    signals=signals,
    rules=rules,
    check=check,
)
