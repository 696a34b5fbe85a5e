"""``GET /api/openapi.json``: the whole API as an OpenAPI 3.0 document.

The document is plain data kept beside the code it describes, and its enumerations
(job states, samplers, pruners, budget modes, targets, parameter types, metrics) are
read from the core modules that define them, so they cannot drift from what the server
accepts. ``tests/test_api_data.py`` validates it and checks that every mounted route
is listed.
"""

from __future__ import annotations

import typing
from typing import Any

from flask import Blueprint, jsonify

from app.web.api.robustness import openapi_paths as robustness_openapi
from backtune.data.store import CHART_POINTS, PREVIEW_ROWS
from backtune.jobs.store import ACTIVE, FINISHED
from backtune.metrics import METRICS, Metrics
from backtune.optimize.config import BUDGET_MODES, MAX_WORKERS, PRUNERS, SAMPLERS
from backtune.optimize.targets import TARGETS
from backtune.params import PARAM_TYPES

bp = Blueprint("openapi", __name__)

Schema = dict[str, Any]


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: Schema, description: str = "OK") -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Schema]:
    return {str(status): {"$ref": f"#/components/responses/{ERRORS[status][0]}"} for status in statuses}


def _obj(properties: dict[str, Schema], required: tuple[str, ...] = (), **extra: Any) -> Schema:
    schema: Schema = {"type": "object", "properties": properties, **extra}
    if required:
        schema["required"] = list(required)
    return schema


def _path_param(name: str, description: str, kind: str = "string") -> Schema:
    return {"name": name, "in": "path", "required": True, "description": description, "schema": {"type": kind}}


def _query(name: str, description: str, schema: Schema) -> Schema:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


STRING = {"type": "string"}
TIME = {"type": "string", "format": "date-time", "example": "2025-06-15T00:00:00Z"}
INT = {"type": "integer"}
NUMBER = {"type": "number"}
NULLABLE_NUMBER = {"type": "number", "nullable": True}
ANY_OBJECT = {"type": "object", "additionalProperties": True}

ERRORS: dict[int, tuple[str, str]] = {
    400: ("BadRequest", "A field is missing or invalid; `error.field` names it"),
    401: ("Unauthorized", "BACKTUNE_API_TOKEN is set and the bearer token is missing or wrong"),
    403: ("Forbidden", "`csvPath` resolves outside BACKTUNE_CSV_ROOTS (`forbidden_path`)"),
    404: ("NotFound", "The dataset, strategy, job, trial or file does not exist"),
    409: ("Conflict", "The job is not in a state that allows this"),
    413: ("TooLarge", "The request body is over BACKTUNE_MAX_UPLOAD_MB"),
    415: ("UnsupportedMediaType", "Send multipart/form-data or application/json"),
}


def _metrics_schema() -> Schema:
    """One property per metric, described by the metric's own label and unit."""
    types = typing.get_type_hints(Metrics)
    return _obj(
        {
            spec.key: {"type": "integer" if types[spec.key] is int else "number", "nullable": True,
                       "description": f"{spec.label} ({spec.unit}); null when undefined (NaN or infinite)"}
            for spec in METRICS
        },
        description="Figures over the trading window; formulas in docs/metrics.md",
    )


