"""Where each window's in-sample and out-of-sample bars lie: pure arithmetic on bar times.

Out-of-sample windows are contiguous and never overlap; the step is their length. The
purge gap is taken from the end of each in-sample range, so the out-of-sample windows
stay contiguous. The holdout is cut off the end first: no window reaches into it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backtune.errors import FieldError
from backtune.walkforward.settings import FIELD, WalkForwardSettings
from backtune.window import DataWindow, parse_time

NS_PER_DAY = 86_400 * 10**9
MIN_WINDOWS = 2


@dataclass(frozen=True)
class Span:
    """Bar indices ``first..last`` (inclusive) into the full series."""

    first: int
    last: int

    @property
    def bars(self) -> int:
        return self.last - self.first + 1


@dataclass(frozen=True)
class Window:
    index: int
    in_sample: Span
    out_of_sample: Span


@dataclass(frozen=True)
class Schedule:
    """The windows in order; ``holdout`` is None when the run keeps none."""

    windows: tuple[Window, ...]
    holdout: Span | None


def build_schedule(time: np.ndarray, window: DataWindow, settings: WalkForwardSettings) -> Schedule:
    """The windows over ``time`` (int64 ns), inside the run's start/end; errors name the setting."""
    n = int(time.shape[0])
    first = _first_tradable(time, window)
    end = n - 1 if window.end is None else int(np.searchsorted(time, window.end, side="right")) - 1
    if first > end:
        raise FieldError("window.start", "no tradable bar between start and end (after the warm-up)")
    interval = int(np.median(np.diff(time))) if n > 1 else 0
    holdout = _holdout(time, first, end, interval, settings)
    search_last = end if holdout is None else holdout.first - 1
    if settings.by_calendar:
        windows = _calendar_windows(time, first, search_last, interval, settings)
    else:
        windows = _count_windows(first, search_last, settings)
    return Schedule(tuple(windows), holdout)


def span_days(time: np.ndarray, span: Span) -> float:
    """Calendar days a span covers, its last bar included (one median bar spacing)."""
    interval = int(np.median(np.diff(time))) if time.shape[0] > 1 else 0
    return (int(time[span.last]) - int(time[span.first]) + interval) / NS_PER_DAY


def _first_tradable(time: np.ndarray, window: DataWindow) -> int:
    """The run's start, or without one the first bar that has a full warm-up before it."""
    if window.start is not None:
        return int(np.searchsorted(time, window.start, side="left"))
    if window.warmup_bars >= time.shape[0]:
        raise FieldError(
            "window.warmup_bars",
            f"the warm-up of {window.warmup_bars} bars leaves no bar to trade in {time.shape[0]} bars",
        )
    return window.warmup_bars


def _holdout(time: np.ndarray, first: int, end: int, interval: int, settings: WalkForwardSettings) -> Span | None:
    if settings.holdout_from is not None:
        name = f"{FIELD}.holdout_from"
        start = int(np.searchsorted(time, parse_time(name, settings.holdout_from), side="left"))
    elif settings.holdout_days is not None:
        name = f"{FIELD}.holdout_days"
        start = int(np.searchsorted(time, int(time[end]) + interval - settings.holdout_days * NS_PER_DAY, side="left"))
    else:
        return None
    if start > end:
        raise FieldError(name, "the holdout holds no bar of the run's range")
    if start <= first:
        raise FieldError(name, "the holdout covers the whole range, leaving nothing to search")
    return Span(start, end)


def _calendar_windows(
    time: np.ndarray, first: int, last: int, interval: int, settings: WalkForwardSettings
) -> list[Window]:
    """Out-of-sample window k covers ``[t0 + is + k*oos, t0 + is + (k+1)*oos)``; only
    complete ones count, so the data's tail shorter than one step stays unused."""
    t0 = int(time[first])
    is_ns = int(round(settings.is_days * NS_PER_DAY))
    oos_ns = int(round(settings.oos_days * NS_PER_DAY))
    data_end = int(time[last]) + interval
    windows = []
    k = 0
    while t0 + is_ns + (k + 1) * oos_ns <= data_end:
        oos_start = t0 + is_ns + k * oos_ns
        oos_first = int(np.searchsorted(time, oos_start, side="left"))
        oos_last = min(last, int(np.searchsorted(time, oos_start + oos_ns, side="left")) - 1)
        if oos_last < oos_first:
            raise FieldError(
                f"{FIELD}.oos_days",
                f"out-of-sample window {k} holds no bar (a gap in the data longer than {settings.oos_days:g} days)",
            )
        is_first = first if settings.mode == "anchored" else int(np.searchsorted(time, oos_start - is_ns, "left"))
        windows.append(_window(k, is_first, oos_first, oos_last, settings.gap_bars))
        k += 1
    if len(windows) < MIN_WINDOWS:
        days = (data_end - t0) / NS_PER_DAY
        name = "is_days" if not windows else "oos_days"
        raise FieldError(
            f"{FIELD}.{name}",
            f"the searchable data spans {days:.1f} days from the first tradable bar; "
            f"{MIN_WINDOWS} windows need is_days + {MIN_WINDOWS} x oos_days = "
            f"{settings.is_days + MIN_WINDOWS * settings.oos_days:g} days",
        )
    return windows


def _count_windows(first: int, last: int, settings: WalkForwardSettings) -> list[Window]:
    """N out-of-sample windows of equal length ending at the last searchable bar; each
    window is in-sample + out-of-sample with out-of-sample the given fraction of it."""
    count, fraction, gap = settings.windows, settings.oos_fraction, settings.gap_bars
    usable = last - first + 1 - gap
    oos_bars = int(usable // (count + (1 - fraction) / fraction))
    is_bars = usable - count * oos_bars
    if oos_bars < 1 or is_bars < 2:
        raise FieldError(
            f"{FIELD}.windows",
            f"{last - first + 1} searchable bars cannot hold {count} windows "
            f"(with a gap of {gap} bars and an out-of-sample fraction of {fraction:g})",
        )
    windows = []
    for k in range(count):
        oos_first = first + is_bars + gap + k * oos_bars
        is_first = first if settings.mode == "anchored" else oos_first - gap - is_bars
        windows.append(_window(k, is_first, oos_first, oos_first + oos_bars - 1, gap))
    return windows


def _window(index: int, is_first: int, oos_first: int, oos_last: int, gap: int) -> Window:
    is_last = oos_first - 1 - gap
    if is_last < is_first + 1:
        raise FieldError(f"{FIELD}.gap_bars", f"a gap of {gap} bars leaves window {index} without an in-sample range")
    return Window(index, Span(is_first, is_last), Span(oos_first, oos_last))
