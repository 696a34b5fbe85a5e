"""Turning a time column into int64 nanoseconds since the epoch, UTC.

Numbers are Unix epochs whose unit is told apart by magnitude: 1e11 seconds is the year
5138 while 1e11 milliseconds is 1973, so for any market data after 1973 the thresholds
below cannot confuse seconds, milliseconds, microseconds and nanoseconds. Text is
ISO-8601; offsets are converted to UTC and naive times are taken as UTC.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from backtune.data.fields import Field

_INT64_MAX = np.iinfo(np.int64).max
# (largest magnitude, nanoseconds per unit), smallest unit last.
_EPOCH_UNITS = ((1e11, 1_000_000_000), (1e14, 1_000_000), (1e17, 1_000), (np.inf, 1))
_NS_PER = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}


def time_field(header: str, raw: pd.Series) -> Field:
    """Read the time column; cells that are no date in int64-ns range are unreadable."""
    missing = raw.isna().to_numpy()
    if pd.api.types.is_numeric_dtype(raw.dtype):
        ns, ok = _from_epoch(raw.to_numpy())
    else:
        text = raw.str.strip()
        first = text.first_valid_index()
        if first is not None and _is_number(text[first]):
            ns, ok = _from_epoch(pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan))
        else:
            ns, ok = _from_iso(text)
    return Field(role="time", header=header, raw=raw, values=ns, missing=missing, unreadable=~ok & ~missing)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _from_epoch(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if values.dtype.kind == "i":
        return _scale(values.astype(np.int64), np.ones(values.shape, dtype=bool), _epoch_unit(values))
    values = values.astype(np.float64)
    finite = np.isfinite(values)
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


def _from_iso(text: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    parsed = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
    naive = parsed.dt.tz_convert(None).to_numpy()
    unit, _ = np.datetime_data(naive.dtype)
    return _scale(naive.view(np.int64), ~np.isnat(naive), _NS_PER[unit])


def _scale(values: np.ndarray, ok: np.ndarray, factor: int) -> tuple[np.ndarray, np.ndarray]:
    limit = _INT64_MAX // factor
    ok = ok & (values >= -limit) & (values <= limit)
    return np.where(ok, values, 0) * factor, ok


def format_utc(ns: int) -> str:
    """ISO-8601 with a ``Z`` suffix: unambiguous in messages, summaries and JSON."""
    return pd.Timestamp(ns, unit="ns", tz="UTC").isoformat().replace("+00:00", "Z")
