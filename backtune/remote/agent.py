"""A worker host's side of a job: fetch the plan and the data, run workers, leave at the end.

The workers are the coordinator's own (``backtune.optimize.worker``), each in a process of
its own: they need a run directory with ``run.json`` and the bars, so the agent builds a
local one under ``<BACKTUNE_HOME>/remote`` from the plan, and nothing of the server's
folders is ever read. The global stop rules hold as for local workers: the trial limit,
the deadline and convergence are read from the shared study; a cancel or the end of the
job reaches the agent through the plan (``accepting`` false), which it polls every
``POLL_S`` seconds and turns into the local stop file its workers already obey.

The workers reach the job's database at the plan's URL, or at ``database_url`` where this
host sees it under another address (a Docker network, a tunnel). A worker that loses it
waits for it (``backtune.optimize.reconnect``, up to ``reconnect_limit`` seconds) and goes
on; if every worker ends in failure, the agent says why (``WorkersFailed``).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import secrets
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backtune.data.loader import load_csv
from backtune.jobs.store import FINISHED, RUNNING
from backtune.optimize.presence import host_name
from backtune.optimize.reconnect import RECONNECT_LIMIT_S
from backtune.optimize.rundir import RunDir
from backtune.optimize.shared_bars import save_bars
from backtune.optimize.worker import WorkerPlan, run_spawned
from backtune.remote.client import RemoteError, ServerClient, Unreachable

log = logging.getLogger("backtune.remote")
POLL_S = 1.0
IDLE_POLL_S = 2.0
# Seeds are seed + worker index: remote indices start far above any local one.
INDEX_SPAN = 64


class WorkersFailed(RemoteError):
    """Every worker process on this host ended in failure (each one's error is in the message)."""


@dataclass(frozen=True)
class Agent:
    client: ServerClient
    home: Path
    processes: int = 1
    database_url: str | None = None  # the job's database as this host reaches it; None: the plan's
    reconnect_limit: float = RECONNECT_LIMIT_S

    def serve_job(self, job_id: str) -> str:
        """Run workers on ``job_id`` until it stops accepting; returns its status then."""
        plan = self._wait_until_accepting(job_id)
        if not plan["accepting"]:
            log.info("job %s is %s; nothing to join", job_id, plan["status"])
            return plan["status"]
        run = self._local_run(plan)
        workers = self._start(run, plan)
        log.info("joined job %s (%s) with %d worker(s) from %s", job_id, plan["study_name"], len(workers), host_name())
        try:
            while any(w.is_alive() for w in workers):
                for worker in workers:
                    worker.join(POLL_S / len(workers))
                if not run.stop_requested and not self._still_accepting(job_id):
                    run.request_stop()
        except KeyboardInterrupt:
            run.request_stop()
            for worker in workers:
                worker.join()
            raise
        codes = [w.exitcode for w in workers]
        log.info("left job %s (worker exit codes %s)", job_id, codes)
        if all(codes):
            raise WorkersFailed(f"job {job_id}: every worker failed: {_worker_errors(run)}")
        return "left"

    def serve_any(self) -> None:
        """Serve each running job that can be joined, one after another, and wait for the next."""
        while True:
            job_id = self._next_job()
            if job_id is None:
                time.sleep(IDLE_POLL_S)
                continue
            self.serve_job(job_id)

    def _next_job(self) -> str | None:
        try:
            jobs = self.client.jobs()
        except Unreachable as exc:
            log.warning("server unreachable, retrying: %s", exc)
            return None
        for job in reversed(jobs):  # the list is newest first; serve the oldest running
            if job["status"] != RUNNING:
                continue
            try:
                plan = self.client.plan(job["job_id"])
            except RemoteError as exc:
                if exc.status in (404, 409):  # gone meanwhile, or on a journal: not for us
                    continue
                raise
            if plan["accepting"]:
                return job["job_id"]
        return None

    def _wait_until_accepting(self, job_id: str) -> dict[str, Any]:
        """A queued or starting job is waited for (and one that is closing, until it has
        finished); a finished one is returned as it is."""
        while True:
            plan = self.client.plan(job_id)
            if plan["accepting"] or plan["status"] in FINISHED:
                return plan
            time.sleep(POLL_S)

    def _still_accepting(self, job_id: str) -> bool:
        """A server that cannot be reached keeps the workers going: the budget and the
        database bound them, and a cancel is read again once the network is back."""
        try:
            return bool(self.client.plan(job_id)["accepting"])
        except Unreachable as exc:
            log.warning("job %s: server unreachable (%s); the workers go on", job_id, exc)
            return True

    def _local_run(self, plan: dict[str, Any]) -> RunDir:
        """A run directory of this host's own: the job's settings with the local copy of
        its data, the bars for the workers to map, their status files."""
        csv = self.client.dataset(plan["dataset"], self.home / "remote" / "datasets")
        run = RunDir(self.home / "remote" / "jobs" / f"{plan['job_id']}-{secrets.token_hex(3)}")
        run.workers_dir.mkdir(parents=True)
        save_bars(load_csv(csv).bars, run.bars_dir)
        run.write_json(run.config_file, {**plan["config"], "data": str(csv)})
        return run

    def _start(self, run: RunDir, plan: dict[str, Any]) -> list[multiprocessing.process.BaseProcess]:
        heartbeat = (plan["heartbeat_interval"], plan["grace_period"])
        base = (plan["config"]["workers"] + zlib.crc32(f"{host_name()}:{os.getpid()}".encode()) % 100_000) * INDEX_SPAN
        context = multiprocessing.get_context("spawn")
        processes = []
        for i in range(self.processes):
            worker_plan = WorkerPlan(
                str(run.path),
                base + i,
                self.database_url or plan["storage"],
                plan["study_name"],
                plan["trial_limit"],
                plan["deadline"],
                heartbeat=heartbeat,
                kind="remote",
                reconnect_limit=self.reconnect_limit,
            )
            process = context.Process(target=run_spawned, args=(worker_plan,), name=f"remote-worker-{i}")
            process.start()
            processes.append(process)
        return processes


def _worker_errors(run: RunDir) -> str:
    """Each distinct error the workers recorded in their status files (a process killed
    before it could record one leaves only its exit code, which the agent has logged)."""
    errors = [run.read_json(path).get("error") for path in sorted(run.workers_dir.glob("worker-*.json"))]
    return "; ".join(dict.fromkeys(e for e in errors if e)) or "no error recorded (killed?)"
