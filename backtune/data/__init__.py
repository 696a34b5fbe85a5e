"""OHLCV data: the validated arrays every backtest runs on, and the CSV loader that makes them.

The loader (and with it pandas, ~0.3 s to import) is loaded on first use: optimisation
workers only need ``OHLCV``, and every spawned worker would otherwise pay that start-up.
"""

from __future__ import annotations

import importlib
from typing import Any

from backtune.data.errors import DataError
from backtune.data.ohlcv import OHLCV

_LAZY = {
    "DEFAULT_MAX_BYTES": "loader",
    "Dataset": "loader",
    "load_csv": "loader",
    "load_csv_bytes": "loader",
    "DataSummary": "summary",
}

__all__ = ["DEFAULT_MAX_BYTES", "DataError", "DataSummary", "Dataset", "OHLCV", "load_csv", "load_csv_bytes"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"backtune.data.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'backtune.data' has no attribute {name!r}")
