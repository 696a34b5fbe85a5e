"""Reading command-line values that are JSON text or a path to a JSON file."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from app.cli.errors import CliError
from backtune.engine.backtest import EngineSettings


def json_value(option: str, text: str) -> Any:
    """``text`` as JSON, or the JSON in the file it names."""
    source = text
    if not text.lstrip().startswith(("{", "[")):
        path = Path(text)
        if not path.is_file():
            raise CliError(f"{option}: {text!r} is neither JSON nor a readable file")
        source = path.read_text(encoding="utf-8")
    try:
        return json.loads(source)
    except json.JSONDecodeError as exc:
        raise CliError(f"{option}: invalid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None


def json_object(option: str, text: str | None) -> dict[str, Any]:
    """``text`` as a JSON object, or the JSON object in the file it names."""
    if not text:
        return {}
    value = json_value(option, text)
    if not isinstance(value, dict):
        raise CliError(f"{option}: expected a JSON object, got {type(value).__name__}")
    return value


def data_path(text: str) -> Path:
    path = Path(text)
    if not path.is_file():
        raise CliError(f"--data: no such file {text!r}")
    return path


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """--data and --strategy, which every command that runs a strategy takes."""
    parser.add_argument("--data", required=True, help="OHLCV CSV file")
    parser.add_argument("--strategy", required=True, help="strategy id (see `strategies`)")


def add_window_and_account_arguments(parser: argparse.ArgumentParser) -> None:
    """The data window and the account settings, shared by backtest and optimize."""
    defaults = EngineSettings()
    parser.add_argument("--start", help="first tradable bar time (UTC), e.g. 2025-06-15")
    parser.add_argument("--end", help="last bar time (UTC), inclusive")
    parser.add_argument("--warmup", type=int, default=0, help="bars before --start lent to indicators")
    parser.add_argument("--capital", type=float, default=defaults.initial_capital, help="starting equity")
    parser.add_argument(
        "--commission", type=float, default=defaults.commission, help="fraction of notional charged per side"
    )


def study_request(args: argparse.Namespace) -> dict[str, Any]:
    """The canonical request's data, strategy, space, window and account, from the
    options optimize and walkforward share."""
    return {
        "data": str(data_path(args.data)),
        "strategy": args.strategy,
        "space": json_object("--space", args.space) if args.space else None,
        "window": {"start": args.start, "end": args.end, "warmup_bars": args.warmup},
        "capital": args.capital,
        "commission": args.commission,
    }
