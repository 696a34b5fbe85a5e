"""Which in-sample trial a window carries to its out-of-sample range.

``best``: the study's best trial. ``forward``: the top K trials re-run on the last part of
the in-sample range, the best forward result wins (MetaTrader's forward pass): a parameter
set that was best on the whole range but poor on its most recent stretch loses to one that
held up. ``robust``: of the top K, the one whose parameter neighbours keep most of its value
(robust rank 1, from the window study's own plateau step: docs/robustness.md), so the
walk-forward tests whether the plateau picks better out of sample than the peak.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from backtune.data.ohlcv import OHLCV
from backtune.engine.backtest import run_backtest
from backtune.optimize.config import RunConfig
from backtune.optimize.objective import Objective
from backtune.walkforward.schedule import Span
from backtune.walkforward.settings import WalkForwardSettings
from backtune.window import DataWindow


def select_trial(
    rows: Sequence[Mapping[str, Any]], config: RunConfig, settings: WalkForwardSettings, bars: OHLCV, in_sample: Span
) -> Mapping[str, Any] | None:
    """The carried result row (``params``, ``metrics``, ``number``), or None without a completed trial."""
    ranked = sorted((r for r in rows if r["rank"] is not None), key=lambda r: r["rank"])
    if not ranked or settings.select == "best":
        return ranked[0] if ranked else None
    if settings.select == "robust":
        return next((r for r in ranked if r.get("robust_rank") == 1), ranked[0])
    forward = forward_span(in_sample, settings.forward_fraction)
    window = DataWindow(int(bars.time[forward.first]), int(bars.time[forward.last]), config.window.warmup_bars)
    objective = Objective(config, bars)
    target = config.targets[0]
    sign = 1.0 if target.direction == "maximize" else -1.0

    def forward_value(row: Mapping[str, Any]) -> float:
        result = run_backtest(
            bars, objective.strategy, objective.strategy.validate(row["params"]), window, config.settings
        )
        return sign * objective.target_value(objective.metrics(result), target.metric, target.direction)

    candidates = ranked[: settings.top_k]
    values = [forward_value(row) for row in candidates]
    return candidates[values.index(max(values))]  # ties keep the better in-sample rank


def forward_span(in_sample: Span, fraction: float) -> Span:
    """The last ``fraction`` of the in-sample bars (at least one)."""
    bars = max(1, int(round(in_sample.bars * fraction)))
    return Span(in_sample.last - bars + 1, in_sample.last)
