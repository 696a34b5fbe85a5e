"""Optimisation throughput: Backtune's execute_run vs backtesting.py's Backtest.optimize, same run.

Both search sma_cross / SmaCross over the same n1 (5..50 step 5) and n2 (10..200 step 10)
grid on the LINK 15m file (19,584 bars) with the same cash and commission.

- Backtune: random sampler, 1,000 trials, 2 workers (spawned processes on a shared journal).
  Trials/s from the wall time of the whole execute_run (worker start-up, exit and the SQLite
  dump included), and once every worker ran warm, having finished its first backtest (from
  the journal's trial times).
  Pruned trials are n1 >= n2, rejected before any backtest; the ratio counts only trials
  that ran a backtest.
- backtesting.py: a random subset of the grid (``max_tries``, same subset every time) with
  the n1 < n2 constraint, parallelised by its own multiprocessing pool (forked: its
  start-up is milliseconds); wall time of the optimize call, which also re-runs the best
  pair once at the end. Its rate is compared with both of Backtune's.

Goal: Backtune >= 20x backtesting.py's backtests per second.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
import time
import warnings
from pathlib import Path

from _common import CASH, COMMISSION, LINK_15M, link_config, machine, timed_run

GOAL = 20.0
N1 = range(5, 51, 5)
N2 = range(10, 201, 10)


def backtesting_optimize(frame, max_tries: int) -> tuple[float, int, list[tuple[int, str]]]:
    """Wall seconds, pairs backtested, and the processes and start method of each pool it made."""
    import backtesting
    from backtesting import Backtest

    from tests.helpers import SmaCross

    pools: list[tuple[int, str]] = []
    make_pool = backtesting.Pool

    def counting_pool(*args, **kwargs):
        pool = make_pool(*args, **kwargs)
        pools.append((pool._processes, pool._ctx.get_start_method()))
        return pool

    backtest = Backtest(frame, SmaCross, cash=CASH, commission=COMMISSION)
    backtesting.Pool = counting_pool
    try:
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            started = time.perf_counter()
            _, heatmap = backtest.optimize(
                n1=N1,
                n2=N2,
                constraint=lambda p: p.n1 < p.n2,
                maximize="Equity Final [$]",
                max_tries=max_tries,
                random_state=0,
                return_heatmap=True,
            )
            seconds = time.perf_counter() - started
    finally:
        backtesting.Pool = make_pool
    return seconds, len(heatmap), pools


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=1000, help="Backtune trials")
    parser.add_argument("--workers", type=int, default=2, help="Backtune workers")
    parser.add_argument("--max-tries", type=int, default=60, help="backtesting.py grid pairs to run")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each side; the fastest counts")
    args = parser.parse_args()

    from backtune.data.loader import load_csv
    from backtune.engine.backtest import EngineSettings, run_backtest
    from backtune.registry import get_strategy
    from tests.helpers import oracle_frame

    bars = load_csv(LINK_15M).bars
    strategy = get_strategy("sma_cross")
    run_backtest(bars, strategy, strategy.validate({}), settings=EngineSettings(CASH, COMMISSION))  # fill the JIT cache
    config = link_config("sma_cross", workers=args.workers, sampler="random", trials=args.trials)
    space = {r.name: (r.low, r.high, r.step) for r in config.space.ranges}
    assert space == {"n1": (N1.start, N1[-1], N1.step), "n2": (N2.start, N2[-1], N2.step)}, space
    frame = oracle_frame(bars)
    valid_pairs = sum(1 for n1 in N1 for n2 in N2 if n1 < n2)
    print(
        f"sma_cross on LINK 15m ({len(bars):,} bars), n1 5..50 step 5, n2 10..200 step 10 "
        f"({valid_pairs} pairs with n1 < n2); {machine()}"
    )

    ours, theirs = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for attempt in range(args.repeat):
            ours.append(timed_run(config, bars, Path(tmp) / str(attempt)))
            theirs.append(backtesting_optimize(frame, args.max_tries))

    run = min(ours, key=lambda r: r.wall_s)
    backtested = sum(1 for t in run.finished if t.state == "COMPLETE")
    starts = " / ".join(f"{s:.2f}" for s in run.first_starts)
    firsts = " / ".join(f"{s * 1e3:.0f}" for s in run.first_backtest_s)
    workers = f"{args.workers} worker{'s' if args.workers > 1 else ''}"
    print(
        f"Backtune execute_run, {workers}, random sampler, {len(run.finished):,} trials "
        f"({backtested:,} backtested, {len(run.finished) - backtested:,} pruned as n1 >= n2), "
        f"fastest of {args.repeat}:"
    )
    print(
        f"  wall {run.wall_s:.2f} s = start-up {run.warm:.2f} s (each worker's first trial started at {starts} s, "
        f"its first backtest took {firsts} ms) + warm trials {run.last_complete - run.warm:.2f} s"
        f" + worker exit {run.exit_s:.2f} s + dump and results {run.finish_s:.2f} s"
    )
    ours_rate = run.rate(backtests_only=True)
    steady = max(r.steady_rate(backtests_only=True) for r in ours)
    print(
        f"  {run.rate():,.1f} trials/s, {ours_rate:,.1f} backtests/s from wall; "
        f"{max(r.steady_rate() for r in ours):,.1f} trials/s, {steady:,.1f} backtests/s once every worker ran warm"
    )

    seconds, pairs, pools = min(theirs)
    their_rate = pairs / seconds
    pool = ", ".join(f"{processes} processes ({method})" for processes, method in pools)
    print(
        f"backtesting.py Backtest.optimize, max_tries={args.max_tries}: {pairs} pairs in {seconds:.2f} s "
        f"= {their_rate:.2f} backtests/s, multiprocessing pool of {pool}, fastest of {args.repeat}"
    )
    ratio = ours_rate / their_rate
    print(
        f"speed-up in backtests/s: {ratio:,.1f}x from wall (goal >= {GOAL:.0f}x) "
        f"{'OK' if ratio >= GOAL else 'BELOW GOAL'}; {steady / their_rate:,.1f}x excluding start-up"
    )


if __name__ == "__main__":
    main()
