"""``POST /api/backtest``: one strategy, one parameter set, one dataset, answered at once.

The answer is the CLI's ``--json`` report (backtune.report) plus a thinned equity curve,
so the web and the command line cannot disagree about a result.
"""

from __future__ import annotations

from flask import Blueprint, jsonify

from app.web.contract.models.backtest import BacktestReport, BacktestRequest
from app.web.contract.registry import operation
from app.web.datasource import dataset_for_request
from backtune.engine.backtest import EngineSettings, run_backtest
from backtune.metrics import compute_metrics
from backtune.registry import get_strategy
from backtune.report import backtest_report, equity_points
from backtune.window import DataWindow

bp = Blueprint("backtest", __name__)


@bp.post("/api/backtest")
@operation(
    "backtest",
    "Run one backtest",
    body=BacktestRequest,
    replies={200: BacktestReport},
    description="Give exactly one of `dataset` and `csvPath`.",
    errors=(400, 403, 404, 413),
)
def backtest(body: BacktestRequest):
    # Cheap checks first: a typo in a parameter should not wait for a large file to load.
    strategy = get_strategy(body.strategy)
    params = strategy.validate(body.params or {})
    window = DataWindow.parse(body.start, body.end, body.warmup_bars)
    settings = EngineSettings.checked(body.capital, body.commission)
    bars = dataset_for_request(body.model_dump(include={"dataset", "csvPath"})).bars
    result = run_backtest(bars, strategy, params, window, settings)
    report = backtest_report(strategy.id, params, result, compute_metrics(result).as_dict())
    report["equity"] = equity_points(result)
    return jsonify(report)
