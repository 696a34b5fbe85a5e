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
    recovered = []
    with store.locked():
        for run in store.running():
            state = run.read_json(run.state_file)
            if state.get("status") != RUNNING or process_alive(state.get("coordinator_pid"), run.run_id):
                continue
            _stop_orphaned_workers(run)
            (salvage_walkforward if is_walkforward(run) else salvage_run)(run, INTERRUPTED)
            log.warning("run %s interrupted: its coordinator (pid %s) is gone; trials kept for resume",
                        run.run_id, state.get("coordinator_pid"))
            recovered.append(run.run_id)
    return recovered


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
