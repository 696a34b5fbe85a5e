"""Which header names play which role (time, time of day, open, high, low, close, volume)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from backtune.data.errors import DataError
from backtune.data.header import Header

PRICE_ROLES = ("open", "high", "low", "close")
# A bar is stamped by "time" alone or, in files with separate date and time columns,
# by "time" (then the date) plus "time_of_day".
TIME_ROLES = ("time", "time_of_day")

# Accepted names per role, most preferred first. Several exports carry more than one
# time column (ccxt: timestamp and datetime; Binance: open_time and close_time), and
# the bar's open time is what the engine expects.
_ROLE_NAMES = {
    "time": ("open_time", "timestamp", "time", "datetime", "date"),
    "open": ("open",),
    "high": ("high",),
    "low": ("low",),
    "close": ("close",),
    "volume": ("volume", "vol"),
}
# pandas writes an unnamed index as an empty header, and reading such a file back and
# writing it again names it "Unnamed: 0"; either way the first column holds the dates.
_UNNAMED_INDEX = re.compile(r"(unnamed:_?0)?")


@dataclass(frozen=True)
class Columns:
    """Column positions and original headers per role; no ``volume`` key if absent, and
    ``time_of_day`` only when the date and the time of day are separate columns."""

    positions: dict[str, int]
    headers: dict[str, str]


def resolve_columns(header: Header, file: str) -> Columns:
    """Assign roles from header names, refusing files whose first line is not a header."""
    # MetaTrader writes headers in angle brackets: <DATE>, <OPEN>, <VOL>.
    normalised = [re.sub(r"[\s\-]+", "_", name.strip("<>").lower()) for name in header.names]
    positions: dict[str, int] = {}
    for role, names in _ROLE_NAMES.items():
        for name in names:
            at = _find(name, role, normalised, header, file)
            if at is not None:
                positions[role] = at
                break
    # MetaTrader and many broker exports write the date and the time of day in columns
    # named "date" and "time": neither alone is the bar's time, so they are read as a pair.
    time = positions.get("time")
    if time is not None and normalised[time] == "time":
        date = _find("date", "time", normalised, header, file)
        if date is not None:
            positions["time"], positions["time_of_day"] = date, time

    if not positions:
        shown = ", ".join(repr(name) for name in header.names[:6])
        raise DataError(
            f"the first line is not a header (it reads {shown}); "
            "a header naming the time, open, high, low and close columns is required",
            file=file,
            row=header.line,
        )
    if "time" not in positions and _UNNAMED_INDEX.fullmatch(normalised[0]):
        positions["time"] = 0
    missing = [role for role in ("time", *PRICE_ROLES) if role not in positions]
    if missing:
        found = ", ".join(repr(name) for name in header.names)
        plural = "s" if len(missing) > 1 else ""
        raise DataError(
            f"missing {', '.join(missing)} column{plural} (the header has {found})", file=file, row=header.line
        )
    ordered = {role: positions[role] for role in (*TIME_ROLES, *PRICE_ROLES, "volume") if role in positions}
    return Columns(positions=ordered, headers={role: header.names[at] for role, at in ordered.items()})


def _find(name: str, role: str, normalised: list[str], header: Header, file: str) -> int | None:
    """The one column called ``name``; two of them make the role ambiguous."""
    hits = [index for index, candidate in enumerate(normalised) if candidate == name]
    if len(hits) > 1:
        first, second = (header.names[index] for index in hits[:2])
        raise DataError(
            f"columns {first!r} and {second!r} both look like {role}", file=file, row=header.line, column=second
        )
    return hits[0] if hits else None
