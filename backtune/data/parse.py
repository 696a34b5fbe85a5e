"""CSV bytes in, validated bars out: the whole parsing pipeline, without caching."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from backtune.data.checks import check_order, check_rows
from backtune.data.columns import TIME_ROLES, Columns, resolve_columns
from backtune.data.decimals import NumberFormat, number_format
from backtune.data.fields import Field, number_field
from backtune.data.header import head, read_header
from backtune.data.ohlcv import OHLCV
from backtune.data.table import read_table
from backtune.data.times import clock_field, time_field


@dataclass(frozen=True)
class ParsedCsv:
    """What a file parses to, and what the cache stores: bars plus role->header names."""

    bars: OHLCV
    columns: dict[str, str]


def parse_csv(source: bytes | Path, file: str) -> ParsedCsv:
    """Parse and validate a whole file, held in memory or read from disk (an upload that
    was streamed there: its bytes are never all in memory); ``file`` only names it in errors."""
    header = read_header(head(source), file)
    columns = resolve_columns(header, file)
    numbers = [position for role, position in columns.positions.items() if role not in TIME_ROLES]
    # Semicolon files may write decimal commas; their numbers stay text so that no cell
    # is read before the file's decimal mark is known (pandas would take 1.000 for 1.0).
    frame, rows = read_table(source, header, file, text_columns=numbers if header.delimiter == ";" else ())
    style = number_format((frame[position] for position in numbers), header.delimiter)
    # Left to right, so that of several empty cells on one row the first one is named.
    fields = {
        role: _field(role, columns, frame[position], style)
        for role, position in sorted(columns.positions.items(), key=lambda item: item[1])
    }
    check_rows(fields, rows)
    if "time_of_day" in fields:
        fields["time"] = replace(fields["time"], values=fields["time"].values + fields["time_of_day"].values)
    order = slice(None, None, -1) if check_order(fields["time"], rows) else slice(None)

    def column(role: str, dtype: type) -> np.ndarray:
        # Owned, writable, C-contiguous: pandas hands out read-only views into its blocks.
        return np.require(fields[role].values[order], dtype, ("C", "W", "O"))

    has_volume = "volume" in fields
    bars = OHLCV(
        time=column("time", np.int64),
        open=column("open", np.float64),
        high=column("high", np.float64),
        low=column("low", np.float64),
        close=column("close", np.float64),
        volume=column("volume", np.float64) if has_volume else np.zeros(len(rows), dtype=np.float64),
        has_volume=has_volume,
    )
    return ParsedCsv(bars=bars, columns=dict(columns.headers))


def _field(role: str, columns: Columns, raw: pd.Series, style: NumberFormat) -> Field:
    header = columns.headers[role]
    if role == "time":
        return time_field(header, raw, time_of_day=columns.headers.get("time_of_day"))
    if role == "time_of_day":
        return clock_field(header, raw)
    return number_field(role, header, raw, style)
