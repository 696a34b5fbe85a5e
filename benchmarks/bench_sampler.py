"""Backtune's TPE (``--sampler tpe``) against Optuna's (``tpe-optuna``), in the same run.

1. Sampling time per trial: a study holding N trials over trailing_ma's default space
   (21 parameters), then K more trials asked and told, timing the sampler's own methods
   (Optuna's trial bookkeeping, the same for both, is left out). The history is random trials with a cheap, smooth
   target, so both samplers see the same N trials. Goal: tpe >= 10x faster at 5,000.
2. End to end: ``execute_run`` of trailing_ma on LINK 15m, 3,000 trials, one worker,
   with ``tpe`` and with ``random``: trials/s of the whole run. Goal: tpe >= 0.5x random.
3. Search quality: best composite score after 300 and 1,000 trials on sma_cross and
   trailing_ma (LINK 15m), and best value on a shifted sphere (5-D, 20-D) and a mixed
   categorical/continuous function, over 20 seeds per sampler; medians and Mann-Whitney
   U (scipy, two-sided, and one-sided "tpe worse"). Goal: tpe not worse.

``--quick`` runs fewer seeds and trials (a few minutes); the figures in
docs/performance.md come from a full run.
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _common import LINK_15M, link_config, machine, timed_run

SAMPLERS = ("tpe", "tpe-optuna")
SPEED_GOAL = 10.0
E2E_GOAL = 0.5


def trailing_ma_space() -> dict:
    from backtune.optimize.space import SearchSpace
    from backtune.registry import get_strategy

    return SearchSpace.parse(get_strategy("trailing_ma"), None).distributions()


def make_sampler(name: str, seed: int, n_startup: int = 10):
    import optuna

    from backtune.optimize.tpe import TPESampler

    tpe = TPESampler if name == "tpe" else optuna.samplers.TPESampler
    return tpe(n_startup_trials=n_startup, multivariate=True, seed=seed, constant_liar=False)


def prefilled_study(space: dict, n: int, seed: int):
    """A study with ``n`` random trials whose value is a smooth function of the internal
    parameter values (each sampler then sees a structured, identical history)."""
    import numpy as np
    import optuna

    rng = np.random.RandomState(seed)
    study = optuna.create_study(direction="maximize")
    trials = []
    for _ in range(n):
        params, internal = {}, []
        for name, dist in space.items():
            if isinstance(dist, optuna.distributions.CategoricalDistribution):
                index = rng.randint(len(dist.choices))
                params[name], share = dist.choices[index], index / max(1, len(dist.choices) - 1)
            else:
                k = rng.randint(int(round((dist.high - dist.low) / dist.step)) + 1)
                params[name] = type(dist.low)(dist.low + k * dist.step)
                share = (params[name] - dist.low) / (dist.high - dist.low)
            internal.append(share)
        value = -float(np.sum((np.asarray(internal) - 0.3) ** 2))
        trials.append(optuna.trial.create_trial(params=params, distributions=space, value=value))
    study.add_trials(trials)
    return study


def timed(sampler):
    """The sampler, with the seconds spent in its methods added up in ``.seconds``."""
    import optuna

    class Timed(optuna.samplers.BaseSampler):
        seconds = 0.0
        cpu_seconds = 0.0

        def _call(self, method: str, *args):
            started, cpu_started = time.perf_counter(), time.process_time()
            try:
                return getattr(sampler, method)(*args)
            finally:
                Timed.seconds += time.perf_counter() - started
                Timed.cpu_seconds += time.process_time() - cpu_started

        def infer_relative_search_space(self, *args):
            return self._call("infer_relative_search_space", *args)

        def sample_relative(self, *args):
            return self._call("sample_relative", *args)

        def sample_independent(self, *args):
            return self._call("sample_independent", *args)

        def before_trial(self, *args):
            return self._call("before_trial", *args)

        def after_trial(self, *args):
            return self._call("after_trial", *args)

    return Timed()


def sampling_ms(name: str, space: dict, n: int, asks: int) -> tuple[float, float, float]:
    """Milliseconds a sampler spends on one trial (its own methods, from ask to tell) at
    ``n`` trials: the median CPU time, the fastest and the median wall time. The first
    trial after the prefill is not counted (it reads the whole history once). CPU time
    (``time.process_time``) hardly depends on other users' load; on a loaded machine a
    call is often descheduled for a whole time slice, which the wall median then shows,
    and short calls escape it more often, so the fastest wall time favours the faster
    sampler."""
    study = prefilled_study(space, n, seed=n)
    study.sampler = sampler = timed(make_sampler(name, seed=0))
    cpu, wall = [], []
    for i in range(asks + 1):
        before, cpu_before = sampler.seconds, sampler.cpu_seconds
        trial = study.ask(space)
        study.tell(trial, study.get_trials(deepcopy=False)[n - 1 - i].value)
        if i:
            wall.append(sampler.seconds - before)
            cpu.append(sampler.cpu_seconds - cpu_before)
    return 1000 * statistics.median(cpu), 1000 * min(wall), 1000 * statistics.median(wall)


def speed(sizes: list[int], asks: int) -> None:
    space = trailing_ma_space()
    print(
        f"\n1. sampling time per trial, trailing_ma default space ({len(space)} parameters), {asks} trials: "
        "median CPU ms (fastest wall, median wall)"
    )
    print(f"{'trials':>7} {'tpe':>24} {'tpe-optuna':>26} {'speed-up (CPU; wall fastest, median)':>38}")
    for n in sizes:
        ours, theirs = sampling_ms("tpe", space, n, asks), sampling_ms("tpe-optuna", space, n, asks)
        ratios = [t / o for t, o in zip(theirs, ours)]
        verdict = (
            f"  (goal >= {SPEED_GOAL:g}x: {'met' if ratios[0] >= SPEED_GOAL else 'NOT met'})" if n == sizes[-1] else ""
        )
        print(
            f"{n:>7,} {ours[0]:>7.2f} ({ours[1]:6.2f}, {ours[2]:6.2f}) {theirs[0]:>8.2f} ({theirs[1]:7.2f}, "
            f"{theirs[2]:7.2f}) {ratios[0]:>10.1f}x ({ratios[1]:5.1f}x, {ratios[2]:5.1f}x){verdict}"
        )


def end_to_end(trials: int, workers: int) -> None:
    """Trials/s of the whole run from wall time, and trials per CPU-second of this process
    and its children: a one-worker run works in-process, and CPU time hardly depends on
    how much of the machine other users take, while wall time does."""
    import os

    from backtune.data.loader import load_csv

    bars = load_csv(LINK_15M).bars
    print(f"\n2. end to end: trailing_ma, LINK 15m, {trials:,} trials, {workers} worker(s), execute_run")
    wall, cpu = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        timed_run(
            link_config("trailing_ma", workers=workers, sampler="random", trials=20),
            bars,
            Path(tmp) / "warm-up",
            sample_processes=False,
        )
        for name in ("random", "tpe"):
            before = os.times()
            run = timed_run(
                link_config("trailing_ma", workers=workers, sampler=name, trials=trials),
                bars,
                Path(tmp) / name,
                sample_processes=False,
            )
            after = os.times()
            seconds = sum(after[i] - before[i] for i in range(4))
            finished = len(run.finished)
            wall[name], cpu[name] = run.rate(), finished / seconds
            print(
                f"  {name:<7} {wall[name]:7.1f} trials/s of wall time ({run.wall_s:.1f} s), "
                f"{cpu[name]:7.1f} trials per CPU-second ({seconds:.1f} s)",
                flush=True,
            )
    for label, rates in (("wall", wall), ("CPU", cpu)):
        ratio = rates["tpe"] / rates["random"]
        print(
            f"  tpe / random ({label}) = {ratio:.2f}  (goal >= {E2E_GOAL}: {'met' if ratio >= E2E_GOAL else 'NOT met'})"
        )


def best_values(task: tuple[str, str, int, list[int], bool]) -> list[float]:
    """Best value found after each checkpoint's number of trials, one seeded run (a
    module-level function of plain values, so a process pool can run it)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    case, name, seed, checkpoints, maximize = task
    objective = OBJECTIVES[case]()
    study = optuna.create_study(direction="maximize" if maximize else "minimize", sampler=make_sampler(name, seed))
    best, out = -math.inf if maximize else math.inf, []

    def track(study, trial) -> None:
        nonlocal best
        if trial.value is not None:
            best = max(best, trial.value) if maximize else min(best, trial.value)
        if trial.number + 1 in checkpoints:
            out.append(best)

    study.optimize(objective, n_trials=checkpoints[-1], callbacks=[track])
    return out


