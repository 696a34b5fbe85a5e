"""Trend-count entries with ATR stops and trailing-MA exits (see the trailing_ma spec).

Enter long after ``closeCountLong`` consecutive closes above the main MA (short: below),
with a stop under the recent swing low widened by ATR, a target at ``stopLongRR`` R, a
maximum holding time, and a trailing line (an MA shifted by an offset) that takes over
once price has moved ``trailRRLong`` R in favour. Trades alternate long/short and fill
at the signal bar's close, as TradingView's ``process_orders_on_close`` does.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from backtune.data.ohlcv import OHLCV
from backtune.engine.signals import ExecutionRules, Fill, Signals, Sizing
from backtune.indicators import MA_TYPES, atr, ma_code, moving_average, rolling_max, rolling_min
from backtune.params import Param, ParamError
from backtune.strategy import Params, Strategy

DAY_NS = 86_400 * 1_000_000_000
VOLUME_MAS = ("VWMA", "VWAP")


def _side_params(
    side: str, count: int, max_pct: float, max_days: int, trail_offset: float, offset_range: tuple[float, float]
) -> tuple[Param, ...]:
    """The per-side parameters: long and short are declared once, from one template."""
    s = side.capitalize()
    group = f"{s} side"
    return (
        Param(
            f"closeCount{s}",
            "int",
            count,
            label=f"{s}: closes beyond MA",
            group=group,
            min=2,
            max=10,
            step=1,
            bounds=(1, 1_000),
            description=f"Consecutive closes on the {side} side of the main MA needed to enter.",
        ),
        Param(
            f"stop{s}X",
            "float",
            2.0,
            label=f"{s}: stop ATR multiple",
            group=group,
            min=1.0,
            max=3.0,
            step=0.1,
            bounds=(0.0, 100.0),
            description="ATR multiples added beyond the swing extreme to place the stop.",
        ),
        Param(
            f"stop{s}RR",
            "float",
            3.0,
            label=f"{s}: target (R)",
            group=group,
            min=2.0,
            max=4.0,
            step=0.2,
            bounds=(0.1, 100.0),
            description="Profit target as a multiple of the initial risk.",
        ),
        Param(
            f"stop{s}LP",
            "int",
            2,
            label=f"{s}: swing lookback",
            group=group,
            min=2,
            max=6,
            step=1,
            bounds=(1, 1_000),
            description="Bars searched for the swing low (long) or high (short).",
        ),
        Param(
            f"stop{s}MaxPct",
            "float",
            max_pct,
            label=f"{s}: max stop %",
            group=group,
            min=3.0,
            max=10.0,
            step=0.5,
            bounds=(-1.0, 100.0),
            description="Skip entries whose stop is further than this % of price; <= 0 disables.",
        ),
        Param(
            f"stop{s}MaxDays",
            "int",
            max_days,
            label=f"{s}: max days held",
            group=group,
            min=2,
            max=7,
            step=1,
            bounds=(0, 3_650),
            description="Close at the bar's close after this many whole days; 0 disables.",
        ),
        Param(
            f"trailRR{s}",
            "float",
            1.0,
            label=f"{s}: trail activation (R)",
            group=group,
            min=0.5,
            max=2.0,
            step=0.1,
            bounds=(0.0, 100.0),
            description="Favourable move, in R, that switches to the trailing exit.",
        ),
        Param(
            f"trail{s}Length",
            "int",
            160,
            label=f"{s}: trail MA length",
            group=group,
            min=25,
            max=200,
            step=25,
            bounds=(0, 5_000),
            description="Length of the trailing MA; 0 trails at the stop only.",
        ),
        Param(
            f"trail{s}Offset",
            "float",
            trail_offset,
            label=f"{s}: trail offset %",
            group=group,
            min=offset_range[0],
            max=offset_range[1],
            step=0.5,
            bounds=(-50.0, 50.0),
            description="Shift of the trailing MA, in % of its value.",
        ),
    )


PARAMS = (
    Param(
        "maType",
        "choice",
        "EMA",
        label="Trend MA type",
        group="Trend",
        choices=MA_TYPES,
        description="Moving average whose side of price counts the trend.",
    ),
    Param(
        "maLength",
        "int",
        45,
        label="Trend MA length",
        group="Trend",
        min=25,
        max=500,
        step=25,
        bounds=(0, 5_000),
        description="Bars in the trend MA (ignored by VWAP).",
    ),
    *_side_params("long", 7, 3.0, 2, -1.0, (-3.0, 0.0)),
    *_side_params("short", 5, 3.0, 4, 1.0, (0.0, 3.0)),
    Param(
        "trailMaType",
        "choice",
        "SMA",
        label="Trail MA type",
        group="Trailing",
        choices=MA_TYPES,
        description="Moving average used for both trailing lines.",
    ),
    Param(
        "atrPeriod",
        "int",
        14,
        label="ATR period",
        group="Risk",
        min=5,
        max=50,
        step=1,
        bounds=(1, 1_000),
        optimize=False,
        description="Smoothing period of the Average True Range used for stops.",
    ),
    Param(
        "riskPerTrade",
        "float",
        2.0,
        label="Risk per trade %",
        group="Risk",
        min=0.5,
        max=5.0,
        step=0.5,
        bounds=(0.01, 100.0),
        optimize=False,
        description="% of closed-trade equity lost if the stop is hit.",
    ),
    Param(
        "contractSize",
        "float",
        0.01,
        label="Contract size",
        group="Risk",
        min=0.01,
        max=1.0,
        step=0.01,
        bounds=(1e-12, 1e12),
        optimize=False,
        description="Quantity is floored to a multiple of this.",
    ),
)


@njit(cache=True)
def trend_counts(close: np.ndarray, ma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Consecutive closes above / below the MA; bars where the MA is undefined keep the counts."""
    n = close.shape[0]
    up = np.zeros(n, dtype=np.int64)
    down = np.zeros(n, dtype=np.int64)
    u = 0
    d = 0
    for t in range(n):
        if not np.isnan(ma[t]):
            if close[t] > ma[t]:
                u, d = u + 1, 0
            elif close[t] < ma[t]:
                u, d = 0, d + 1
            else:
                u, d = 0, 0
        up[t] = u
        down[t] = d
    return up, down


