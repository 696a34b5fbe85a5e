"""Turning a time column into int64 nanoseconds since the epoch, UTC.

Numbers are Unix epochs whose unit is told apart by magnitude: 1e11 seconds is the year
5138 while 1e11 milliseconds is 1973, so for any market data after 1973 the thresholds
below cannot confuse seconds, milliseconds and microseconds (Binance writes the last).
Nanoseconds (18 and 19 digits) are refused, located: no exporter writes them, and a file
that has them is far more often a mistake than a series of bars a few ns apart. That leaves
8-digit numbers, which as seconds would fall in 1970-1973, to the YYYYMMDD dates daily
exports write (20240131). A column is read as such dates when most of its numbers have
8 digits, and as epochs otherwise; either way the cells that do not fit are errors, so
a mistyped date or a stray 8-digit epoch is reported where it is, never read as 1970.

Text is ISO-8601 (MetaTrader's 2024.01.31 included); offsets are converted to UTC and
naive times are taken as UTC. Files that split the date and the time of day into two
columns get both read here and added up by the parser.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from backtune.data.fields import Field

_INT64_MAX = np.iinfo(np.int64).max
_NS_PER_DAY = 86_400 * 1_000_000_000
# (largest magnitude, nanoseconds per unit), smallest unit last; nothing from 1e17 up.
_EPOCH_UNITS = ((1e11, 1_000_000_000), (1e14, 1_000_000), (1e17, 1_000))
_EPOCH_LIMIT = _EPOCH_UNITS[-1][0]
_NS_PER = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
_YYYYMMDD_RANGE = (18000101, 21991231)
_CLOCK = r"([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d(?:\.\d{1,9})?))?"

_EXPECT_TEXT = (
    "ISO-8601 such as 2024-01-31, 2024-01-31 09:30:00 or 2024-01-31T09:30:00Z (or 2024.01.31 09:30), "
    "between the years 1677 and 2262"
)
_EXPECT_EPOCH = (
    "Unix seconds, milliseconds or microseconds like the column's other numbers, between the years 1677 and 2262 "
    "(8-digit numbers are read only as YYYYMMDD dates, in a column mostly made of them; "
    "nanoseconds, 18 or 19 digits, are not read)"
)
_EXPECT_YYYYMMDD = (
    "a YYYYMMDD date such as 20240131 like most of the column, between the years 1800 and 2199 "
    "(8-digit numbers as Unix seconds would fall in 1970-1973)"
)
_EXPECT_CLOCK = "a time of day such as 09:30 or 13:45:30"


def time_field(header: str, raw: pd.Series, *, time_of_day: str | None = None) -> Field:
    """Read the time column; cells that are no date in int64-ns range are unreadable.

    With ``time_of_day`` (the header of a separate time-of-day column) the cells must be
    dates alone: a time of day in both columns would be counted twice.
    """
    missing = raw.isna().to_numpy()
    if pd.api.types.is_numeric_dtype(raw.dtype):
        ns, ok, expected = _from_number(raw.to_numpy())
    else:
        text = raw.str.strip()
        first = text.first_valid_index()
        if first is not None and _is_number(text[first]):
            numbers = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
            ns, ok, expected = _from_number(numbers)
        else:
            ns, ok = _from_datetimes(pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce"))
            expected = _EXPECT_TEXT
    if time_of_day is not None:
        # The last day that int64 ns can hold is cut short; refuse it rather than overflow.
        ok &= (ns % _NS_PER_DAY == 0) & (ns < _INT64_MAX - _NS_PER_DAY)
        expected = f"a date such as 2024-01-31, 2024.01.31 or 20240131 without a time of day ({time_of_day!r} has it)"
    return Field(
        role="time", header=header, raw=raw, values=ns, missing=missing, unreadable=~ok & ~missing, expected=expected
    )


def clock_field(header: str, raw: pd.Series) -> Field:
    """Read a time-of-day column (09:30, 13:45:30.5) as nanoseconds since midnight."""
    missing = raw.isna().to_numpy()
    parts = raw.astype(str).str.strip().str.extract(f"^{_CLOCK}$").apply(pd.to_numeric)
    ok = parts[0].notna().to_numpy()
    seconds = parts[0] * 3_600 + parts[1] * 60 + parts[2].fillna(0)
    ns = np.rint(seconds.fillna(0).to_numpy(dtype=np.float64) * 1e9).astype(np.int64)
    return Field(
        role="time_of_day",
        header=header,
        raw=raw,
        values=ns,
        missing=missing,
        unreadable=~ok & ~missing,
        expected=_EXPECT_CLOCK,
    )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _from_number(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, str]:
    magnitude = np.abs(values.astype(np.float64))
    eight_digits = (magnitude >= 1e7) & (magnitude < 1e8)
    numbers = np.count_nonzero(np.isfinite(magnitude))
    if numbers and 2 * np.count_nonzero(eight_digits) >= numbers:
        return *_from_yyyymmdd(values.astype(np.float64)), _EXPECT_YYYYMMDD
    ns, ok = _from_epoch(values)
    return ns, ok & ~eight_digits, _EXPECT_EPOCH


def _from_yyyymmdd(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    low, high = _YYYYMMDD_RANGE
    whole = (values >= low) & (values <= high) & (values == np.floor(values))
    number = np.where(whole, values, low).astype(np.int64)
    parts = pd.DataFrame({"year": number // 10_000, "month": number // 100 % 100, "day": number % 100})
    ns, valid = _from_datetimes(pd.to_datetime(parts, errors="coerce"))
    return ns, whole & valid


def _from_epoch(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Epochs in the column's unit (from its largest readable number); numbers from
    ``_EPOCH_LIMIT`` up, nanoseconds, are unreadable cells."""
    readable = np.abs(values.astype(np.float64)) < _EPOCH_LIMIT
    if values.dtype.kind == "i":
        return _scale(np.where(readable, values, 0).astype(np.int64), readable, _epoch_unit(values[readable]))
    values = values.astype(np.float64)
    finite = np.isfinite(values) & readable
    factor = _epoch_unit(values[finite])
    # Fractional seconds in float64 carry about 0.2 us of noise at today's epoch, so
    # floats are rounded to whole microseconds (whole ns for ns epochs), then scaled
    # exactly in int64: float64 cannot even represent ns timestamps of today.
    step = min(factor, 1_000)
    whole = np.rint(np.where(finite, values, 0.0) * (factor // step))
    fits = finite & (np.abs(whole) <= _INT64_MAX // step)
    return _scale(np.where(fits, whole, 0.0).astype(np.int64), fits, step)


def _epoch_unit(values: np.ndarray) -> int:
    largest = float(np.max(np.abs(values.astype(np.float64)))) if values.size else 0.0
    return next(factor for limit, factor in _EPOCH_UNITS if largest < limit)


def _from_datetimes(parsed: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """UTC or naive datetimes (NaT where unparsed) in whatever unit pandas chose."""
    naive = (parsed.dt.tz_convert(None) if parsed.dt.tz is not None else parsed).to_numpy()
    unit, _ = np.datetime_data(naive.dtype)
    return _scale(naive.view(np.int64), ~np.isnat(naive), _NS_PER[unit])


def _scale(values: np.ndarray, ok: np.ndarray, factor: int) -> tuple[np.ndarray, np.ndarray]:
    limit = _INT64_MAX // factor
    ok = ok & (values >= -limit) & (values <= limit)
    return np.where(ok, values, 0) * factor, ok


def format_utc(ns: int) -> str:
    """ISO-8601 with a ``Z`` suffix: unambiguous in messages, summaries and JSON."""
    return pd.Timestamp(ns, unit="ns", tz="UTC").isoformat().replace("+00:00", "Z")
