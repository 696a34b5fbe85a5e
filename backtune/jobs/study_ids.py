"""Stable study ids for runs, so a dashboard link keeps pointing at the same run.

Each run gets an integer the first time anything looks at it (a dashboard listing, or
``dashboard_study_id`` for a job's link), kept in ``dashboard.json`` in the runs folder,
written under the job store's lock and never reused: the dashboard caches per study id,
and ``/dashboard/studies/7`` must not come to mean another run as runs come and go. Trial
ids shown by the dashboard carry the study id in their high bits (``dashboard_trial_id``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path

from backtune.jobs.store import JobStore
from backtune.optimize.rundir import RunDir
from backtune.walkforward.runner import find_window_run

INDEX_FILE = "dashboard.json"
# A run's own trial ids fill the low bits of a dashboard trial id and its study id the rest;
# 32 + 21 bits keep every id exact in a JavaScript number (the dashboard's frontend).
TRIAL_ID_BITS = 32
MAX_STUDY_ID = 2 ** (53 - TRIAL_ID_BITS) - 1


def dashboard_study_id(runs_dir: Path, run_id: str) -> int:
    """The run's study id in the dashboard, assigned now if this is its first sight.

    Valid before the run has a study file, so a job can be linked as soon as it is queued:
    the link works once the run has written its first live copy.
    """
    if JobStore(Path(runs_dir)).run(run_id) is None and find_window_run(Path(runs_dir), run_id) is None:
        raise KeyError(f"no run {run_id!r} in {runs_dir}")
    return StudyIds(Path(runs_dir)).assign([run_id])[run_id]


class StudyIds:
    """run id <-> study id, from ``dashboard.json``; new runs get the next free id.

    Ids of deleted runs stay in the file, so an id never comes to mean another run (the
    dashboard caches per study id, and old links must not land on a stranger's study).
    The file is re-read only on a miss: ids never change once given, and another web
    worker may have assigned some since.
    """

    def __init__(self, runs_dir: Path) -> None:
        self._store = JobStore(runs_dir)
        self._path = runs_dir / INDEX_FILE
        self._lock = threading.Lock()
        self._ids: dict[str, int] = {}
        self._runs: dict[int, str] = {}

    def assign(self, run_ids: Iterable[str]) -> dict[str, int]:
        """Every given run's id (the returned mapping may hold other runs too)."""
        wanted = list(run_ids)
        with self._lock:
            if any(run_id not in self._ids for run_id in wanted):
                self._load(self._read())
            missing = sorted({run_id for run_id in wanted if run_id not in self._ids})
            if missing:
                with self._store.locked():
                    ids = self._read()
                    next_id = max(ids.values(), default=0) + 1
                    for run_id in (r for r in missing if r not in ids):
                        if next_id > MAX_STUDY_ID:
                            raise OverflowError(f"{INDEX_FILE}: more than {MAX_STUDY_ID} runs")
                        ids[run_id] = next_id
                        next_id += 1
                    # RunDir's writer is atomic: other workers read this file without the lock.
                    RunDir(self._path.parent).write_json(self._path, {"studies": ids})
                self._load(ids)
            return self._ids

    def run_id(self, study_id: int) -> str | None:
        with self._lock:
            if study_id not in self._runs:
                self._load(self._read())
            return self._runs.get(study_id)

    def _read(self) -> dict[str, int]:
        try:
            return RunDir(self._path.parent).read_json(self._path)["studies"]
        except FileNotFoundError:
            return {}

    def _load(self, ids: dict[str, int]) -> None:
        self._ids = dict(ids)
        self._runs = {study_id: run_id for run_id, study_id in ids.items()}


def dashboard_trial_id(study_id: int, local_id: int) -> int:
    """A run's trial id made unique across runs (``study_id`` from ``StudyIds``)."""
    if not 0 <= local_id < 2**TRIAL_ID_BITS:
        raise OverflowError(f"trial id {local_id} does not fit in {TRIAL_ID_BITS} bits")
    return study_id << TRIAL_ID_BITS | local_id
