"""On-disk cache of parsed files, so reopening a large CSV skips parsing and validation.

Entries are keyed by the file's sha256, so a renamed copy hits and an edited file
misses, plus FORMAT_VERSION (backtune.data.version) so that changed parsing rules never
serve stale arrays.
The cache is only an accelerator: an unreadable entry is a miss, and a failed write
is logged rather than failing the load.
"""

from __future__ import annotations

import json
import logging
import zipfile
from pathlib import Path

import numpy as np

from backtune.data.ohlcv import OHLCV
from backtune.data.parse import ParsedCsv
from backtune.data.version import FORMAT_VERSION
from backtune.files import atomic_writer

_ARRAYS = {
    "time": np.int64,
    "open": np.float64,
    "high": np.float64,
    "low": np.float64,
    "close": np.float64,
    "volume": np.float64,
}

log = logging.getLogger(__name__)


def cache_path(cache_dir: Path, sha256: str) -> Path:
    return Path(cache_dir) / f"{sha256}.v{FORMAT_VERSION}.npz"


def load_cached(cache_dir: Path, sha256: str) -> ParsedCsv | None:
    """The cached parse of the file with this digest, or None if absent or unusable."""
    try:
        with np.load(cache_path(cache_dir, sha256), allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in _ARRAYS}
            has_volume = bool(stored["has_volume"])
            columns = json.loads(str(stored["columns"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        log.warning("ignoring unreadable cache entry for %s: %s", sha256, exc)
        return None
    if not _consistent(arrays, columns):
        log.warning("ignoring inconsistent cache entry for %s", sha256)
        return None
    return ParsedCsv(bars=OHLCV(**arrays, has_volume=has_volume), columns=columns)


def store_cached(cache_dir: Path, sha256: str, parsed: ParsedCsv) -> None:
    """Write atomically (temp file + rename): concurrent loaders never see half a file."""
    target = cache_path(cache_dir, sha256)
    bars = parsed.bars
    try:
        with atomic_writer(target) as out:
            np.savez(
                out,
                **{name: getattr(bars, name) for name in _ARRAYS},
                has_volume=np.bool_(bars.has_volume),
                columns=np.str_(json.dumps(parsed.columns)),
            )
    except OSError as exc:
        log.warning("could not write cache entry %s: %s", target, exc)


def _consistent(arrays: dict[str, np.ndarray], columns: object) -> bool:
    """Loadable is not enough: a truncated or foreign entry must not become bars."""
    length = arrays["time"].shape
    for name, dtype in _ARRAYS.items():
        if arrays[name].dtype != dtype or arrays[name].shape != length or arrays[name].ndim != 1:
            return False
    if length[0] < 2 or not np.all(np.diff(arrays["time"]) > 0):
        return False
    return isinstance(columns, dict) and all(isinstance(v, str) for v in (*columns, *columns.values()))