def _bracket(
    close: np.ndarray,
    extreme: np.ndarray,
    atr_values: np.ndarray,
    direction: int,
    atr_mult: float,
    rr: float,
    max_pct: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stop, target and whether the stop distance allows an entry, per bar, for one side."""
    with np.errstate(invalid="ignore"):
        stop = extreme - direction * atr_values * atr_mult
        dist = (close - stop) * direction
        allowed = dist > 0
        if max_pct > 0:
            allowed &= dist / close * 100.0 <= max_pct
    return stop, close + direction * dist * rr, allowed


def _trail(bars: OHLCV, params: Params, length: int, offset: float) -> np.ndarray:
    line = moving_average(ma_code(params["trailMaType"]), bars.close, bars.volume, bars.high, bars.low, length)
    return line * (1.0 + offset / 100.0)


def signals(bars: OHLCV, params: Params) -> Signals:
    if not bars.has_volume and (params["maType"] in VOLUME_MAS or params["trailMaType"] in VOLUME_MAS):
        field = "maType" if params["maType"] in VOLUME_MAS else "trailMaType"
        raise ParamError(field, f"{params[field]} needs volume, and this data has none")
    close = bars.close
    ma = moving_average(ma_code(params["maType"]), close, bars.volume, bars.high, bars.low, params["maLength"])
    up, down = trend_counts(close, ma)
    atr_values = atr(bars.high, bars.low, close, params["atrPeriod"])
    stop_long, target_long, long_ok = _bracket(
        close,
        rolling_min(bars.low, params["stopLongLP"]),
        atr_values,
        1,
        params["stopLongX"],
        params["stopLongRR"],
        params["stopLongMaxPct"],
    )
    stop_short, target_short, short_ok = _bracket(
        close,
        rolling_max(bars.high, params["stopShortLP"]),
        atr_values,
        -1,
        params["stopShortX"],
        params["stopShortRR"],
        params["stopShortMaxPct"],
    )
    return Signals.build(
        len(bars),
        entry_long=(up >= params["closeCountLong"]) & long_ok,
        entry_short=(down >= params["closeCountShort"]) & short_ok,
        stop_long=stop_long,
        stop_short=stop_short,
        target_long=target_long,
        target_short=target_short,
        trail_long=_trail(bars, params, params["trailLongLength"], params["trailLongOffset"]),
        trail_short=_trail(bars, params, params["trailShortLength"], params["trailShortOffset"]),
    )


def rules(params: Params) -> ExecutionRules:
    return ExecutionRules(
        fill=Fill.CLOSE,
        sizing=Sizing.RISK,
        risk_pct=params["riskPerTrade"],
        lot_size=params["contractSize"],
        alternate=True,
        trail_rr_long=params["trailRRLong"],
        trail_rr_short=params["trailRRShort"],
        max_hold_long_ns=params["stopLongMaxDays"] * DAY_NS,
        max_hold_short_ns=params["stopShortMaxDays"] * DAY_NS,
    )


STRATEGY = Strategy(
    id="trailing_ma",
    name="Trailing MA",
    description="Trend-count entries, ATR stops and targets, trailing-MA exits; alternates long and short.",
    params=PARAMS,
    signals=signals,
    rules=rules,
)
