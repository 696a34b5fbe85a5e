"""The sealed holdout: the last stretch of data, which no search and no window reads.

Its result is computed only when the user opens it, never before, and every opening is
recorded with its time: a holdout looked at repeatedly while parameters are tweaked
stops being out of sample, and the record says how often that happened.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from backtune.data.loader import load_csv
from backtune.errors import FieldError
from backtune.metrics import compute_metrics
from backtune.optimize.rundir import RunDir
from backtune.optimize.runlog import run_log
from backtune.walkforward.runner import REPORT_FILE, oos_backtest, read_request, span_record
from backtune.walkforward.schedule import build_schedule

log = logging.getLogger("backtune.walkforward")
HOLDOUT_FILE = "holdout.json"


def openings(run: RunDir) -> list[str]:
    path = run.path / HOLDOUT_FILE
    return run.read_json(path)["openings"] if path.is_file() else []


def walkforward_report(run: RunDir) -> dict[str, Any]:
    """The stored report with the run's current status and the holdout's seal and openings."""
    report = run.read_json(run.path / REPORT_FILE)
    report["status"] = run.read_json(run.state_file)["status"]
    if report["holdout"] is not None:
        opened = openings(run)
        report["holdout"] = {**report["holdout"], "sealed": not opened, "openings": opened}
    return report


def open_holdout(run: RunDir) -> dict[str, Any]:
    """Backtest the last window's parameters on the holdout (as ``backtest --close-at-end``) and record the opening."""
    request = read_request(run)
    report = run.read_json(run.path / REPORT_FILE)
    if report["holdout"] is None:
        raise FieldError("holdout", "this walk-forward run keeps no holdout (set holdout_days or holdout_from)")
    if len(report["windows"]) < report["windows_planned"]:
        raise FieldError(
            "holdout",
            f"the run has finished {len(report['windows'])} of {report['windows_planned']} "
            "windows; resume it before opening the holdout",
        )
    bars = load_csv(Path(request.base.data)).bars
    span = build_schedule(bars.time, request.base.window, request.settings).holdout
    params = report["windows"][-1]["params"]
    metrics = compute_metrics(oos_backtest(request.base, bars, span, params)).as_dict()
    opened = [*openings(run), datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")]
    run.write_json(run.path / HOLDOUT_FILE, {"openings": opened})
    with run_log(run):
        log.info(
            "walk-forward %s holdout opened (opening %d at %s): net profit %.2f%%",
            run.run_id,
            len(opened),
            opened[-1],
            metrics["net_profit_pct"],
        )
    return {"params": params, "window": span_record(bars, span), "metrics": metrics, "openings": opened}
