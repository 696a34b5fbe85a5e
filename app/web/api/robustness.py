"""Overfitting and robustness of a finished job: the CSCV matrix, a trial's plateau and
Monte Carlo, and parameter heatmaps. Their bodies are the contract's models
(app/web/contract/models/robustness.py).

Every figure is computed by ``backtune.robustness`` (docs/robustness.md); these
endpoints only read a run directory's results (those of its last finished stretch while a
resumed job runs), and cache what they compute in it.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, jsonify

from app.web.api.jobs import JOB_ID
from app.web.contract.models.robustness import CscvReply, HeatmapQuery, HeatmapReply, RobustnessQuery, RobustnessReply
from app.web.contract.registry import operation
from app.web.errors import ApiError
from app.web.jobs_view import find_job
from backtune.optimize.config import RunConfig
from backtune.optimize.rundir import RunDir
from backtune.robustness.values import finite_or_none

bp = Blueprint("robustness", __name__)
log = logging.getLogger("backtune.web")
NOT_FINISHED = "409 `not_finished` until the job has ended."


def _finished(job_id: str) -> tuple[RunDir, dict[str, Any]]:
    run = find_job(job_id)
    if not run.results_file.exists():
        raise ApiError(409, "not_finished", f"job {job_id} has not finished; these figures need every trial", "job_id")
    # A resumed job keeps the results of its last finished stretch until the next one ends.
    return run, run.read_json(run.results_file)


@bp.get("/api/jobs/<job_id>/cscv")
@operation(
    "jobs",
    "CSCV block statistics and PBO of a finished job (docs/robustness.md)",
    description=NOT_FINISHED,
    replies={200: CscvReply},
    errors=(404, 409),
    path_params=JOB_ID,
)
def get_cscv(job_id: str):
    from backtune.robustness.cscv import MIN_TRIALS, cscv
    from backtune.robustness.overfitting import block_table

    run, results = _finished(job_id)
    config = RunConfig.parse(run.read_json(run.config_file))
    trials, table = block_table(run, config, results["results"])
    body = {
        "blocks": config.cscv_blocks,
        "trials": trials,
        "stats": table.tolist(),
        "pbo": None,
        "logits": None,
        "is_sharpe": None,
        "oos_sharpe": None,
    }
    if len(trials) >= MIN_TRIALS:
        found = cscv(table)
        body.update(
            pbo=found.pbo,
            logits=found.logits.tolist(),
            is_sharpe=[finite_or_none(v) for v in found.is_sharpe],
            oos_sharpe=[finite_or_none(v) for v in found.oos_sharpe],
        )
    return jsonify(body)


@bp.get("/api/jobs/<job_id>/trials/<int:number>/robustness")
@operation(
    "jobs",
    "A trial's parameter plateau and Monte Carlo (computed on demand, cached)",
    description=NOT_FINISHED,
    query=RobustnessQuery,
    replies={200: RobustnessReply},
    errors=(400, 404, 409, 503),
    path_params={**JOB_ID, "number": "Trial number"},
)
def get_robustness(job_id: str, number: int, query: RobustnessQuery):
    from backtune.child import ChildFailed
    from backtune.robustness.isolated import robustness_report

    run, results = _finished(job_id)
    if not any(r["number"] == number and r["rank"] is not None for r in results["results"]):
        raise ApiError(404, "trial_not_found", f"job {job_id} has no completed trial {number}", "number")
    try:
        return jsonify(robustness_report(run, number, query.scenarios, query.seed, query.drawdown))
    except ChildFailed as exc:
        log.error("run %s: robustness of trial %d failed: %s", run.run_id, number, exc)
        raise ApiError(
            503, "robustness_failed", f"the robustness of trial {number} could not be computed: {exc}", "number"
        ) from None


@bp.get("/api/jobs/<job_id>/heatmap")
@operation(
    "jobs",
    "Two searched parameters against the target: max and median per cell",
    description=NOT_FINISHED,
    query=HeatmapQuery,
    replies={200: HeatmapReply},
    errors=(400, 404, 409),
    path_params=JOB_ID,
)
def get_heatmap(job_id: str, query: HeatmapQuery):
    from backtune.robustness.heatmap import heatmap

    run, results = _finished(job_id)
    config = RunConfig.parse(run.read_json(run.config_file))
    searched = [r.name for r in config.space.ranges]
    names = []
    for axis, default in (("x", 0), ("y", 1)):
        name = getattr(query, axis) or (searched[default] if default < len(searched) else None)
        if name not in searched:
            raise ApiError(
                400, "invalid_field", f"{axis} must be a searched parameter ({', '.join(searched)}), got {name!r}", axis
            )
        names.append(name)
    return jsonify(heatmap(results["results"], *names))