def _schemas() -> dict[str, Schema]:
    data_source = {
        "dataset": {"type": "string", "description": "A dataset id from GET /api/datasets"},
        "csvPath": {"type": "string", "description": "A CSV path on the server, inside BACKTUNE_CSV_ROOTS "
                                                     "(relative paths are tried against each root)"},
    }
    bar = _obj({"time": TIME, "open": NUMBER, "high": NUMBER, "low": NUMBER, "close": NUMBER,
                "volume": NULLABLE_NUMBER}, ("time", "open", "high", "low", "close", "volume"))
    links = _obj({"self": STRING, "results": STRING, "dashboard": STRING, "page": STRING},
                 ("self", "results", "dashboard"))
    status = {"type": "string", "enum": [*ACTIVE, *FINISHED]}
    range_or_select = {
        "oneOf": [
            {"type": "array", "items": NUMBER, "minItems": 2, "maxItems": 3,
             "description": "[from, to, step]; step optional"},
            _obj({"type": {"type": "string", "enum": ["select"]}, "values": {"type": "array", "items": {}}},
                 ("type", "values")),
        ]
    }
    optimize_config = _obj(
        {
            "worker_processes": {"type": "integer", "minimum": 1, "maximum": MAX_WORKERS,
                                 "description": "Clamped to BACKTUNE_MAX_WORKERS"},
            "enabled_params": {"oneOf": [{"type": "array", "items": STRING},
                                         {"type": "object", "additionalProperties": {"type": "boolean"}}],
                               "description": "Parameters to search; the others stay fixed"},
            "param_ranges": {"type": "object", "additionalProperties": range_or_select},
            "fixed_params": _obj({"dateFilter": {"type": "boolean"}, "start": STRING, "end": STRING},
                                 additionalProperties=True,
                                 description="Values of parameters not searched, and the date window "
                                             "(applied when dateFilter is true)"),
            "filter_min_profit": {"type": "boolean"},
            "min_profit_threshold": NUMBER,
            "score_config": ANY_OBJECT,
            "optuna_target": {"oneOf": [{"type": "string", "enum": list(TARGETS)},
                                        {"type": "array", "items": {"type": "string", "enum": list(TARGETS)},
                                         "minItems": 2, "maxItems": 4}]},
            "optuna_budget_mode": {"type": "string", "enum": list(BUDGET_MODES)},
            "optuna_n_trials": {"type": "integer", "minimum": 1},
            "optuna_time_limit": {"type": "number", "minimum": 0, "exclusiveMinimum": True,
                                  "description": "Seconds"},
            "optuna_convergence": {"type": "integer", "minimum": 1,
                                   "description": "Patience: trials without improvement"},
            "optuna_sampler": {"type": "string", "enum": list(SAMPLERS)},
            "optuna_pruner": {"type": "string", "enum": list(PRUNERS)},
            "optuna_warmup_trials": {"type": "integer", "minimum": 0},
            "optuna_save_study": {"type": "boolean"},
        },
        description="Optimisation options (docs/optimization.md)",
    )
    return {
        "Error": _obj({"error": _obj({"code": STRING, "message": STRING,
                                      "field": {"type": "string", "nullable": True}},
                                     ("code", "message", "field"))}, ("error",)),
        "DataSummary": _obj(
            {"rows": INT, "first_time": TIME, "last_time": TIME, "interval_seconds": INT,
             "interval_label": {"type": "string", "example": "15m"},
             "columns": {"type": "object", "additionalProperties": STRING,
                         "description": "Role (time, open, ...) -> header as written in the file"},
             "file_name": STRING, "sha256": STRING},
            ("rows", "first_time", "last_time", "interval_seconds", "interval_label", "columns", "file_name",
             "sha256"),
        ),
        "ParseFailure": _obj(
            {"message": {"type": "string", "description": "Located: file, row and column, then the reason"},
             "reason": STRING, "row": {"type": "integer", "nullable": True, "description": "Line in the file"},
             "column": {"type": "string", "nullable": True, "description": "Header as written in the file"}},
            ("message", "reason", "row", "column"),
        ),
        "Dataset": _obj(
            {"id": {"type": "string", "pattern": "^[0-9a-f]{16}$"}, "name": STRING, "file_name": STRING,
             "uploaded_at": TIME, "sample": {"type": "boolean"}, "description": STRING, "sha256": STRING,
             "format_version": {"type": "integer", "description": "Version of the reading rules that made the summary"},
             "summary": {"allOf": [_ref("DataSummary")], "nullable": True,
                         "description": "null when the current reading rules reject the file"},
             "error": {"allOf": [_ref("ParseFailure")], "nullable": True,
                       "description": "Why the current reading rules reject the file; null when they read it"}},
            ("id", "name", "file_name", "uploaded_at", "sample", "description", "sha256", "format_version",
             "summary", "error"),
        ),
        "DatasetList": _obj({"datasets": {"type": "array", "items": _ref("Dataset")}, "total": INT},
                            ("datasets", "total")),
        "Bar": bar,
        "DatasetDetail": {"allOf": [_ref("Dataset"), _obj(
            {"preview": _obj({"head": {"type": "array", "items": _ref("Bar"), "maxItems": PREVIEW_ROWS},
                              "tail": {"type": "array", "items": _ref("Bar"), "maxItems": PREVIEW_ROWS}},
                             ("head", "tail")),
             "chart": {"type": "array", "maxItems": CHART_POINTS,
                       "description": "[iso_time, close] pairs, min/max-preserving downsample",
                       "items": {"type": "array", "items": {"oneOf": [STRING, NUMBER]}, "minItems": 2,
                                 "maxItems": 2}}},
            ("preview", "chart"))]},
        "Param": _obj(
            {"name": STRING, "type": {"type": "string", "enum": list(PARAM_TYPES)},
             "default": {"description": "Number, boolean or string, by type"}, "label": STRING,
             "group": STRING, "description": STRING, "min": NULLABLE_NUMBER, "max": NULLABLE_NUMBER,
             "step": NULLABLE_NUMBER, "choices": {"type": "array", "items": {}},
             "bounds": {"type": "array", "items": NUMBER, "nullable": True,
                        "description": "Values accepted at all (may be wider than min..max)"},
             "optimize": {"type": "boolean", "description": "Searched by default"}},
            ("name", "type", "default"),
        ),
        "Strategy": _obj({"id": STRING, "name": STRING, "description": STRING,
                          "params": {"type": "array", "items": _ref("Param")}},
                         ("id", "name", "description", "params")),
        "StrategyList": _obj({"strategies": {"type": "array", "items": _ref("Strategy")}, "total": INT},
                             ("strategies", "total")),
        "BacktestRequest": _obj(
            {**data_source,
             "strategy": STRING,
             "params": {"type": "object", "additionalProperties": True,
                        "description": "Parameter values; missing ones take their defaults"},
             "start": {**TIME, "nullable": True, "description": "First tradable bar (UTC, inclusive)"},
             "end": {**TIME, "nullable": True, "description": "Last bar (UTC, inclusive)"},
             "warmup_bars": {"type": "integer", "minimum": 0, "default": 0},
             "capital": {"type": "number", "default": 10_000, "description": "> 0"},
             "commission": {"type": "number", "default": 0.0005, "minimum": 0, "maximum": 0.1,
                            "exclusiveMaximum": True, "description": "Fraction of notional, per side"}},
            ("strategy",),
            additionalProperties=False,
        ),
        "Metrics": _metrics_schema(),
        "Trade": _obj(
            {"direction": {"type": "string", "enum": ["long", "short"]}, "entry_time": TIME, "exit_time": TIME,
             "entry_price": NUMBER, "exit_price": NUMBER, "size": NUMBER, "net_pnl": NUMBER, "pnl_pct": NUMBER,
             "bars": INT},
            ("direction", "entry_time", "exit_time", "entry_price", "exit_price", "size", "net_pnl", "pnl_pct",
             "bars"),
        ),
        "OpenPosition": _obj(
            {"direction": {"type": "string", "enum": ["long", "short"]}, "entry_time": TIME, "entry_price": NUMBER,
             "size": NUMBER, "mark_price": NUMBER, "unrealized_pnl": NUMBER, "bars": INT},
            nullable=True,
        ),
        "Window": _obj({"start": TIME, "end": TIME, "warmup_bars": INT, "first_bar": TIME, "bars": INT},
                       ("start", "end", "warmup_bars", "first_bar", "bars")),
        "BacktestReport": _obj(
            {"strategy": STRING, "params": ANY_OBJECT, "window": _ref("Window"), "metrics": _ref("Metrics"),
             "trades": {"type": "array", "items": _ref("Trade")}, "open_position": _ref("OpenPosition"),
             "equity": {"type": "array", "maxItems": 1000,
                        "description": "[iso_time, equity, drawdown_pct] over the trading window, at most "
                                       "1000 points; drawdown_pct is <= 0 (percent below the running peak)",
                        "items": {"type": "array", "items": {"oneOf": [STRING, NUMBER]}, "minItems": 3,
                                  "maxItems": 3}}},
            ("strategy", "params", "window", "metrics", "trades", "open_position", "equity"),
        ),
        "OptimizeConfig": optimize_config,
        "OptimizeForm": _obj(
            {"file": {"type": "string", "format": "binary", "description": "An OHLCV CSV (kept in the dataset store)"},
             **data_source,
             "strategy": STRING,
             "warmupBars": {"type": "integer", "minimum": 0},
             "config": {"type": "string", "description": "OptimizeConfig as a JSON string"}},
            ("strategy",),
        ),
        "OptimizeJson": {"allOf": [_ref("OptimizeConfig"), _obj(
            {**data_source, "strategy": STRING, "warmupBars": {"type": "integer", "minimum": 0}}, ("strategy",))]},
        "JobLinks": links,
        "JobStatus": status,
        "JobAccepted": _obj({"job_id": STRING, "status": _ref("JobStatus"), "links": _ref("JobLinks")},
                            ("job_id", "status", "links")),
        "Progress": _obj(
            {"done": INT, "trial_limit": {"type": "integer", "nullable": True}, "elapsed_s": NUMBER,
             "trials_per_s": NUMBER, "eta_s": NULLABLE_NUMBER, "best_value": NULLABLE_NUMBER,
             "best_params": {**ANY_OBJECT, "nullable": True},
             "workers": {"description": "Per-worker state (pid, trials, state)"}},
            nullable=True, additionalProperties=True,
        ),
        "Job": _obj(
            {"job_id": STRING, "status": _ref("JobStatus"), "strategy": STRING, "dataset": STRING,
             "target": {"type": "array", "items": STRING}, "created": NULLABLE_NUMBER,
             "started": NULLABLE_NUMBER, "finished": NULLABLE_NUMBER, "best_value": NULLABLE_NUMBER,
             "trials": INT, "queue_position": {"type": "integer", "nullable": True,
                                                "description": "1 = next to start; null unless queued"},
             "links": _ref("JobLinks"), "progress": _ref("Progress"),
             "summary": {**ANY_OBJECT, "nullable": True, "description": "The run's summary once it ended"},
             "error": {"type": "string", "nullable": True}, "config": ANY_OBJECT},
            ("job_id", "status", "links"),
        ),
        "JobList": _obj({"jobs": {"type": "array", "items": _ref("Job")}, "total": INT}, ("jobs", "total")),
        "ResultRow": _obj(
            {"rank": {"type": "integer", "nullable": True}, "number": INT, "params": ANY_OBJECT,
             "metrics": _ref("Metrics"), "score": NULLABLE_NUMBER, "state": STRING,
             "values": {"type": "array", "items": NUMBER, "nullable": True},
             "percentile_score": NULLABLE_NUMBER, "pareto": {"type": "boolean"},
             "pruned_reason": STRING},
            ("rank", "number", "params", "metrics", "score", "state"),
        ),
        "Results": _obj(
            {"job_id": STRING, "status": _ref("JobStatus"), "summary": {**ANY_OBJECT, "nullable": True},
             "total": INT, "offset": INT, "limit": INT, "results": {"type": "array", "items": _ref("ResultRow")}},
            ("job_id", "summary", "total", "results"),
        ),
        "Trial": {"allOf": [_ref("BacktestReport"), _obj({"number": INT}, ("number",))]},
        "ResumeRequest": _obj(
            {"trials": {"type": "integer", "minimum": 1}, "seconds": {"type": "number", "minimum": 0,
                                                                     "exclusiveMinimum": True}},
            description="Give trials or seconds",
        ),
        "Health": _obj({"status": STRING, "unwritable": {"type": "array", "items": STRING}}, ("status",)),
    }


