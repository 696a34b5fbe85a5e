"""Start queued jobs while fewer than ``max_jobs`` run; called on submit and whenever a
coordinator finishes, so the queue drains without a scheduler daemon."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from backtune.jobs.store import QUEUED, RUNNING, JobStore, process_alive
from backtune.optimize.rundir import RunDir

log = logging.getLogger("backtune.jobs")
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def schedule(store: JobStore, max_jobs: int) -> list[str]:
    """Launch as many queued jobs as there are free slots; returns the ids started."""
    started = []
    with store.locked():
        busy = sum(1 for r in store.running() if process_alive(store.state(r).get("coordinator_pid"), r.run_id))
        for run in store.queued()[: max(0, max_jobs - busy)]:
            pid = launch_coordinator(run.path, store.runs_dir, max_jobs)
            run.update_state(status=RUNNING, coordinator_pid=pid, started=time.time())
            log.info("run %s started by the scheduler (coordinator pid %d)", run.run_id, pid)
            started.append(run.run_id)
    return started


def queue_position(store: JobStore, job_id: str) -> int | None:
    """1 for the next job to start; None when the job is not queued."""
    ids = [r.run_id for r in store.queued()]
    return ids.index(job_id) + 1 if job_id in ids else None


def launch_coordinator(run_dir: Path, runs_dir: Path, max_jobs: int) -> int:
    """A detached process in its own session: it outlives the web request and the web
    worker that accepted the job, and survives a web server reload."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])))
    with open(Path(run_dir) / "coordinator.out", "ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "backtune.jobs", str(run_dir), str(runs_dir), str(max_jobs)],
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    # Reaped as soon as it ends, however it ends: the coordinator is this process's child
    # until then, and an unreaped one stays a zombie for as long as this process lives.
    threading.Thread(target=process.wait, name=f"reap-{process.pid}", daemon=True).start()
    return process.pid


def enqueue(store: JobStore, run: RunDir, max_jobs: int, **extra: Any) -> None:
    """Put a prepared (or finished, for resume) job at the back of the queue, then schedule."""
    with store.locked():
        run.withdraw_stop()
        run.update_state(status=QUEUED, queued_at=time.time(), **extra)
    schedule(store, max_jobs)
