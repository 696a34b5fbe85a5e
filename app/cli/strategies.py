"""``strategies``: what can be backtested, with every parameter's declaration."""

from __future__ import annotations

import argparse
import json

from backtune.registry import all_strategies


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("strategies", help="list strategies and their parameters")
    parser.add_argument("--json", action="store_true", help="print the declarations as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    strategies = [s.as_dict() for s in all_strategies().values()]
    if args.json:
        print(json.dumps(strategies, indent=2))
        return 0
    for strategy in strategies:
        print(f"{strategy['id']}: {strategy['name']} - {strategy['description']}")
        for p in strategy["params"]:
            values = p["choices"] if p["type"] == "choice" else f"{p['min']}..{p['max']} step {p['step']}"
            print(f"  {p['name']:<20} {p['type']:<6} default {p['default']!s:<8} {values}")
    return 0