def compare(pool, label: str, case: str, checkpoints: list[int], seeds: int, maximize: bool) -> None:
    from scipy.stats import mannwhitneyu

    runs = {
        name: pool.map(best_values, [(case, name, seed, checkpoints, maximize) for seed in range(seeds)])
        for name in SAMPLERS
    }
    for i, n in enumerate(checkpoints):
        ours = [r[i] for r in runs["tpe"]]
        theirs = [r[i] for r in runs["tpe-optuna"]]
        two_sided = mannwhitneyu(ours, theirs, alternative="two-sided").pvalue
        worse = mannwhitneyu(ours, theirs, alternative="less" if maximize else "greater").pvalue
        print(
            f"  {label:<24} {n:>6,} {statistics.median(ours):>12.4f} {statistics.median(theirs):>12.4f} "
            f"{two_sided:>9.3f} {worse:>12.3f}",
            flush=True,
        )


def strategy_objective(strategy: str):
    from backtune.data.loader import load_csv
    from backtune.optimize.objective import Objective

    config = link_config(strategy, workers=1, sampler="tpe", trials=1)
    return Objective(config, load_csv(LINK_15M).bars)


def shifted_sphere(dims: int):
    def objective(trial) -> float:
        return sum((trial.suggest_float(f"x{i}", -5, 5) - (1.0 + 0.1 * i)) ** 2 for i in range(dims))

    return objective


