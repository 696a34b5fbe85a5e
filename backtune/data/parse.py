"""CSV bytes in, validated bars out: the whole parsing pipeline, without caching."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from backtune.data.checks import check_order, check_rows
from backtune.data.columns import resolve_columns
from backtune.data.fields import Field, number_field
from backtune.data.header import read_header
from backtune.data.ohlcv import OHLCV
from backtune.data.table import read_table
from backtune.data.times import time_field


@dataclass(frozen=True)
class ParsedCsv:
    """What a file parses to, and what the cache stores: bars plus role->header names."""

    bars: OHLCV
    columns: dict[str, str]


def parse_csv(data: bytes, file: str) -> ParsedCsv:
    """Parse and validate a whole file; ``file`` only names it in errors."""
    header = read_header(data, file)
    columns = resolve_columns(header, file)
    frame, rows = read_table(data, header, file)
    # Left to right, so that of several empty cells on one row the first one is named.
    fields = {
        role: _field(role, columns.headers[role], frame[position])
        for role, position in sorted(columns.positions.items(), key=lambda item: item[1])
    }
    check_rows(fields, rows)
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


def _field(role: str, header: str, raw: pd.Series) -> Field:
    return time_field(header, raw) if role == "time" else number_field(role, header, raw)
