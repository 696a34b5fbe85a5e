"""``robustness RUN_DIR``: parameter plateaus and Monte Carlo of a finished run's best trials."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from app.cli.errors import CliError
from backtune.optimize.pool import warm_pool
from backtune.optimize.rundir import RunDir


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("robustness", help="parameter plateaus and Monte Carlo of a finished run's trials")
    parser.add_argument("run_dir", help="the run directory printed by `optimize`")
    parser.add_argument("--trial", type=int, help="one trial (its number) instead of the top K")
    parser.add_argument("--top", type=int, default=5, help="the best K completed trials (default 5)")
    parser.add_argument("--scenarios", type=int, default=10_000, help="Monte Carlo scenarios (default 10,000)")
    parser.add_argument("--seed", type=int, default=1, help="seeds the Monte Carlo and the neighbour sample")
    parser.add_argument(
        "--drawdown",
        type=float,
        default=20.0,
        help="report the probability that the drawdown exceeds this %% (default 20)",
    )
    parser.add_argument("--workers", type=int, default=2, help="warm worker processes for the neighbours' backtests")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run_robustness)


def run_robustness(args: argparse.Namespace) -> int:
    from backtune.robustness.report import study_robustness

    run = RunDir(Path(args.run_dir))
    if not run.results_file.is_file() or not run.config_file.is_file():
        raise CliError(f"{args.run_dir}: not a finished run directory (needs run.json and results.json)")
    for name, value, low in (
        ("--top", args.top, 1),
        ("--scenarios", args.scenarios, 1),
        ("--workers", args.workers, 1),
    ):
        if value < low:
            raise CliError(f"{name}: expected a whole number >= {low}, got {value}")
    if not 0 < args.drawdown < 1000:
        raise CliError(f"--drawdown: expected a percentage above 0, got {args.drawdown}")
    rows = run.read_json(run.results_file)["results"]
    if args.trial is not None:
        matching = [r for r in rows if r["number"] == args.trial and r["rank"] is not None]
        if not matching:
            raise CliError(f"--trial: run {run.run_id} has no completed trial {args.trial}")
        rows, top = matching, 1
    else:
        top = args.top
    with warm_pool(args.workers) as pool:
        report = study_robustness(run, rows, top, args.scenarios, args.seed, pool, args.drawdown)
    print(json.dumps(report) if args.json else _text(report, args.drawdown))
    return 0


def _text(report: dict[str, Any], drawdown: float) -> str:
    lines = [
        f"run {report['run_id']}: robust best order {report['robust_order']}",
        "",
        f"{'trial':>6} {'value':>10} {'nbrs':>5} {'p5':>10} {'median':>10} {'worst':>10} {'retain':>7} "
        f"{'profit%':>7}  at edge",
    ]
    for trial in report["trials"]:
        p = trial["plateau"]
        lines.append(
            f"{p['number']:>6} {_num(p['value'])} {p['neighbours']:>5} {_num(p['p5'])} {_num(p['median'])} "
            f"{_num(p['worst'])} {_num(p['retention'], 7, '.2f')} "
            f"{_num(p['share_profitable'] and 100 * p['share_profitable'], 7, '.0f')}  "
            f"{', '.join(p['at_edge']) or '-'}"
        )
    lines += [
        "",
        f"{'trial':>6}  Monte Carlo ({report['trials'][0]['monte_carlo']['scenarios'] if report['trials'] else 0} "
        f"scenarios): final equity p5/p50/p95, max drawdown % p5/p50/p95, P(drawdown > {drawdown:g}%)",
    ]
    for trial in report["trials"]:
        mc = trial["monte_carlo"]
        for name in ("reshuffle", "bootstrap"):
            part = mc[name]
            if part is None:
                lines.append(f"{trial['number']:>6}  {name}: no closed trades")
                continue
            fe, dd = part["final_equity"], part["max_drawdown_pct"]
            lines.append(
                f"{trial['number']:>6}  {name:<9} {fe['p5']:.2f}/{fe['p50']:.2f}/{fe['p95']:.2f}  "
                f"{dd['p5']:.1f}/{dd['p50']:.1f}/{dd['p95']:.1f}  {part['prob_drawdown_exceeds'][f'{drawdown:g}']:.3f}"
            )
    return "\n".join(lines)


def _num(value: float | None, width: int = 10, spec: str = ".4g") -> str:
    return f"{'-':>{width}}" if value is None else f"{value:>{width}{spec}}"
