"""The public entry points: a path or uploaded bytes in, validated bars and a summary out."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from backtune.data.cache import load_cached, store_cached
from backtune.data.errors import DataError
from backtune.data.ohlcv import OHLCV
from backtune.data.parse import parse_csv
from backtune.data.summary import DataSummary, summarise

# Far above any realistic bar history (a year of 1-minute bars is about 30 MB), low
# enough that a stray upload cannot exhaust a worker's memory.
DEFAULT_MAX_BYTES = 200_000_000


@dataclass(frozen=True)
class Dataset:
    """Bars for the engine plus the summary the UI shows, so neither is recomputed."""

    bars: OHLCV
    summary: DataSummary


def load_csv(
    path: str | os.PathLike[str],
    *,
    max_bytes: int | None = DEFAULT_MAX_BYTES,
    cache_dir: Path | None = None,
) -> Dataset:
    """Load an OHLCV CSV file; errors name it by its base name, never its full path."""
    path = Path(path)
    with path.open("rb") as source:
        _check_size(os.fstat(source.fileno()).st_size, path.name, max_bytes)
        # Read at most one byte past the limit, so a file growing under us stays bounded.
        data = source.read(-1 if max_bytes is None else max_bytes + 1)
    return load_csv_bytes(data, path.name, max_bytes=max_bytes, cache_dir=cache_dir)


def load_csv_bytes(
    data: bytes,
    name: str,
    *,
    max_bytes: int | None = DEFAULT_MAX_BYTES,
    cache_dir: Path | None = None,
) -> Dataset:
    """Load an OHLCV CSV held in memory, as a web upload arrives; ``name`` labels errors.

    Takes what charting tools, exchanges, brokers and pandas write (TradingView, Binance
    klines, MetaTrader, ``DataFrame.to_csv``): a required header, comma/semicolon/tab
    delimiters (decimal commas in semicolon files), Unix seconds or milliseconds,
    YYYYMMDD or ISO-8601 times (converted to UTC), possibly split into date and time-of-day
    columns, optional volume.
    Raises DataError naming the file, line and column of the first problem, so a user
    can fix it. With ``cache_dir``, byte-identical content skips parsing.
    """
    _check_size(len(data), name, max_bytes)
    digest = hashlib.sha256(data).hexdigest()
    parsed = None if cache_dir is None else load_cached(cache_dir, digest)
    if parsed is None:
        parsed = parse_csv(data, name)
        if cache_dir is not None:
            store_cached(cache_dir, digest, parsed)
    return Dataset(bars=parsed.bars, summary=summarise(parsed.bars, parsed.columns, name, digest))


def _check_size(size: int, name: str, max_bytes: int | None) -> None:
    if max_bytes is not None and size > max_bytes:
        raise DataError(f"the file is {size:,} bytes, over the {max_bytes:,}-byte limit", file=name)
