"""The data window: which bars a strategy sees and from which bar it may trade.

Indicators are computed on the slice only (so results don't depend on how much history
the file happens to hold before ``start``); ``warmup_bars`` lends them history without
letting the strategy trade on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backtune.data.ohlcv import OHLCV
from backtune.errors import FieldError


class WindowError(FieldError):
    """A window that selects no tradable bars; ``field`` names the offending setting."""


@dataclass(frozen=True)
class DataWindow:
    """``start``/``end`` are int64 ns UTC, inclusive; None means the file's own edge."""

    start: int | None = None
    end: int | None = None
    warmup_bars: int = 0

    @classmethod
    def parse(cls, start: str | None = None, end: str | None = None, warmup_bars: int = 0) -> DataWindow:
        """Build a window from user text such as ``2025-06-15`` or ``2025-06-15T00:00:00Z``."""
        if isinstance(warmup_bars, bool) or not isinstance(warmup_bars, int) or warmup_bars < 0:
            raise WindowError("warmup_bars", f"expected a whole number >= 0, got {warmup_bars!r}")
        window = cls(parse_time("start", start), parse_time("end", end), warmup_bars)
        if window.start is not None and window.end is not None and window.start > window.end:
            raise WindowError("end", f"end {end} is before start {start}")
        return window


@dataclass(frozen=True)
class WindowSlice:
    """Bar indices into the full series: the slice is ``first..last``, trading from ``trade_start``."""

    first: int
    last: int
    trade_start: int


def parse_time(field: str, text: str | int | None) -> int | None:
    """Parse a user-given time to int64 ns UTC; naive times are taken as UTC."""
    if text is None or text == "":
        return None
    import pandas as pd  # here, not at module level: optimisation workers never parse times

    try:
        stamp = pd.Timestamp(text)
    except (ValueError, TypeError) as exc:
        raise WindowError(field, f"cannot read {text!r} as a date/time ({exc})") from None
    if stamp is pd.NaT:
        raise WindowError(field, f"cannot read {text!r} as a date/time")
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return int(stamp.value)


def resolve_window(bars: OHLCV, window: DataWindow) -> WindowSlice:
    """Locate the window in ``bars`` (see the spec's "Data window and warm-up")."""
    times = bars.time
    start_idx = 0 if window.start is None else int(np.searchsorted(times, window.start, side="left"))
    end_idx = len(bars) - 1 if window.end is None else int(np.searchsorted(times, window.end, side="right")) - 1
    if start_idx > end_idx:
        raise WindowError("start", "the window contains no bars of this data")
    first = max(0, start_idx - window.warmup_bars) if window.start is not None else 0
    return WindowSlice(first=first, last=end_idx, trade_start=start_idx - first)
