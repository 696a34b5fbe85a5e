"""The in-memory bar series shared by the loader, the engine and the optimiser."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class OHLCV:
    """Bars in ascending time order.

    ``time`` holds each bar's open time as int64 nanoseconds since the Unix epoch (UTC);
    prices and volume are float64. A file without volume gets ``volume`` of zeros and
    ``has_volume`` False, so volume-weighted indicators can refuse it explicitly.
    """

    time: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    has_volume: bool = True

    def __len__(self) -> int:
        return int(self.time.shape[0])

    def slice(self, first: int, last: int) -> OHLCV:
        """Bars ``first..last`` inclusive, as views (no copy)."""
        stop = last + 1
        return OHLCV(
            time=self.time[first:stop],
            open=self.open[first:stop],
            high=self.high[first:stop],
            low=self.low[first:stop],
            close=self.close[first:stop],
            volume=self.volume[first:stop],
            has_volume=self.has_volume,
        )

    def bar_interval_ns(self) -> int:
        """The typical bar spacing (median gap), robust to weekends and missing bars."""
        if len(self) < 2:
            return 0
        return int(np.median(np.diff(self.time)))
