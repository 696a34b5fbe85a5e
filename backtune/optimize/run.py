"""The coordinator of one run: prepare the run directory, start the workers, watch them,
then fail orphaned trials, dump the study to SQLite and write the ranked results.

It never imports Flask: the CLI calls it in-process, the web app from a coordinator
process of its own, and resume goes through the same ``execute_run``.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from backtune.data.loader import load_csv
from backtune.data.ohlcv import OHLCV
from backtune.optimize.config import Budget, RunConfig
from backtune.optimize.database import connection_lost, heartbeat_settings
from backtune.optimize.dump import LiveDump, dump_study
from backtune.optimize.optuna_compat import storage_of
from backtune.optimize.pool import WorkerPool
from backtune.optimize.presence import workers_of
from backtune.optimize.results import best_row, ranked_trials, results_csv, state_counts
from backtune.optimize.rundir import PREPARED, RunDir, new_run_id
from backtune.optimize.runlog import run_log
from backtune.optimize.shared_bars import save_bars
from backtune.optimize.space import SearchSpace
from backtune.optimize.storage import journal_files, open_storage
from backtune.optimize.storage_url import is_database_url
from backtune.optimize.worker import WorkerPlan, run_spawned, run_worker
from backtune.robustness.overfitting import study_overfitting
from backtune.robustness.robust_best import robust_best
from backtune.window import resolve_window

log = logging.getLogger("backtune.run")
POLL_SECONDS = 0.2
# How long a remote worker may take to notice that its job is closing (it polls the plan).
REMOTE_STOP_S = 5.0


@dataclass(frozen=True)
class Progress:
    """A snapshot of the shared study, for progress bars and the web API."""

    counts: dict[str, int]
    done: int
    best_value: float | None
    best_number: int | None
    best_params: dict[str, Any] | None
    elapsed_s: float
    trials_per_s: float
    trial_limit: int | None
    deadline: float | None
    workers: tuple[dict[str, Any], ...] = ()
    # "finishing" once every worker has stopped: the dump, ranking, CSCV and plateau step follow.
    phase: str = "searching"


def journal_dir() -> Path | None:
    """Where live journals go. tmpfs by default: Optuna fsyncs every journal append,
    which costs ~14x per trial on disk (docs/performance.md); the SQLite dump is the
    durable copy. ``BACKTUNE_JOURNAL_DIR`` overrides; None means the run directory."""
    chosen = os.environ.get("BACKTUNE_JOURNAL_DIR")
    if chosen:
        return Path(chosen)
    shm = Path("/dev/shm")
    return shm / "backtune" if shm.is_dir() and os.access(shm, os.W_OK) else None


def prepare_run(config: RunConfig, runs_root: Path, bars: OHLCV | None = None, run_id: str | None = None) -> RunDir:
    """Create the run directory, share the bars, create the study and enqueue seeds.

    A window that selects no bars of the data is refused here (WindowError naming it),
    before anything is created: every trial would fail on it.
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    bars = bars if bars is not None else load_csv(Path(config.data)).bars
    resolve_window(bars, config.window)
    run = RunDir(Path(runs_root) / (run_id or new_run_id(config.strategy)))
    run.path.mkdir(parents=True)
    run.workers_dir.mkdir()
    save_bars(bars, run.bars_dir)
    run.write_json(run.config_file, config.as_dict())
    storage_url = config.storage or str(_journal_path(run))
    storage = open_storage(storage_url)
    study = optuna.create_study(study_name=config.study_name, storage=storage, directions=config.directions)
    study.set_user_attr("run_id", run.run_id)
    study.set_user_attr("strategy", config.strategy)
    for params in config.seed_params:
        study.enqueue_trial(dict(params))
    run.write_json(run.state_file, {"status": PREPARED, "storage": storage_url, "created": time.time()})
    with run_log(run):
        log.info(
            "run %s prepared: %s, %d workers, target %s",
            run.run_id,
            config.strategy,
            config.workers,
            ",".join(t.name for t in config.targets),
        )
    return run


