"""Jobs: list, progress, ranked results (JSON or CSV), one trial re-run, cancel, resume."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, current_app, jsonify

from app.web.contract.models.jobs import Job, JobList, Results, ResultsQuery, ResumeRequest, Trial
from app.web.contract.registry import Answer, operation
from app.web.errors import ApiError
from app.web.jobs_view import find_job, job_record, jobs_store, notice_dead_coordinator, result_rows
from app.web.optimize_request import run_limits
from backtune.engine.backtest import run_backtest
from backtune.errors import FieldError
from backtune.jobs.scheduler import enqueue
from backtune.jobs.store import CANCELLED, FINISHED, QUEUED, RUNNING
from backtune.optimize.config import Budget, RunConfig
from backtune.optimize.run import salvage_run
from backtune.optimize.rundir import PREPARED, RunDir
from backtune.optimize.shared_bars import load_bars
from backtune.registry import get_strategy
from backtune.report import backtest_report, equity_points
from backtune.walkforward.runner import is_walkforward, salvage_walkforward

bp = Blueprint("jobs", __name__)
CANCEL_WAIT_S = 5.0
JOB_ID = {"job_id": "Job id"}


def _run(job_id: str) -> RunDir:
    """The job's run directory; a job whose coordinator died is marked interrupted first."""
    run = find_job(job_id)
    notice_dead_coordinator(jobs_store(), run)
    return run


@bp.get("/api/jobs")
@operation("jobs", "All jobs, newest first", replies={200: JobList})
def list_jobs():
    """Newest first, by creation time: run ids sort by the second and then by strategy name.
    A run still being prepared (its request not yet answered) is not a job until queued."""
    store = jobs_store()
    records = (job_record(store, run, detail=False) for run in store.all())
    jobs = sorted(
        (job for job in records if job["status"] != PREPARED),
        key=lambda job: (job["created"] or 0.0, job["job_id"]),
        reverse=True,
    )
    return jsonify({"jobs": jobs, "total": len(jobs)})


@bp.get("/api/jobs/<job_id>")
@operation(
    "jobs", "Status, queue position, progress and summary", replies={200: Job}, errors=(404,), path_params=JOB_ID
)
def get_job(job_id: str):
    return jsonify(job_record(jobs_store(), _run(job_id)))


@bp.get("/api/jobs/<job_id>/results")
@operation(
    "jobs",
    "Ranked trials (live while running)",
    query=ResultsQuery,
    path_params=JOB_ID,
    replies={200: Answer(Results, media={"text/csv": {"schema": {"type": "string"}}})},
    errors=(400, 404, 409),
)
def get_results(job_id: str, query: ResultsQuery):
    run = _run(job_id)
    status = jobs_store().state(run)["status"]
    summary, rows = result_rows(current_app.config["RUNS_STORAGE"], run, status)
    if query.format == "csv":
        return _csv(run, summary)
    rows = _sorted(rows, query.sort, query.order)
    page = [
        {
            key: row.get(key)
            for key in (
                "rank",
                "number",
                "state",
                "params",
                "values",
                "score",
                "percentile_score",
                "metrics",
                "pareto",
                "pruned_reason",
                "robust_rank",
                "plateau",
            )
            if key in row
        }
        for row in rows[query.offset : query.offset + query.limit]
    ]
    return jsonify(
        {
            "job_id": job_id,
            "status": status,
            "summary": summary,
            "total": len(rows),
            "offset": query.offset,
            "limit": query.limit,
            "results": page,
        }
    )


