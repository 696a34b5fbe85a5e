"""``walkforward``, ``walkforward-resume`` and ``holdout``: walk-forward runs from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from app.cli.errors import CliError
from app.cli.inputs import add_data_arguments, add_window_and_account_arguments, study_request
from app.cli.optimize import ProgressBar, _budget, _budget_arguments, _output_arguments
from backtune.optimize.config import SAMPLERS, default_workers
from backtune.optimize.pool import warm_pool
from backtune.optimize.rundir import RunDir
from backtune.walkforward.settings import DEFAULT_THRESHOLDS, MODES, SELECTIONS


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("walkforward", help="walk-forward optimisation with an optional sealed holdout")
    add_data_arguments(parser)
    parser.add_argument("--space", help="search space JSON or file; default: every declared range")
    parser.add_argument(
        "--target", default="score", help="the single target each window's study optimises (default score)"
    )
    parser.add_argument("--mode", choices=MODES, default="rolling")
    parser.add_argument("--is-days", type=float, help="in-sample length in calendar days")
    parser.add_argument("--oos-days", type=float, help="out-of-sample length (and step) in calendar days")
    parser.add_argument("--windows", type=int, help="number of windows (instead of --is-days/--oos-days)")
    parser.add_argument("--oos-fraction", type=float, help="out-of-sample share of each window with --windows")
    parser.add_argument("--gap-bars", type=int, default=0, help="bars purged between in-sample and out-of-sample")
    holdout = parser.add_mutually_exclusive_group()
    holdout.add_argument("--holdout-days", type=float, help="keep the last D days sealed")
    holdout.add_argument("--holdout-from", help="keep the bars from this date on sealed")
    _budget_arguments(parser)
    parser.add_argument("--workers", type=int, default=default_workers(), help="worker processes (1-32)")
    parser.add_argument("--sampler", choices=SAMPLERS)
    parser.add_argument("--seed", type=int)
    parser.add_argument(
        "--select",
        choices=SELECTIONS,
        default="best",
        help="carry the best in-sample trial, the best of the top K on the in-sample's last part (forward), "
        "or the top K trial whose parameter neighbours keep most of its value (robust)",
    )
    parser.add_argument(
        "--top-k", type=int, help="--select forward: trials re-run; robust: trials tested (default 10, robust <= 20)"
    )
    parser.add_argument(
        "--threshold",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help=f"verdict threshold ({', '.join(f'{k}={v:g}' for k, v in DEFAULT_THRESHOLDS.items())})",
    )
    add_window_and_account_arguments(parser)
    _output_arguments(parser)
    parser.set_defaults(run=run_walkforward)

    resume = sub.add_parser(
        "walkforward-resume", help="continue a cancelled walk-forward from its first unfinished window"
    )
    resume.add_argument("run_dir")
    resume.add_argument("--json", action="store_true", help="print the report as one JSON object")
    resume.set_defaults(run=run_resume)

    opener = sub.add_parser("holdout", help="open a walk-forward run's sealed holdout (each opening is recorded)")
    opener.add_argument("run_dir")
    opener.add_argument("--json", action="store_true", help="print one JSON object")
    opener.set_defaults(run=run_holdout)


def request_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The canonical walk-forward request (an optimisation request plus ``walkforward``)."""
    if not 1 <= args.workers <= 32:
        raise CliError(f"--workers: expected 1-32, got {args.workers}")
    settings = {
        "mode": args.mode,
        "is_days": args.is_days,
        "oos_days": args.oos_days,
        "windows": args.windows,
        "oos_fraction": args.oos_fraction,
        "gap_bars": args.gap_bars,
        "holdout_days": args.holdout_days,
        "holdout_from": args.holdout_from,
        "select": args.select,
        "top_k": args.top_k,
        "thresholds": dict(_threshold(text) for text in args.threshold),
    }
    return {
        **study_request(args),
        "target": args.target,
        "budget": _budget(args) or {"mode": "trials", "trials": 100},
        "sampler": args.sampler,
        "workers": args.workers,
        "seed": args.seed,
        "walkforward": {k: v for k, v in settings.items() if v is not None},
    }


