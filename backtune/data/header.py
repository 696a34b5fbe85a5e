"""Finding the header line and the delimiter it uses.

Only the header is sniffed: it must name at least time, open, high, low and close, so
the real delimiter is the one it contains most often, whatever the data rows hold.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from backtune.data.errors import DataError

_BOM = b"\xef\xbb\xbf"
_DELIMITERS = (",", ";", "\t")
# Far above any export's header (TradingView's with every plot is a few hundred bytes and
# tens of columns), and checked before anything is split: parsing costs memory per column
# for every row, and about 400 bytes per header byte for a header of tiny names, so a
# 4 MB header alone took 1.8 GB.
MAX_HEADER_BYTES = 64 * 1024
MAX_COLUMNS = 256


# What is read of a file on disk to find its header and first row: blank lines, the
# header at its longest, and the first data row.
HEAD_BYTES = 4 * MAX_HEADER_BYTES


def head(source: bytes | Path) -> bytes:
    """The start of a file, whole when it is already in memory."""
    if isinstance(source, bytes):
        return source
    with open(source, "rb") as handle:
        return handle.read(HEAD_BYTES)


@dataclass(frozen=True)
class Header:
    """The header row as written (names stripped) and where the data rows start."""

    names: tuple[str, ...]
    delimiter: str
    line: int
    body_start: int


def read_header(data: bytes, file: str) -> Header:
    """Locate the first non-blank line (past a UTF-8 BOM) and split it into names.

    A header over MAX_HEADER_BYTES or MAX_COLUMNS is refused before it is split.
    """
    start = len(_BOM) if data.startswith(_BOM) else 0
    line = 1
    while True:
        end = data.find(b"\n", start, start + MAX_HEADER_BYTES + 1)
        if end < 0 and len(data) - start > MAX_HEADER_BYTES:
            raise DataError(
                f"the header is longer than {MAX_HEADER_BYTES:,} bytes; is this an OHLCV file?", file=file, row=line
            )
        stop = len(data) if end < 0 else end
        if data[start:stop].strip():
            break
        if end < 0:
            raise DataError("the file is empty", file=file)
        start = end + 1
        line += 1
    try:
        text = data[start:stop].decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        raise DataError("the header is not UTF-8 text", file=file, row=line) from exc
    delimiter = max(_DELIMITERS, key=text.count)
    if text.count(delimiter) >= MAX_COLUMNS:
        raise DataError(
            f"the header has {text.count(delimiter) + 1:,} columns, over the limit of {MAX_COLUMNS}",
            file=file,
            row=line,
        )
    names = tuple(name.strip() for name in split_fields(text, delimiter, file, line))
    return Header(names=names, delimiter=delimiter, line=line, body_start=stop + 1)


def split_fields(text: str, delimiter: str, file: str, line: int) -> list[str]:
    """One line split the way pandas splits the data rows (quotes, leading spaces)."""
    try:
        return next(csv.reader([text], delimiter=delimiter, skipinitialspace=True), [])
    except csv.Error as exc:
        # A bare carriage return mid-line: usually a file with classic Mac line endings.
        raise DataError(f"cannot split the line into fields ({exc})", file=file, row=line) from exc
