"""Worker scaling: trials/s of a 2-worker execute_run vs a 1-worker one, same run.

trailing_ma on the LINK 15m file, TPE sampler (Backtune's: multivariate, 20 random start-up
trials, constant liar with several workers), 400 trials, seed 1. A 1-worker run runs in a
thread of the coordinator, which has imported everything and loaded every kernel already.
Two workers run twice: from a warm pool (``WorkerPool``: processes that imported optuna
and numba and loaded the kernels before the run, as the CLI and the job coordinator have
them warm up while they prepare a run), which compares like with like, and cold (spawned
by execute_run itself, each importing and loading everything before its first trial).
The goal is judged on the warm figure; the cold one shows what a worker's start-up costs.

Besides trials/s from the wall time of the whole execute_run, the script reports each
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
    return min(
        float(subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True).stdout)
        for _ in range(repeat)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=2, help="runs of each worker count; best figure of each")
    args = parser.parse_args()

    from backtune.data.loader import load_csv
    from backtune.optimize.pool import WorkerPool

    bars = load_csv(LINK_15M).bars
    configs = {n: link_config("trailing_ma", workers=n, sampler="tpe", trials=args.trials) for n in (1, 2)}
    variants = {"1": (1, False), "2 warm": (2, True), "2 cold": (2, False)}
    runs: dict[str, list[RunTiming]] = {name: [] for name in variants}
    print(
        f"trailing_ma on LINK 15m ({len(bars):,} bars), TPE, {args.trials} trials, best of {args.repeat} "
        f"for each figure; {machine()}"
    )
    with tempfile.TemporaryDirectory() as tmp, WorkerPool(2) as pool:
        warm_up = link_config("trailing_ma", workers=1, sampler="tpe", trials=3)
        timed_run(warm_up, bars, Path(tmp) / "warm-up")  # load the JIT cache into this process
        pool.wait_warm()
        for attempt in range(args.repeat):
            for name, (workers, pooled) in variants.items():
                runs[name].append(
                    timed_run(configs[workers], bars, Path(tmp) / f"{attempt}-{name}", pool if pooled else None)
                )

    print(
        f"{'workers':>7} {'wall':>7} {'trials/s':>9} {'start-up per worker':>20} {'1st backtest':>12} "
        f"{'all warm':>12} {'CPU/trial':>10} {'exit':>6} {'finish':>7}"
    )
    rates, steady, cpu = {}, {}, {}
    for name, timings in runs.items():
        fastest = min(timings, key=lambda r: r.wall_s)
        rates[name] = max(r.rate() for r in timings)
        steady[name] = max(r.steady_rate() for r in timings)
        cpu[name] = min(r.steady_cpu_per_trial() for r in timings)
        starts = " / ".join(f"{s:.2f}" for s in min((r.first_starts for r in timings), key=max))
        first = " / ".join(f"{s * 1e3:.0f}" for s in fastest.first_backtest_s)
        print(
            f"{name:>7} {min(r.wall_s for r in timings):6.2f}s {rates[name]:9.1f} {starts:>18} s "
            f"{first:>9} ms {steady[name]:6.1f} tr/s {cpu[name] * 1e3:7.1f} ms "
            f"{min(r.exit_s for r in timings):5.2f}s {min(r.finish_s for r in timings):6.2f}s"
        )
    print(f"a fresh interpreter imports {WORKER_MODULE} in {import_seconds(WORKER_MODULE):.2f} s")
    late = min(r.warm + r.exit_s for r in runs["2 cold"]) - min(r.warm + r.exit_s for r in runs["1"])
    gain = 1 / steady["1"] - 1 / steady["2 cold"]
    if gain > 0:
        print(
            f"at these rates 2 cold workers finish first after {late / gain:,.0f} trials (their start-up and "
            f"exit take {late:.2f} s more, and they save {gain * 1e3:.1f} ms per trial)"
        )
    ratio, cold, steady_ratio = (
        rates["2 warm"] / rates["1"],
        rates["2 cold"] / rates["1"],
        steady["2 warm"] / steady["1"],
    )
    print(
        f"2 workers vs 1: {ratio:.2f}x trials/s from wall with a warm pool (goal >= {GOAL}x) "
        f"{'OK' if ratio >= GOAL else 'BELOW GOAL'}; {cold:.2f}x spawned cold; "
        f"{steady_ratio:.2f}x once every worker is warm"
    )


if __name__ == "__main__":
    main()
