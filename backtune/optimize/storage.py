"""Optuna storage by URL: the run's journal file by default, a database for scale-out.

Linux and macOS only, like the job store (``fcntl.flock`` for the journal's write lock;
README, "Platforms").
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Container, Iterator
from pathlib import Path
from typing import Any

import optuna
from optuna.distributions import BaseDistribution, distribution_to_json
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import FrozenTrial, TrialState

from backtune.optimize.optuna_compat import BaseJournalFileLock, JournalFileHooks, JournalOperation, JournalStorageHooks
from backtune.optimize.storage_url import is_database_url


def open_storage(
    url: str, batched: bool = False, heartbeat: tuple[int, int] | None = None
) -> optuna.storages.BaseStorage:
    """A database URL (``parse_storage``) opens an RDBStorage with ``heartbeat`` (interval,
    grace period; ``database.heartbeat_settings()`` by default); anything else is a journal
    file path. A worker opens either ``batched`` (``BatchingJournalStorage``,
    ``BatchedDatabaseStorage``)."""
    if is_database_url(url):
        from backtune.optimize.database import BatchedDatabaseStorage, database_storage

        rdb = database_storage(url, *(heartbeat or ()))
        return BatchedDatabaseStorage(rdb) if batched else rdb
    backend = JournalFile(url, lock_obj=FlockLock(url))
    return BatchingJournalStorage(backend) if batched else JournalStorage(backend)


def journal_files(path: Path) -> list[Path]:
    """The journal and the lock file beside it."""
    return [path, Path(f"{path}{FlockLock.SUFFIX}")]


class JournalFile(JournalFileHooks):
    """Optuna's journal file, except that a read finding nothing new costs one ``stat``.

    Optuna reads the journal's new lines before every storage call, opening the file
    each time; a trial makes about nine such calls and most find nothing (everything but
    the reads after its own appends, with one worker). The byte offset of the lines
    already read is Optuna's own bookkeeping (``offset_after``).
    """

    def read_logs(self, log_number_from: int) -> Iterator[dict[str, Any]]:
        consumed = self.offset_after(log_number_from)
        if consumed is not None and os.stat(self.path).st_size == consumed:
            return iter(())
        return super().read_logs(log_number_from)


class FlockLock(BaseJournalFileLock):
    """The journal's write lock as a kernel file lock (``flock``) on a file beside it.

    Optuna's symlink and open locks poll: a writer that finds the lock taken sleeps 1 ms,
    then 2, 4, ... up to a second, so two busy workers lose time to each other; and
    taking and releasing them costs three file-system calls. ``flock`` queues waiters in
    the kernel and wakes the next one as soon as the lock is free. It works on local
    file systems (tmpfs, ext4: where journals live; other hosts join through a
    database, never through a shared journal file).
    """

    SUFFIX = ".flock"

    def __init__(self, journal: str) -> None:
        self._path = f"{journal}{self.SUFFIX}"
        self._fd: int | None = None

    def acquire(self) -> bool:
        if self._fd is None:
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        return True

    def release(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)


class BatchingJournalStorage(JournalStorageHooks):
    """A worker's journal storage: a trial takes three appends (created; parameters;
    attributes and state), not one per line.

    Optuna appends one journal line per suggested parameter and per user attribute, and
    every append takes the file lock, writes, fsyncs and then reads back whatever the
    other workers appended: with trailing_ma's twenty parameters that was most of a
    trial's journal cost and nearly all of its lock contention (docs/performance.md).
    Here ``set_trial_param`` and ``set_trial_user_attr`` only queue their lines, and the
    queue is appended, in order and ahead of anything else, by the next write (a
    trial's state, normally) or by ``publish_params``, which the objective calls once the
    parameters are suggested so that other workers' constant-liar TPE sees them while
    the trial runs. A read appends queued parameters first; queued user attributes wait
    for the write, so the metrics a trial records go out with its final state. (Until
    then this storage's own reads do not show them; nothing reads them back before.)
    The lines are Optuna's own, so every reader replays them as before.

    It leans on ``JournalStorage``'s internals (through ``JournalStorageHooks``);
    ``tests/test_storage.py`` checks that it writes the same journal.
    """

    def __init__(self, backend: JournalFileBackend) -> None:
        self._queued: list[dict[str, Any]] = []
        self._waiting: dict[int, tuple[int, list[int]]] = {}
        super().__init__(backend)

    def get_all_trials(
        self, study_id: int, deepcopy: bool = True, states: Container[TrialState] | None = None
    ) -> list[FrozenTrial]:
        """As Optuna's, but the question every ``ask`` starts with, which trials are still
        WAITING (enqueued seeds), no longer scans every trial of the study: only the trials
        created since the last ask, and the few that were waiting then. A trial is WAITING
        only from its creation (an enqueue) until a worker takes it."""
        if deepcopy or tuple(states or ()) != (TrialState.WAITING,):
            return super().get_all_trials(study_id, deepcopy, states)
        with self.lock:
            self.read_new_lines()
            trial_ids = self.trial_ids(study_id)
            scanned, waiting = self._waiting.get(study_id, (0, []))
            waiting = [
                t for t in [*waiting, *trial_ids[scanned:]] if self.replayed_trial(t).state == TrialState.WAITING
            ]
            self._waiting[study_id] = (len(trial_ids), waiting)
            return [self.replayed_trial(t) for t in waiting]

    def set_trial_param(
        self, trial_id: int, param_name: str, param_value_internal: float, distribution: BaseDistribution
    ) -> None:
        with self.lock:
            self._queued.append(
                self._line(
                    JournalOperation.SET_TRIAL_PARAM,
                    {
                        "trial_id": trial_id,
                        "param_name": param_name,
                        "param_value_internal": param_value_internal,
                        "distribution": distribution_to_json(distribution),
                    },
                )
            )

    def set_trial_user_attr(self, trial_id: int, key: str, value: Any) -> None:
        with self.lock:
            self._queued.append(
                self._line(JournalOperation.SET_TRIAL_USER_ATTR, {"trial_id": trial_id, "user_attr": {key: value}})
            )

    def flush(self) -> None:
        with self.lock:
            self._append_queued()
            self.read_new_lines()

    def _append_queued(self) -> None:
        if self._queued:
            lines, self._queued = self._queued, []
            self.append_lines(lines)

    def _line(self, op_code: int, fields: dict[str, Any]) -> dict[str, Any]:
        return {"op_code": op_code, "worker_id": self.worker_id, **fields}

    def write_line(self, op_code: int, fields: dict[str, Any]) -> None:
        lines, self._queued = self._queued, []
        self.append_lines([*lines, self._line(op_code, fields)])

    def before_read(self) -> None:
        if any(line["op_code"] == JournalOperation.SET_TRIAL_PARAM for line in self._queued):
            self._append_queued()


def publish_params(storage: optuna.storages.BaseStorage) -> None:
    """Write whatever the storage still queues (a no-op for unbatched storages)."""
    flush = getattr(storage, "flush", None)
    if flush is not None:
        flush()
