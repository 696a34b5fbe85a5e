"""Backtests of many parameter sets of one run, in this process or on a warm worker pool.

A ``BacktestBatch`` holds plain values only (the run directory and the parameter sets),
so it crosses into a pooled process as a run plan does; there it reads the run's config
and memory-maps its bars, exactly as a worker does, and returns each set's metrics.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backtune.engine.backtest import run_backtest
from backtune.optimize.config import RunConfig
from backtune.optimize.objective import Objective
from backtune.optimize.rundir import RunDir
from backtune.optimize.shared_bars import load_bars
from backtune.params import ParamError


@dataclass(frozen=True)
class BacktestBatch:
    run_dir: str
    param_sets: tuple[Mapping[str, Any], ...]

    def __call__(self) -> list[dict[str, Any] | None]:
        """Each set's metrics (with the score), or None for a set the strategy rejects."""
        run = RunDir(Path(self.run_dir))
        config = RunConfig.parse(run.read_json(run.config_file))
        objective = Objective(config, load_bars(run.bars_dir))
        out: list[dict[str, Any] | None] = []
        for params in self.param_sets:
            try:
                valid = objective.strategy.validate(dict(params))
            except ParamError:
                out.append(None)
                continue
            result = run_backtest(objective.bars, objective.strategy, valid, config.window, config.settings)
            out.append(objective.metrics(result))
        return out


def evaluate(run: RunDir, param_sets: Sequence[Mapping[str, Any]], pool: Any = None) -> list[dict[str, Any] | None]:
    """Metrics of every parameter set, in order: split across ``pool``'s processes
    (a ``WorkerPool``) when given, else run here."""
    if pool is None or len(param_sets) < 2:
        return BacktestBatch(str(run.path), tuple(param_sets))()
    return [m for part in pool.map_calls(split(run, param_sets, pool.size)) for m in part]


def split(run: RunDir, param_sets: Sequence[Mapping[str, Any]], parts: int) -> list[BacktestBatch]:
    """Contiguous, near-equal batches, one per process."""
    size, extra = divmod(len(param_sets), parts)
    batches, start = [], 0
    for i in range(parts):
        end = start + size + (i < extra)
        if end > start:
            batches.append(BacktestBatch(str(run.path), tuple(param_sets[start:end])))
        start = end
    return batches