def _paths() -> dict[str, Schema]:
    dataset_id = _path_param("dataset_id", "Dataset id (16 hex characters)")
    strategy_id = _path_param("strategy_id", "Strategy id")
    job_id = _path_param("job_id", "Job id")
    return {
        "/healthz": {"get": {"tags": ["health"], "summary": "Liveness", "responses": {"200": _json(_ref("Health"))}}},
        "/readyz": {"get": {"tags": ["health"], "summary": "Readiness: data and runs folders writable",
                            "responses": {"200": _json(_ref("Health")),
                                          "503": _json(_ref("Health"), "Not ready")}}},
        "/api/openapi.json": {"get": {"tags": ["meta"], "summary": "This document",
                                      "responses": {"200": _json(ANY_OBJECT)}}},
        "/api/datasets": {
            "get": {"tags": ["datasets"], "summary": "Stored datasets: samples first, then uploads, newest first",
                    "responses": {"200": _json(_ref("DatasetList"))}},
            "post": {
                "tags": ["datasets"], "summary": "Upload an OHLCV CSV",
                "description": "Stored by content: the same bytes again return the existing entry (200).",
                "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": _obj(
                    {"file": {"type": "string", "format": "binary"}}, ("file",))}}},
                "responses": {
                    "200": _json(_ref("Dataset"), "Already stored"),
                    "201": {**_json(_ref("Dataset"), "Stored"),
                            "headers": {"Location": {"schema": STRING, "description": "/api/datasets/{id}"}}},
                    **_errors(400, 413),
                },
            },
        },
        "/api/datasets/{dataset_id}": {"get": {
            "tags": ["datasets"], "summary": "One dataset: summary, first/last rows and a small close chart",
            "parameters": [dataset_id],
            "description": "`invalid_data` (400) with the located error when the current reading rules "
                           "reject the stored file.",
            "responses": {"200": _json(_ref("DatasetDetail")), **_errors(400, 404)}}},
        "/api/strategies": {"get": {"tags": ["strategies"], "summary": "Strategies and their parameters",
                                    "responses": {"200": _json(_ref("StrategyList"))}}},
        "/api/strategies/{strategy_id}": {"get": {
            "tags": ["strategies"], "summary": "One strategy's parameter declarations", "parameters": [strategy_id],
            "responses": {"200": _json(_ref("Strategy")), **_errors(404)}}},
        "/api/backtest": {"post": {
            "tags": ["backtest"], "summary": "Run one backtest",
            "description": "Give exactly one of `dataset` and `csvPath`.",
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("BacktestRequest")}}},
            "responses": {"200": _json(_ref("BacktestReport")), **_errors(400, 403, 404, 413)}}},
        "/api/optimize": {"post": {
            "tags": ["optimize"], "summary": "Queue an optimisation",
            "description": "Give exactly one of `file`, `dataset` and `csvPath`. With `?wait=true` the call "
                           "blocks until the job ends (at most BACKTUNE_WAIT_LIMIT_S) and answers with its "
                           "results, or with the job and 202 if it is still going.",
            "parameters": [_query("wait", "Block until the job ends", {"type": "string", "enum": ["true", "false"]})],
            "requestBody": {"required": True, "content": {
                "multipart/form-data": {"schema": _ref("OptimizeForm")},
                "application/json": {"schema": _ref("OptimizeJson")}}},
            "responses": {
                "202": {**_json({"oneOf": [_ref("JobAccepted"), _ref("Job")]}, "Queued (or still running after wait)"),
                        "headers": {"Location": {"schema": STRING, "description": "/api/jobs/{job_id}"}}},
                "200": _json({"allOf": [_ref("Results"), _obj({"links": _ref("JobLinks")})]},
                             "Finished within the wait"),
                **_errors(400, 403, 404, 413, 415)}}},
        "/api/jobs": {"get": {"tags": ["jobs"], "summary": "All jobs, newest first",
                              "responses": {"200": _json(_ref("JobList"))}}},
        "/api/jobs/{job_id}": {
            "get": {"tags": ["jobs"], "summary": "Status, queue position, progress and summary",
                    "parameters": [job_id], "responses": {"200": _json(_ref("Job")), **_errors(404)}},
            "delete": {"tags": ["jobs"], "summary": "Cancel: queued jobs at once, running ones between trials",
                       "parameters": [job_id], "responses": {"200": _json(_ref("Job")), **_errors(404, 409)}},
        },
        "/api/jobs/{job_id}/results": {"get": {
            "tags": ["jobs"], "summary": "Ranked trials (live while running)",
            "parameters": [
                job_id,
                _query("limit", "Page size", {"type": "integer", "minimum": 1, "default": 100}),
                _query("offset", "Rows to skip", {"type": "integer", "minimum": 0, "default": 0}),
                _query("sort", "rank, number, score, percentile_score or a metric key", STRING),
                _query("order", "Sort order", {"type": "string", "enum": ["asc", "desc"]}),
                _query("format", "csv for the spreadsheet export (finished jobs)",
                       {"type": "string", "enum": ["json", "csv"]}),
            ],
            "responses": {"200": {"description": "OK", "content": {
                "application/json": {"schema": _ref("Results")}, "text/csv": {"schema": STRING}}},
                **_errors(400, 404, 409)}}},
        "/api/jobs/{job_id}/trials/{number}": {"get": {
            "tags": ["jobs"], "summary": "One trial re-run: trades, equity and metrics",
            "parameters": [job_id, _path_param("number", "Trial number", "integer")],
            "responses": {"200": _json(_ref("Trial")), **_errors(404)}}},
        "/api/jobs/{job_id}/resume": {"post": {
            "tags": ["jobs"], "summary": "Continue a finished, cancelled or interrupted job",
            "parameters": [job_id],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("ResumeRequest")}}},
            "responses": {"202": {**_json(_ref("Job"), "Queued again"),
                                  "headers": {"Location": {"schema": STRING, "description": "/api/jobs/{job_id}"}}},
                          **_errors(400, 404, 409)}}},
    }


