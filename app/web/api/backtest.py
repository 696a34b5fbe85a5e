"""``POST /api/backtest``: one strategy, one parameter set, one dataset, answered at once.

The answer is the CLI's ``--json`` report (backtune.report) plus a thinned equity curve,
so the web and the command line cannot disagree about a result.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, jsonify, request

from app.web.datasource import dataset_for_request
from app.web.errors import ApiError
from backtune.engine.backtest import EngineSettings, run_backtest
from backtune.metrics import compute_metrics
from backtune.registry import get_strategy
from backtune.report import backtest_report, equity_points
from backtune.window import DataWindow

bp = Blueprint("backtest", __name__)
FIELDS = ("dataset", "csvPath", "strategy", "params", "start", "end", "warmup_bars", "capital", "commission")


@bp.post("/api/backtest")
def backtest():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "malformed_json", "send a JSON object (Content-Type: application/json)", "body")
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise ApiError(400, "unknown_field", f"{unknown[0]}: unknown field (known: {', '.join(FIELDS)})",
                       unknown[0])
    # Cheap checks first: a typo in a parameter should not wait for a large file to load.
    strategy = get_strategy(_required_text(body, "strategy"))
    params = strategy.validate(_object(body, "params"))
    window = DataWindow.parse(_optional_text(body, "start"), _optional_text(body, "end"), body.get("warmup_bars", 0))
    defaults = EngineSettings()
    settings = EngineSettings.checked(_number(body, "capital", defaults.initial_capital),
                                      _number(body, "commission", defaults.commission))
    bars = dataset_for_request(body).bars
    result = run_backtest(bars, strategy, params, window, settings)
    report = backtest_report(strategy.id, params, result, compute_metrics(result).as_dict())
    report["equity"] = equity_points(result)
    return jsonify(report)


def _invalid(field: str, reason: str) -> ApiError:
    return ApiError(400, "invalid_field", f"{field}: {reason}", field)


def _required_text(body: Mapping[str, Any], field: str) -> str:
    value = body.get(field)
    if not isinstance(value, str) or not value:
        raise _invalid(field, f"expected a non-empty string, got {value!r}")
    return value


def _optional_text(body: Mapping[str, Any], field: str) -> str | None:
    value = body.get(field)
    if value is not None and not isinstance(value, str):
        raise _invalid(field, f"expected a date/time string such as 2025-06-15, got {value!r}")
    return value


def _object(body: Mapping[str, Any], field: str) -> dict[str, Any]:
    value = body.get(field, {})
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _invalid(field, f"expected an object of name -> value, got {value!r}")
    return value


def _number(body: Mapping[str, Any], field: str, default: float) -> float:
    value = body.get(field, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _invalid(field, f"expected a number, got {value!r}")
    return float(value)
