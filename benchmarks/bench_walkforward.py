"""Walk-forward cost: W windows in one walk-forward run vs W separate optimisation runs.

Both sides run sma_cross on LINK 15m (19,584 bars), TPE with a seed, 2 workers, the same
per-window trial budget, over the same in-sample ranges (the walk-forward's own schedule:
W windows by count, out-of-sample a quarter of each, 200 warm-up bars).

- Separate runs: what W ``optimize`` commands do (the interpreter start aside): each reads
  the CSV, starts a warm pool of 2 workers, prepares its run and executes it.
- Walk-forward: what one ``walkforward`` command does: reads the CSV once, starts one
  pool, then runs every window's study on it, backtests each window's out-of-sample
  range, stitches them and writes the report after each window.

Goal: walk-forward / separate <= 1.0x. Then the end-to-end wall time of 10 windows x 500
trials, 2 workers (the issue's reference run).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _common import CASH, COMMISSION, LINK_15M, machine

GOAL = 1.0
WARMUP = 200


def request(windows: int, trials: int, workers: int):
    from backtune.walkforward.settings import WalkForwardRequest

    return WalkForwardRequest.parse(
        {
            "data": str(LINK_15M),
            "strategy": "sma_cross",
            "workers": workers,
            "seed": 1,
            "budget": {"mode": "trials", "trials": trials},
            "window": {"warmup_bars": WARMUP},
            "capital": CASH,
            "commission": COMMISSION,
            "walkforward": {"windows": windows},
        }
    )


def walk_forward(windows: int, trials: int, workers: int, root: Path) -> float:
    from backtune.data.loader import load_csv
    from backtune.optimize.pool import warm_pool
    from backtune.walkforward.runner import execute_walkforward, prepare_walkforward

    started = time.perf_counter()
    wanted = request(windows, trials, workers)
    with warm_pool(workers) as pool:
        bars = load_csv(LINK_15M).bars
        run = prepare_walkforward(wanted, root, bars)
        report = execute_walkforward(run, pool=pool, bars=bars)
    assert report["status"] == "done" and len(report["windows"]) == windows, report["status"]
    return time.perf_counter() - started


def separate_runs(windows: int, trials: int, workers: int, root: Path) -> float:
    from backtune.data.loader import load_csv
    from backtune.optimize.pool import warm_pool
    from backtune.optimize.run import execute_run, prepare_run
    from backtune.walkforward.runner import window_config
    from backtune.walkforward.schedule import build_schedule

    wanted = request(windows, trials, workers)
    bars = load_csv(LINK_15M).bars
    schedule = build_schedule(bars.time, wanted.base.window, wanted.settings)
    configs = [window_config(wanted.base, bars, w) for w in schedule.windows]
    started = time.perf_counter()
    for config in configs:
        with warm_pool(workers) as pool:
            own_bars = load_csv(LINK_15M).bars
            summary = execute_run(prepare_run(config, root, bars=own_bars), pool=pool)
            assert summary["status"] == "done", summary["status"]
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--windows", type=int, default=4, help="windows of the ratio")
    parser.add_argument("--trials", type=int, default=200, help="trials per window of the ratio")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2, help="rounds of both sides; the fastest of each counts")
    parser.add_argument("--e2e-windows", type=int, default=10)
    parser.add_argument("--e2e-trials", type=int, default=500)
    args = parser.parse_args()
    print(f"sma_cross on LINK 15m, {args.workers} workers; {machine()}")
    ours, theirs = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for attempt in range(args.repeat):
            theirs.append(separate_runs(args.windows, args.trials, args.workers, Path(tmp) / f"separate-{attempt}"))
            ours.append(walk_forward(args.windows, args.trials, args.workers, Path(tmp) / f"wf-{attempt}"))
        print(
            f"{args.windows} separate optimisation runs of {args.trials} trials: "
            f"{' / '.join(f'{s:.2f}' for s in theirs)} s"
        )
        print(
            f"one walk-forward of {args.windows} windows x {args.trials} trials: "
            f"{' / '.join(f'{s:.2f}' for s in ours)} s"
        )
        ratio = min(ours) / min(theirs)
        print(
            f"walk-forward / separate runs: {ratio:.2f}x (goal <= {GOAL:.1f}x) "
            f"{'OK' if ratio <= GOAL else 'ABOVE GOAL'}"
        )
        if args.e2e_windows:
            seconds = walk_forward(args.e2e_windows, args.e2e_trials, args.workers, Path(tmp) / "e2e")
            total = args.e2e_windows * args.e2e_trials
            print(
                f"end to end: {args.e2e_windows} windows x {args.e2e_trials} trials ({total:,} trials) in "
                f"{seconds:.1f} s = {total / seconds:.0f} trials/s; {machine()}"
            )


if __name__ == "__main__":
    main()
