"""Jobs: list, progress, ranked results (JSON or CSV), one trial re-run, cancel, resume."""

from __future__ import annotations

import math
import time
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from app.web.errors import ApiError
from app.web.jobs_view import job_record, result_rows
from backtune.engine.backtest import run_backtest
from backtune.jobs.scheduler import enqueue
from backtune.jobs.store import CANCELLED, FINISHED, QUEUED, RUNNING, JobStore
from backtune.metrics import METRIC_KEYS
from backtune.optimize.config import RunConfig
from backtune.optimize.run import salvage_run
from backtune.optimize.rundir import RunDir
from backtune.optimize.shared_bars import load_bars
from backtune.registry import get_strategy
from backtune.report import backtest_report, equity_points
from backtune.robustness.returns import TRIAL_METRICS

bp = Blueprint("jobs", __name__)
SORT_KEYS = ("rank", "number", "score", "percentile_score", *METRIC_KEYS, *TRIAL_METRICS)
CANCEL_WAIT_S = 5.0


def _store() -> JobStore:
    return current_app.config["JOBS"]


def _run(job_id: str) -> RunDir:
    run = _store().run(job_id)
    if run is None:
        raise ApiError(404, "job_not_found", f"no job {job_id!r}", "job_id")
    return run


@bp.get("/api/jobs")
def list_jobs():
    store = _store()
    jobs = [job_record(store, run, detail=False) for run in reversed(store.all())]
    return jsonify({"jobs": jobs, "total": len(jobs)})


@bp.get("/api/jobs/<job_id>")
def get_job(job_id: str):
    return jsonify(job_record(_store(), _run(job_id)))


@bp.get("/api/jobs/<job_id>/results")
def get_results(job_id: str):
    run = _run(job_id)
    status = _store().state(run)["status"]
    summary, rows = result_rows(current_app.config["CATALOG"], run, status)
    if request.args.get("format") == "csv":
        return _csv(run, summary)
    rows = _sorted(rows, request.args.get("sort"), request.args.get("order"))
    offset = _int_arg("offset", 0, minimum=0)
    limit = _int_arg("limit", 100, minimum=1)
    page = [{key: row.get(key) for key in ("rank", "number", "state", "params", "values", "score",
                                           "percentile_score", "metrics", "pareto", "pruned_reason")
             if key in row} for row in rows[offset:offset + limit]]
    return jsonify({"job_id": job_id, "status": status, "summary": summary, "total": len(rows),
                    "offset": offset, "limit": limit, "results": page})


@bp.get("/api/jobs/<job_id>/trials/<int:number>")
def get_trial(job_id: str, number: int):
    """Re-run one trial for its trades and equity curve (results keep metrics, not trades)."""
    run = _run(job_id)
    _, rows = result_rows(current_app.config["CATALOG"], run, _store().state(run)["status"])
    row = next((r for r in rows if r["number"] == number), None)
    if row is None:
        raise ApiError(404, "trial_not_found", f"job {job_id} has no trial {number} with results", "number")
    config = RunConfig.parse(run.read_json(run.config_file))
    strategy = get_strategy(config.strategy)
    params = strategy.validate({**config.space.fixed, **row["params"]})
    result = run_backtest(load_bars(run.bars_dir), strategy, params, config.window, config.settings)
    report = backtest_report(strategy.id, params, result, row["metrics"])
    report.update(number=number, equity=equity_points(result))
    return jsonify(report)


@bp.delete("/api/jobs/<job_id>")
def cancel_job(job_id: str):
    """Queued jobs are cancelled at once; running ones stop between trials (< 2 s) and keep
    their results. Waits briefly so the answer usually shows the final state."""
    store = _store()
    run = _run(job_id)
    with store.locked():
        status = store.state(run)["status"]
        if status == QUEUED:
            # Never started: finish it like any cancelled run (empty study.db and results),
            # which also removes its journal from tmpfs.
            salvage_run(run, CANCELLED)
            return jsonify(job_record(store, run))
    if status != RUNNING:
        raise ApiError(409, "not_running", f"job {job_id} is {status}; nothing to cancel", "job_id")
    run.request_stop()
    deadline = time.monotonic() + CANCEL_WAIT_S
    while store.state(run)["status"] == RUNNING and time.monotonic() < deadline:
        time.sleep(0.1)
    return jsonify(job_record(store, run))


@bp.post("/api/jobs/<job_id>/resume")
def resume_job(job_id: str):
    store = _store()
    run = _run(job_id)
    status = store.state(run)["status"]
    if status not in FINISHED or not run.sqlite.exists():
        raise ApiError(409, "not_resumable", f"job {job_id} is {status}; only a finished job with a study resumes",
                       "job_id")
    body = request.get_json(silent=True) or {}
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_body", "expected a JSON object with trials or seconds")
    budget = _resume_budget(body)
    enqueue(store, run, current_app.config["SETTINGS"].max_jobs, resume_budget=budget, summary=None,
            progress=None, error=None)
    response = jsonify(job_record(store, run))
    response.status_code = 202
    response.headers["Location"] = f"/api/jobs/{job_id}"
    return response


def _resume_budget(body: dict[str, Any]) -> dict[str, Any]:
    trials, seconds = body.get("trials"), body.get("seconds")
    if trials is None and seconds is None:
        raise ApiError(400, "invalid_field", "give trials (a whole number > 0) or seconds (> 0)", "trials")
    if trials is not None and (isinstance(trials, bool) or not isinstance(trials, int) or trials <= 0):
        raise ApiError(400, "invalid_field", f"trials must be a whole number > 0, got {trials!r}", "trials")
    if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, (int, float))
                                or not math.isfinite(seconds) or seconds <= 0):
        raise ApiError(400, "invalid_field", f"seconds must be a number > 0, got {seconds!r}", "seconds")
    mode = "trials" if trials is not None else "time"
    return {"mode": mode, "trials": trials, "seconds": seconds, "patience": None}


def _sorted(rows: list[dict[str, Any]], key: str | None, order: str | None) -> list[dict[str, Any]]:
    if order not in (None, "asc", "desc"):
        raise ApiError(400, "invalid_field", f"order must be asc or desc, got {order!r}", "order")
    if key is None:
        return rows if order != "desc" else rows[::-1]
    if key not in SORT_KEYS:
        raise ApiError(400, "invalid_field", f"cannot sort by {key!r} (choose from {', '.join(SORT_KEYS)})", "sort")

    def value(row: dict[str, Any]) -> Any:
        return row.get(key) if key in row else row["metrics"].get(key)

    present = [r for r in rows if value(r) is not None]
    missing = [r for r in rows if value(r) is None]
    return sorted(present, key=value, reverse=order != "asc") + missing


def _int_arg(name: str, default: int, minimum: int) -> int:
    text = request.args.get(name)
    if text is None:
        return default
    if not text.isdigit() or int(text) < minimum:
        raise ApiError(400, "invalid_field", f"{name} must be a whole number >= {minimum}, got {text!r}", name)
    return int(text)


def _csv(run: RunDir, summary: dict[str, Any] | None) -> Response:
    if summary is None or not run.results_csv.exists():
        raise ApiError(409, "not_finished", "the CSV export is written when the run ends", "format")
    return Response(run.results_csv.read_text(encoding="utf-8"), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{run.run_id}-results.csv"'})
