"""One optimisation worker: attach to the shared study and run trials until a stop rule fires.

``run_worker`` is a module-level function taking only strings and numbers, so it can be
the target of a *spawned* process (nothing unpicklable crosses the process boundary, and
it works where fork is unavailable). A one-worker run calls it in-process: same path.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import optuna
from optuna.exceptions import UpdateFinishedTrialError

from backtune.optimize.config import RunConfig
from backtune.optimize.objective import Objective
from backtune.optimize.optuna_compat import optimize_once, storage_of
from backtune.optimize.presence import Presence
from backtune.optimize.reconnect import RECONNECT_LIMIT_S, DatabaseUnreachable, Reconnect
from backtune.optimize.rundir import RunDir
from backtune.optimize.runlog import echo_to_stderr, run_log
from backtune.optimize.samplers import build_pruner, build_sampler
from backtune.optimize.shared_bars import load_bars
from backtune.optimize.stopping import Convergence, StopRules, TrialLimitReached
from backtune.optimize.storage import open_storage
from backtune.robustness.blocklog import BlockLog

log = logging.getLogger("backtune.worker")


@dataclass(frozen=True)
class WorkerPlan:
    """What the coordinator tells each worker; plain values only (it crosses a spawn)."""

    run_dir: str
    index: int
    storage: str
    study_name: str
    trial_limit: int | None
    deadline: float | None
    # The process that started the workers: a worker in another process stops when its
    # parent is no longer that one (the coordinator died, e.g. ``kill -9``), instead of
    # running on under init. None for workers that run anywhere else.
    coordinator_pid: int | None = None
    heartbeat: tuple[int, int] | None = None  # a database's (interval, grace period), seconds
    kind: str = "local"  # or "remote": a worker on another host (python -m app worker)
    reconnect_limit: float = RECONNECT_LIMIT_S  # seconds to wait for a database it lost


def run_worker(plan: WorkerPlan) -> None:
    """Process entry point: report failures in the worker's status file, then re-raise."""
    run = RunDir(Path(plan.run_dir))
    status = {"index": plan.index, "pid": os.getpid(), "state": "running", "trials": 0}
    run.write_json(run.worker_status(plan.index), status)
    with run_log(run):
        try:
            status.update(state="done", **optimize(plan, run))
        except BaseException as exc:
            status.update(state="failed", error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
            log.error("run %s worker %d failed: %s: %s", run.run_id, plan.index, type(exc).__name__, exc)
            raise
        finally:
            run.write_json(run.worker_status(plan.index), status)


def run_spawned(plan: WorkerPlan) -> None:
    """Entry point of a spawned worker process.

    It lives here, not beside the coordinator, because a spawned child imports the module
    of its target before anything else: this module needs optuna, numba and the
    strategies, while the coordinator's also pulls in pandas, SQLAlchemy and the dump,
    which cost every worker 0.6 s more start-up (docs/performance.md).
    """
    ignore_ctrl_c()
    if plan.kind == "remote":
        echo_to_stderr()
    try:
        run_worker(plan)
    except DatabaseUnreachable:
        sys.exit(1)  # run_worker logged it in one line; a traceback would add nothing
    exit_now()  # other failures raise above instead, keeping exit code 1


def ignore_ctrl_c() -> None:
    """Ctrl-C reaches the whole process group; only the coordinator reacts, via the stop
    file, so no worker process dies in the middle of a trial."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def exit_now() -> None:
    """End a worker process without interpreter shutdown: everything is written (status
    file, log, journal), and tearing down ~1,600 modules takes 0.5-1.4 s."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _orphaned(plan: WorkerPlan) -> str | None:
    """ "coordinator gone" when this worker runs in a process of its own whose parent is no
    longer the coordinator (it died and the worker was handed to init)."""
    pid = plan.coordinator_pid
    if pid is None or os.getpid() == pid or os.getppid() == pid:
        return None
    return "coordinator gone"


def optimize(plan: WorkerPlan, run: RunDir) -> dict:
    config = RunConfig.parse(run.read_json(run.config_file))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(
        study_name=plan.study_name,
        storage=open_storage(plan.storage, batched=True, heartbeat=plan.heartbeat),
        sampler=build_sampler(config, plan.index),
        pruner=build_pruner(config),
    )
    presence = Presence(study, plan.index, plan.kind)
    objective = Objective(
        config, load_bars(run.bars_dir), BlockLog.for_worker(run.path, plan.index), worker=presence.name
    )
    convergence = None
    if config.budget.mode == "convergence":
        convergence = Convergence(config.budget.patience, maximize=config.directions[0] == "maximize")
    trial_limit = plan.trial_limit
    storage = storage_of(study)
    if hasattr(storage, "trial_limit"):  # BatchedDatabaseStorage
        # The database refuses the trial past the budget itself, exactly, in the same
        # round trip that creates a trial; no check before each trial is needed.
        storage.trial_limit, trial_limit = plan.trial_limit, None
        # Only TPE's constant liar reads other workers' running trials.
        storage.publish_running = config.sampler == "tpe"
    rules = StopRules(run, trial_limit, plan.deadline, convergence)
    label = f"run {run.run_id} worker {plan.index}"
    reconnect = Reconnect(storage, label, plan.reconnect_limit) if hasattr(storage, "recover") else None
    log.info("run %s worker %d started (pid %d)", run.run_id, plan.index, os.getpid())
    started = time.perf_counter()
    done = 0
    reachable = True
    try:
        while True:
            try:
                if (reason := rules.reason(study) or _orphaned(plan)) is not None:
                    break
                try:
                    done += _run_trial(study, objective, label)
                except TrialLimitReached:
                    reason = "trials"
                    break
                presence.beat(done)
            except Exception as exc:
                cause = reconnect.lost(exc) if reconnect is not None else None
                if cause is None:
                    raise
                reason, written = reconnect.wait(cause, lambda: rules.local_reason() or _orphaned(plan))
                done += written
                if reason is not None:
                    reachable = False
                    break
    finally:
        objective.blocks.close()
    if reachable:
        presence.beat(done, state="stopped", force=True)
    seconds = time.perf_counter() - started
    log.info("run %s worker %d stopped (%s) after %d trials in %.1f s", run.run_id, plan.index, reason, done, seconds)
    return {"trials": done, "stop_reason": reason, "seconds": seconds}


def _run_trial(study: optuna.Study, objective: Objective, label: str) -> int:
    """One trial, so the global rules are checked before every trial (a callback would see
    them after each, but Optuna deep-copies the finished trial for every callback: a tenth
    of a millisecond, a fifth of a fast trial); 1 if its end was recorded. A failing
    objective is recorded as a FAIL trial and re-raised, ending this worker."""
    try:
        optimize_once(study, objective)
    except UpdateFinishedTrialError as exc:
        # Declared dead meanwhile (no heartbeat through the grace period, or the job
        # closing): the trial stays FAIL; the stop rules decide whether to go on.
        log.warning("%s: %s", label, exc)
        return 0
    return 1
