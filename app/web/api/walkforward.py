"""Walk-forward jobs: ``POST /api/walkforward``, ``GET /api/jobs/<id>/walkforward`` and
``POST /api/jobs/<id>/holdout`` (bodies in ``app.web.walkforward_models``)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, request
from pydantic import BaseModel, ValidationError

from app.web.api.optimize import _request_parts
from app.web.datasource import dataset_for_request
from app.web.errors import ApiError
from app.web.jobs_view import job_links
from app.web.optimize_request import canonical_config, client_field
from app.web.walkforward_models import (
    HoldoutOpened,
    WalkForwardAccepted,
    WalkForwardBody,
    WalkForwardPreview,
    WalkForwardReport,
)
from backtune.errors import FieldError
from backtune.jobs.scheduler import enqueue
from backtune.jobs.study_ids import dashboard_study_id
from backtune.optimize.rundir import RunDir
from backtune.registry import get_strategy
from backtune.walkforward.holdout import open_holdout, walkforward_report
from backtune.walkforward.runner import is_walkforward, prepare_walkforward, span_record
from backtune.walkforward.schedule import build_schedule
from backtune.walkforward.settings import WalkForwardRequest

bp = Blueprint("walkforward", __name__)


@bp.post("/api/walkforward")
def start_walkforward():
    settings = current_app.config["SETTINGS"]
    wanted, dataset = _parse_request()
    try:
        run = prepare_walkforward(wanted, settings.runs_dir, bars=dataset.bars)
    except FieldError as exc:
        raise _field_error(exc) from None
    store = current_app.config["JOBS"]
    enqueue(store, run, settings.max_jobs, dataset_name=dataset.name)
    state = store.state(run)
    response = jsonify(_checked(WalkForwardAccepted, {
        "job_id": run.run_id, "kind": "walkforward", "status": state["status"], "windows": state["windows"],
        "links": {**job_links(store, run.run_id), "walkforward": f"/api/jobs/{run.run_id}/walkforward"},
    }))
    response.status_code = 202
    response.headers["Location"] = f"/api/jobs/{run.run_id}"
    return response


@bp.post("/api/walkforward/preview")
def preview_walkforward():
    """The windows a request would run, without running anything (the start page draws them)."""
    wanted, dataset = _parse_request()
    bars = dataset.bars
    try:
        schedule = build_schedule(bars.time, wanted.base.window, wanted.settings)
    except FieldError as exc:
        raise _field_error(exc) from None
    return jsonify(_checked(WalkForwardPreview, {
        "windows": [{"index": w.index, "is": span_record(bars, w.in_sample), "oos": span_record(bars, w.out_of_sample)}
                    for w in schedule.windows],
        "holdout": None if schedule.holdout is None else span_record(bars, schedule.holdout),
    }))


@bp.get("/api/jobs/<job_id>/walkforward")
def get_walkforward(job_id: str):
    """The CLI's object, each window with a link to its study in the embedded dashboard."""
    report = walkforward_report(_walkforward_run(job_id))
    runs_dir = current_app.config["JOBS"].runs_dir
    for window in report["windows"]:
        window["dashboard"] = f"/dashboard/studies/{dashboard_study_id(runs_dir, window['study'])}"
    return jsonify(_checked(WalkForwardReport, report))


@bp.post("/api/jobs/<job_id>/holdout")
def post_holdout(job_id: str):
    run = _walkforward_run(job_id)
    try:
        opened = open_holdout(run)
    except FieldError as exc:
        raise ApiError(409, "holdout_unavailable", exc.reason, "job_id") from None
    return jsonify(_checked(HoldoutOpened, opened))


def _parse_request() -> tuple[WalkForwardRequest, Any]:
    """The request (the optimise body, parsed by the optimise endpoint's code, plus
    ``walkforward``) and its dataset; errors name the client's field."""
    options, fields = _request_parts()
    options = dict(options)
    body = _body(options.pop("walkforward", None))
    strategy_id = fields.get("strategy")
    if not strategy_id:
        raise ApiError(400, "invalid_field", "give the strategy id", "strategy")
    strategy = get_strategy(strategy_id)
    dataset = dataset_for_request(fields, request.files)
    try:
        raw = canonical_config(strategy, options, str(dataset.path),
                               fields.get("warmupBars", fields.get("warmup_bars")),
                               current_app.config["SETTINGS"].max_workers)
        return WalkForwardRequest.parse({**raw, "walkforward": body}), dataset
    except FieldError as exc:
        raise _field_error(exc) from None


def _field_error(exc: FieldError) -> ApiError:
    return ApiError(400, "invalid_field", f"{client_field(exc.field)}: {exc.reason}", client_field(exc.field))


def _walkforward_run(job_id: str) -> RunDir:
    run = current_app.config["JOBS"].run(job_id)
    if run is None:
        raise ApiError(404, "job_not_found", f"no job {job_id!r}", "job_id")
    if not is_walkforward(run):
        raise ApiError(404, "not_walkforward", f"job {job_id} is not a walk-forward run", "job_id")
    return run


def _body(raw: Any) -> dict[str, Any]:
    """The ``walkforward`` object as the core's settings parser takes it."""
    if raw is None:
        raise ApiError(400, "invalid_field", "give a walkforward object (is_days and oos_days, or windows)",
                       "walkforward")
    try:
        body = WalkForwardBody.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(["walkforward", *(str(part) for part in error["loc"])])
        raise ApiError(400, "invalid_field", f"{field}: {error['msg']}", field) from None
    return body.model_dump(exclude_none=True)


def _checked(model: type[BaseModel], data: dict[str, Any]) -> dict[str, Any]:
    """``data`` as the model describes it: a response that drifts from its model fails here, in tests."""
    model.model_validate(data)
    return data
