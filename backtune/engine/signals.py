"""What a strategy hands the engine: per-bar signal arrays and the rules to execute them.

Strategies stay plain vectorised numpy (no numba needed to write one); the path-dependent
part — positions, fills, stops, trailing, sizing — lives once, in the jitted kernel.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np


class Fill(IntEnum):
    """When a signal on bar t is filled."""

    CLOSE = 0  # at bar t's close (TradingView's process_orders_on_close)
    NEXT_OPEN = 1  # at bar t+1's open (backtesting.py's default)


class Sizing(IntEnum):
    """How many units an entry buys."""

    RISK = 0  # risk_pct of closed-trade equity lost if the stop is hit, floored to lot_size
    ALL_IN = 1  # the whole equity (times equity_fraction), commission included, floored to lot_size


@dataclass(frozen=True)
class ExecutionRules:
    """How the kernel turns signals into trades. Times are int64 ns; 0 disables a limit.

    ``alternate``: after a long the next trade must be a short and vice versa.
    ``reverse``: an entry signal against an open position closes it and opens the new one
    in the same fill; without it entries need a flat book, and never happen on a bar where
    a position was just closed.
    ``reenter``: an entry signal in the direction already held closes the position and
    opens a fresh one in the same fill (backtesting.py's ``position.close(); buy()``).
    ``gap_fills``: a stop, target or trailing level the bar opens beyond fills at the
    open (realistic for gapping markets); without it, at the level itself.
    ``trail_rr_*``: trailing exit activates once price moves this many R (initial risk) in
    favour; NaN disables trailing.
    """

    fill: Fill = Fill.NEXT_OPEN
    sizing: Sizing = Sizing.ALL_IN
    risk_pct: float = 1.0
    lot_size: float = 1.0
    equity_fraction: float = 1.0
    alternate: bool = False
    reverse: bool = False
    reenter: bool = False
    gap_fills: bool = False
    trail_rr_long: float = np.nan
    trail_rr_short: float = np.nan
    max_hold_long_ns: int = 0
    max_hold_short_ns: int = 0


@dataclass(frozen=True)
class Signals:
    """Per-bar arrays, all the length of the bar slice.

    ``entry_*``/``exit_*`` are booleans evaluated at each bar's close. ``stop_*`` and
    ``target_*`` are price levels attached to an entry signalled on that bar (NaN: none).
    ``trail_*`` is the trailing line (NaN where undefined); the trailing level of an open
    long only ever rises to it (a short's only falls).
    """

    entry_long: np.ndarray
    entry_short: np.ndarray
    exit_long: np.ndarray
    exit_short: np.ndarray
    stop_long: np.ndarray
    stop_short: np.ndarray
    target_long: np.ndarray
    target_short: np.ndarray
    trail_long: np.ndarray
    trail_short: np.ndarray

    @classmethod
    def build(cls, n: int, **arrays: np.ndarray) -> Signals:
        """Fill every array a strategy leaves out with its neutral value (False / NaN)."""
        no = np.zeros(n, dtype=np.bool_)
        nan = np.full(n, np.nan)
        defaults = {name: (no if name.startswith(("entry", "exit")) else nan) for name in cls.__dataclass_fields__}
        defaults.update(arrays)
        return cls(**defaults)
