"""Does watching a run in the embedded dashboard slow the run down?

Trials/s of the same optimisation (sma_cross on LINK 15m, random sampler, 2 workers, a time
budget, live SQLite copy every 3 s as the job coordinator keeps it) with and without a
thread polling the dashboard's API for that run's study every 0.5 s (20x the frontend's
default reload interval), in the coordinator's own process. Each poll does what an open
study page does: the study list, the study's trials from the first unfinished one on
(``?after=``, as the frontend asks) and the parameter importances, which the page refetches
whenever the number of completed trials has changed.

Runs alternate (without, with, with, without, ...) so drift in the machine's load hits both
sides alike; the ratio is mean trials/s with polling over mean without (the median of each
round's ratio is printed too). On a shared machine other people's work moves trials/s far
more than polling does, so the CPU time the polling thread used, which hardly depends on the
load, is printed as well: it is what polling takes away from the workers on a busy machine.

Goal: ratio >= 0.9.

Run from the project root: ``python benchmarks/bench_dashboard.py [--seconds 20] [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import LINK_15M

GOAL = 0.9


class Poller:
    """Polls the dashboard like an open study page, every ``interval`` seconds, until stopped."""

    def __init__(self, client: Any, study_id: int, interval: float) -> None:
        self.client = client
        self.study_id = study_id
        self.interval = interval
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.cpu_s = 0.0
        self.trials_seen = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        cpu_started = time.thread_time()
        trials: list[dict[str, Any]] = []
        while not self._stop.is_set():
            started = time.perf_counter()
            trials = self._poll(trials)
            self.latencies.append(time.perf_counter() - started)
            self._stop.wait(max(0.0, self.interval - (time.perf_counter() - started)))
        self.cpu_s = time.thread_time() - cpu_started
        self.trials_seen = len(trials)

    def _poll(self, trials: list[dict[str, Any]]) -> list[dict[str, Any]]:
        self._get("/api/studies")
        after = next((i for i, t in enumerate(trials) if t["state"] in ("Running", "Waiting")), len(trials))
        detail = self._get(f"/api/studies/{self.study_id}?after={after}")
        if detail is None:
            return trials  # no live copy yet
        self._get(f"/api/studies/{self.study_id}/param_importances")
        return trials[:after] + detail["trials"]

    def _get(self, path: str) -> dict[str, Any] | None:
        response = self.client.get(path)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            self.errors.append(f"{path}: {response.status_code} {response.data[:200]!r}")
            return None
        return response.json


@dataclass(frozen=True)
class Measured:
    polled: bool
    trials_per_s: float
    trials: int
    seconds: float
    poller: Poller | None


def measure(config: Any, runs: Path, bars: Any, client: Any | None, interval: float) -> Measured:
    from backtune.jobs.coordinator import LIVE_DUMP_EVERY
    from backtune.jobs.study_ids import dashboard_study_id
    from backtune.optimize.run import execute_run, prepare_run

    run = prepare_run(config, runs, bars)
    poller = None
    if client is not None:
        poller = Poller(client, dashboard_study_id(runs, run.run_id), interval)
        poller.start()
    try:
        summary = execute_run(run, live_dump_every=LIVE_DUMP_EVERY)
    finally:
        if poller is not None:
            poller.stop()
    return Measured(
        poller is not None,
        summary["trials_per_s"],
        summary["trials"]["total"],
        summary["timings"]["optimize_s"],
        poller,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="time budget of each run")
    parser.add_argument("--rounds", type=int, default=3, help="pairs of runs (one polled, one not)")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between polls")
    args = parser.parse_args()

    import optuna

    from app import create_app
    from backtune.data.loader import load_csv
    from backtune.optimize.config import RunConfig

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    bars = load_csv(LINK_15M).bars

    def config(seconds: float) -> RunConfig:
        return RunConfig.parse(
            {
                "data": str(LINK_15M),
                "strategy": "sma_cross",
                "workers": 2,
                "sampler": "random",
                "seed": 1,
                "budget": {"mode": "time", "seconds": seconds},
            }
        )

    print(load())
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        # Before any run exists: the app's start-up recovery would take a run of this
        # process for one whose coordinator died.
        client = create_app({"home": home, "runs_dir": home / "runs", "data_dir": home / "data"}).test_client()
        measure(config(3.0), home / "runs", bars, client, args.interval)  # warm-up: caches, imports
        pairs: list[tuple[Measured, Measured]] = []
        for round_ in range(args.rounds):
            order = (False, True) if round_ % 2 == 0 else (True, False)
            measured = {
                polled: measure(config(args.seconds), home / "runs", bars, client if polled else None, args.interval)
                for polled in order
            }
            pairs.append((measured[False], measured[True]))
            print(f"round {round_ + 1}: ratio {measured[True].trials_per_s / measured[False].trials_per_s:.3f}")
            for polled in order:
                print("  " + describe(measured[polled]))
    print(load())

    errors = [e for _, p in pairs for e in p.poller.errors]
    if errors:
        raise SystemExit("the dashboard answered with errors, the benchmark is void:\n" + "\n".join(errors[:5]))
    alone_rate = statistics.mean(a.trials_per_s for a, _ in pairs)
    polled_rate = statistics.mean(p.trials_per_s for _, p in pairs)
    ratio = polled_rate / alone_rate
    median = statistics.median(p.trials_per_s / a.trials_per_s for a, p in pairs)
    cpu = statistics.mean(p.poller.cpu_s / p.seconds for _, p in pairs)
    print(
        f"trials/s alone {alone_rate:.1f}, polled every {args.interval} s {polled_rate:.1f}: ratio {ratio:.3f} "
        f"(median of rounds {median:.3f}; goal >= {GOAL}) {'OK' if ratio >= GOAL else 'BELOW GOAL'}; "
        f"polling used {cpu:.1%} of one core"
    )


def load() -> str:
    """Other people's work on a shared machine moves these figures more than polling does."""
    return f"{os.cpu_count()} CPUs, load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def describe(result: Measured) -> str:
    line = f"{'polled' if result.polled else 'alone '}: {result.trials_per_s:7.1f} trials/s ({result.trials} trials)"
    if result.poller is not None:
        latencies = sorted(result.poller.latencies)
        line += (
            f"; {len(latencies)} polls, median {statistics.median(latencies) * 1e3:.0f} ms, "
            f"max {latencies[-1] * 1e3:.0f} ms, poller CPU {result.poller.cpu_s:.2f} s "
            f"({result.poller.cpu_s / result.seconds:.1%} of a core), "
            f"last seen {result.poller.trials_seen} trials"
        )
    return line


if __name__ == "__main__":
    main()
