"""OHLCV data: the validated arrays every backtest runs on, and the CSV loader that makes them."""

from backtune.data.ohlcv import OHLCV

__all__ = ["OHLCV"]
