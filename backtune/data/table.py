"""Reading the data rows into a DataFrame with pandas' C parser.

Every cell keeps the text it had unless pandas can read the whole column as numbers
(and the caller did not ask for text): only empty cells become missing (so "nan" stays
distinguishable from an empty field), and rows are never silently truncated or padded
beyond what the header declares.
"""

from __future__ import annotations

import io
import re
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from backtune.data.errors import DataError
from backtune.data.header import Header, head, split_fields
from backtune.data.rows import SourceRows

_TOO_MANY_FIELDS = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_OPEN_QUOTE = re.compile(r"EOF inside string starting at row (\d+)")


def read_table(
    source: bytes | Path, header: Header, file: str, *, text_columns: Collection[int] = ()
) -> tuple[pd.DataFrame, SourceRows]:
    """Parse the rows below the header, drop blank ones and remember each row's line.

    A file on disk is read by pandas in chunks from where its rows start, so its bytes are
    never all in memory at once.
    """
    first_line = header.line + 1
    _check_first_row(head(source), header, file)
    try:
        with _body(source, header.body_start) as body:
            frame = _read_csv(body, header, text_columns)
    except pd.errors.ParserError as exc:
        raise _parser_error(exc, header, file) from exc
    except UnicodeDecodeError as exc:
        raise _encoding_error(source if isinstance(source, bytes) else Path(source).read_bytes(), file) from exc
    lines = first_line + np.arange(len(frame), dtype=np.int64)
    blank = frame.isna().to_numpy().all(axis=1)
    if blank.any():
        frame = frame.loc[~blank].reset_index(drop=True)
        lines = lines[~blank]
    return frame, SourceRows(file=file, lines=lines)


@contextmanager
def _body(source: bytes | Path, start: int) -> Iterator[IO[bytes]]:
    if isinstance(source, bytes):
        yield io.BytesIO(source[start:])
        return
    with open(source, "rb") as handle:
        handle.seek(start)
        yield handle


def _read_csv(body: IO[bytes], header: Header, text_columns: Collection[int]) -> pd.DataFrame:
    return pd.read_csv(
        body,
        sep=header.delimiter,
        header=None,
        names=range(len(header.names)),
        index_col=False,
        dtype={position: str for position in text_columns},
        skip_blank_lines=False,
        skipinitialspace=True,
        keep_default_na=False,
        na_values=[""],
        encoding="utf-8",
        engine="c",
    )


def _check_first_row(data: bytes, header: Header, file: str) -> None:
    """pandas drops the surplus of an over-long *first* row with only a warning (it takes
    it for an index column) and then expects that length; later rows it checks itself.
    """
    end = data.find(b"\n", header.body_start)
    line = data[header.body_start : len(data) if end < 0 else end].decode("utf-8", errors="replace")
    count = len(split_fields(line.strip(), header.delimiter, file, header.line + 1))
    if count > len(header.names):
        raise DataError(
            f"the row has {count} fields but the header has {len(header.names)}",
            file=file,
            row=header.line + 1,
        )


def _parser_error(exc: pd.errors.ParserError, header: Header, file: str) -> DataError:
    message = str(exc)
    if match := _TOO_MANY_FIELDS.search(message):
        expected, line, saw = (int(group) for group in match.groups())
        return DataError(
            f"the row has {saw} fields but the header has {expected}",
            file=file,
            row=header.line + line,
        )
    if match := _OPEN_QUOTE.search(message):
        return DataError("a quoted field is never closed", file=file, row=header.line + 1 + int(match[1]))
    return DataError(f"cannot split the file into rows: {message.strip()}", file=file)


def _encoding_error(data: bytes, file: str) -> DataError:
    # pandas reports offsets inside its own read buffer; decoding again finds the byte.
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return DataError("the file is not UTF-8 text", file=file, row=data.count(b"\n", 0, exc.start) + 1)
    return DataError("the file is not UTF-8 text", file=file)
