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
    name: str | None = None,
    sha256: str | None = None,
) -> Dataset:
    """Load an OHLCV CSV file, parsed from disk: its bytes are never all in memory at once.

    Errors name it by ``name``, by default its base name (never its full path); ``sha256``
    saves hashing it again when the caller has (the dataset store, as it streamed it in).
    """
    path = Path(path)
    name = name or path.name
    _check_size(path.stat().st_size, name, max_bytes)
    if sha256 is None:
        with path.open("rb") as source:
            sha256 = hashlib.file_digest(source, "sha256").hexdigest()
    return _load(path, name, sha256, cache_dir)


def load_csv_bytes(
    data: bytes,
    name: str,
    *,
    max_bytes: int | None = DEFAULT_MAX_BYTES,
    cache_dir: Path | None = None,
) -> Dataset:
    """Load an OHLCV CSV held in memory; ``name`` labels errors.

    Takes what charting tools, exchanges, brokers and pandas write (TradingView, Binance
    klines, MetaTrader, ``DataFrame.to_csv``): a required header, comma/semicolon/tab
    delimiters (decimal commas in semicolon files), Unix seconds, milliseconds or
    microseconds, YYYYMMDD or ISO-8601 times (converted to UTC), possibly split into date
    and time-of-day columns, optional volume.
    Raises DataError naming the file, line and column of the first problem, so a user
    can fix it. With ``cache_dir``, byte-identical content skips parsing.
    """
    _check_size(len(data), name, max_bytes)
    return _load(data, name, hashlib.sha256(data).hexdigest(), cache_dir)


def _load(source: bytes | Path, name: str, digest: str, cache_dir: Path | None) -> Dataset:
    parsed = None if cache_dir is None else load_cached(cache_dir, digest)
    if parsed is None:
        parsed = parse_csv(source, name)
        if cache_dir is not None:
            store_cached(cache_dir, digest, parsed)
    return Dataset(bars=parsed.bars, summary=summarise(parsed.bars, parsed.columns, name, digest))


def _check_size(size: int, name: str, max_bytes: int | None) -> None:
    if max_bytes is not None and size > max_bytes:
        raise DataError(f"the file is {size:,} bytes, over the {max_bytes:,}-byte limit", file=name)
