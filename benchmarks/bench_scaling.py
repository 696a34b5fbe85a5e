"""Worker scaling: trials/s of a 2-worker execute_run vs a 1-worker one, same run.

trailing_ma on the LINK 15m file, TPE sampler (Backtune's: multivariate, 20 random start-up
trials, constant liar with several workers), 400 trials, seed 1. The runs are not
symmetric: one worker runs in a thread of the coordinator, which has imported everything
already, while two workers are spawned processes that import optuna, numba and Backtune
before their first trial and load numba's on-disk cache during their first backtest. So
besides trials/s from the wall time of the whole execute_run, the script reports each
worker's start-up (from the execute_run call to its first trial's datetime_start, from the
journal) and trials/s once every worker ran warm (had finished its first backtest), with
the CPU seconds per trial of the whole process tree then, which shows whether a shortfall
is the code's or the cores other users took. TPE's cost per trial grows with the trials
already run, so the figures depend on the budget.

Goal: 2 workers >= 1.8x the trials/s of 1 worker.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import LINK_15M, ROOT, RunTiming, link_config, machine, timed_run

GOAL = 1.8
WORKER_MODULE = "backtune.optimize.worker"


def import_seconds(module: str, repeat: int = 3) -> float:
    """How long a fresh interpreter takes to import ``module``, as a spawned worker must (fastest of ``repeat``)."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    return min(float(subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True,
                                    text=True).stdout) for _ in range(repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=2, help="runs of each worker count; best figure of each")
    args = parser.parse_args()

    from backtune.data.loader import load_csv

    bars = load_csv(LINK_15M).bars
    configs = {n: link_config("trailing_ma", workers=n, sampler="tpe", trials=args.trials) for n in (1, 2)}
    runs: dict[int, list[RunTiming]] = {1: [], 2: []}
    print(f"trailing_ma on LINK 15m ({len(bars):,} bars), TPE, {args.trials} trials, best of {args.repeat} "
          f"for each figure; {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        warm_up = link_config("trailing_ma", workers=1, sampler="tpe", trials=3)
        timed_run(warm_up, bars, Path(tmp) / "warm-up")  # load the JIT cache into this process
        for attempt in range(args.repeat):
            for workers, config in configs.items():
                runs[workers].append(timed_run(config, bars, Path(tmp) / f"{attempt}-{workers}"))

    print(f"{'workers':>7} {'wall':>7} {'trials/s':>9} {'start-up per worker':>20} {'1st backtest':>12} "
          f"{'all warm':>12} {'CPU/trial':>10} {'exit':>6} {'finish':>7}")
    rates, steady, cpu = {}, {}, {}
    for workers, timings in runs.items():
        fastest = min(timings, key=lambda r: r.wall_s)
        rates[workers] = max(r.rate() for r in timings)
        steady[workers] = max(r.steady_rate() for r in timings)
        cpu[workers] = min(r.steady_cpu_per_trial() for r in timings)
        starts = " / ".join(f"{s:.2f}" for s in min((r.first_starts for r in timings), key=max))
        first = " / ".join(f"{s * 1e3:.0f}" for s in fastest.first_backtest_s)
        print(f"{workers:>7} {min(r.wall_s for r in timings):6.2f}s {rates[workers]:9.1f} {starts:>18} s "
              f"{first:>9} ms {steady[workers]:6.1f} tr/s {cpu[workers] * 1e3:7.1f} ms "
              f"{min(r.exit_s for r in timings):5.2f}s {min(r.finish_s for r in timings):6.2f}s")
    print(f"a fresh interpreter imports {WORKER_MODULE} in {import_seconds(WORKER_MODULE):.2f} s")
    late = min(r.warm + r.exit_s for r in runs[2]) - min(r.warm + r.exit_s for r in runs[1])
    gain = 1 / steady[1] - 1 / steady[2]
    if gain > 0:
        print(f"at these rates 2 workers finish first after {late / gain:,.0f} trials (their start-up and exit "
              f"take {late:.2f} s more, and they save {gain * 1e3:.1f} ms per trial)")
    ratio, steady_ratio = rates[2] / rates[1], steady[2] / steady[1]
    print(f"2 workers vs 1: {ratio:.2f}x trials/s from wall (goal >= {GOAL}x) "
          f"{'OK' if ratio >= GOAL else 'BELOW GOAL'}; "
          f"{steady_ratio:.2f}x once every worker is warm ({'OK' if steady_ratio >= GOAL else 'BELOW GOAL'})")


if __name__ == "__main__":
    main()