@bp.get("/api/jobs/<job_id>/trials/<int:number>")
@operation(
    "jobs",
    "One trial re-run: trades, equity and metrics",
    replies={200: Trial},
    errors=(404,),
    path_params={**JOB_ID, "number": "Trial number"},
)
def get_trial(job_id: str, number: int):
    """Re-run one trial for its trades and equity curve (results keep metrics, not trades)."""
    run = _run(job_id)
    _, rows = result_rows(current_app.config["RUNS_STORAGE"], run, jobs_store().state(run)["status"])
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
@operation(
    "jobs",
    "Cancel: queued jobs at once, running ones between trials",
    replies={200: Job},
    errors=(404, 409),
    path_params=JOB_ID,
)
def cancel_job(job_id: str):
    """Queued jobs are cancelled at once; running ones stop between trials (< 2 s) and keep
    their results. Waits briefly so the answer usually shows the final state."""
    store = jobs_store()
    run = find_job(job_id)
    if notice_dead_coordinator(store, run):  # stopped already: it is interrupted, trials kept
        return jsonify(job_record(store, run))
    with store.locked():
        status = store.state(run)["status"]
        if status == QUEUED:
            # Never started: finish it like any cancelled run (empty study.db and results),
            # which also removes its journal from tmpfs.
            (salvage_walkforward if is_walkforward(run) else salvage_run)(run, CANCELLED)
            return jsonify(job_record(store, run))
    if status != RUNNING:
        raise ApiError(409, "not_running", f"job {job_id} is {status}; nothing to cancel", "job_id")
    run.request_stop()
    deadline = time.monotonic() + CANCEL_WAIT_S
    while store.state(run)["status"] == RUNNING and time.monotonic() < deadline:
        time.sleep(0.1)
    return jsonify(job_record(store, run))


@bp.post("/api/jobs/<job_id>/resume")
@operation(
    "jobs",
    "Continue a finished, cancelled or interrupted job",
    body=ResumeRequest,
    path_params=JOB_ID,
    replies={202: Answer(Job, "Queued again", location="/api/jobs/{job_id}")},
    errors=(400, 404, 409),
)
def resume_job(job_id: str, body: ResumeRequest):
    store = jobs_store()
    run = _run(job_id)
    status = store.state(run)["status"]
    walkforward = is_walkforward(run)  # continues from its first unfinished window, with its own budget
    if status not in FINISHED or not (walkforward or run.sqlite.exists()):
        raise ApiError(
            409, "not_resumable", f"job {job_id} is {status}; only a finished job with a study resumes", "job_id"
        )
    budget = None if walkforward else _resume_budget(body).as_dict()
    enqueue(
        store,
        run,
        current_app.config["SETTINGS"].max_jobs,
        resume_budget=budget,
        summary=None,
        progress=None,
        error=None,
    )
    response = jsonify(job_record(store, run))
    response.status_code = 202
    response.headers["Location"] = f"/api/jobs/{job_id}"
    return response


def _resume_budget(body: ResumeRequest) -> Budget:
    if body.trials is None and body.seconds is None:
        raise ApiError(400, "missing_field", "trials: give trials (a whole number > 0) or seconds (> 0)", "trials")
    budget = Budget("trials" if body.trials is not None else "time", body.trials, body.seconds, None)
    try:
        run_limits(current_app.config["SETTINGS"]).check_budget(budget)
    except FieldError as exc:
        field = exc.field.removeprefix("budget.")
        raise ApiError(400, "invalid_field", f"{field}: {exc.reason}", field) from None
    return budget


def _sorted(rows: list[dict[str, Any]], key: str | None, order: str | None) -> list[dict[str, Any]]:
    if key is None:
        return rows if order != "desc" else rows[::-1]

    def value(row: dict[str, Any]) -> Any:
        return row.get(key) if key in row else row["metrics"].get(key)

    present = [r for r in rows if value(r) is not None]
    missing = [r for r in rows if value(r) is None]
    return sorted(present, key=value, reverse=order != "asc") + missing


def _csv(run: RunDir, summary: dict[str, Any] | None) -> Response:
    if summary is None or not run.results_csv.exists():
        raise ApiError(409, "not_finished", "the CSV export is written when the run ends", "format")
    return Response(
        run.results_csv.read_text(encoding="utf-8"),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{run.run_id}-results.csv"'},
    )
