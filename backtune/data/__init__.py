"""OHLCV data: the validated arrays every backtest runs on, and the CSV loader that makes them."""

from backtune.data.errors import DataError
from backtune.data.loader import DEFAULT_MAX_BYTES, Dataset, load_csv, load_csv_bytes
from backtune.data.ohlcv import OHLCV
from backtune.data.summary import DataSummary

__all__ = ["DEFAULT_MAX_BYTES", "DataError", "DataSummary", "Dataset", "OHLCV", "load_csv", "load_csv_bytes"]
