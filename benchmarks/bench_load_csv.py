"""Reading the LINK 15m TradingView export (19,584 bars) with every check, against pandas.

``load_csv`` sniffs the format, parses timestamps, and checks every row (order, gaps,
OHLC consistency) so that bad input is named by row and column; the reference is plain
``pandas.read_csv`` of the same file, which checks nothing. Goal: a load well under a
second (0.5 s, fastest call); the ratio to the reference says what the checks cost.
"""

from __future__ import annotations

import argparse

import pandas as pd
from _common import LINK_15M, call_times, machine

from backtune.data.loader import load_csv

GOAL_S = 0.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=10, help="calls of each case, taking turns")
    args = parser.parse_args()
    print(machine())
    times = call_times(
        {"load_csv": (lambda: load_csv(LINK_15M), 1), "pandas": (lambda: pd.read_csv(LINK_15M), 1)}, args.rounds
    )
    ours, reference = times["load_csv"], times["pandas"]
    print(
        f"load_csv LINK 15m: {ours.fastest * 1e3:.1f} ms fastest, {ours.median * 1e3:.1f} ms median "
        f"(goal < {GOAL_S * 1e3:.0f} ms: {'met' if ours.fastest < GOAL_S else 'MISSED'}); "
        f"pandas.read_csv alone {reference.fastest * 1e3:.1f} ms; {ours.fastest / reference.fastest:.2f}x its time"
    )


if __name__ == "__main__":
    main()
