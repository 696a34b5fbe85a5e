"""A literal, slow, plain-Python reading of the trailing_ma spec's per-bar state machine.

It shares only the indicator functions (tested on their own) with the real strategy, so
comparing the two on many parameter sets checks the jitted kernel and the strategy's
signal arrays against the spec's words rather than against one reference case.
"""

from __future__ import annotations

import math

import numpy as np

from backtune.data.ohlcv import OHLCV
from backtune.indicators import atr, ma_code, moving_average, rolling_max, rolling_min

DAY_NS = 86_400 * 10**9


def run_spec(bars: OHLCV, p: dict, trade_start: int, capital: float, commission: float) -> tuple[list[tuple], float]:
    """Closed trades as (direction, entry_idx, exit_idx, entry, exit, qty, net) and final equity."""
    c, h, l, v, tm = bars.close, bars.high, bars.low, bars.volume, bars.time

    def ma(kind, length):
        return moving_average(ma_code(kind), c, v, h, l, length)

    main = ma(p["maType"], p["maLength"])
    trail_l = ma(p["trailMaType"], p["trailLongLength"]) * (1 + p["trailLongOffset"] / 100)
    trail_s = ma(p["trailMaType"], p["trailShortLength"]) * (1 + p["trailShortOffset"] / 100)
    a = atr(h, l, c, p["atrPeriod"])
    lowest = rolling_min(l, p["stopLongLP"])
    highest = rolling_max(h, p["stopShortLP"])

    up = down = 0
    lock_long = lock_short = 0
    pos = None  # dict(dir, entry, qty, stop, target, level, active, idx)
    flat_prev = True
    eq = capital
    trades = []
    final_equity = capital
    for t in range(len(c)):
        if not math.isnan(main[t]):
            if c[t] > main[t]:
                up, down = up + 1, 0
            elif c[t] < main[t]:
                up, down = 0, down + 1
            else:
                up = down = 0
        if pos is not None:
            lock_long, lock_short = (1, 0) if pos["dir"] == 1 else (0, 1)
            exit_price = None
            if pos["dir"] == 1:
                if not pos["active"] and h[t] >= pos["entry"] + (pos["entry"] - pos["stop"]) * p["trailRRLong"]:
                    pos["active"] = True
                if not math.isnan(trail_l[t]) and trail_l[t] > pos["level"]:
                    pos["level"] = trail_l[t]
                if pos["active"]:
                    if l[t] <= pos["level"]:
                        exit_price = min(pos["level"], h[t])
                elif l[t] <= pos["stop"]:
                    exit_price = pos["stop"]
                elif h[t] >= pos["target"]:
                    exit_price = pos["target"]
                max_days = p["stopLongMaxDays"]
            else:
                if not pos["active"] and l[t] <= pos["entry"] - (pos["stop"] - pos["entry"]) * p["trailRRShort"]:
                    pos["active"] = True
                if not math.isnan(trail_s[t]) and trail_s[t] < pos["level"]:
                    pos["level"] = trail_s[t]
                if pos["active"]:
                    if h[t] >= pos["level"]:
                        exit_price = max(pos["level"], l[t])
                elif h[t] >= pos["stop"]:
                    exit_price = pos["stop"]
                elif l[t] <= pos["target"]:
                    exit_price = pos["target"]
                max_days = p["stopShortMaxDays"]
            if exit_price is None and max_days > 0 and (tm[t] - tm[pos["idx"]]) // DAY_NS >= max_days:
                exit_price = c[t]
            if exit_price is not None:
                q, e = pos["qty"], pos["entry"]
                gross = (exit_price - e) * q if pos["dir"] == 1 else (e - exit_price) * q
                net = gross - exit_price * q * commission - e * q * commission
                eq += gross - exit_price * q * commission
                trades.append((pos["dir"], pos["idx"], t, e, exit_price, q, net))
                pos = None
        if pos is None and flat_prev and t >= trade_start and not math.isnan(a[t]):
            if up >= p["closeCountLong"] and lock_long == 0 and not math.isnan(lowest[t]):
                pos = _enter(1, c[t], lowest[t] - a[t] * p["stopLongX"], p["stopLongMaxPct"], p["stopLongRR"], eq, p, t)
            elif down >= p["closeCountShort"] and lock_short == 0 and not math.isnan(highest[t]):
                pos = _enter(
                    -1, c[t], highest[t] + a[t] * p["stopShortX"], p["stopShortMaxPct"], p["stopShortRR"], eq, p, t
                )
            if pos is not None:
                eq -= pos["entry"] * pos["qty"] * commission
        flat_prev = pos is None
        final_equity = eq if pos is None else eq + (c[t] - pos["entry"]) * pos["qty"] * pos["dir"]
    return trades, final_equity


def _enter(direction, close, stop, max_pct, rr, equity, p, t):
    dist = (close - stop) * direction
    if not dist > 0 or (max_pct > 0 and dist / close * 100 > max_pct):
        return None
    qty = np.floor(equity * p["riskPerTrade"] / 100 / dist / p["contractSize"]) * p["contractSize"]
    if qty <= 0:
        return None
    return {
        "dir": direction,
        "entry": close,
        "qty": qty,
        "stop": stop,
        "target": close + direction * dist * rr,
        "level": stop,
        "active": False,
        "idx": t,
    }
