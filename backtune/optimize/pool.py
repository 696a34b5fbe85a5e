"""Worker processes started ahead of the runs they serve, so a run's workers start warm.

A spawned worker spends about a second before its first trial ends: the interpreter
starts, imports optuna and numba, initialises numba's compiler context and loads every
kernel from the on-disk cache. A one-worker run has none of that (it runs inside the
coordinator), so over a ten-second run the cold start alone costs a two-worker run a
fifth of its speed-up (docs/performance.md). A pool pays it once, ahead of time: each
process warms up on a tiny backtest of every strategy, then serves one ``WorkerPlan``
after another through a pipe. A pooled process is still a spawned process with a
module-level entry and plain-value plans, and it runs the very same ``run_worker``.

The job coordinator and the CLI start a pool before their own start-up (reading the
CSV, importing the coordinator), so the workers warm up meanwhile; a long-lived caller
can keep one pool for many runs.
"""

from __future__ import annotations

import multiprocessing
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

import numpy as np

from backtune.data.ohlcv import OHLCV
from backtune.engine.backtest import run_backtest
from backtune.metrics import compute_metrics
from backtune.optimize.shared_bars import load_bars, save_bars
from backtune.optimize.worker import WorkerPlan, exit_now, ignore_ctrl_c, run_worker
from backtune.registry import all_strategies
from backtune.robustness.cscv import DEFAULT_BLOCKS
from backtune.robustness.returns import return_stats

READY = "ready"
_WARM_UP_BARS = 1_000


class _Process:
    """One pooled process and our end of its pipe."""

    def __init__(self, context: multiprocessing.context.SpawnContext) -> None:
        self.connection, theirs = context.Pipe()
        self.process = context.Process(target=serve, args=(theirs,), name="pooled-worker", daemon=True)
        self.process.start()
        theirs.close()
        self.warm = False

    def wait_warm(self, timeout: float | None) -> bool:
        """Whether it has warmed up (waiting up to ``timeout``); False if it died first."""
        if not self.warm:
            try:
                self.warm = self.connection.poll(timeout) and self.connection.recv() == READY
            except (EOFError, OSError):
                return False
        return self.warm

    def stop(self) -> None:
        """Ask it to exit after its current plan; kill it if it does not within 5 s."""
        try:
            self.connection.send(None)
        except OSError:
            pass
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.connection.close()


class PooledWorker:
    """One plan running in a pooled process, with the part of ``multiprocessing.Process``'s
    interface the coordinator watches: ``is_alive``, ``join``, ``exitcode`` and ``pid``."""

    def __init__(self, slot: _Process) -> None:
        self.slot = slot
        self.pid = slot.process.pid
        self.exitcode: int | None = None

    def is_alive(self) -> bool:
        self.join(0)
        return self.exitcode is None

    def join(self, timeout: float | None = None) -> None:
        """Wait up to ``timeout`` for the plan to end: the process reports 0 or 1 through the
        pipe, or dies (a kill), and then its own exit code stands (-9 for SIGKILL)."""
        if self.exitcode is not None:
            return
        try:
            while self.slot.connection.poll(timeout):
                message = self.slot.connection.recv()
                if message != READY:  # a process still warming up when the plan was sent
                    self.exitcode = message
                    return
                self.slot.warm = True
        except (EOFError, OSError):
            pass
        if not self.slot.process.is_alive():
            self.slot.process.join()
            self.exitcode = self.slot.process.exitcode


