"""Storage tax: a trial on the run's journal vs the same trial on Optuna's in-memory storage.

Same objective (``Objective(config, bars)``), sampler and seed, sma_cross on the LINK 15m
file. The reference is ``optuna.create_study(...).optimize(objective, n_trials=N)`` in this
process; the journal path is a one-worker ``execute_run`` (its worker runs in a thread of
this process, so no start-up differs). Figures:

- trial loop: execute_run's ``optimize_s`` (from its start until the worker thread ends) / N;
- finish: the rest of execute_run, once per run whatever N (SQLite dump, ranked results,
  journal copy and removal).

The journal lives where ``journal_dir()`` puts it, /dev/shm, or on disk beside the runs
(``BACKTUNE_JOURNAL_DIR`` pointed at the temporary directory), where Optuna's fsync after
every append shows. Appends per trial are the journal's lines per trial: each takes the
file lock, writes one line, fsyncs, and is followed by a read of the journal's new lines.

Goal: the default journal's trial loop <= 2x in-memory per trial.

With ``--postgres URL`` (the default: the test database; ``--postgres none`` skips it) it
also compares one worker on PostgreSQL (``BatchedDatabaseStorage``, a web job's storage
with BACKTUNE_DATABASE_URL) with one worker on the journal: the same one-worker
``execute_run`` on each storage, taking turns; trials per second from the first trial's
start to the last one's end (the worker's own rate: opening the storage, a one-off
that costs the database a few hundred milliseconds more, is left out), fastest of ``--repeat``.
Goals (issue 13): sma_cross with random sampling >= 50% of the journal's rate, trailing_ma
with TPE >= 80%.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from _common import LINK_15M, link_config, machine, timed_run

GOAL = 2.0
ENV = "BACKTUNE_JOURNAL_DIR"
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
# (strategy, sampler, trials per run, goal: PostgreSQL's rate over the journal's)
POSTGRES_CASES = (("sma_cross", "random", 600, 0.5), ("trailing_ma", "tpe", 200, 0.8))


@contextmanager
def journal_env(folder: Path | None) -> Iterator[None]:
    """Runs prepared inside put their journal in ``folder``, or where journal_dir() chooses."""
    saved = os.environ.pop(ENV, None)
    if folder is not None:
        os.environ[ENV] = str(folder)
    try:
        yield
    finally:
        os.environ.pop(ENV, None)
        if saved is not None:
            os.environ[ENV] = saved


def filesystem(path: Path) -> str:
    """The type of the filesystem holding ``path`` (the longest matching mount point)."""
    resolved = str(path.resolve())
    best, kind = "", "?"
    with open("/proc/mounts", encoding="utf-8") as mounts:
        for line in mounts:
            _, point, fstype, *_ = line.split()
            if (resolved == point or resolved.startswith(point.rstrip("/") + "/")) and len(point) > len(best):
                best, kind = point, fstype
    return kind


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=9, help="runs of each storage; the fastest counts")
    parser.add_argument("--strategy", default="sma_cross")
    parser.add_argument("--postgres", default=POSTGRES, help="database URL for the worker comparison, or none")
    parser.add_argument("--only-postgres", action="store_true", help="skip the journal/in-memory comparison")
    args = parser.parse_args()
    if not args.only_postgres:
        journal_tax(args)
    if args.postgres != "none":
        postgres_ratios(args.postgres, args.repeat)


def journal_tax(args: argparse.Namespace) -> None:

    import optuna

    from backtune.data.loader import load_csv
    from backtune.optimize.objective import Objective
    from backtune.optimize.run import journal_dir
    from backtune.optimize.samplers import build_pruner, build_sampler

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    bars = load_csv(LINK_15M).bars
    config = link_config(args.strategy, workers=1, sampler="random", trials=args.trials)
    objective = Objective(config, bars)

    def in_memory(trials: int) -> float:
        started = time.perf_counter()
        study = optuna.create_study(
            directions=config.directions, sampler=build_sampler(config, 0), pruner=build_pruner(config)
        )
        study.optimize(objective, n_trials=trials)
        return time.perf_counter() - started

    in_memory(5)  # load the JIT cache
    with journal_env(None):
        shm = journal_dir()
    memory_runs = []
    with tempfile.TemporaryDirectory() as tmp:
        disk = Path(tmp) / "journals"
        journals = {f"journal in {shm} ({filesystem(shm)})": None} if shm else {}
        journals[f"journal on disk, {tmp} ({filesystem(Path(tmp))})"] = disk
        journal_runs: dict[str, list] = {name: [] for name in journals}
        for attempt in range(args.repeat):
            memory_runs.append(in_memory(args.trials))
            for index, (name, folder) in enumerate(journals.items()):
                with journal_env(folder):
                    journal_runs[name].append(
                        timed_run(config, bars, Path(tmp) / f"{attempt}-{index}", sample_processes=False)
                    )

    reference = min(memory_runs) / args.trials
    print(
        f"{args.strategy} on LINK 15m ({len(bars):,} bars), random sampler, {args.trials} trials, one worker, "
        f"fastest of {args.repeat}; {machine()}"
    )
    print(f"{'storage':<52} {'trial loop':>18} {'over in-memory':>17} {'finish':>8} {'journal':>19}")
    print(f"{'in-memory (study.optimize)':<52} {reference * 1e3:7.2f} ms/trial")
    ratios = []
    for name, timings in journal_runs.items():
        loop = min(t.optimize_s for t in timings) / args.trials
        ratios.append(loop / reference)
        appends = timings[0].trial_lines / len(timings[0].finished)
        print(
            f"{name:<52} {loop * 1e3:7.2f} ms {loop / reference:6.1f}x {(loop - reference) * 1e3:+9.2f} ms/trial "
            f"{min(t.finish_s for t in timings):6.2f} s {appends:5.1f} appends/trial"
        )
    journals_used = {str(Path(t.storage).parent) for timings in journal_runs.values() for t in timings}
    print(f"journal directories used: {', '.join(sorted(journals_used))}")
    print(
        f"storage tax of the default journal ({shm or 'run directory'}): {ratios[0]:.1f}x per trial "
        f"(goal <= {GOAL:.0f}x) {'OK' if ratios[0] <= GOAL else 'ABOVE GOAL'}"
    )


def postgres_ratios(url: str, repeat: int) -> None:
    """One worker's trials/s on PostgreSQL over one on the journal (see the module docstring)."""
    import uuid

    import optuna

    from backtune.data.loader import load_csv
    from backtune.optimize.config import RunConfig
    from backtune.optimize.run import execute_run, prepare_run

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    bars = load_csv(LINK_15M).bars

    def rate(strategy: str, sampler: str, trials: int, storage: str | None, root: Path) -> float:
        raw = link_config(strategy, workers=1, sampler=sampler, trials=trials).as_dict()
        name = f"bench-{uuid.uuid4().hex[:10]}"
        raw.update(storage=storage, study_name=name, keep_journal=False)
        run = prepare_run(RunConfig.parse(raw), root, bars)
        try:
            execute_run(run)
        finally:
            if storage is not None:
                optuna.delete_study(study_name=name, storage=storage)
        trials = optuna.load_study(study_name=name, storage=f"sqlite:///{run.sqlite}").get_trials(deepcopy=False)
        first = min(t.datetime_start for t in trials)
        last = max(t.datetime_complete for t in trials)
        return (len(trials) - 1) / (last - first).total_seconds()

    print(f"\none worker on PostgreSQL vs one on the journal, fastest of {repeat}; {machine()}")
    print(f"{'case':<26} {'journal':>14} {'PostgreSQL':>14} {'ratio':>7} {'goal':>6}")
    with tempfile.TemporaryDirectory() as tmp:
        rate("sma_cross", "random", 20, url, Path(tmp))  # connect once, load the JIT cache
        for strategy, sampler, trials, goal in POSTGRES_CASES:
            journal, database = [], []
            for _ in range(repeat):
                journal.append(rate(strategy, sampler, trials, None, Path(tmp)))
                database.append(rate(strategy, sampler, trials, url, Path(tmp)))
            ratio = max(database) / max(journal)
            print(
                f"{strategy + ' ' + sampler:<26} {max(journal):8.0f} tr/s {max(database):8.0f} tr/s "
                f"{ratio:6.0%} {goal:5.0%} {'OK' if ratio >= goal else 'BELOW GOAL'}"
            )


if __name__ == "__main__":
    main()
