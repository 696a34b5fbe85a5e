"""``python -m app``: one sub-command per module, errors as one line on stderr with exit code 2."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from app.cli import backtest, optimize, robustness, samples, serve, strategies, walkforward, worker
from app.cli.errors import USER_ERRORS, CliError

COMMANDS = (backtest, optimize, walkforward, robustness, strategies, samples, serve, worker)


class OneLineErrorParser(argparse.ArgumentParser):
    """Usage mistakes get the same one-line, exit-code-2 treatment as any other bad input."""

    def error(self, message: str) -> NoReturn:
        self.exit(CliError.EXIT_CODE, f"error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(prog="python -m app", description="Backtune: backtest and tune trading strategies.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except USER_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return CliError.EXIT_CODE
