"""A walk-forward run: one ordinary optimisation run per window, one after another, on
one warm worker pool and bars parsed once; then each window's out-of-sample backtest,
the stitched account, the figures and the verdict.

Layout of the run directory (a job directory like any other: ``run.json`` is the study
each window runs, ``state.json`` its status):

- ``walkforward.json`` the walk-forward settings;
- ``windows/<run id>-wNN/`` window N's optimisation run (its own study.db, results, log);
- ``windows/wNN.json`` window N's record, written when it is finished: a window with a
  record is never run again, so a resume continues from the first window without one;
- ``report.json`` the report over the finished windows, rewritten after each;
- ``holdout.json`` the openings of the sealed holdout (see ``holdout.py``).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backtune.data.loader import load_csv
from backtune.data.ohlcv import OHLCV
from backtune.engine.backtest import run_backtest
from backtune.metrics import compute_metrics
from backtune.optimize.config import RunConfig
from backtune.optimize.pool import WorkerPool
from backtune.optimize.run import Progress, execute_run, journal_dir, prepare_run
from backtune.optimize.rundir import PREPARED, RunDir, new_run_id
from backtune.optimize.runlog import run_log
from backtune.optimize.storage import journal_files
from backtune.registry import get_strategy
from backtune.report import equity_points, iso_utc, trade_records
from backtune.result import BacktestResult
from backtune.robustness.returns import returns_sharpe_figures, window_returns
from backtune.robustness.values import finite_or_none
from backtune.walkforward import figures
from backtune.walkforward.schedule import Schedule, Span, Window, build_schedule, span_days
from backtune.walkforward.select import select_trial
from backtune.walkforward.settings import WalkForwardRequest
from backtune.walkforward.stitch import stitch, window_return
from backtune.window import DataWindow

log = logging.getLogger("backtune.walkforward")
KIND = "walkforward"
SETTINGS_FILE = "walkforward.json"
REPORT_FILE = "report.json"
WINDOW_RUN_ID = re.compile(r"([a-z0-9-]+)-w\d{2,}")


@dataclass(frozen=True)
class WalkForwardProgress:
    """Which window runs (0-based) of how many, and its study's progress."""

    window: int
    windows: int
    windows_done: int
    study: Progress | None


def is_walkforward(run: RunDir) -> bool:
    return (run.path / SETTINGS_FILE).is_file()


def study_runs(runs: list[RunDir]) -> list[RunDir]:
    """``runs`` and, after each walk-forward among them, its windows' runs: every run with a study."""
    out = []
    for run in runs:
        out.append(run)
        if is_walkforward(run):
            out.extend(RunDir(p.parent) for p in sorted((run.path / "windows").glob("*/state.json")))
    return out


def find_window_run(runs_dir: Path, run_id: str) -> RunDir | None:
    """A window's run by its id (``<walk-forward id>-wNN``), or None."""
    match = WINDOW_RUN_ID.fullmatch(run_id or "")
    if match is None:
        return None
    run = RunDir(Path(runs_dir) / match.group(1) / "windows" / run_id)
    return run if run.state_file.is_file() else None


def read_request(run: RunDir) -> WalkForwardRequest:
    return WalkForwardRequest.parse(
        {**run.read_json(run.config_file), "walkforward": run.read_json(run.path / SETTINGS_FILE)}
    )


def prepare_walkforward(request: WalkForwardRequest, runs_root: Path, bars: OHLCV | None = None) -> RunDir:
    """Check the schedule against the data (errors name the setting), then create the run directory."""
    bars = bars if bars is not None else load_csv(Path(request.base.data)).bars
    schedule = build_schedule(bars.time, request.base.window, request.settings)
    run = RunDir(Path(runs_root) / new_run_id(request.base.strategy))
    (run.path / "windows").mkdir(parents=True)
    run.write_json(run.config_file, request.base.as_dict())
    run.write_json(run.path / SETTINGS_FILE, request.settings.as_dict())
    run.write_json(
        run.state_file,
        {
            "status": PREPARED,
            "kind": KIND,
            "created": time.time(),
            "windows": len(schedule.windows),
            "windows_done": 0,
        },
    )
    write_report(run, request, schedule, bars, PREPARED)
    with run_log(run):
        log.info(
            "walk-forward %s prepared: %s, %d windows (%s), holdout %s",
            run.run_id,
            request.base.strategy,
            len(schedule.windows),
            request.settings.mode,
            schedule.holdout,
        )
    return run


