"""``backtest``: one strategy, one parameter set, one CSV; a summary or exact JSON."""

from __future__ import annotations

import argparse
import json

from app.cli.inputs import add_data_arguments, add_window_and_account_arguments, data_path, json_object
from backtune.data.loader import load_csv
from backtune.engine.backtest import EngineSettings, run_backtest
from backtune.metrics import compute_metrics
from backtune.registry import get_strategy
from backtune.report import backtest_report
from backtune.window import DataWindow

SUMMARY_METRICS = (
    ("net_profit_pct", "Net profit %"),
    ("max_drawdown_pct", "Max drawdown %"),
    ("total_trades", "Trades"),
    ("win_rate_pct", "Win rate %"),
    ("profit_factor", "Profit factor"),
    ("sharpe", "Sharpe"),
    ("romad", "RoMaD"),
    ("buy_and_hold_pct", "Buy & hold %"),
)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("backtest", help="run one backtest")
    add_data_arguments(parser)
    parser.add_argument("--params", help="JSON object, or a file holding one; missing parameters take defaults")
    add_window_and_account_arguments(parser)
    parser.add_argument(
        "--close-at-end",
        action="store_true",
        help="close a position still open at the last bar at its close (commission charged)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    strategy = get_strategy(args.strategy)
    params = strategy.validate(json_object("--params", args.params))
    window = DataWindow.parse(args.start, args.end, args.warmup)
    settings = EngineSettings.checked(args.capital, args.commission)
    dataset = load_csv(data_path(args.data))
    result = run_backtest(dataset.bars, strategy, params, window, settings, close_at_end=args.close_at_end)
    report = backtest_report(strategy.id, params, result, compute_metrics(result).as_dict())
    if args.json:
        print(json.dumps(report))
    else:
        print(_summary(report))
    return 0


def _summary(report: dict) -> str:
    window = report["window"]
    lines = [
        f"{report['strategy']} from {window['start']} to {window['end']} ({window['bars']} bars, "
        f"{window['warmup_bars']} warm-up)"
    ]
    for key, label in SUMMARY_METRICS:
        value = report["metrics"].get(key)
        text = "n/a" if value is None else (f"{value:,.2f}" if isinstance(value, float) else str(value))
        lines.append(f"  {label:<16} {text:>12}")
    if report["open_position"]:
        pos = report["open_position"]
        lines.append(f"  open {pos['direction']} since {pos['entry_time']} at {pos['entry_price']}")
    return "\n".join(lines)
