"""Backtune's TPE sampler: Optuna's algorithm with incremental trial caches and compiled
Parzen evaluation (docs/optimization.md, "The TPE sampler")."""

from backtune.optimize.tpe.sampler import TPESampler

__all__ = ["TPESampler"]