def _with_auth(paths: dict[str, Schema]) -> dict[str, Schema]:
    """Health checks and this document are open (app/web/auth.py); the rest of /api may
    answer 401, which every operation would otherwise have to repeat."""
    for path, operations in paths.items():
        for operation in operations.values():
            if path.startswith("/api/") and path != "/api/openapi.json":
                operation["responses"].update(_errors(401))
            else:
                operation["security"] = []
    return paths


ROBUSTNESS_PATHS, ROBUSTNESS_SCHEMAS = robustness_openapi()


def build_document() -> Schema:
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Backtune API",
            "version": "1.0.0",
            "description": "Backtest trading strategies and optimise their parameters. Every error is "
                           "`{\"error\": {\"code\", \"message\", \"field\"}}` with a 4xx status; `field` names "
                           "the input at fault. When the server sets BACKTUNE_API_TOKEN, send "
                           "`Authorization: Bearer <token>` to everything under /api/ but this document. "
                           "See docs/api.md.",
        },
        "servers": [{"url": "/"}],
        "security": [{}, {"bearerAuth": []}],
        "tags": [{"name": name} for name in ("health", "meta", "datasets", "strategies", "backtest", "optimize",
                                             "jobs")],
        "paths": _with_auth({**_paths(), **ROBUSTNESS_PATHS}),
        "components": {
            "schemas": {**_schemas(), **ROBUSTNESS_SCHEMAS},
            "responses": {name: _json(_ref("Error"), description) for name, description in ERRORS.values()},
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer",
                                               "description": "Required when BACKTUNE_API_TOKEN is set"}},
        },
    }


DOCUMENT = build_document()


@bp.get("/api/openapi.json")
def openapi_json():
    return jsonify(DOCUMENT)
