"""Vectorised sanity checks that turn the first bad row into a DataError.

Every check runs over whole columns; only the offending row's message is built in
Python. Users fix files top to bottom, so the earliest bad line is reported, and among
problems on that line the most basic one (an empty cell before a wrong value).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from functools import partial

import numpy as np

from backtune.data.columns import PRICE_ROLES, TIME_ROLES
from backtune.data.fields import Field
from backtune.data.rows import SourceRows
from backtune.data.times import format_utc

_Check = tuple[np.ndarray, Field, Callable[[int], str]]


def check_rows(fields: Mapping[str, Field], rows: SourceRows) -> None:
    """Every row must hold a readable time and finite, positive, consistent prices."""
    high, low = fields["high"], fields["low"]
    times = [field for field in fields.values() if field.role in TIME_ROLES]
    numbers = [field for field in fields.values() if field.role not in TIME_ROLES]
    checks: list[_Check] = [(field.missing, field, _empty) for field in fields.values()]
    checks += [(field.unreadable, field, partial(_unreadable_time, field)) for field in times]
    checks += [(field.unreadable, field, partial(_unreadable_number, field)) for field in numbers]
    prices = [fields[role] for role in PRICE_ROLES]
    checks += [(field.values <= 0, field, partial(_not_positive, field)) for field in prices]
    if "volume" in fields:
        volume = fields["volume"]
        checks.append((volume.values < 0, volume, partial(_negative, volume)))
    checks.append((high.values < low.values, high, partial(_high_below_low, high, low)))
    for role in ("open", "close"):
        field = fields[role]
        outside = (field.values < low.values) | (field.values > high.values)
        checks.append((outside, field, partial(_outside_range, field, low, high)))
    _raise_first(checks, rows)


def check_order(time: Field, rows: SourceRows) -> bool:
    """Times must strictly ascend; returns True if the file is entirely newest-first.

    In a mostly newest-first file the rows that go up are the misplaced ones, so the
    direction to blame is the one most rows follow.
    """
    if len(rows) < 2:
        raise rows.error(f"at least 2 bars are needed, the file has {len(rows)}")
    ns = time.values
    gaps = np.diff(ns)
    if np.all(gaps < 0):
        return True
    newest_first = np.count_nonzero(gaps < 0) > np.count_nonzero(gaps > 0)
    order, wrong_way = ("later", gaps > 0) if newest_first else ("earlier", gaps < 0)
    expected = "newest-first" if newest_first else "ascending"

    def repeated(index: int) -> str:
        return f"time {format_utc(ns[index])} repeats row {rows.line(index - 1)}"

    def misplaced(index: int) -> str:
        return (
            f"time {format_utc(ns[index])} is {order} than {format_utc(ns[index - 1])} on row "
            f"{rows.line(index - 1)}, but the file is in {expected} time order"
        )

    first_row = np.zeros(1, dtype=bool)
    _raise_first(
        [
            (np.concatenate((first_row, gaps == 0)), time, repeated),
            (np.concatenate((first_row, wrong_way)), time, misplaced),
        ],
        rows,
    )
    return False


def _raise_first(checks: list[_Check], rows: SourceRows) -> None:
    """Raise for the earliest failing row; on ties the check listed first wins."""
    first: tuple[int, Field, Callable[[int], str]] | None = None
    for failed, field, reason in checks:
        if failed.any():
            index = int(failed.argmax())
            if first is None or index < first[0]:
                first = (index, field, reason)
    if first is not None:
        index, field, reason = first
        raise rows.error(reason(index), index=index, column=field.header)


def _number(value: float) -> str:
    return repr(float(value))


def _empty(index: int) -> str:
    return "the value is missing (empty cell, or the row has fewer fields than the header)"


def _unreadable_time(time: Field, index: int) -> str:
    return f"cannot read time {time.cell(index)!r}: expected {time.expected}"


def _unreadable_number(field: Field, index: int) -> str:
    cell = field.cell(index)
    if _is_nan_or_inf(cell):
        return f"{field.role} {cell} is not a finite number"
    return f"{field.role} {cell!r} is not a number: expected {field.expected}"


def _is_nan_or_inf(cell: object) -> bool:
    # Not simply "float() fails": 1.5 is no number in a file that writes decimal commas.
    try:
        return not math.isfinite(float(cell))
    except ValueError:
        return False


def _not_positive(field: Field, index: int) -> str:
    return f"{field.role} {_number(field.values[index])} is not positive"


def _negative(field: Field, index: int) -> str:
    return f"{field.role} {_number(field.values[index])} is negative"


def _high_below_low(high: Field, low: Field, index: int) -> str:
    return f"high {_number(high.values[index])} is below low {_number(low.values[index])}"


def _outside_range(field: Field, low: Field, high: Field, index: int) -> str:
    return (
        f"{field.role} {_number(field.values[index])} is outside the bar's range "
        f"[low {_number(low.values[index])}, high {_number(high.values[index])}]"
    )