def execute_run(
    run: RunDir,
    budget: Budget | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    live_dump_every: float | None = None,
    pool: WorkerPool | None = None,
) -> dict[str, Any]:
    """Run the workers to the budget (the run's own, or ``budget`` for a resume) and finish.

    With ``live_dump_every`` the study is also copied, incrementally, into ``live.db``
    every so many seconds, so a dashboard can follow the run; it is removed at the end,
    when ``study.db`` takes over. With a ``pool``, a multi-worker run's workers are the
    pool's warm processes instead of freshly spawned ones.
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with run_log(run):
        return _execute(run, budget, on_progress, live_dump_every, pool)


def _execute(
    run: RunDir,
    budget: Budget | None,
    on_progress: Callable[[Progress], None] | None,
    live_dump_every: float | None,
    pool: WorkerPool | None,
) -> dict[str, Any]:
    started = time.perf_counter()
    config = RunConfig.parse(run.read_json(run.config_file))
    state = run.read_json(run.state_file)
    storage = open_storage(state["storage"])
    study = optuna.load_study(study_name=config.study_name, storage=storage)
    budget = budget or config.budget
    # Seeds still waiting in the queue are part of this budget, not trials run before it.
    baseline = sum(1 for t in study.get_trials(deepcopy=False) if t.state != TrialState.WAITING)
    trial_limit = baseline + budget.trials if budget.trials is not None else None
    deadline = time.time() + budget.seconds if budget.seconds is not None else None
    shared = is_database_url(state["storage"])
    heartbeat = heartbeat_settings() if shared else None
    # What a remote worker's plan repeats (GET /api/jobs/<id>/plan): the same global budget.
    run.update_state(
        status="running",
        coordinator_pid=os.getpid(),
        started=time.time(),
        closing=False,
        trial_limit=trial_limit,
        deadline=deadline,
        heartbeat=heartbeat,
    )
    plans = [
        WorkerPlan(
            str(run.path),
            i,
            state["storage"],
            config.study_name,
            trial_limit,
            deadline,
            coordinator_pid=os.getpid(),
            heartbeat=heartbeat,
        )
        for i in range(config.workers)
    ]
    log.info("run %s started: %d workers, budget %s", run.run_id, config.workers, budget.as_dict())

    workers = _start(plans, pool)
    live = LiveDump(storage, config.study_name, run.live_sqlite, live_dump_every) if live_dump_every else None
    reaper = StaleTrials(study, heartbeat[0]) if shared else None
    try:
        _watch(run, study, config.space, workers, baseline, trial_limit, deadline, on_progress, live, reaper)
        if reaper is not None:
            run.update_state(closing=True)
            reaper.await_running(sum(heartbeat) + REMOTE_STOP_S)
    finally:
        if live is not None:
            live.close()
    optimize_s = time.perf_counter() - started
    failures = _failures(run, workers)
    status = _final_status(run, failures, len(plans))
    new_trials = sum(1 for t in study.get_trials(deepcopy=False)[baseline:] if t.state.is_finished())
    return _finish(
        run,
        config,
        state["storage"],
        study,
        status,
        started,
        optimize_s,
        {
            "trials_per_s": new_trials / optimize_s if optimize_s > 0 else 0.0,
            "stop_reason": _stop_reason(run),
            "workers": failures or None,
        },
        error=_failure_reason(failures) if status == "failed" else None,
        pool=pool,
    )


def salvage_run(run: RunDir, status: str) -> dict[str, Any]:
    """Finish a run whose coordinator died: keep and dump its trials so it can be resumed."""
    with run_log(run):
        started = time.perf_counter()
        config = RunConfig.parse(run.read_json(run.config_file))
        storage_url = run.read_json(run.state_file)["storage"]
        if not is_database_url(storage_url) and not Path(storage_url).exists():
            # The journal lived on tmpfs and went with the machine; the live copy is at most
            # a few seconds behind it, so it is the best record left.
            if not run.live_sqlite.exists():
                run.update_state(status=status, finished=time.time())
                log.warning("run %s %s: its journal and live copy are gone, nothing to salvage", run.run_id, status)
                return run.read_json(run.state_file)
            storage_url = f"sqlite:///{run.live_sqlite}"
            log.warning("run %s: journal gone, salvaging from its live copy", run.run_id)
        study = optuna.load_study(study_name=config.study_name, storage=open_storage(storage_url))
        summary = _finish(
            run,
            config,
            storage_url,
            study,
            status,
            started,
            None,
            {"trials_per_s": None, "stop_reason": status, "workers": None},
            plateaus=False,
        )
        run.live_sqlite.unlink(missing_ok=True)
        return summary


def _finish(
    run: RunDir,
    config: RunConfig,
    storage_url: str,
    study: optuna.Study,
    status: str,
    started: float,
    optimize_s: float | None,
    extra: dict[str, Any],
    error: str | None = None,
    pool: WorkerPool | None = None,
    plateaus: bool = True,
) -> dict[str, Any]:
    """Fail orphaned trials, dump to SQLite, rank, write results and the final state
    (with ``error``, the reason a failed run gives at the top of its state).

    The plateaus of the best trials are backtested on ``pool`` (the run's workers, idle by
    now) or here; a salvaged run (``plateaus`` False: its coordinator died, and whoever
    salvages it must not start thousands of backtests) gets them when it is resumed.
    """
    orphans = _fail_orphans(study)
    dump_started = time.perf_counter()
    dump_study(storage_of(study), config.study_name, run.sqlite)
    dump_s = time.perf_counter() - dump_started
    trials = study.get_trials(deepcopy=False)
    rows = ranked_trials(trials, config)
    overfitting = study_overfitting(run, config, rows)
    robust = robust_best(run, config, rows, pool) if plateaus else None
    summary = {
        "run_id": run.run_id,
        "run_dir": str(run.path),
        "status": status,
        "study_name": config.study_name,
        "paths": {"sqlite": str(run.sqlite)},
        "trials": state_counts(trials),
        "best": best_row(rows),
        "timings": {"optimize_s": optimize_s, "dump_s": dump_s, "total_s": None},
        **extra,
        "orphaned_trials": orphans,
        "overfitting": overfitting,
        "robust_best": robust,
    }
    if config.keep_journal and not is_database_url(storage_url):
        summary["paths"]["journal"] = str(_keep_journal(run, Path(storage_url)))
    summary["timings"]["total_s"] = time.perf_counter() - started
    run.write_json(run.results_file, {"summary": summary, "results": rows})
    run.results_csv.write_text(results_csv(summary, config, rows), encoding="utf-8")
    if not is_database_url(storage_url):
        _remove_journal(Path(storage_url))
    # The logits (12,870 at 16 blocks) stay in results.json: state.json is read at every poll.
    run.update_state(
        status=status,
        finished=time.time(),
        summary={**summary, "overfitting": {**overfitting, "logits": None}},
        **({"error": error} if error else {}),
    )
    log.info(
        "run %s %s: %d trials, best %s",
        run.run_id,
        status,
        summary["trials"]["total"],
        None if summary["best"] is None else summary["best"]["value"],
    )
    return summary


def resume_run(
    run: RunDir,
    budget: Budget,
    on_progress: Callable[[Progress], None] | None = None,
    live_dump_every: float | None = None,
    pool: WorkerPool | None = None,
) -> dict[str, Any]:
    """Load ``study.db`` into a fresh journal and continue; trial numbers carry on.

    A stop request left by an earlier cancel must be withdrawn by whoever decided to
    resume (``RunDir.withdraw_stop``) before this runs; it is not cleared here, so that a
    cancel arriving while the resume starts up is not lost.
    """
    config = RunConfig.parse(run.read_json(run.config_file))
    state = run.read_json(run.state_file)
    storage_url = state["storage"]
    if not is_database_url(storage_url):
        storage_url = str(_journal_path(run))
        _remove_journal(Path(storage_url))
        optuna.copy_study(
            from_study_name=config.study_name,
            from_storage=f"sqlite:///{run.sqlite}",
            to_storage=open_storage(storage_url),
        )
    run.update_state(storage=storage_url)
    log.info("run %s resumed with budget %s", run.run_id, budget.as_dict())
    return execute_run(run, budget, on_progress, live_dump_every, pool)


class StaleTrials:
    """On a shared database, the coordinator too fails trials whose worker stopped beating
    (Optuna's ``fail_stale_trials``, each retried once), so none stays RUNNING past the
    grace period even when no other worker is left to notice."""

    def __init__(self, study: optuna.Study, interval: int) -> None:
        self.study = study
        self.interval = interval
        self.checked = time.monotonic()

    def check(self) -> None:
        if time.monotonic() - self.checked >= self.interval:
            self.checked = time.monotonic()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                optuna.storages.fail_stale_trials(self.study)

    def await_running(self, limit_s: float) -> None:
        """Once the local workers are done: give remote workers (told by the job's plan
        that it is closing) time to finish the trials they are running, so their results
        are in the dump; a dead one's trial is failed by the grace period."""
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline and self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            time.sleep(POLL_SECONDS)
            self.check()


def _journal_path(run: RunDir) -> Path:
    folder = journal_dir() or run.path
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{run.run_id}.journal"


def _start(plans: list[WorkerPlan], pool: WorkerPool | None) -> list[Any]:
    """One plan runs in a thread of this process (same code path); more run in processes of
    their own (the pool's warm ones, or freshly spawned), so a crash or a kill takes down
    one worker only."""
    if len(plans) == 1:
        worker = _ThreadWorker(plans[0])
        worker.start()
        return [worker]
    if pool is not None:
        return pool.start(plans)
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=run_spawned, args=(plan,), name=f"worker-{plan.index}") for plan in plans]
    for process in processes:
        process.start()
    return processes


