"""Helpers every benchmark shares: where the data is, noise-resistant timing, and timed
optimisation runs.

The optimisation helpers import Backtune inside their functions: a benchmark that spawns
workers has its main module (and so this one) imported again by every worker, and the
worker should pay only for what a worker needs.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parents[1]
LINK_15M = ROOT / "tests" / "data" / "okx_linkusdt_p_15m_2025-05-01_2025-11-20.csv"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

if TYPE_CHECKING:
    from backtune.data.ohlcv import OHLCV
    from backtune.optimize.config import RunConfig
    from backtune.optimize.pool import WorkerPool

# Cash and commission of the optimisation benchmarks: bench_backtest's, as backtesting.py gets them.
CASH = 10_000
COMMISSION = 0.0005


@dataclass(frozen=True)
class CallTimes:
    """Seconds per call of one benchmark case: the fastest and the median."""

    fastest: float
    median: float


def call_times(cases: dict[str, tuple[Callable[[], object], int]], rounds: int) -> dict[str, CallTimes]:
    """Times every single call of each case ``name: (fn, calls per round)``.

    On these shared machines the same call's time varies twofold from one call to the
    next (other tenants' work on the same cores and caches), so the fastest call is the
    best estimate of what the code itself costs; the median shows what a noisy spell
    costs. The cases take turns, round after round, so a slow spell hits all of them alike.
    """
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, (fn, number) in cases.items():
            for _ in range(number):
                start = time.perf_counter()
                fn()
                samples[name].append(time.perf_counter() - start)
    return {name: CallTimes(min(times), statistics.median(times)) for name, times in samples.items()}


def machine() -> str:
    """CPUs and load average: other people's work on a shared machine is part of every figure."""
    one, five, fifteen = os.getloadavg()
    return f"{os.cpu_count()} CPUs, load average {one:.2f} {five:.2f} {fifteen:.2f}"


def link_config(strategy: str, *, workers: int, sampler: str, trials: int, seed: int = 1) -> RunConfig:
    """A run over the whole LINK 15m file with backtesting.py's cash and commission.

    ``keep_journal`` copies the journal into the run directory once the workers have
    stopped (after the trial loop, before the run returns), so ``timed_run`` can tell which
    worker ran each trial and count the journal's lines.
    """
    from backtune.optimize.config import RunConfig

    return RunConfig.parse(
        {
            "data": str(LINK_15M),
            "strategy": strategy,
            "workers": workers,
            "sampler": sampler,
            "seed": seed,
            "budget": {"mode": "trials", "trials": trials},
            "capital": CASH,
            "commission": COMMISSION,
            "keep_journal": True,
        }
    )


@dataclass(frozen=True)
class Trial:
    """One trial as the journal recorded it; times in seconds since execute_run was called."""

    worker: str
    start: float
    complete: float | None
    state: str


@dataclass(frozen=True)
class RunTiming:
    """One ``execute_run`` with its phases read from the trials' own timestamps."""

    summary: dict[str, Any]
    storage: str
    wall_s: float
    trials: list[Trial]
    trial_lines: int
    tree: ProcessTree

    @property
    def finished(self) -> list[Trial]:
        return [t for t in self.trials if t.complete is not None]

    def _firsts(self, state: str | None = None) -> list[Trial]:
        """Each worker's first trial (in ``state``, if given), earliest first."""
        firsts: dict[str, Trial] = {}
        for trial in self.trials:
            if state is None or trial.state == state:
                if trial.worker not in firsts or trial.start < firsts[trial.worker].start:
                    firsts[trial.worker] = trial
        return sorted(firsts.values(), key=lambda t: t.start)

    @property
    def first_starts(self) -> list[float]:
        """When each worker started its first trial: its start-up, from execute_run's call."""
        return [t.start for t in self._firsts()]

    @property
    def first_backtest_s(self) -> list[float]:
        """How long each worker's first completed trial took: a fresh process loads numba's
        on-disk cache during its first backtest (a trial pruned before it loads nothing)."""
        return [t.complete - t.start for t in self._firsts("COMPLETE")]

    @property
    def warm(self) -> float:
        """When the last worker finished its first backtest: from then on every worker runs warm."""
        return max(t.complete for t in self._firsts("COMPLETE"))

    @property
    def last_complete(self) -> float:
        return max(t.complete for t in self.finished)

    @property
    def optimize_s(self) -> float:
        """execute_run's own figure: from its start until every worker has exited."""
        return self.summary["timings"]["optimize_s"]

    @property
    def exit_s(self) -> float:
        """From the last trial's end until the coordinator has joined every worker (optimize_s
        starts a moment after execute_run is called, hence the floor)."""
        return max(0.0, self.optimize_s - self.last_complete)

    @property
    def finish_s(self) -> float:
        """SQLite dump, ranked results, copying and removing the journal."""
        return self.wall_s - self.optimize_s

    def rate(self, backtests_only: bool = False) -> float:
        """Trials per second of the whole execute_run: start-up, exit and dump included."""
        return self._count(self.finished, backtests_only) / self.wall_s

    def steady_rate(self, backtests_only: bool = False) -> float:
        """Trials per second while every worker ran warm: from ``warm`` to the last trial's
        end, counting the trials that ended in that window."""
        return self._count(self._steady(), backtests_only) / (self.last_complete - self.warm)

    def _steady(self) -> list[Trial]:
        return [t for t in self.finished if t.complete > self.warm]

    @staticmethod
    def _count(trials: list[Trial], backtests_only: bool) -> int:
        """With ``backtests_only``, just the trials that ran a backtest: the pruned ones here
        are invalid parameters (sma_cross's n1 >= n2), rejected before any backtest."""
        return sum(1 for t in trials if t.state == "COMPLETE") if backtests_only else len(trials)

    def steady_cpu_per_trial(self) -> float:
        """CPU seconds per trial of the coordinator and every worker while all ran warm:
        unlike trials/s, it hardly depends on how many cores other users left free."""
        return self.tree.cpu_between(self.warm, self.last_complete) / len(self._steady())


def timed_run(
    config: RunConfig, bars: OHLCV, runs_root: Path, pool: WorkerPool | None = None, sample_processes: bool = True
) -> RunTiming:
    """prepare_run (untimed), then time execute_run (with ``pool``'s warm workers, if
    given), sampling its processes (see ProcessTree) unless told not to, and read the kept
    journal. The sampler is a thread of this process: a one-worker run's worker thread
    shares the interpreter lock with it, so a benchmark that needs no CPU or memory
    figures leaves it off."""
    from backtune.optimize.run import execute_run, prepare_run

    run = prepare_run(config, runs_root, bars)
    called = time.time()
    started = time.perf_counter()
    with ProcessTree(since=called, interval=0.05 if sample_processes else None) as tree:
        summary = execute_run(run, pool=pool)
    wall = time.perf_counter() - started
    trials, trial_lines = _journal_trials(Path(summary["paths"]["journal"]), called)
    return RunTiming(summary, run.read_json(run.state_file)["storage"], wall, trials, trial_lines, tree)


def _journal_trials(journal: Path, called: float) -> tuple[list[Trial], int]:
    """Trials from Optuna's journal: ``worker_id`` names the storage instance (one per
    worker) that created each trial; trial ids are the order of the create operations."""
    from optuna.trial import TrialState

    from backtune.optimize.optuna_compat import JournalOperation

    created: list[tuple[str, float]] = []
    ended: dict[int, tuple[float, str]] = {}
    trial_lines = 0
    with journal.open(encoding="utf-8") as lines:
        for line in lines:
            log = json.loads(line)
            op = log["op_code"]
            trial_lines += op >= JournalOperation.CREATE_TRIAL
            if op == JournalOperation.CREATE_TRIAL:
                created.append((log["worker_id"], _seconds(log["datetime_start"]) - called))
            elif op == JournalOperation.SET_TRIAL_STATE_VALUES and log.get("datetime_complete"):
                ended[log["trial_id"]] = (_seconds(log["datetime_complete"]) - called, TrialState(log["state"]).name)
    trials = []
    for trial_id, (worker, start) in enumerate(created):
        complete, state = ended.get(trial_id, (None, "RUNNING"))
        trials.append(Trial(worker, start, complete, state))
    return trials, trial_lines


def _seconds(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


@dataclass(frozen=True)
class Process:
    """One process of the run as sampled: CPU seconds so far, peak RSS and anonymous RSS now (MB)."""

    kind: str
    cpu_s: float
    peak_rss_mb: float
    anon_mb: float


@dataclass
class ProcessTree:
    """This process and its children, sampled from /proc in a thread every ``interval`` s.

    Each sample records, per process, CPU seconds (utime + stime: all threads), VmHWM (the
    kernel's peak resident set, file-backed pages included) and RssAnon (its anonymous
    resident memory now: heap, Python objects, arrays; never shared between spawned
    processes, unlike libraries, the memory-mapped bars or the journal's page cache, so the
    RssAnon of a tree adds up). Times are seconds since ``since`` (epoch). A process's last
    sample is at most ``interval`` before it exits.
    """

    since: float
    interval: float | None = 0.05  # None: no sampling
    samples: list[tuple[float, dict[int, Process]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample_until_stopped, daemon=True)
        self._parents: dict[int, int] = {}

    def __enter__(self) -> ProcessTree:
        if self.interval is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self.interval is not None:
            self._thread.join()

    @property
    def processes(self) -> dict[int, Process]:
        """Every process seen, as last sampled."""
        last: dict[int, Process] = {}
        for _, procs in self.samples:
            last.update(procs)
        return last

    def peak_anon_mb(self) -> float:
        """The largest total anonymous memory of the tree in any one sample."""
        return max(sum(p.anon_mb for p in procs.values()) for _, procs in self.samples)

    def cpu_between(self, start: float, end: float) -> float:
        """CPU seconds the tree spent between two times, from the samples taken inside them."""
        first: dict[int, float] = {}
        last: dict[int, float] = {}
        for t, procs in self.samples:
            if start <= t <= end:
                for pid, process in procs.items():
                    first.setdefault(pid, process.cpu_s)
                    last[pid] = process.cpu_s
        return sum(last[pid] - first[pid] for pid in last)

    def _sample_until_stopped(self) -> None:
        tick = os.sysconf("SC_CLK_TCK")
        while True:
            now = time.time() - self.since
            procs = {}
            for pid in [os.getpid(), *self._children()]:
                try:
                    procs[pid] = self._read(pid, tick)
                except (FileNotFoundError, ProcessLookupError):
                    continue  # it exited between the listing and the read
            self.samples.append((now, procs))
            if self._stop.wait(self.interval):
                return

    def _children(self) -> list[int]:
        me = os.getpid()
        for name in os.listdir("/proc"):
            if name.isdigit() and int(name) not in self._parents:
                try:
                    stat = Path(f"/proc/{name}/stat").read_text()
                except (FileNotFoundError, ProcessLookupError):
                    continue
                self._parents[int(name)] = int(stat.rsplit(")", 1)[1].split()[1])
        return [pid for pid, parent in self._parents.items() if parent == me and Path(f"/proc/{pid}").exists()]

    def _read(self, pid: int, tick: int) -> Process:
        kind = "coordinator" if pid == os.getpid() else _kind(Path(f"/proc/{pid}/cmdline").read_bytes())
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        status = _kb_fields(Path(f"/proc/{pid}/status").read_text())
        if "VmHWM" not in status:
            raise ProcessLookupError(pid)  # exiting: its memory is already gone
        return Process(
            kind, (int(fields[11]) + int(fields[12])) / tick, status["VmHWM"] / 1024, status["RssAnon"] / 1024
        )


def _kind(command: bytes) -> str:
    """Read every time: between fork and exec a child still shows its parent's command."""
    if b"resource_tracker" in command:
        return "resource tracker"
    return "worker" if b"spawn_main" in command else "starting"


def _kb_fields(text: str) -> dict[str, float]:
    """``Name:   123 kB`` lines of a /proc file, in kB."""
    fields = {}
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if value.endswith("kB"):
            fields[name] = float(value.split()[0])
    return fields