class WorkerPool:
    """``size`` warm worker processes; ``start`` hands them plans, ``close`` stops them."""

    def __init__(self, size: int) -> None:
        self._context = multiprocessing.get_context("spawn")
        self._idle = [_Process(self._context) for _ in range(size)]
        self._busy: list[PooledWorker] = []

    def wait_warm(self, timeout: float | None = None) -> bool:
        """Whether every idle process has warmed up within ``timeout`` (``start`` does not
        need this; it is for callers that measure or report readiness)."""
        return all(slot.wait_warm(timeout) for slot in self._idle)

    def start(self, plans: list[WorkerPlan]) -> list[PooledWorker]:
        """Run each plan in a pooled process: those that died since are replaced, and the
        pool grows (with cold processes) when there are more plans than processes."""
        self._reclaim()
        workers = []
        for plan in plans:
            slot = self._take()
            slot.connection.send(plan)
            workers.append(PooledWorker(slot))
        self._busy.extend(workers)
        return workers

    @property
    def size(self) -> int:
        self._reclaim()
        return len(self._idle) + len(self._busy)

    def map_calls(self, calls: list[Callable[[], Any]]) -> list[Any]:
        """Run picklable no-argument callables (e.g. a batch of backtests) on idle processes,
        one call per process at a time; their results, in order. A call that raises in the
        process raises here as a RuntimeError naming it."""
        self._reclaim()
        slots = [self._take() for _ in range(min(len(calls), max(1, len(self._idle))))]
        results: list[Any] = [None] * len(calls)
        running: dict[_Process, tuple[int, Callable[[], Any]]] = {}
        try:
            pending = list(enumerate(calls))
            for slot in slots:
                if pending:
                    running[slot] = pending.pop(0)
                    slot.connection.send(running[slot][1])
            while running:
                ready = wait([slot.connection for slot in running])
                for slot in [slot for slot in running if slot.connection in ready]:
                    try:
                        message = slot.connection.recv()
                    except EOFError:
                        raise RuntimeError("a pooled process died during a call") from None
                    if isinstance(message, str) and message == READY:
                        slot.warm = True
                        continue
                    index, call = running.pop(slot)
                    if isinstance(message, _CallFailed):
                        raise RuntimeError(f"{type(call).__name__} failed in a pooled process: {message.error}")
                    results[index] = message
                    if pending:
                        running[slot] = pending.pop(0)
                        slot.connection.send(running[slot][1])
        finally:
            for slot in running:  # left mid-call by an error: their answers must not reach a later plan
                slot.stop()
            self._idle.extend(slot for slot in slots if slot not in running)
        return results

    def _take(self) -> _Process:
        """An idle process, warm or still warming up (it reads the plan when it is ready)."""
        while self._idle:
            slot = self._idle.pop(0)
            if slot.process.is_alive():
                return slot
            slot.stop()
        return _Process(self._context)

    def _reclaim(self) -> None:
        """Idle again: processes whose plan has ended; dropped: processes that died."""
        busy = []
        for worker in self._busy:
            if worker.is_alive():
                busy.append(worker)
            elif worker.slot.process.is_alive():
                self._idle.append(worker.slot)
            else:
                worker.slot.connection.close()
        self._busy = busy

    @property
    def pids(self) -> set[int]:
        self._reclaim()
        return {s.process.pid for s in self._idle} | {w.pid for w in self._busy}

    def close(self) -> None:
        self._reclaim()
        for slot in [w.slot for w in self._busy] + self._idle:
            slot.stop()
        self._idle, self._busy = [], []

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextmanager
def warm_pool(workers: int) -> Iterator[WorkerPool | None]:
    """A pool for a run of ``workers`` processes, started now so that it warms up while the
    caller prepares the run; None for one worker, which runs in the caller's process."""
    if workers < 2:
        yield None
        return
    with WorkerPool(workers) as pool:
        yield pool


def serve(connection: Connection) -> None:
    """Entry point of a pooled process: warm up, report READY, then run plans until None.

    A plan that fails has already written its error to the worker's status file and log
    (``run_worker``); the process reports exit code 1 for it and serves the next plan.
    """
    ignore_ctrl_c()
    warm_up()
    connection.send(READY)
    while (plan := _next_plan(connection)) is not None:
        if not isinstance(plan, WorkerPlan):
            connection.send(_call(plan))
            continue
        try:
            run_worker(plan)
        except BaseException:
            connection.send(1)
        else:
            connection.send(0)
    exit_now()


@dataclass(frozen=True)
class _CallFailed:
    error: str


def _call(call: Callable[[], Any]) -> Any:
    """A ``map_calls`` call: its result, or its error (the process serves on)."""
    try:
        return call()
    except Exception as exc:
        return _CallFailed(f"{type(exc).__name__}: {exc}")


def _next_plan(connection: Connection) -> WorkerPlan | None:
    """The next plan, or None to stop: when asked to, or when the pool's owner is gone."""
    try:
        return connection.recv()
    except EOFError:
        return None


def warm_up() -> None:
    """Load every strategy's kernels as trials will call them: on memory-mapped, read-only
    bars (numba compiles, and caches, read-only arrays separately from writable ones)."""
    rng = np.random.default_rng(0)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, _WARM_UP_BARS)))
    spread = close * 0.005
    bars = OHLCV(
        time=np.arange(_WARM_UP_BARS, dtype=np.int64) * 900_000_000_000,
        open=close,
        high=close + spread,
        low=close - spread,
        close=close,
        volume=np.full(_WARM_UP_BARS, 1_000.0),
    )
    with tempfile.TemporaryDirectory(prefix="backtune-warm-up-") as folder:
        save_bars(bars, Path(folder))
        shared = load_bars(Path(folder))
        for strategy in all_strategies().values():
            result = run_backtest(shared, strategy, strategy.validate({}))
            compute_metrics(result)
            return_stats(result, DEFAULT_BLOCKS)
