"""What the UI shows about a loaded file before anyone runs a backtest on it."""

from __future__ import annotations

from dataclasses import dataclass

from backtune.data.ohlcv import OHLCV
from backtune.data.times import format_utc

_DAY = 86_400
# Largest unit first, so 3600 s reads "1h" rather than "60m".
_UNITS = (("W", 7 * _DAY), ("D", _DAY), ("h", 3_600), ("m", 60), ("s", 1))


@dataclass(frozen=True)
class DataSummary:
    """A loaded file at a glance.

    ``columns`` maps each role (time, open, high, low, close and, if present, volume and
    time_of_day, when the time column holds only the date) to the header as written in
    the file; ``interval_seconds`` is the median bar gap, so weekends and missing bars do
    not distort it.
    """

    rows: int
    first_time: str
    last_time: str
    interval_seconds: int
    interval_label: str
    columns: dict[str, str]
    file_name: str
    sha256: str


def summarise(bars: OHLCV, columns: dict[str, str], file_name: str, sha256: str) -> DataSummary:
    interval = round(bars.bar_interval_ns() / 1e9)
    return DataSummary(
        rows=len(bars),
        first_time=format_utc(int(bars.time[0])),
        last_time=format_utc(int(bars.time[-1])),
        interval_seconds=interval,
        interval_label=interval_label(interval),
        columns=dict(columns),
        file_name=file_name,
        sha256=sha256,
    )


def interval_label(seconds: int) -> str:
    """A TradingView-style label: "15m", "4h", "1D", "1W"; month-long gaps read "1M"."""
    if seconds < 1:
        return "<1s"
    if 28 * _DAY <= seconds <= 31 * _DAY:
        return "1M"
    suffix, size = next((suffix, size) for suffix, size in _UNITS if seconds % size == 0)
    return f"{seconds // size}{suffix}"
