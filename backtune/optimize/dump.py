"""Export an Optuna study into a SQLite file that ``optuna.load_study`` and optuna-dashboard read.

Runs keep their study in a JournalStorage that the worker processes share, while the dashboard
and later analysis want one SQLite file. ``optuna.copy_study`` writes it, but with a commit per
trial (and per attribute), so exporting a 5,000-trial run takes a minute or more.

Here Optuna itself still creates the schema and the study, so its migrations and its study-level
encoding stay authoritative; only the trial rows are written by us, with SQLAlchemy Core
``executemany`` against Optuna's own table definitions, in one transaction
(``backtune.optimize.trial_rows``); ``tests/test_dump.py`` checks the result against
``optuna.copy_study`` trial by trial, so an Optuna change that breaks the equivalence fails there
rather than in a dashboard.
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any

from optuna.storages import BaseStorage, RDBStorage
from optuna.trial import FrozenTrial

from backtune.optimize.trial_rows import delete_trials, insert, next_trial_id, trial_rows

# No fsync and no journal file: only for a file nobody else reads and that is thrown away if the
# dump fails (dump_study's temporary file). Both are per-connection settings, so closing the
# connections leaves an ordinary rollback-journal database behind.
_UNSAFE_FAST_PRAGMAS = ("PRAGMA journal_mode=MEMORY", "PRAGMA synchronous=OFF")


@dataclass(frozen=True)
class DumpStats:
    """How much one dump or sync wrote, for progress logs and the benchmark."""

    trials: int
    seconds: float


def dump_study(source: BaseStorage, study_name: str, sqlite_path: Path) -> DumpStats:
    """Write the whole study to ``sqlite_path``, replacing the file atomically.

    The database is built in a temporary file beside ``sqlite_path`` and renamed over it, so a
    reader (a dashboard, a second ``load_study``) sees either the previous file or the complete new
    one, never a half-written study. Like ``optuna.copy_study``, every trial is copied, whatever
    its state.
    """
    started = time.perf_counter()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{sqlite_path.name}.", suffix=".tmp", dir=sqlite_path.parent)
    os.close(fd)
    tmp_path = Path(tmp_name)
    try:
        with IncrementalDumper(source, study_name, tmp_path, durable=False) as dumper:
            trials = dumper.sync().trials
        # synchronous=OFF skipped every fsync: flush once before the rename publishes the file.
        _fsync(tmp_path)
        os.replace(tmp_path, sqlite_path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    _fsync(sqlite_path.parent)
    return DumpStats(trials=trials, seconds=time.perf_counter() - started)


class IncrementalDumper:
    """Keeps a SQLite copy of a live study current, cheaply enough to sync every few seconds.

    Finished trials never change in Optuna, so each is written once. Unfinished ones (RUNNING,
    WAITING) are written too and rewritten whenever they change until they finish: the
    optuna-dashboard frontend keeps the trials before the first unfinished one and re-fetches only
    from there (``/api/studies/<id>?after=<index>``), so a trial left out while running and
    inserted later, ahead of trials it already holds, would never reach an open dashboard. Keeping
    every trial number present, in order, costs one rewrite of the few trials currently running.

    Each ``sync`` writes its trials in one transaction, straight into ``sqlite_path``. The dumper
    must be the only writer of trials to that file, and the study must not exist there yet (as
    with ``copy_study``); call ``sync`` from one thread at a time. Study attributes are re-read on
    every sync and the changed ones written through Optuna's API, one commit each: they change
    rarely.

    ``durable=False`` turns off fsync and the on-disk rollback journal: a crash mid-sync can then
    corrupt the file, so it is only for files that are discarded on failure, as in ``dump_study``.
    """

    def __init__(
        self,
        source: BaseStorage,
        study_name: str,
        sqlite_path: Path,
        *,
        durable: bool = True,
    ) -> None:
        self._source = source
        self._source_study_id = source.get_study_id_from_name(study_name)
        self._pragmas = () if durable else _UNSAFE_FAST_PRAGMAS
        self._storage = RDBStorage(f"sqlite:///{sqlite_path}")
        try:
            self._study_id = self._storage.create_new_study(
                source.get_study_directions(self._source_study_id), study_name
            )
        except BaseException:
            self.close()
            raise
        self._trial_ids: dict[int, int] = {}
        self._unfinished: dict[int, FrozenTrial] = {}
        self._written_user_attrs: dict[str, str] = {}
        self._written_system_attrs: dict[str, str] = {}

    def __enter__(self) -> IncrementalDumper:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the SQLite connections, so the file can be renamed or deleted on any OS."""
        self._storage.remove_session()
        self._storage.engine.dispose()

    def sync(self) -> DumpStats:
        """Write the trials new or changed since the last sync, and the changed study attrs."""
        started = time.perf_counter()
        self._write_changed_study_attrs()
        trials = self._source.get_all_trials(self._source_study_id, deepcopy=False)
        stale = [trial for trial in trials if self._needs_write(trial)]
        if stale:
            new_ids = self._write_trials(stale)
            self._trial_ids.update(new_ids)
            for trial in stale:
                if trial.state.is_finished():
                    self._unfinished.pop(trial.number, None)
                else:
                    # deepcopy=False lent us the source's own object; keep what we wrote.
                    self._unfinished[trial.number] = copy.deepcopy(trial)
        return DumpStats(trials=len(stale), seconds=time.perf_counter() - started)

    def _needs_write(self, trial: FrozenTrial) -> bool:
        if trial.number not in self._trial_ids:
            return True
        written = self._unfinished.get(trial.number)
        return written is not None and written != trial

    def _write_trials(self, trials: list[FrozenTrial]) -> dict[int, int]:
        """Replace ``trials`` in the database; returns the trial ids given to new trial numbers.

        Our bookkeeping is updated by the caller only once the transaction has committed, so a
        failed sync leaves nothing half-recorded and the next one simply retries.
        """
        with self._storage.engine.connect() as conn:
            for pragma in self._pragmas:
                conn.exec_driver_sql(pragma)
            conn.commit()
            with conn.begin():
                # Read before deleting: a rewritten trial may hold the highest id, and keeps it.
                next_id = next_trial_id(conn)
                known = [t.number for t in trials if t.number in self._trial_ids]
                new = [t.number for t in trials if t.number not in self._trial_ids]
                new_ids = {number: next_id + i for i, number in enumerate(new)}
                trial_ids = self._trial_ids | new_ids
                delete_trials(conn, [self._trial_ids[number] for number in known])
                numbered = [(trial_ids[trial.number], trial) for trial in trials]
                insert(conn, trial_rows(self._study_id, numbered))
        return new_ids

    def _write_changed_study_attrs(self) -> None:
        _write_changed_attrs(
            self._source.get_study_user_attrs(self._source_study_id),
            self._written_user_attrs,
            partial(self._storage.set_study_user_attr, self._study_id),
        )
        _write_changed_attrs(
            self._source.get_study_system_attrs(self._source_study_id),
            self._written_system_attrs,
            partial(self._storage.set_study_system_attr, self._study_id),
        )


class LiveDump:
    """A SQLite copy of the running study, refreshed at most every ``every`` seconds (the
    coordinator calls ``maybe_sync`` at its polling rate) and removed on ``close``, when
    the final dump takes over."""

    def __init__(self, storage: BaseStorage, study_name: str, path: Path, every: float) -> None:
        path.unlink(missing_ok=True)
        self.dumper = IncrementalDumper(storage, study_name, path)
        self.path = path
        self.every = every
        self.last = 0.0

    def maybe_sync(self) -> None:
        if time.monotonic() - self.last >= self.every:
            self.dumper.sync()
            self.last = time.monotonic()

    def close(self) -> None:
        self.dumper.close()
        self.path.unlink(missing_ok=True)


def _write_changed_attrs(
    attrs: dict[str, Any], written_json: dict[str, str], write: Callable[[str, Any], None]
) -> None:
    """Compare as JSON, the form Optuna stores, so e.g. a change from ``1`` to ``True`` counts."""
    for key, value in attrs.items():
        encoded = json.dumps(value)
        if written_json.get(key) != encoded:
            write(key, value)
            written_json[key] = encoded


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