def mixed(trial) -> float:
    """Categorical choices shift the optimum and add an offset; two continuous, one integer."""
    kind = trial.suggest_categorical("kind", ["a", "b", "c", "d"])
    shift = {"a": 0.0, "b": 1.0, "c": -1.0, "d": 2.0}[kind]
    x = trial.suggest_float("x", -5, 5)
    y = trial.suggest_float("y", 1e-3, 10, log=True)
    k = trial.suggest_int("k", 0, 20)
    return (x - shift) ** 2 + math.log(y / 0.5) ** 2 + 0.1 * (k - 7) ** 2 + (0.0 if kind == "b" else 0.5)


OBJECTIVES: dict[str, Callable[[], Callable]] = {
    "sma_cross": lambda: strategy_objective("sma_cross"),
    "trailing_ma": lambda: strategy_objective("trailing_ma"),
    "sphere5": lambda: shifted_sphere(5),
    "sphere20": lambda: shifted_sphere(20),
    "mixed": lambda: mixed,
}


def quality(seeds: int, strategy_checkpoints: list[int], function_trials: int) -> None:
    """Seeds run two at a time (a process each): the machine's two cores."""
    import multiprocessing

    print(
        f"\n3. search quality over {seeds} seeds: median best value; Mann-Whitney U p-values "
        "(two-sided; one-sided for 'tpe worse')"
    )
    print(
        f"  {'case':<24} {'trials':>6} {'tpe':>12} {'tpe-optuna':>12} {'p (2-sided)':>9} {'p (tpe worse)':>12}",
        flush=True,
    )
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        for strategy in ("sma_cross", "trailing_ma"):
            compare(pool, f"{strategy} score (max)", strategy, strategy_checkpoints, seeds, True)
        compare(pool, "sphere 5-D (min)", "sphere5", [function_trials], seeds, False)
        compare(pool, "sphere 20-D (min)", "sphere20", [function_trials], seeds, False)
        compare(pool, "mixed cat/cont (min)", "mixed", [function_trials], seeds, False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer seeds, trials and asks: a few minutes")
    parser.add_argument("--only", choices=("speed", "e2e", "quality"), help="run one part")
    args = parser.parse_args()
    print(f"bench_sampler ({'quick' if args.quick else 'full'}); {machine()}")
    if args.only in (None, "speed"):
        speed([500, 1000, 2000, 5000], asks=5 if args.quick else 15)
    if args.only in (None, "e2e"):
        end_to_end(trials=1000 if args.quick else 3000, workers=1)
    if args.only in (None, "quality"):
        if args.quick:
            quality(seeds=5, strategy_checkpoints=[100, 300], function_trials=100)
        else:
            quality(seeds=20, strategy_checkpoints=[300, 1000], function_trials=200)


if __name__ == "__main__":
    main()
