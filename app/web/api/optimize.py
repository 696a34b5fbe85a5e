"""``POST /api/optimize``: validate, prepare the run, queue it; optionally wait for it."""

from __future__ import annotations

import json
import time
from typing import Any, Mapping

from flask import Blueprint, current_app, jsonify, request

from app.web.datasource import dataset_for_request
from app.web.errors import ApiError
from app.web.jobs_view import job_links, job_record, result_rows
from app.web.optimize_request import canonical_config, client_field
from app.web.api.remote import shared_study
from backtune.errors import FieldError
from backtune.jobs.scheduler import enqueue
from backtune.jobs.store import FINISHED
from backtune.optimize.config import RunConfig
from backtune.optimize.run import prepare_run
from backtune.registry import get_strategy

bp = Blueprint("optimize", __name__)
WAIT_POLL_S = 0.2


@bp.post("/api/optimize")
def optimize():
    settings = current_app.config["SETTINGS"]
    options, fields = _request_parts()
    strategy_id = fields.get("strategy")
    if not strategy_id:
        raise ApiError(400, "invalid_field", "give the strategy id", "strategy")
    strategy = get_strategy(strategy_id)
    dataset = dataset_for_request(fields, request.files)
    raw = canonical_config(strategy, options, str(dataset.path), fields.get("warmupBars", fields.get("warmup_bars")),
                           settings.max_workers)
    if settings.database_url:
        raw.update(shared_study(settings.database_url))
    try:
        config = RunConfig.parse(raw)
    except FieldError as exc:
        raise ApiError(400, "invalid_field", f"{client_field(exc.field)}: {exc.reason}",
                       client_field(exc.field)) from None
    run = prepare_run(config, settings.runs_dir, bars=dataset.bars)
    store = current_app.config["JOBS"]
    enqueue(store, run, settings.max_jobs, dataset_name=dataset.name)
    if request.args.get("wait") == "true":
        return _wait(run, settings.wait_limit_s)
    response = jsonify({"job_id": run.run_id, "status": store.state(run)["status"],
                        "links": job_links(store, run.run_id)})
    response.status_code = 202
    response.headers["Location"] = f"/api/jobs/{run.run_id}"
    return response


def _request_parts() -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """(optimisation options, request-level fields) from either accepted request form.

    multipart: ``config`` is a JSON string of options; ``strategy``, ``warmupBars``,
    ``csvPath``/``dataset`` are form fields. JSON: everything at the top level.
    """
    if request.mimetype == "application/json":
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise ApiError(400, "malformed_json", "the body is not a JSON object", "body")
        request_keys = ("strategy", "warmupBars", "warmup_bars", "csvPath", "dataset")
        return ({k: v for k, v in body.items() if k not in request_keys},
                {k: body[k] for k in request_keys if k in body})
    if request.mimetype not in ("multipart/form-data", "application/x-www-form-urlencoded"):
        raise ApiError(415, "unsupported_media_type", "send multipart/form-data or application/json", "body")
    text = request.form.get("config", "{}")
    try:
        options = json.loads(text or "{}")
    except json.JSONDecodeError as exc:
        raise ApiError(400, "malformed_json", f"config is not valid JSON ({exc.msg} at column {exc.colno})",
                       "config") from None
    if not isinstance(options, dict):
        raise ApiError(400, "malformed_json", "config must be a JSON object", "config")
    return options, request.form.to_dict()


def _wait(run, limit_s: float):
    """Block until the job ends or ``limit_s`` passes (BACKTUNE_WAIT_LIMIT_S), then answer
    with the results, or with the job's state and 202 if it is still going."""
    store = current_app.config["JOBS"]
    deadline = time.monotonic() + limit_s
    while store.state(run)["status"] not in FINISHED and time.monotonic() < deadline:
        time.sleep(WAIT_POLL_S)
    status = store.state(run)["status"]
    if status not in FINISHED:
        response = jsonify(job_record(store, run))
        response.status_code = 202
        return response
    summary, rows = result_rows(current_app.config["CATALOG"], run, status)
    return jsonify({"job_id": run.run_id, "status": status, "summary": summary, "total": len(rows),
                    "results": rows, "links": job_links(store, run.run_id)})