class _ThreadWorker:
    """A worker in a thread of the coordinator, answering as a ``Process`` does (``start``,
    ``is_alive``, ``join``, ``exitcode``), so the watch loop treats every worker alike."""

    def __init__(self, plan: WorkerPlan) -> None:
        self.exitcode: int | None = None
        self._plan = plan
        self._thread = threading.Thread(target=self._run, name=f"worker-{plan.index}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        try:
            run_worker(self._plan)
            self.exitcode = 0
        except BaseException:
            self.exitcode = 1


def _watch(
    run: RunDir,
    study: optuna.Study,
    space: SearchSpace,
    workers: list[Any],
    baseline: int,
    trial_limit: int | None,
    deadline: float | None,
    on_progress: Callable[[Progress], None] | None,
    live: LiveDump | None,
    reaper: StaleTrials | None = None,
) -> None:
    started = time.perf_counter()
    outage = Outage(run.run_id)
    while any(w.is_alive() for w in workers):
        try:
            for w in workers:
                w.join(POLL_SECONDS / len(workers))
            with outage:
                if reaper is not None:
                    reaper.check()
                if on_progress is not None:
                    on_progress(_progress(study, space, baseline, started, trial_limit, deadline))
                if live is not None:
                    live.maybe_sync()
        except KeyboardInterrupt:
            log.info("run %s: interrupt received, stopping workers", run.run_id)
            run.request_stop()
    if on_progress is not None:
        on_progress(_progress(study, space, baseline, started, trial_limit, deadline, "finishing"))


class Outage:
    """While the workers run, a database that stops answering (a restart, a network cut)
    costs the coordinator its progress reports, not the run: the workers wait for the
    database themselves (``backtune.optimize.reconnect``), so the coordinator skips the polls
    that fail, says so once, and says once when the database answers again. Whatever
    still fails after the workers end (the dump) fails the run, with the error."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.since: float | None = None

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any) -> bool:
        if exc is None:
            if self.since is not None:
                log.info("run %s: database answers again after %.1f s", self.run_id, time.monotonic() - self.since)
                self.since = None
            return False
        if not isinstance(exc, Exception) or connection_lost(exc) is None:
            return False
        if self.since is None:
            self.since = time.monotonic()
            log.warning("run %s: database unreachable (%s); the workers wait for it", self.run_id, type(exc).__name__)
        return True


def _progress(
    study: optuna.Study,
    space: SearchSpace,
    baseline: int,
    started: float,
    trial_limit: int | None,
    deadline: float | None,
    phase: str = "searching",
) -> Progress:
    trials = study.get_trials(deepcopy=False)
    counts = state_counts(trials)
    done = counts["complete"] + counts["pruned"] + counts["fail"]
    elapsed = time.perf_counter() - started
    best = None
    if len(study.directions) == 1:
        complete = [t for t in trials if t.state == TrialState.COMPLETE and t.value is not None]
        if complete:
            pick = max if study.direction == optuna.study.StudyDirection.MAXIMIZE else min
            best = pick(complete, key=lambda t: t.value)
    new_done = sum(1 for t in trials[baseline:] if t.state.is_finished())
    return Progress(
        counts,
        done,
        best.value if best else None,
        best.number if best else None,
        space.snapped(best.params) if best else None,
        elapsed,
        new_done / elapsed if elapsed > 0 else 0.0,
        trial_limit,
        deadline,
        tuple(workers_of(study)),
        phase,
    )


def _failures(run: RunDir, workers: list[Any]) -> list[dict[str, Any]]:
    """Workers that raised or died, with the exit code and what they reported."""
    failures = []
    for index, worker in enumerate(workers):
        status_file = run.worker_status(index)
        status = run.read_json(status_file) if status_file.exists() else {}
        code = worker.exitcode
        if code == 0 and status.get("state") == "done":
            continue
        error = status.get("error") or (
            f"killed by signal {-code}" if code is not None and code < 0 else f"exited with code {code}"
        )
        failures.append({"index": index, "exit_code": code, "error": error})
        log.error("run %s worker %d failed (exit code %s): %s", run.run_id, index, code, error)
    return failures


def _failure_reason(failures: list[dict[str, Any]]) -> str:
    """One line for a run whose every worker failed: they usually fail alike, so each
    distinct error is said once."""
    errors = list(dict.fromkeys(f["error"] for f in failures))
    return f"every worker failed: {'; '.join(errors)}"


def _fail_orphans(study: optuna.Study) -> list[int]:
    """Trials a dead worker left RUNNING can never finish; mark them FAIL before the dump."""
    orphans = [t for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))]
    failed = []
    for trial in orphans:
        try:  # skipped when a remote worker finished it meanwhile
            if study.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True).state == TrialState.FAIL:
                failed.append(trial.number)
        except optuna.exceptions.UpdateFinishedTrialError:
            continue
    return failed


def _final_status(run: RunDir, failures: list[dict[str, Any]], n_workers: int) -> str:
    if len(failures) == n_workers:
        return "failed"
    return "cancelled" if run.stop_requested else "done"


def _stop_reason(run: RunDir) -> str | None:
    reasons = [run.read_json(p).get("stop_reason") for p in sorted(run.workers_dir.glob("worker-*.json"))]
    reasons = [r for r in reasons if r]
    return reasons[0] if reasons else None


def _keep_journal(run: RunDir, journal: Path) -> Path:
    if journal.parent != run.path:
        shutil.copyfile(journal, run.kept_journal)
        return run.kept_journal
    return journal


def _remove_journal(journal: Path) -> None:
    for path in journal_files(journal):
        path.unlink(missing_ok=True)
