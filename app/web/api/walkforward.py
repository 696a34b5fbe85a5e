"""Walk-forward jobs: ``POST /api/walkforward`` (and its preview), ``GET /api/jobs/<id>/walkforward``
and ``POST /api/jobs/<id>/holdout``; bodies in ``app.web.contract.models.walkforward``."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from app.web.contract.models.walkforward import (
    HoldoutOpened,
    WalkForwardAccepted,
    WalkForwardPreview,
    WalkForwardReport,
    WalkForwardRequest,
)
from app.web.contract.registry import Answer, operation
from app.web.datasource import RequestDataset, dataset_for_request
from app.web.errors import ApiError
from app.web.jobs_view import find_job, job_links
from app.web.optimize_request import canonical_config, client_names, run_limits
from backtune.errors import FieldError
from backtune.jobs.scheduler import enqueue
from backtune.jobs.study_ids import dashboard_study_id
from backtune.optimize.rundir import RunDir
from backtune.registry import get_strategy
from backtune.walkforward.holdout import open_holdout, walkforward_report
from backtune.walkforward.runner import is_walkforward, prepare_walkforward, span_record
from backtune.walkforward.schedule import build_schedule
from backtune.walkforward.settings import WalkForwardRequest as WalkForwardRun

bp = Blueprint("walkforward", __name__)
JOB_ID = {"job_id": "Job id of a walk-forward"}
DATA_ERRORS = (400, 403, 404, 413)


@bp.post("/api/walkforward")
@operation(
    "walkforward",
    "Queue a walk-forward run (docs/walkforward.md)",
    body=WalkForwardRequest,
    description="Give exactly one of `dataset` and `csvPath`. Each window runs the optimisation the body "
    "describes on its in-sample range, with the trial or time budget per window.",
    replies={202: Answer(WalkForwardAccepted, "Queued", location="/api/jobs/{job_id}")},
    errors=DATA_ERRORS,
)
def start_walkforward(body: WalkForwardRequest):
    settings = current_app.config["SETTINGS"]
    wanted, dataset = _parse_request(body)
    with client_names():
        run = prepare_walkforward(wanted, settings.runs_dir, bars=dataset.bars)
    store = current_app.config["JOBS"]
    enqueue(store, run, settings.max_jobs, dataset_name=dataset.name)
    state = store.state(run)
    response = jsonify(
        {
            "job_id": run.run_id,
            "kind": "walkforward",
            "status": state["status"],
            "windows": state["windows"],
            "links": {**job_links(store, run.run_id), "walkforward": f"/api/jobs/{run.run_id}/walkforward"},
        }
    )
    response.status_code = 202
    response.headers["Location"] = f"/api/jobs/{run.run_id}"
    return response


@bp.post("/api/walkforward/preview")
@operation(
    "walkforward",
    "The windows a walk-forward request would run",
    body=WalkForwardRequest,
    description="Runs nothing (the start page draws the windows over the price chart); refuses what "
    "`POST /api/walkforward` would refuse.",
    replies={200: WalkForwardPreview},
    errors=DATA_ERRORS,
)
def preview_walkforward(body: WalkForwardRequest):
    wanted, dataset = _parse_request(body)
    bars = dataset.bars
    with client_names():
        schedule = build_schedule(bars.time, wanted.base.window, wanted.settings)
    return jsonify(
        {
            "windows": [
                {"index": w.index, "is": span_record(bars, w.in_sample), "oos": span_record(bars, w.out_of_sample)}
                for w in schedule.windows
            ],
            "holdout": None if schedule.holdout is None else span_record(bars, schedule.holdout),
        }
    )


@bp.get("/api/jobs/<job_id>/walkforward")
@operation(
    "walkforward",
    "A walk-forward job's report (python -m app walkforward --json)",
    replies={200: WalkForwardReport},
    errors=(404,),
    path_params=JOB_ID,
)
def get_walkforward(job_id: str):
    """The CLI's object, each window with a link to its study in the embedded dashboard."""
    report = walkforward_report(_walkforward_run(job_id))
    runs_dir = current_app.config["JOBS"].runs_dir
    for window in report["windows"]:
        window["dashboard"] = f"/dashboard/studies/{dashboard_study_id(runs_dir, window['study'])}"
    return jsonify(report)


@bp.post("/api/jobs/<job_id>/holdout")
@operation(
    "walkforward",
    "Open the sealed holdout (each opening is recorded)",
    description="Backtests the last window's parameters on the holdout. 409 when the run keeps no holdout "
    "or has not finished every window.",
    replies={200: HoldoutOpened},
    errors=(404, 409),
    path_params=JOB_ID,
)
def post_holdout(job_id: str):
    run = _walkforward_run(job_id)
    try:
        opened = open_holdout(run)
    except FieldError as exc:
        raise ApiError(409, "holdout_unavailable", exc.reason, "job_id") from None
    return jsonify(opened)


def _parse_request(body: WalkForwardRequest) -> tuple[WalkForwardRun, RequestDataset]:
    """The engine's request (the optimise request as ``POST /api/optimize`` translates it,
    the window settings beside it, within the server's limits per window) and its dataset."""
    strategy = get_strategy(body.strategy)
    limits = run_limits(current_app.config["SETTINGS"])
    dataset = dataset_for_request(body.model_dump(include={"dataset", "csvPath"}))
    with client_names():
        raw = canonical_config(strategy, body, str(dataset.path), body.warmupBars, limits)
        wanted = WalkForwardRun.parse({**raw, "walkforward": body.walkforward.model_dump(exclude_none=True)})
        limits.check(wanted.base)
    return wanted, dataset


def _walkforward_run(job_id: str) -> RunDir:
    run = find_job(job_id)
    if not is_walkforward(run):
        raise ApiError(404, "not_walkforward", f"job {job_id} is not a walk-forward run", "job_id")
    return run