def run_walkforward(args: argparse.Namespace) -> int:
    from backtune.data.loader import load_csv
    from backtune.walkforward.runner import prepare_walkforward
    from backtune.walkforward.settings import WalkForwardRequest

    request = WalkForwardRequest.parse(request_from_args(args))
    with warm_pool(request.base.workers) as pool:
        bars = load_csv(Path(request.base.data)).bars
        run = prepare_walkforward(request, Path(args.out), bars)
        print(f"run directory: {run.path}", file=sys.stderr)
        return _execute(args, run, pool, bars)


def run_resume(args: argparse.Namespace) -> int:
    from backtune.walkforward.runner import is_walkforward

    run = RunDir(Path(args.run_dir))
    if not is_walkforward(run):
        raise CliError(f"{args.run_dir}: not a walk-forward run directory")
    run.withdraw_stop()
    with warm_pool(run.read_json(run.config_file)["workers"]) as pool:
        return _execute(args, run, pool, None)


def _execute(args: argparse.Namespace, run: RunDir, pool, bars) -> int:
    from backtune.walkforward.holdout import walkforward_report
    from backtune.walkforward.runner import WalkForwardProgress, execute_walkforward

    bars_by_window: dict[int, ProgressBar] = {}

    def progress(p: WalkForwardProgress) -> None:
        if p.window not in bars_by_window:
            for finished in bars_by_window.values():
                finished.close()
            print(f"window {p.window + 1}/{p.windows}", file=sys.stderr)
            bars_by_window[p.window] = ProgressBar()
        bars_by_window[p.window].update(p.study)

    try:
        execute_walkforward(run, pool=pool, on_progress=progress, bars=bars)
    finally:
        for bar in bars_by_window.values():
            bar.close()
    report = walkforward_report(run)
    if args.json:
        print(json.dumps(report))
    else:
        print(_summary(report))
    return 0 if report["status"] != "failed" else 1


def run_holdout(args: argparse.Namespace) -> int:
    from backtune.walkforward.holdout import open_holdout
    from backtune.walkforward.runner import is_walkforward

    run = RunDir(Path(args.run_dir))
    if not is_walkforward(run):
        raise CliError(f"{args.run_dir}: not a walk-forward run directory")
    result = open_holdout(run)
    if args.json:
        print(json.dumps(result))
    else:
        metrics = result["metrics"]
        print(
            f"holdout {result['window']['start']} .. {result['window']['end']} with {json.dumps(result['params'])}: "
            f"net profit {metrics['net_profit_pct']:.2f}%, max drawdown {metrics['max_drawdown_pct']:.2f}%, "
            f"{metrics['total_trades']} trades (opening {len(result['openings'])})"
        )
    return 0


def _summary(report: dict[str, Any]) -> str:
    lines = [
        f"{report['status']}: {len(report['windows'])} of {report['windows_planned']} windows ({report['mode']}), "
        f"run {report['run_dir']}"
    ]
    for w in report["windows"]:
        lines.append(
            f"  window {w['index']}: oos {w['oos']['start'][:10]}..{w['oos']['end'][:10]} "
            f"{w['oos_metrics']['net_profit_pct']:+.2f}% with {json.dumps(w['params'])}"
        )
    if report["stitched"]:
        sharpe = report["stitched"]["sharpe"]
        figures = {"t-stat": report["t_stat"], "PSR": sharpe["psr"], "DSR": sharpe["dsr"]}
        lines.append("  stitched " + ", ".join(f"{k} {'n/a' if v is None else f'{v:.3f}'}" for k, v in figures.items()))
    verdict = report["verdict"]
    if verdict:
        for c in verdict["criteria"]:
            value = "n/a" if c["value"] is None else f"{c['value']:.2f}"
            lines.append(f"  {'PASS' if c['pass'] else 'FAIL'} {c['name']} {value} (threshold {c['threshold']:g})")
        lines.append(f"verdict: {'PASS' if verdict['pass'] else 'FAIL'}")
    return "\n".join(lines)


def _threshold(text: str) -> tuple[str, float]:
    name, _, value = text.partition("=")
    try:
        return name.strip(), float(value)
    except ValueError:
        raise CliError(f"--threshold: expected NAME=VALUE, got {text!r}") from None
