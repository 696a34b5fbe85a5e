"""``samples``: the bundled sample datasets, or one sample's file path for scripts."""

from __future__ import annotations

import argparse

from app.cli.errors import CliError
from backtune.data.samples import available_samples


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("samples", help="list the bundled sample datasets")
    parser.add_argument("--path", metavar="NAME", help="print only this sample's file path")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    samples = available_samples()
    if args.path:
        if args.path not in samples:
            raise CliError(f"--path: no sample named {args.path!r} (available: {', '.join(samples) or 'none'})")
        print(samples[args.path].path)
        return 0
    for sample in samples.values():
        print(f"{sample.name:<8} {sample.description:<48} {sample.path}")
    return 0
