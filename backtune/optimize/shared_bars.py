"""Bars shared by all workers of a run without each re-parsing the CSV.

The coordinator writes the parsed arrays once as ``.npy`` files in the run directory;
every worker memory-maps them, so the operating system keeps a single copy in the page
cache however many workers read it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from backtune.data.ohlcv import OHLCV

PRICE_COLUMNS = ("open", "high", "low", "close", "volume")


def save_bars(bars: OHLCV, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "time.npy", np.ascontiguousarray(bars.time))
    np.save(folder / "prices.npy", np.stack([getattr(bars, c) for c in PRICE_COLUMNS]))
    (folder / "has_volume").write_text("1" if bars.has_volume else "0")


def load_bars(folder: Path) -> OHLCV:
    """The bars as read-only views of the mapped files. Plain ndarray views, not
    ``np.memmap``: every slice of a memmap runs Python-level subclass hooks, which a
    trial's dozens of slices would pay for."""
    prices = np.load(folder / "prices.npy", mmap_mode="r").view(np.ndarray)
    return OHLCV(
        np.load(folder / "time.npy", mmap_mode="r").view(np.ndarray),
        *(prices[i] for i in range(len(PRICE_COLUMNS))),
        has_volume=(folder / "has_volume").read_text() == "1",
    )