def execute_walkforward(
    run: RunDir,
    pool: WorkerPool | None = None,
    on_progress: Callable[[WalkForwardProgress], None] | None = None,
    live_dump_every: float | None = None,
    bars: OHLCV | None = None,
) -> dict[str, Any]:
    """Run every window without a record, in order, and return the report. A stop request
    (the run's STOP file, or Ctrl-C) ends the window in progress unfinished: it is run
    again from its start on resume, while finished windows are kept."""
    with run_log(run):
        request = read_request(run)
        bars = bars if bars is not None else load_csv(Path(request.base.data)).bars
        schedule = build_schedule(bars.time, request.base.window, request.settings)
        run.update_state(status="running", coordinator_pid=os.getpid(), started=time.time())
        log.info("walk-forward %s started: %d windows", run.run_id, len(schedule.windows))
        status = "done"
        for window in schedule.windows:
            if _record_file(run, window.index).is_file():
                continue
            if run.stop_requested:
                status = "cancelled"
                break
            status = _run_window(run, request, schedule, window, bars, pool, on_progress, live_dump_every)
            if status != "done":
                break
            run.update_state(windows_done=len(write_report(run, request, schedule, bars, "running")["windows"]))
        report = write_report(run, request, schedule, bars, status)
        run.update_state(status=status, finished=time.time(), windows_done=len(report["windows"]))
        log.info(
            "walk-forward %s %s: %d of %d windows, verdict %s",
            run.run_id,
            status,
            len(report["windows"]),
            len(schedule.windows),
            report["verdict"] and report["verdict"]["pass"],
        )
        return report


def salvage_walkforward(run: RunDir, status: str) -> dict[str, Any]:
    """Finish a walk-forward whose coordinator is gone (or that never started): its
    finished windows stay, the window in progress is stopped and left for a resume."""
    run.request_stop()
    for child in (run.path / "windows").glob("*/state.json"):
        RunDir(child.parent).request_stop()
    state = run.update_state(status=status, finished=time.time())
    with run_log(run):
        log.warning(
            "walk-forward %s %s with %s of %s windows finished",
            run.run_id,
            status,
            state.get("windows_done"),
            state.get("windows"),
        )
    return state


def _run_window(
    run: RunDir,
    request: WalkForwardRequest,
    schedule: Schedule,
    window: Window,
    bars: OHLCV,
    pool: WorkerPool | None,
    on_progress: Callable[[WalkForwardProgress], None] | None,
    live_dump_every: float | None,
) -> str:
    child_id = f"{run.run_id}-w{window.index:02d}"
    _discard_attempt(run.path / "windows", child_id)
    config = window_config(request, bars, window)
    # The study's workers get the bars up to the in-sample end only: nothing later exists for them.
    child = prepare_run(config, run.path / "windows", bars=bars.slice(0, window.in_sample.last), run_id=child_id)
    log.info(
        "walk-forward %s window %d started: in-sample %s..%s",
        run.run_id,
        window.index,
        iso_utc(bars.time[window.in_sample.first]),
        iso_utc(bars.time[window.in_sample.last]),
    )
    total = len(schedule.windows)
    done_before = window.index

    def progress(study: Progress) -> None:
        if run.stop_requested:
            child.request_stop()
        run.update_state(
            progress={
                "window": window.index,
                "windows": total,
                "windows_done": done_before,
                "study": child_id,
                "done": study.done,
                "trial_limit": study.trial_limit,
                "best_value": study.best_value,
                "elapsed_s": study.elapsed_s,
            }
        )
        if on_progress is not None:
            on_progress(WalkForwardProgress(window.index, total, done_before, study))

    summary = execute_run(child, on_progress=progress, live_dump_every=live_dump_every, pool=pool)
    if summary["status"] != "done":
        run.request_stop()
        return summary["status"]
    rows = child.read_json(child.results_file)["results"]
    chosen = select_trial(rows, config, request.settings, bars, window.in_sample)
    if chosen is None:
        log.error("walk-forward %s window %d: no completed trial", run.run_id, window.index)
        return "failed"
    oos = oos_backtest(request.base, bars, window.out_of_sample, chosen["params"])
    record = {
        "index": window.index,
        "is": span_record(bars, window.in_sample),
        "oos": span_record(bars, window.out_of_sample),
        "params": chosen["params"],
        "is_metrics": chosen["metrics"],
        "oos_metrics": compute_metrics(oos).as_dict(),
        "trials": summary["trials"]["total"],
        "completed_trials": summary["overfitting"]["n_trials"],
        "sharpe_variance": summary["overfitting"]["sharpe_variance"],
        "trial_number": chosen["number"],
        "study": child_id,
    }
    run.write_json(_record_file(run, window.index), record)
    log.info(
        "walk-forward %s window %d done: trial #%d carried, out-of-sample %.2f%%",
        run.run_id,
        window.index,
        chosen["number"],
        record["oos_metrics"]["net_profit_pct"],
    )
    return "done"


def _discard_attempt(windows_dir: Path, child_id: str) -> None:
    """What an unfinished earlier attempt at a window left: its run directory and, when its
    coordinator died, its live journal on tmpfs (named by the run id, as ``prepare_run`` names it)."""
    shutil.rmtree(windows_dir / child_id, ignore_errors=True)
    folder = journal_dir()
    if folder is not None:
        for path in journal_files(folder / f"{child_id}.journal"):
            path.unlink(missing_ok=True)


