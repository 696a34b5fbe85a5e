"""``POST /api/optimize``: validate, prepare the run, queue it; optionally wait for it.

Everything that can refuse the request is checked before the upload is kept, and an
upload this request stored is removed again if the run is refused after all (a window
with no bars of that file), so a rejected request stores nothing.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, current_app, jsonify, request

from app.web.api.remote import shared_study
from app.web.body_limits import json_body
from app.web.contract.models.jobs import Queued, Results
from app.web.contract.models.optimize import (
    OptimizeForm,
    OptimizeOptions,
    OptimizeQuery,
    OptimizeRequest,
)
from app.web.contract.parse import parse_fields, parse_json
from app.web.contract.registry import Answer, operation
from app.web.datasource import dataset_for_request, discard_new_upload
from app.web.errors import ApiError
from app.web.jobs_view import job_links, job_record, result_rows
from app.web.optimize_request import canonical_config, client_names, run_limits
from backtune.jobs.scheduler import enqueue
from backtune.jobs.store import FINISHED
from backtune.optimize.config import RunConfig
from backtune.optimize.run import prepare_run
from backtune.registry import get_strategy

bp = Blueprint("optimize", __name__)
WAIT_POLL_S = 0.2
UNSTORED = "(upload)"


@bp.post("/api/optimize")
@operation(
    "optimize",
    "Queue an optimisation",
    body=OptimizeRequest,
    form=OptimizeForm,
    query=OptimizeQuery,
    parse=False,
    documents=(OptimizeOptions,),
    description="Give exactly one of `file`, `dataset` and `csvPath`. With `?wait=true` the call blocks until "
    "the job ends (at most BACKTUNE_WAIT_LIMIT_S) and answers with its results, or with the job "
    "and 202 if it is still going.",
    replies={
        202: Answer(Queued, "Queued (with ?wait=true: the job, still going)", location="/api/jobs/{job_id}"),
        200: Answer(Results, "Finished within the wait"),
    },
    errors=(400, 403, 404, 413, 415),
)
def optimize(query: OptimizeQuery):
    settings = current_app.config["SETTINGS"]
    options, fields, warmup_bars = _request_parts()
    strategy = get_strategy(fields["strategy"])
    limits = run_limits(settings)
    with client_names():
        raw = canonical_config(strategy, options, UNSTORED, warmup_bars, limits)
        if settings.database_url:  # the live study goes to the shared database, for remote workers
            raw.update(shared_study(settings.database_url))
        config = RunConfig.parse(raw)
        limits.check(config)
    dataset = dataset_for_request(fields, request.files)
    config = dataclasses.replace(config, data=str(dataset.path))
    with discard_new_upload(dataset), client_names():
        run = prepare_run(config, settings.runs_dir, bars=dataset.bars)
    store = current_app.config["JOBS"]
    enqueue(store, run, settings.max_jobs, dataset_name=dataset.name)
    if query.wait == "true":
        return _wait(run, settings.wait_limit_s)
    response = jsonify(
        {"job_id": run.run_id, "status": store.state(run)["status"], "links": job_links(store, run.run_id)}
    )
    response.status_code = 202
    response.headers["Location"] = f"/api/jobs/{run.run_id}"
    return response


def _request_parts() -> tuple[OptimizeOptions, Mapping[str, Any], int]:
    """(options, request-level fields, warm-up bars) from either accepted request form.

    multipart: ``config`` is a JSON string of options; ``strategy``, ``warmupBars``,
    ``csvPath``/``dataset`` are form fields. JSON: everything at the top level.
    """
    if request.mimetype == "application/json":
        body = parse_json(OptimizeRequest, json_body())
        return body, body.model_dump(include={"strategy", "dataset", "csvPath"}), body.warmupBars
    if request.mimetype not in ("multipart/form-data", "application/x-www-form-urlencoded"):
        raise ApiError(415, "unsupported_media_type", "send multipart/form-data or application/json", "body")
    form = parse_fields(OptimizeForm, request.form.to_dict())
    options = parse_json(OptimizeOptions, form.config, field="config")
    return options, form.model_dump(include={"strategy", "dataset", "csvPath"}), form.warmupBars


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
    summary, rows = result_rows(current_app.config["RUNS_STORAGE"], run, status)
    return jsonify(
        {
            "job_id": run.run_id,
            "status": status,
            "summary": summary,
            "total": len(rows),
            "results": rows,
            "links": job_links(store, run.run_id),
        }
    )
