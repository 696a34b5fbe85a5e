"""Benchmark: export a journal-backed study to SQLite with optuna.copy_study vs dump_study.

Both exports read the same JournalStorage in the same run, so the ratio is what switching saves.
The study looks like an optimiser's: 5 int/float params, one objective and 25 metrics per trial,
stored as one JSON user attr (``json``, the default: one row per trial) or as 25 user attrs
(``split``: the dashboard can sort and filter on each, but copy_study then needs ~3 minutes at
5,000 trials). Also times the incremental dumper's syncs, what following a live run costs.

Run from the project root: ``python benchmarks/bench_dump.py [--trials N] [--attrs json|split]``.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401  (puts the project root on sys.path)
import optuna
from optuna.distributions import BaseDistribution, FloatDistribution, IntDistribution
from optuna.trial import FrozenTrial

from backtune.optimize.dump import IncrementalDumper, dump_study

STUDY = "bench"
N_METRICS = 25
GOAL = 50.0
DISTRIBUTIONS: dict[str, BaseDistribution] = {
    "fast_period": IntDistribution(2, 50),
    "slow_period": IntDistribution(10, 400, step=5),
    "stop_loss": FloatDistribution(0.001, 0.2, log=True),
    "take_profit": FloatDistribution(0.0, 0.5),
    "trail": FloatDistribution(0.0, 5.0, step=0.25),
}


def make_trials(n: int, attrs: str, rng: random.Random) -> list[FrozenTrial]:
    trials = []
    for _ in range(n):
        params = {
            "fast_period": rng.randint(2, 50),
            "slow_period": rng.randrange(10, 401, 5),
            "stop_loss": 10 ** rng.uniform(-3, -0.7),
            "take_profit": rng.uniform(0.0, 0.5),
            "trail": rng.randrange(21) * 0.25,
        }
        metrics = {f"metric_{i:02d}": rng.gauss(0.0, 1.0) for i in range(N_METRICS)}
        trials.append(
            optuna.trial.create_trial(
                params=params,
                distributions=DISTRIBUTIONS,
                value=metrics["metric_00"],
                user_attrs=metrics if attrs == "split" else {"metrics": metrics},
            )
        )
    return trials


def add_to_journal(journal: optuna.storages.BaseStorage, trials: list[FrozenTrial]) -> None:
    study = optuna.load_study(study_name=STUDY, storage=journal)
    study.add_trials(trials)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5000)
    parser.add_argument("--attrs", choices=("json", "split"), default="json")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="where the journal and databases go (default: a temporary directory); "
        "fsync cost depends on the disk, so keep it on the disk runs use",
    )
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rng = random.Random(0)

    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        workdir = Path(tmp)
        started = time.perf_counter()
        journal = optuna.storages.JournalStorage(
            optuna.storages.journal.JournalFileBackend(str(workdir / "journal.log"))
        )
        optuna.create_study(study_name=STUDY, storage=journal)
        add_to_journal(journal, make_trials(args.trials, args.attrs, rng))
        print(f"built a {args.trials}-trial journal in {time.perf_counter() - started:.1f} s")

        started = time.perf_counter()
        optuna.copy_study(
            from_study_name=STUDY,
            from_storage=journal,
            to_storage=f"sqlite:///{workdir / 'copy.db'}",
        )
        copy_seconds = time.perf_counter() - started
        dump_seconds = dump_study(journal, STUDY, workdir / "dump.db").seconds

        copied = optuna.load_study(study_name=STUDY, storage=f"sqlite:///{workdir / 'copy.db'}")
        dumped = optuna.load_study(study_name=STUDY, storage=f"sqlite:///{workdir / 'dump.db'}")
        if copied.trials != dumped.trials:
            raise SystemExit("dump_study and copy_study disagree: the benchmark is void")

        with IncrementalDumper(journal, STUDY, workdir / "live.db") as dumper:
            first = dumper.sync()
            idle = dumper.sync()
            add_to_journal(journal, make_trials(50, args.attrs, rng))
            fifty = dumper.sync()
        print(
            f"incremental: first sync {first.trials} trials {first.seconds:.2f} s, "
            f"sync of {fifty.trials} new trials {fifty.seconds * 1e3:.0f} ms, "
            f"idle sync {idle.seconds * 1e3:.0f} ms"
        )

    ratio = copy_seconds / dump_seconds
    layout = f"{N_METRICS} user attrs" if args.attrs == "split" else "1 JSON user attr"
    print(
        f"dump {args.trials} trials ({layout}/trial): copy_study {copy_seconds:.1f} s, "
        f"dump_study {dump_seconds:.2f} s, ratio {ratio:.0f}x (goal >= {GOAL:.0f}x)"
    )


if __name__ == "__main__":
    main()
