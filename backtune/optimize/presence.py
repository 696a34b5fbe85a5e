"""Who works on a study: every worker, local or remote, keeps a record in the study itself.

The study is the one thing every worker shares, whichever machine it runs on, so each
worker writes ``worker:<name>`` into the study's system attributes (host, pid, trials
done, last heartbeat) every ``BEAT_S`` seconds and when it stops; the coordinator reads
them back for the job page. The heartbeat is the worker's own clock (keep hosts on NTP).
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import asdict, dataclass
from typing import Any

import optuna

from backtune.optimize.optuna_compat import storage_of, study_id_of

PREFIX = "worker:"
BEAT_S = 2.0
WORKER_ATTR = "worker"


def host_name() -> str:
    return socket.gethostname()


@dataclass(frozen=True)
class WorkerRecord:
    name: str
    host: str
    pid: int
    index: int
    kind: str
    state: str
    trials: int
    last_heartbeat: float


class Presence:
    """This worker's record in ``study``; ``beat`` writes it at most every ``BEAT_S`` seconds."""

    def __init__(self, study: optuna.Study, index: int, kind: str) -> None:
        self.study = study
        self.host = host_name()
        self.pid = os.getpid()
        self.index = index
        self.kind = kind
        self.name = f"{self.host}:{self.pid}"
        self._written = -1e9

    def beat(self, trials: int, state: str = "running", force: bool = False) -> None:
        if not force and time.monotonic() - self._written < BEAT_S:
            return
        record = WorkerRecord(self.name, self.host, self.pid, self.index, self.kind, state, trials, time.time())
        storage_of(self.study).set_study_system_attr(study_id_of(self.study), PREFIX + self.name, asdict(record))
        self._written = time.monotonic()


def workers_of(study: optuna.Study) -> list[dict[str, Any]]:
    """Every worker that has joined ``study``, local ones first, then by host and pid."""
    attrs = storage_of(study).get_study_system_attrs(study_id_of(study))
    records = [value for key, value in attrs.items() if key.startswith(PREFIX)]
    return sorted(records, key=lambda r: (r["kind"] != "local", r["host"], r["index"], r["pid"]))