def window_config(request: WalkForwardRequest, bars: OHLCV, window: Window) -> RunConfig:
    """The run's own study on the window's in-sample range, named with the window index
    (so windows sharing one database storage never collide). The run-end plateau step runs
    only where the selection needs it (``robust``): otherwise the window's trial is chosen
    by another rule, and the stitched out-of-sample result is the robustness test."""
    base = request.base
    span = window.in_sample
    data_window = {
        "start": iso_utc(bars.time[span.first]),
        "end": iso_utc(bars.time[span.last]),
        "warmup_bars": base.window.warmup_bars,
    }
    return RunConfig.parse(
        {
            **base.as_dict(),
            "window": data_window,
            "study_name": f"{base.study_name[:95]}-w{window.index:02d}",
            "plateau_top": request.settings.top_k if request.settings.select == "robust" else 0,
        }
    )


def oos_backtest(base: RunConfig, bars: OHLCV, span: Span, params: dict[str, Any]) -> BacktestResult:
    """Exactly ``backtest --close-at-end`` of ``params`` over ``span`` with the run's warm-up and account."""
    strategy = get_strategy(base.strategy)
    window = DataWindow(int(bars.time[span.first]), int(bars.time[span.last]), base.window.warmup_bars)
    return run_backtest(bars, strategy, strategy.validate(params), window, base.settings, close_at_end=True)


def span_record(bars: OHLCV, span: Span) -> dict[str, str]:
    return {"start": iso_utc(bars.time[span.first]), "end": iso_utc(bars.time[span.last])}


def write_report(
    run: RunDir, request: WalkForwardRequest, schedule: Schedule, bars: OHLCV, status: str
) -> dict[str, Any]:
    """The report over the finished windows (the CLI's and the API's object, minus the
    holdout's openings, which ``holdout.py`` adds when it is read)."""
    records = [
        run.read_json(_record_file(run, w.index)) for w in schedule.windows if _record_file(run, w.index).is_file()
    ]
    report: dict[str, Any] = {
        "run_dir": str(run.path),
        "run_id": run.run_id,
        "status": status,
        "mode": request.settings.mode,
        "windows_planned": len(schedule.windows),
        "windows": records,
        "stitched": None,
        "wfe": None,
        "profitable_windows_pct": None,
        "largest_window_profit_share": None,
        "t_stat": None,
        "verdict": None,
        "holdout": None if schedule.holdout is None else span_record(bars, schedule.holdout),
    }
    if records:
        report.update(_stitched_figures(request, schedule, bars, records))
    run.write_json(run.path / REPORT_FILE, report)
    return report


def _stitched_figures(
    request: WalkForwardRequest, schedule: Schedule, bars: OHLCV, records: list[dict[str, Any]]
) -> dict[str, Any]:
    windows = schedule.windows[: len(records)]
    results = [oos_backtest(request.base, bars, w.out_of_sample, r["params"]) for w, r in zip(windows, records)]
    stitched = stitch(results)
    metrics = compute_metrics(stitched).as_dict()
    per_window = [
        figures.WindowFigures(
            r["is_metrics"]["net_profit_pct"],
            span_days(bars.time, w.in_sample),
            window_return(result),
            span_days(bars.time, w.out_of_sample),
        )
        for w, r, result in zip(windows, records, results)
    ]
    capital = request.base.settings.initial_capital
    values = {
        "wfe": figures.walk_forward_efficiency(per_window, metrics["net_profit_pct"]),
        "profitable_windows_pct": figures.profitable_windows_pct(per_window),
        "largest_window_profit_share": figures.largest_window_profit_share(per_window, capital),
        "t_stat": figures.t_statistic(stitched.equity, capital),
    }
    criteria = {**values, "max_drawdown_pct": metrics["max_drawdown_pct"], "total_trades": metrics["total_trades"]}
    return {
        "stitched": {
            "metrics": metrics,
            "sharpe": _stitched_sharpe(stitched, records),
            "trades": trade_records(stitched.trades),
            "equity": equity_points(stitched),
        },
        **values,
        "verdict": figures.verdict(criteria, request.settings.thresholds),
    }


def _stitched_sharpe(stitched: BacktestResult, records: list[dict[str, Any]]) -> dict[str, Any]:
    """PSR and DSR of the stitched out-of-sample returns, deflated by every completed trial
    that chose the carried parameters (docs/walkforward.md). A record written before windows
    kept these inputs has neither, so its window adds no trial and no variance."""
    trials = [r.get("completed_trials") or 0 for r in records]
    variance = figures.pooled_sharpe_variance([r.get("sharpe_variance") for r in records], trials)
    return {
        **returns_sharpe_figures(window_returns(stitched), variance, sum(trials)),
        "sharpe_variance": finite_or_none(variance),
        "n_trials": sum(trials),
    }


def _record_file(run: RunDir, index: int) -> Path:
    return run.path / "windows" / f"w{index:02d}.json"
