"""Overfitting and robustness of a finished job: the CSCV matrix, a trial's plateau and
Monte Carlo, and parameter heatmaps. Response bodies are pydantic models (OpenAPI).

Every figure is computed by ``backtune.robustness`` (docs/robustness.md); these
endpoints only read a run directory's results (those of its last finished stretch while a
resumed job runs), and cache what they compute in it.
"""

from __future__ import annotations

import math
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from pydantic import BaseModel, ConfigDict, Field

from app.web.errors import ApiError
from backtune.optimize.config import RunConfig
from backtune.optimize.rundir import RunDir

bp = Blueprint("robustness", __name__)
MAX_SCENARIOS = 100_000


class _Model(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class CscvResponse(_Model):
    blocks: int = Field(description="S: the trading window's per-bar returns split into S contiguous blocks")
    trials: list[int] = Field(description="Trial numbers used (the best cscv_max_trials by target), best first")
    stats: list[list[list[float]]] = Field(
        description="Per trial, per block: [n, sum, sum of squares] of its per-bar returns")
    pbo: float | None = Field(description="Probability of backtest overfitting: share of logits <= 0; "
                                             "null with fewer than 10 trials")
    logits: list[float] | None = Field(description="Per split of the C(S, S/2): logit of the in-sample best "
                                                      "trial's relative rank out of sample")
    is_sharpe: list[float | None] | None = Field(
        description="Per split: the in-sample best trial's per-bar Sharpe ratio in sample (degradation x)")
    oos_sharpe: list[float | None] | None = Field(
        description="Per split: the same trial's per-bar Sharpe ratio out of sample (degradation y)")


class Quantiles(_Model):
    p5: float = Field(description="5th percentile")
    p50: float = Field(description="Median")
    p95: float = Field(description="95th percentile")


class Fan(_Model):
    trades: list[int] = Field(description="Trade counts at which equity is sampled")
    p5: list[float] = Field(description="5th percentile of equity after that many trades")
    p25: list[float] = Field(description="25th percentile")
    p50: list[float] = Field(description="Median")
    p75: list[float] = Field(description="75th percentile")
    p95: list[float] = Field(description="95th percentile")


class Histogram(_Model):
    edges: list[float] = Field(description="Bin edges (one more than the counts)")
    counts: list[int] = Field(description="Scenarios per bin")


class Simulation(_Model):
    final_equity: Quantiles = Field(description="Final equity over the scenarios")
    max_drawdown_pct: Quantiles = Field(description="Max trade-to-trade drawdown (%) over the scenarios")
    prob_drawdown_exceeds: dict[str, float] = Field(description="Drawdown level (%) -> share of scenarios beyond it")
    drawdown_histogram: Histogram = Field(description="Distribution of the scenarios' max drawdown (%)")
    fan: Fan = Field(description="Equity percentiles along the trade sequence")


class MonteCarlo(_Model):
    scenarios: int = Field(description="Scenarios per simulation")
    seed: int = Field(description="Random seed: the same seed gives the same scenarios")
    trades: int = Field(description="Closed trades of the trial")
    initial_capital: float = Field(description="Equity every scenario starts with")
    reshuffle: Simulation | None = Field(description="Trades in random order (final equity unchanged)")
    bootstrap: Simulation | None = Field(description="Trades drawn with replacement")


class Neighbour(_Model):
    params: dict[str, int | float | bool | str] = Field(description="The moved (numeric, searched) parameters")
    value: float = Field(description="The target of this neighbour")
    net_profit_pct: float = Field(description="Net profit (%) of this neighbour")


class Plateau(_Model):
    number: int = Field(description="Trial number")
    value: float = Field(description="The trial's target value")
    neighbours: int = Field(description="Neighbours evaluated")
    invalid: int = Field(description="Neighbours the strategy rejects")
    p5: float | None = Field(description="5th percentile of the neighbours' target on the bad side")
    median: float | None = Field(description="Median of the neighbours' target")
    worst: float | None = Field(description="Worst neighbour target")
    retention: float | None = Field(description="p5 / value (value / p5 for a minimised target)")
    share_profitable: float | None = Field(description="Share of neighbours with a net profit above 0")
    at_edge: list[str] = Field(description="Searched parameters at an end of their searched range")
    table: list[Neighbour] = Field(description="Every neighbour")


class RobustnessResponse(_Model):
    number: int = Field(description="Trial number")
    plateau: Plateau = Field(description="The trial's ±1-step parameter neighbourhood")
    monte_carlo: MonteCarlo = Field(description="Reshuffle and bootstrap of the trial's trades")


class Axis(_Model):
    name: str = Field(description="Parameter name")
    values: list[int | float | bool | str] = Field(description="Cell labels: values, or bin centres")


class HeatmapResponse(_Model):
    x: Axis = Field(description="Columns")
    y: Axis = Field(description="Rows")
    max: list[list[float | None]] = Field(description="Best target per cell (rows x columns), null when empty")
    median: list[list[float | None]] = Field(description="Median target per cell")
    count: list[list[int | None]] = Field(description="Completed trials per cell")


def _finished(job_id: str) -> tuple[RunDir, dict[str, Any]]:
    store = current_app.config["JOBS"]
    run = store.run(job_id)
    if run is None:
        raise ApiError(404, "job_not_found", f"no job {job_id!r}", "job_id")
    if not run.results_file.exists():
        raise ApiError(409, "not_finished", f"job {job_id} has not finished; these figures need every trial", "job_id")
    # A resumed job keeps the results of its last finished stretch until the next one ends.
    return run, run.read_json(run.results_file)


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    text = request.args.get(name)
    if text is None:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise ApiError(400, "invalid_field", f"{name} must be a whole number in {low}..{high}, got {text!r}", name)
    return int(text)


def _drawdown_arg() -> float | None:
    text = request.args.get("drawdown")
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < 1000:
        raise ApiError(400, "invalid_field", f"drawdown must be a percentage above 0, got {text!r}", "drawdown")
    return value


@bp.get("/api/jobs/<job_id>/cscv")
def get_cscv(job_id: str):
    from backtune.robustness.cscv import MIN_TRIALS, cscv
    from backtune.robustness.overfitting import block_table

    run, results = _finished(job_id)
    config = RunConfig.parse(run.read_json(run.config_file))
    trials, table = block_table(run, config, results["results"])
    body = {"blocks": config.cscv_blocks, "trials": trials, "stats": table.tolist(), "pbo": None, "logits": None,
            "is_sharpe": None, "oos_sharpe": None}
    if len(trials) >= MIN_TRIALS:
        found = cscv(table)
        body.update(pbo=found.pbo, logits=found.logits.tolist(), is_sharpe=_finite_list(found.is_sharpe),
                    oos_sharpe=_finite_list(found.oos_sharpe))
    return jsonify(CscvResponse.model_validate(body).model_dump())


def _finite_list(values) -> list[float | None]:
    return [float(v) if math.isfinite(v) else None for v in values]


@bp.get("/api/jobs/<job_id>/trials/<int:number>/robustness")
def get_robustness(job_id: str, number: int):
    from backtune.robustness.report import trial_robustness

    run, results = _finished(job_id)
    rows = results["results"]
    if not any(r["number"] == number and r["rank"] is not None for r in rows):
        raise ApiError(404, "trial_not_found", f"job {job_id} has no completed trial {number}", "number")
    scenarios = _int_arg("scenarios", 10_000, 1, MAX_SCENARIOS)
    seed = _int_arg("seed", 1, 0, 2**31 - 1)
    report = trial_robustness(run, rows, number, scenarios, seed, drawdown_pct=_drawdown_arg())
    return jsonify(RobustnessResponse.model_validate(report).model_dump())


@bp.get("/api/jobs/<job_id>/heatmap")
def get_heatmap(job_id: str):
    from backtune.robustness.heatmap import heatmap

    run, results = _finished(job_id)
    config = RunConfig.parse(run.read_json(run.config_file))
    searched = [r.name for r in config.space.ranges]
    names = []
    for axis, default in (("x", 0), ("y", 1)):
        name = request.args.get(axis) or (searched[default] if default < len(searched) else None)
        if name not in searched:
            raise ApiError(400, "invalid_field", f"{axis} must be a searched parameter ({', '.join(searched)}), "
                                                 f"got {name!r}", axis)
        names.append(name)
    return jsonify(HeatmapResponse.model_validate(heatmap(results["results"], *names)).model_dump())


def openapi_paths() -> tuple[dict[str, Any], dict[str, Any]]:
    """``(paths, schemas)`` of these endpoints for the OpenAPI 3.0 document, from the models."""
    schemas: dict[str, Any] = {}
    for model in (CscvResponse, RobustnessResponse, HeatmapResponse):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update({name: _openapi30(s) for name, s in schema.pop("$defs", {}).items()})
        schemas[model.__name__] = _openapi30(schema)
    job = {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}, "description": "Job id"}
    number = {"name": "number", "in": "path", "required": True, "schema": {"type": "integer"},
              "description": "Trial number"}

    def query(name: str, description: str, kind: str = "integer") -> dict[str, Any]:
        return {"name": name, "in": "query", "required": False, "schema": {"type": kind}, "description": description}

    def get(summary: str, model: type[BaseModel], parameters: list[dict[str, Any]], *errors: int) -> dict[str, Any]:
        responses = {"200": {"description": "OK", "content": {"application/json": {
            "schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}}}
        for status in errors:
            responses[str(status)] = {"description": "Error", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Error"}}}}
        return {"get": {"tags": ["jobs"], "summary": summary, "parameters": parameters, "responses": responses}}

    paths = {
        "/api/jobs/{job_id}/cscv": get("CSCV block statistics and PBO of a finished job (docs/robustness.md)",
                                       CscvResponse, [job], 404, 409),
        "/api/jobs/{job_id}/trials/{number}/robustness": get(
            "A trial's parameter plateau and Monte Carlo (computed on demand, cached)", RobustnessResponse,
            [job, number, query("scenarios", f"Monte Carlo scenarios, 1-{MAX_SCENARIOS} (default 10000)"),
             query("seed", "Random seed (default 1)"),
             query("drawdown", "Also report P(drawdown > this %) beside 10, 20, 30 and 50", "number")],
            400, 404, 409),
        "/api/jobs/{job_id}/heatmap": get(
            "Two searched parameters against the target: max and median per cell", HeatmapResponse,
            [job, query("x", "Column parameter (default: the first searched)", "string"),
             query("y", "Row parameter (default: the second searched)", "string")], 400, 404, 409),
    }
    return paths, schemas


def _openapi30(schema: Any) -> Any:
    """Pydantic writes JSON Schema 2020-12; OpenAPI 3.0 spells ``X | None`` as ``nullable``."""
    if isinstance(schema, list):
        return [_openapi30(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    schema = {k: _openapi30(v) for k, v in schema.items() if k != "title"}
    options = schema.get("anyOf")
    if options and {"type": "null"} in options:
        rest = [o for o in options if o != {"type": "null"}]
        schema.pop("anyOf")
        if len(rest) == 1 and "$ref" in rest[0]:
            schema.update(allOf=rest, nullable=True)
        elif len(rest) == 1:
            schema.update(**rest[0], nullable=True)
        else:
            schema.update(anyOf=rest, nullable=True)
    return schema
