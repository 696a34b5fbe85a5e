"""One trial: suggest parameters, backtest, record every metric, return the target(s).

All metrics go into a single user attribute, so a trial costs one journal write for its
results rather than one per metric, and results never need a re-run.
"""

from __future__ import annotations

import math
from typing import Any

import optuna

from backtune.data.ohlcv import OHLCV
from backtune.engine.backtest import run_backtest
from backtune.metrics import compute_metrics
from backtune.optimize.config import RunConfig
from backtune.optimize.presence import WORKER_ATTR
from backtune.optimize.samplers import METRICS_ATTR
from backtune.optimize.storage import publish_params
from backtune.optimize.targets import SCORE
from backtune.params import ParamError
from backtune.registry import get_strategy
from backtune.result import BacktestResult, truncated
from backtune.robustness.blocklog import BlockLog
from backtune.robustness.returns import return_stats

PRUNED_ATTR = "pruned_reason"
CHECKPOINTS = (0.25, 0.5, 0.75)


class Objective:
    """Built inside each worker from run.json and the shared bars; nothing is pickled across processes."""

    def __init__(
        self, config: RunConfig, bars: OHLCV, blocks: BlockLog | None = None, worker: str | None = None
    ) -> None:
        self.config = config
        self.blocks = blocks
        self.worker = worker
        self.bars = bars
        self.strategy = get_strategy(config.strategy)
        self.prunes = config.pruner != "none"

    def __call__(self, trial: optuna.Trial) -> float | list[float]:
        params = self.config.space.suggest(trial)
        publish_params(trial.storage)
        if self.worker is not None:
            trial.set_user_attr(WORKER_ATTR, self.worker)
        try:
            params = self.strategy.validate(params)
        except ParamError as exc:
            trial.set_user_attr(PRUNED_ATTR, f"invalid parameters: {exc}")
            raise optuna.TrialPruned(str(exc)) from None
        result = run_backtest(self.bars, self.strategy, params, self.config.window, self.config.settings)
        metrics = self.metrics(result)
        returns = return_stats(result, self.config.cscv_blocks)
        metrics.update(returns.as_metrics())
        trial.set_user_attr(METRICS_ATTR, metrics)
        if self.blocks is not None:
            self.blocks.append(trial.number, returns.blocks)
        for constraint in self.config.constraints:
            trial.set_constraint(constraint.label, constraint.violation(metrics))
        if self.prunes:
            self._report_checkpoints(trial, result)
        min_profit = self.config.min_profit
        if min_profit is not None and metrics["net_profit_pct"] < min_profit:
            trial.set_user_attr(PRUNED_ATTR, f"net profit below the {min_profit}% filter")
            raise optuna.TrialPruned("below the min-profit filter")
        values = [self.target_value(metrics, t.metric, t.direction) for t in self.config.targets]
        return values if self.config.multi_objective else values[0]

    def metrics(self, result: BacktestResult) -> dict[str, Any]:
        metrics = compute_metrics(result).as_dict()
        metrics[SCORE] = self.config.score.score(metrics)
        return metrics

    @staticmethod
    def target_value(metrics: dict[str, Any], metric: str, direction: str) -> float:
        """An undefined metric is the worst possible value, never a failed trial."""
        value = metrics.get(metric)
        if value is None:
            return -math.inf if direction == "maximize" else math.inf
        return float(value)

    def _report_checkpoints(self, trial: optuna.Trial, result: BacktestResult) -> None:
        """The target on the first quarter, half and three quarters of the trading window.

        The backtest already ran in full (it takes about a millisecond), so pruning saves
        no time here; it discards parameter sets that fell behind the others part-way
        through, favouring ones that were good all along.
        """
        start = result.trade_start
        span = len(result.bars) - start
        target = self.config.targets[0]
        for step, fraction in enumerate(CHECKPOINTS):
            last = start + max(1, int(span * fraction)) - 1
            value = self.target_value(self.metrics(truncated(result, last)), target.metric, target.direction)
            trial.report(value, step)
            if trial.should_prune():
                trial.set_user_attr(PRUNED_ATTR, f"pruned at {int(fraction * 100)}% of the window")
                raise optuna.TrialPruned(f"pruned at checkpoint {step}")
