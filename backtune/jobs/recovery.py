"""Start-up recovery: jobs whose coordinator is gone become ``interrupted``, trials kept."""

from __future__ import annotations

import logging
import os
import signal
import time

from backtune.jobs.store import INTERRUPTED, RUNNING, JobStore, process_alive
from backtune.optimize.run import salvage_run
from backtune.optimize.rundir import RunDir
from backtune.walkforward.runner import is_walkforward, salvage_walkforward

log = logging.getLogger("backtune.jobs")
WORKER_GRACE_S = 5.0


def recover_interrupted(store: JobStore) -> list[str]:
    """Salvage every 'running' job without a live coordinator; returns their ids."""
    with store.locked():
        return [run.run_id for run in store.running() if _salvage_if_orphaned(run)]


def recover_if_orphaned(store: JobStore, run: RunDir) -> bool:
    """Salvage this job if it says running but its coordinator is gone (killed, crashed):
    whoever looks at a job notices, without waiting for a server restart. True if it was."""
    state = store.state(run)
    if state.get("status") != RUNNING or process_alive(state.get("coordinator_pid"), run.run_id):
        return False
    with store.locked():
        return _salvage_if_orphaned(run)


def _salvage_if_orphaned(run: RunDir) -> bool:
    """Under the store's lock: checked again there, as another process may have salvaged
    the job (or the job ended) since the caller looked."""
    state = run.read_json(run.state_file)
    if state.get("status") != RUNNING or process_alive(state.get("coordinator_pid"), run.run_id):
        return False
    _stop_orphaned_workers(run)
    (salvage_walkforward if is_walkforward(run) else salvage_run)(run, INTERRUPTED)
    log.warning(
        "run %s interrupted: its coordinator (pid %s) is gone; trials kept for resume",
        run.run_id,
        state.get("coordinator_pid"),
    )
    return True


def _stop_orphaned_workers(run: RunDir) -> None:
    """Workers outlive a killed coordinator; ask them to stop, then make sure they have."""
    run.request_stop()
    pids = [run.read_json(p).get("pid") for p in run.workers_dir.glob("worker-*.json")]
    pids = [pid for pid in pids if pid and process_alive(pid)]
    deadline = time.monotonic() + WORKER_GRACE_S
    while pids and time.monotonic() < deadline:
        time.sleep(0.1)
        pids = [pid for pid in pids if process_alive(pid)]
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
