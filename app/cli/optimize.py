"""``optimize`` and ``resume``: a search on N worker processes with a live progress bar."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from tqdm import tqdm

from app.cli.errors import CliError
from app.cli.inputs import (
    add_data_arguments,
    add_window_and_account_arguments,
    json_object,
    json_value,
    study_request,
)
from backtune.optimize.config import BUDGET_MODES, PRUNERS, SAMPLERS, RunConfig, default_workers, parse_budget
from backtune.optimize.pool import warm_pool
from backtune.optimize.run import Progress, execute_run, prepare_run, resume_run
from backtune.optimize.rundir import RunDir
from backtune.optimize.targets import TARGETS


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("optimize", help="search a strategy's parameters")
    add_data_arguments(parser)
    parser.add_argument("--space", help="search space JSON or file; default: every declared range")
    parser.add_argument(
        "--target", default="score", help=f"target, or 2-4 comma-separated for a Pareto search ({', '.join(TARGETS)})"
    )
    _budget_arguments(parser)
    parser.add_argument("--workers", type=int, default=default_workers(), help="worker processes (1-32)")
    parser.add_argument("--sampler", choices=SAMPLERS, help="default: tpe (nsga2 with several targets)")
    parser.add_argument("--pruner", choices=PRUNERS, default="none")
    parser.add_argument("--seed", type=int, help="makes a one-worker run reproducible")
    parser.add_argument("--seed-params", help="JSON object or list of objects (or a file) tried first")
    parser.add_argument("--min-profit", type=float, help="prune trials whose net profit %% is below this")
    parser.add_argument("--score", help='composite score weights, JSON: {"romad": 0.5, "sharpe": 0.5}')
    parser.add_argument(
        "--constraint",
        action="append",
        default=[],
        metavar="METRIC>=VALUE",
        help="feasibility rule for multi-objective runs, e.g. total_trades>=30",
    )
    add_window_and_account_arguments(parser)
    parser.add_argument("--study-name", default="backtune")
    parser.add_argument("--storage", help="database URL shared with remote workers (default: a journal file)")
    _output_arguments(parser)
    parser.add_argument("--keep-journal", action="store_true", help="keep the Optuna journal in the run directory")
    parser.add_argument("--cscv-blocks", type=int, default=16, help="PBO: blocks of the window (even, 4-32)")
    parser.add_argument("--cscv-max-trials", type=int, default=1000, help="PBO: the best N trials by target")
    parser.add_argument(
        "--plateau-top",
        type=int,
        default=5,
        help="at the end, test the best K trials' parameter neighbours for the robust-best order (0 skips; max 20)",
    )
    parser.set_defaults(run=run_optimize)

    resume = sub.add_parser("resume", help="continue a finished, cancelled or crashed run")
    resume.add_argument("run_dir", help="the run directory printed by `optimize`")
    _budget_arguments(resume, default_mode=None)
    resume.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    resume.set_defaults(run=run_resume)


def _budget_arguments(parser: argparse.ArgumentParser, default_mode: str | None = "trials") -> None:
    parser.add_argument(
        "--budget",
        choices=BUDGET_MODES,
        default=default_mode,
        help="stop after N trials, S seconds, or when the best stops improving",
    )
    parser.add_argument("--trials", type=int, help="trials to run (cap for convergence); default 100")
    parser.add_argument("--timeout", type=float, help="seconds to run")
    parser.add_argument("--patience", type=int, help="convergence: trials without improvement before stopping")


def _output_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out",
        default=os.environ.get("BACKTUNE_RUNS_DIR", "runs"),
        help="folder that receives the run directory (default ./runs or $BACKTUNE_RUNS_DIR)",
    )
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")


def run_optimize(args: argparse.Namespace) -> int:
    seed_params = json_value("--seed-params", args.seed_params) if args.seed_params else []
    raw: dict[str, Any] = {
        **study_request(args),
        "target": [t.strip() for t in args.target.split(",")] if "," in args.target else args.target,
        "budget": _budget(args) or {"mode": "trials", "trials": 100},
        "sampler": args.sampler,
        "pruner": args.pruner,
        "workers": args.workers,
        "seed": args.seed,
        "seed_params": seed_params if isinstance(seed_params, list) else [seed_params],
        "min_profit": args.min_profit,
        "score": json_object("--score", args.score) if args.score else None,
        "constraints": [_constraint(text) for text in args.constraint],
        "study_name": args.study_name,
        "storage": args.storage,
        "keep_journal": args.keep_journal,
        "cscv_blocks": args.cscv_blocks,
        "cscv_max_trials": args.cscv_max_trials,
        "plateau_top": args.plateau_top,
    }
    config = RunConfig.parse(raw)
    with warm_pool(config.workers) as pool:
        run = prepare_run(config, Path(args.out))
        print(f"run directory: {run.path}", file=sys.stderr)
        return _report(args, lambda progress: execute_run(run, on_progress=progress, pool=pool))


def run_resume(args: argparse.Namespace) -> int:
    run = RunDir(Path(args.run_dir))
    if not run.config_file.is_file() or not run.sqlite.is_file():
        raise CliError(f"{args.run_dir}: not a finished run directory (needs run.json and study.db)")
    budget = _budget(args)
    if budget is None:
        raise CliError("resume needs --trials, --timeout or --budget convergence --patience N")
    config = RunConfig.parse(run.read_json(run.config_file))
    more = parse_budget(budget, config.multi_objective)
    run.withdraw_stop()
    with warm_pool(config.workers) as pool:
        return _report(args, lambda progress: resume_run(run, more, on_progress=progress, pool=pool))


def _budget(args: argparse.Namespace) -> dict[str, Any] | None:
    mode = args.budget or ("time" if args.timeout and not args.trials else "trials" if args.trials else None)
    if mode is None:
        return None
    trials = args.trials if args.trials is not None else (100 if mode == "trials" else None)
    return {"mode": mode, "trials": trials, "seconds": args.timeout, "patience": args.patience}


def _constraint(text: str) -> dict[str, Any]:
    for op in (">=", "<="):
        if op in text:
            metric, value = text.split(op, 1)
            try:
                return {"metric": metric.strip(), "op": op, "value": float(value)}
            except ValueError:
                break
    raise CliError(f"--constraint: expected METRIC>=VALUE or METRIC<=VALUE, got {text!r}")


def _report(args: argparse.Namespace, execute) -> int:
    bar = ProgressBar()
    try:
        summary = execute(bar.update)
    finally:
        bar.close()
    if args.json:
        print(json.dumps(summary))
    else:
        best = summary["best"]
        print(
            f"{summary['status']}: {summary['trials']['total']} trials in {summary['timings']['optimize_s']:.1f} s "
            f"({summary['trials_per_s']:.1f}/s), study {summary['paths']['sqlite']}"
        )
        if best:
            print(f"best trial #{best['number']}: {best['value']:.4g} with {json.dumps(best['params'])}")
            print(overfitting_line(summary["overfitting"], best["metrics"]))
        if summary.get("robust_best"):
            print(robust_best_line(summary["robust_best"]))
    return 0 if summary["status"] != "failed" else 1


def overfitting_line(overfitting: dict[str, Any], best_metrics: dict[str, Any]) -> str:
    """PBO and the best trial's DSR in one line (docs/robustness.md says how to read them)."""
    pbo = overfitting.get("pbo")
    dsr = best_metrics.get("dsr")
    return (
        f"overfitting: PBO {'n/a (< 10 trials)' if pbo is None else f'{pbo:.2f}'}, "
        f"best trial's DSR {'n/a' if dsr is None else f'{dsr:.2f}'} over {overfitting['n_trials']} trials"
    )


def robust_best_line(robust: dict[str, Any]) -> str:
    """The best trials again, by how much of their value their neighbours keep (retention)."""

    def retention(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.2f}"

    trials = ", ".join(f"#{t['number']} ({retention(t['retention'])})" for t in robust["trials"])
    return f"robust best (retention of the {len(robust['trials'])} best trials' neighbours): {trials}"


class ProgressBar:
    """tqdm on stderr: trials done of the budget, the best value so far and the rate."""

    def __init__(self) -> None:
        self.bar: tqdm | None = None

    def update(self, progress: Progress) -> None:
        if self.bar is None:
            self.bar = tqdm(total=progress.trial_limit, unit="trial", file=sys.stderr, dynamic_ncols=True)
        self.bar.n = progress.done
        self.bar.set_postfix(best=progress.best_value, rate=f"{progress.trials_per_s:.1f}/s", refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
