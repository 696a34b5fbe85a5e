"""The unified result list, built from the study itself (never from per-worker lists).

Every trial that produced metrics is listed with its full parameter set (searched and
fixed), all metrics, the
per-trial score and the population percentile score. Completed trials are ranked by the
run's target; pruned ones follow, unranked, so nothing a worker computed is lost.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from backtune.optimize.config import RunConfig
from backtune.optimize.objective import PRUNED_ATTR
from backtune.optimize.optuna_compat import pareto_front
from backtune.optimize.samplers import METRICS_ATTR
from backtune.optimize.targets import SCORE

STATES = ("COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING")


def state_counts(trials: Iterable[FrozenTrial]) -> dict[str, int]:
    counts = Counter(t.state.name for t in trials)
    out = {state.lower(): counts.get(state, 0) for state in STATES}
    out["total"] = sum(counts.values())
    return out


def ranked_trials(trials: Sequence[FrozenTrial], config: RunConfig) -> list[dict[str, Any]]:
    """Rows sorted best first by the target (the first target of a multi-objective run)."""
    with_metrics = [
        t for t in trials if METRICS_ATTR in t.user_attrs and t.state in (TrialState.COMPLETE, TrialState.PRUNED)
    ]
    complete = [t for t in with_metrics if t.state == TrialState.COMPLETE]
    percentile = dict(
        zip(
            (t.number for t in complete), config.score.percentile_scores([t.user_attrs[METRICS_ATTR] for t in complete])
        )
    )
    pareto = set()
    if config.multi_objective and complete:
        directions = [
            StudyDirection.MAXIMIZE if t.direction == "maximize" else StudyDirection.MINIMIZE for t in config.targets
        ]
        pareto = {t.number for t in pareto_front(complete, directions)}
    first = config.targets[0]
    sign = -1.0 if first.direction == "maximize" else 1.0

    def key(trial: FrozenTrial) -> tuple:
        value = trial.values[0] if trial.values else math.nan
        return (
            trial.state != TrialState.COMPLETE,
            math.isnan(value),
            sign * value if not math.isnan(value) else 0.0,
            trial.number,
        )

    rows = []
    for rank, trial in enumerate(sorted(with_metrics, key=key), start=1):
        metrics = trial.user_attrs[METRICS_ATTR]
        row = {
            "rank": rank if trial.state == TrialState.COMPLETE else None,
            "number": trial.number,
            "state": trial.state.name,
            "params": config.space.params(trial.params),
            "values": trial.values,
            "score": metrics.get(SCORE),
            "percentile_score": percentile.get(trial.number),
            "metrics": metrics,
        }
        if config.multi_objective:
            row["pareto"] = trial.number in pareto
        if PRUNED_ATTR in trial.user_attrs:
            row["pruned_reason"] = trial.user_attrs[PRUNED_ATTR]
        rows.append(row)
    return rows


def best_row(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    best = next((r for r in rows if r["rank"] == 1), None)
    if best is None:
        return None
    return {
        "number": best["number"],
        "value": best["values"][0] if best["values"] else None,
        "values": best["values"],
        "params": best["params"],
        "metrics": best["metrics"],
    }


def results_csv(summary: Mapping[str, Any], config: RunConfig, rows: Sequence[Mapping[str, Any]]) -> str:
    """Three sections, as traders paste them into a spreadsheet: metadata, fixed
    parameters, then the ranked table with every searched parameter and metric."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["# Metadata"])
    for key, value in (
        ("run_id", summary.get("run_id")),
        ("strategy", config.strategy),
        ("data", config.data),
        ("target", ",".join(t.name for t in config.targets)),
        ("sampler", config.sampler),
        ("workers", config.workers),
        ("trials_total", summary["trials"]["total"]),
        ("trials_complete", summary["trials"]["complete"]),
        ("trials_pruned", summary["trials"]["pruned"]),
        ("optimize_s", summary["timings"]["optimize_s"]),
        ("trials_per_s", summary["trials_per_s"]),
        ("window_start", config.window_text.get("start")),
        ("window_end", config.window_text.get("end")),
        ("warmup_bars", config.window.warmup_bars),
        ("capital", config.settings.initial_capital),
        ("commission", config.settings.commission),
    ):
        writer.writerow([key, value])
    writer.writerow([])
    writer.writerow(["# Fixed parameters"])
    for name, value in config.space.fixed.items():
        writer.writerow([name, value])
    writer.writerow([])
    writer.writerow(["# Ranked trials"])
    searched = [r.name for r in config.space.ranges]
    metric_keys = list(rows[0]["metrics"]) if rows else []
    writer.writerow(
        ["rank", "trial", "state", "score", "percentile_score", "robust_rank", "retention", *searched, *metric_keys]
    )
    for row in rows:
        writer.writerow(
            [
                row["rank"],
                row["number"],
                row["state"],
                row["score"],
                row["percentile_score"],
                row.get("robust_rank"),
                row["plateau"]["retention"] if "plateau" in row else None,
                *(row["params"].get(name) for name in searched),
                *(row["metrics"].get(key) for key in metric_keys),
            ]
        )
    return out.getvalue()
