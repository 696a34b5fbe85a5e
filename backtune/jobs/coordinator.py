"""One job's coordinator process (``python -m backtune.jobs RUN_DIR RUNS_DIR MAX_JOBS``): run it to its end.

It writes progress into state.json (so any web worker can report it cheaply), keeps a
live SQLite copy for the dashboard, and when done starts the next queued job.
"""

from __future__ import annotations

import logging
import os
import time
import traceback
from pathlib import Path
from typing import Any

from backtune.jobs.scheduler import schedule
from backtune.jobs.store import FAILED, JobStore
from backtune.optimize.config import Budget
from backtune.optimize.pool import WorkerPool
from backtune.optimize.run import Progress, execute_run, resume_run
from backtune.optimize.rundir import RunDir
from backtune.walkforward.runner import execute_walkforward, is_walkforward

log = logging.getLogger("backtune.jobs")
LIVE_DUMP_EVERY = 3.0
WORKER_KEYS = ("index", "pid", "host", "kind", "state", "trials", "last_heartbeat")


def progress_record(progress: Progress, run: RunDir) -> dict[str, Any]:
    total = progress.trial_limit
    eta = None
    if progress.deadline is not None:
        eta = max(0.0, progress.deadline - time.time())
    if total is not None and progress.trials_per_s > 0:
        by_trials = max(0, total - progress.counts["total"]) / progress.trials_per_s
        eta = by_trials if eta is None else min(eta, by_trials)
    return {
        "done": progress.done,
        "counts": progress.counts,
        "trial_limit": total,
        "deadline": progress.deadline,
        "elapsed_s": progress.elapsed_s,
        "trials_per_s": progress.trials_per_s,
        "eta_s": eta,
        "best_value": progress.best_value,
        "best_number": progress.best_number,
        "best_params": progress.best_params,
        "workers": worker_rows(run, progress.workers),
        "phase": progress.phase,
    }


def worker_rows(run: RunDir, joined: tuple[dict[str, Any], ...]) -> list[dict[str, Any]]:
    """Every worker of the job: those that joined the study (local and remote, with host and
    last heartbeat), then local ones that have not yet; a local worker's error is in its
    status file."""
    local = {w["index"]: w for w in (run.read_json(p) for p in sorted(run.workers_dir.glob("worker-*.json")))}
    rows = []
    for record in joined:
        own = local.pop(record["index"], {}) if record["kind"] == "local" else {}
        row = {**{k: record.get(k) for k in WORKER_KEYS}, "error": own.get("error")}
        if own.get("state") == "failed":
            row["state"] = "failed"
        rows.append(row)
    rows += [{**{k: w.get(k) for k in WORKER_KEYS}, "kind": "local", "error": w.get("error")} for w in local.values()]
    return rows


def main(run_dir: str, runs_dir: str, max_jobs: str, pool: WorkerPool | None = None) -> int:
    store = JobStore(Path(runs_dir))
    run = RunDir(Path(run_dir))
    with store.locked():
        state = run.update_state(coordinator_pid=os.getpid())
    resume_budget = state.get("resume_budget")

    def write_progress(progress: Progress) -> None:
        # At the coordinator's polling rate (5 a second), the last snapshot included, so a
        # finished job never shows stale counts.
        run.update_state(progress=progress_record(progress, run))

    try:
        if is_walkforward(run):
            execute_walkforward(run, pool=pool, live_dump_every=LIVE_DUMP_EVERY)
        elif resume_budget:
            run.update_state(resume_budget=None)
            resume_run(
                run, Budget(**resume_budget), on_progress=write_progress, live_dump_every=LIVE_DUMP_EVERY, pool=pool
            )
        else:
            execute_run(run, on_progress=write_progress, live_dump_every=LIVE_DUMP_EVERY, pool=pool)
    except Exception as exc:
        log.error("run %s failed: %s", run.run_id, exc)
        run.update_state(status=FAILED, error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
        return 1
    finally:
        schedule(store, int(max_jobs))
    return 0
