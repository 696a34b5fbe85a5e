"""The composite score: several metrics folded into one number to optimise.

Workers must optimise the score itself, so the per-trial score depends on that trial
alone: each metric is min-max normalised against fixed bounds (inverted where lower is
better) and weighted. After a run, a second, relative score ranks every metric across
all completed trials (percentile ranks, weighted) — it needs the whole population, so it
can only be computed at the end, and is reported beside the per-trial score.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from backtune.errors import FieldError
from backtune.metrics import METRICS

DIRECTIONS = {spec.key: spec.direction for spec in METRICS}


@dataclass(frozen=True)
class ScoreTerm:
    """``low``/``high`` bound the metric's useful range; values outside are clipped."""

    metric: str
    weight: float
    low: float
    high: float

    @property
    def higher_is_better(self) -> bool:
        return DIRECTIONS[self.metric] == "higher"


DEFAULT_TERMS: tuple[ScoreTerm, ...] = (
    ScoreTerm("romad", 0.25, 0.0, 10.0),
    ScoreTerm("sharpe", 0.20, -1.0, 4.0),
    ScoreTerm("profit_factor", 0.20, 0.5, 3.0),
    ScoreTerm("max_drawdown_pct", 0.15, 0.0, 50.0),
    ScoreTerm("win_rate_pct", 0.10, 20.0, 80.0),
    ScoreTerm("consistency_pct", 0.10, 0.0, 100.0),
)


@dataclass(frozen=True)
class ScoreConfig:
    terms: tuple[ScoreTerm, ...] = DEFAULT_TERMS

    def score(self, metrics: Mapping[str, Any]) -> float:
        """0..100; an undefined metric counts as its worst value (NaN never wins)."""
        total = 0.0
        for term in self.terms:
            value = metrics.get(term.metric)
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            unit = min(1.0, max(0.0, (value - term.low) / (term.high - term.low)))
            total += term.weight * (unit if term.higher_is_better else 1.0 - unit)
        return 100.0 * total / self.total_weight

    @property
    def total_weight(self) -> float:
        return sum(t.weight for t in self.terms)

    def percentile_scores(self, rows: Sequence[Mapping[str, Any]]) -> list[float]:
        """0..100 per row: the weighted mean of each metric's percentile rank among ``rows``."""
        # Imported here: only the coordinator ranks, and scipy.stats adds ~0.6 s and 57 MB
        # to every worker that would otherwise import it with this module.
        from scipy.stats import rankdata

        n = len(rows)
        if n == 0:
            return []
        total = np.zeros(n)
        for term in self.terms:
            values = np.array([_as_float(r.get(term.metric)) for r in rows])
            worst = -np.inf if term.higher_is_better else np.inf
            values = np.where(np.isnan(values), worst, values)
            if not term.higher_is_better:
                values = -values
            ranks = rankdata(values, method="average")
            total += term.weight * (100.0 * (ranks - 1) / (n - 1) if n > 1 else np.full(n, 100.0))
        return (total / self.total_weight).tolist()

    def as_dict(self) -> dict[str, Any]:
        return {t.metric: {"weight": t.weight, "low": t.low, "high": t.high} for t in self.terms}

    @classmethod
    def parse(cls, spec: Mapping[str, Any] | None) -> ScoreConfig:
        """``{metric: weight}`` or ``{metric: {"weight", "low", "high"}}``; bounds default to ours."""
        if not spec:
            return cls()
        if not isinstance(spec, Mapping):
            raise FieldError("score_config", "expected an object of metric -> weight")
        defaults = {t.metric: t for t in DEFAULT_TERMS}
        terms = []
        for metric, entry in spec.items():
            if DIRECTIONS.get(metric) is None:
                rankable = ", ".join(k for k, d in DIRECTIONS.items() if d)
                raise FieldError("score_config", f"{metric!r} cannot be scored (choose from {rankable})")
            entry = entry if isinstance(entry, Mapping) else {"weight": entry}
            base = defaults.get(metric, ScoreTerm(metric, 0.0, 0.0, 1.0))
            term = ScoreTerm(
                metric,
                _number(metric, "weight", entry.get("weight", base.weight)),
                _number(metric, "low", entry.get("low", base.low)),
                _number(metric, "high", entry.get("high", base.high)),
            )
            if term.weight < 0:
                raise FieldError("score_config", f"{metric}: weight must be >= 0")
            if not term.high > term.low:
                raise FieldError("score_config", f"{metric}: high must exceed low")
            if metric not in defaults and ("low" not in entry or "high" not in entry):
                raise FieldError("score_config", f"{metric}: give low and high bounds to normalise it")
            if term.weight > 0:
                terms.append(term)
        if not terms:
            raise FieldError("score_config", "give at least one metric a positive weight")
        return cls(tuple(terms))


def _number(metric: str, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise FieldError("score_config", f"{metric}: {key} must be a finite number, got {value!r}")
    return float(value)


def _as_float(value: Any) -> float:
    return math.nan if value is None else float(value)
