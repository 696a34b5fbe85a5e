"""Every use of Optuna's and optuna-dashboard's private names, in one place.

Backtune leans on internals where the public API is too slow or has no equivalent: Optuna's
RDB table definitions and value encodings (the SQLite dump and the dashboard's reader write
and read trial rows with SQLAlchemy Core, ``backtune.optimize.trial_rows``), the journal
storage's replay state and write hook (``BatchingJournalStorage``), the journal file's read
offsets (``JournalFile``), ``FrozenStudy`` and trial ids (a storage of our own over every
run), the Pareto front of a trial list, and optuna-dashboard's per-study cache (a fix for
finished studies, docs/dashboard.md). Each is named here once, so that an upgrade has one
file to review; so is ``optimize_once``, which undoes how ``study.optimize`` masks a failed
write of a trial's end (checked in tests/test_database_storage.py).

``WRITTEN_FOR`` holds the versions these names were read against. Importing this module
logs a warning on any other installed version, and tests/test_optuna_compat.py fails on
one, naming the versions and every private name that has disappeared; the behaviour that
rests on them is checked against Optuna's own code paths in tests/test_dump.py,
tests/test_storage.py and tests/test_dashboard.py.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import re
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import optuna
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.storages.journal._file import BaseJournalFileLock as BaseJournalFileLock
from optuna.storages.journal._storage import JournalOperation as JournalOperation
from optuna.study import StudyDirection
from optuna.study._frozen import FrozenStudy as FrozenStudy
from optuna.study._multi_objective import _get_pareto_front_trials_by_trials
from optuna.trial import FrozenTrial

log = logging.getLogger("backtune.optimize")

# Distribution name -> the major.minor release every private name below was read against.
WRITTEN_FOR: dict[str, str] = {"optuna": "5.0", "optuna-dashboard": "0.21"}

# Trial rows (backtune.optimize.trial_rows): Optuna's table definitions and value encodings.
# Resolved on first use (PEP 562), because Optuna's models import SQLAlchemy, which a worker
# never needs and which would add to every worker's start-up (tests/test_optimize.py).
_RDB_NAMES = {
    "TRIAL_TABLE": "TrialModel.__table__",
    "PARAM_TABLE": "TrialParamModel.__table__",
    "VALUE_TABLE": "TrialValueModel.__table__",
    "INTERMEDIATE_VALUE_TABLE": "TrialIntermediateValueModel.__table__",
    "USER_ATTR_TABLE": "TrialUserAttributeModel.__table__",
    "SYSTEM_ATTR_TABLE": "TrialSystemAttributeModel.__table__",
    "STUDY_TABLE": "StudyModel.__table__",
    "HEARTBEAT_TABLE": "TrialHeartbeatModel.__table__",
    "value_to_stored": "TrialValueModel.value_to_stored_repr",
    "stored_to_value": "TrialValueModel.stored_repr_to_value",
    "intermediate_to_stored": "TrialIntermediateValueModel.intermediate_value_to_stored_repr",
    "stored_to_intermediate": "TrialIntermediateValueModel.stored_repr_to_intermediate_value",
}

# Every private name used here, as "module:attribute.attribute" (checked by the tests).
PRIVATE_NAMES: tuple[str, ...] = (
    *(f"optuna.storages._rdb.models:{path}" for path in _RDB_NAMES.values()),
    "optuna.storages.journal._file:BaseJournalFileLock",
    "optuna.storages.journal._file:JournalFileBackend._file_path",
    "optuna.storages.journal._file:JournalFileBackend._log_number_offset",
    "optuna.storages.journal._storage:JournalOperation",
    "optuna.storages.journal._storage:JournalStorage._write_log",
    "optuna.storages.journal._storage:JournalStorage._sync_with_backend",
    "optuna.storages.journal._storage:JournalStorage._thread_lock",
    "optuna.storages.journal._storage:JournalStorage._backend",
    "optuna.storages.journal._storage:JournalStorage._replay_result",
    "optuna.storages.journal._storage:JournalStorageReplayResult.worker_id",
    "optuna.storages.journal._storage:JournalStorageReplayResult._study_id_to_trial_ids",
    "optuna.storages.journal._storage:JournalStorageReplayResult.get_trial",
    "optuna.study._frozen:FrozenStudy._study_id",
    "optuna.trial._frozen:FrozenTrial._trial_id",
    "optuna.study._multi_objective:_get_pareto_front_trials_by_trials",
    "optuna.study.study:Study._storage",
    "optuna.study.study:Study._study_id",
    "optuna_dashboard._inmemory_cache:_CachedExtraStudyProperty._cursor",
    "optuna_dashboard._inmemory_cache:_CachedExtraStudyProperty._update_user_attrs",
    "optuna_dashboard._inmemory_cache:_CachedExtraStudyProperty._update_intermediate_values",
    "optuna_dashboard._inmemory_cache:_CachedExtraStudyProperty._update_search_space",
)


def unsupported_versions() -> dict[str, str | None]:
    """Installed distributions whose major.minor differs from ``WRITTEN_FOR`` (None: absent)."""
    found: dict[str, str | None] = {}
    for name, wanted in WRITTEN_FOR.items():
        try:
            installed: str | None = version(name)
        except PackageNotFoundError:
            installed = None
        if installed is None or ".".join(installed.split(".")[:2]) != wanted:
            found[name] = installed
    return found


def missing_private_names() -> list[str]:
    """The entries of ``PRIVATE_NAMES`` the installed packages no longer have.

    An attribute the class lacks counts as present when the class's source assigns it to
    ``self`` (instance attributes such as ``Study._storage``).
    """
    missing = []
    for entry in PRIVATE_NAMES:
        module_name, path = entry.split(":")
        try:
            target: Any = importlib.import_module(module_name)
            owner, *rest = path.split(".")
            target = getattr(target, owner)
            for part in rest:
                if not hasattr(target, part) and re.search(rf"self\.{part}\b\s*[:=]", inspect.getsource(target)):
                    break
                target = getattr(target, part)
        except (ImportError, AttributeError, TypeError):
            missing.append(entry)
    return missing


def __getattr__(name: str) -> Any:
    if name not in _RDB_NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    model, attribute = _RDB_NAMES[name].split(".")
    value = getattr(getattr(importlib.import_module("optuna.storages._rdb.models"), model), attribute)
    globals()[name] = value
    return value


# Studies and trials


def storage_of(study: optuna.Study) -> optuna.storages.BaseStorage:
    """The storage a study reads and writes (Optuna keeps it private)."""
    return study._storage


def study_id_of(study: FrozenStudy) -> int:
    return study._study_id


def trial_id_of(trial: FrozenTrial) -> int:
    """A trial's id in its storage, unlike ``number`` unique across the storage's studies."""
    return trial._trial_id


def set_trial_id(trial: FrozenTrial, trial_id: int) -> None:
    trial._trial_id = trial_id


def trial_exists(study: optuna.Study, number: int) -> bool:
    """Whether the study holds trial ``number``, without listing every trial (the journal
    answers this in constant time; listing grows with the study)."""
    try:
        study._storage.get_trial_id_from_study_id_trial_number(study._study_id, number)
    except KeyError:
        return False
    return True


def optimize_once(study: optuna.Study, objective: Any) -> None:
    """``study.optimize(objective, n_trials=1)``, except that an error writing the trial's end
    comes out as itself.

    When the storage refuses the final write (``UpdateFinishedTrialError``: the trial was
    failed meanwhile by the heartbeat grace period) or cannot make it (a lost connection),
    Optuna 5's ``_run_trial`` re-reads the trial in a ``finally`` block, finds it neither
    finished as it expects nor failed by the objective, and raises
    ``AssertionError("Should not reach.")`` over the real error (optuna/optuna#5470, #5986).
    A worker needs the real one: it goes on after a refusal and waits out a lost connection.
    """
    try:
        study.optimize(objective, n_trials=1)
        return
    except AssertionError as exc:
        masked = exc.__context__ if exc.args == ("Should not reach.",) else None
        if masked is None:
            raise
    raise masked


def pareto_front(trials: Sequence[FrozenTrial], directions: Sequence[StudyDirection]) -> list[FrozenTrial]:
    """The non-dominated trials of a list (``Study.best_trials`` works on a whole study only)."""
    return _get_pareto_front_trials_by_trials(trials, directions)


# Journal storage (backtune.optimize.storage)


class JournalFileHooks(JournalFileBackend):
    """Optuna's journal file, with the two facts a cheaper reader needs under public names."""

    @property
    def path(self) -> str:
        return self._file_path

    def offset_after(self, log_number: int) -> int | None:
        """The byte offset at which line ``log_number`` starts, if this reader has seen it."""
        return self._log_number_offset.get(log_number)


class JournalStorageHooks(JournalStorage):
    """``JournalStorage`` with its replay state and its two internal steps under names.

    Subclasses override ``write_line`` (every write goes through it: Optuna's ``_write_log``)
    and ``before_read`` (runs before every read of the other workers' lines: the start of
    Optuna's ``_sync_with_backend``), and call ``read_new_lines`` under ``lock``.
    """

    @property
    def lock(self) -> Any:
        """The storage's own thread lock, held by Optuna around every operation."""
        return self._thread_lock

    @property
    def worker_id(self) -> str:
        return self._replay_result.worker_id

    def append_lines(self, lines: list[dict[str, Any]]) -> None:
        self._backend.append_logs(lines)

    def trial_ids(self, study_id: int) -> list[int]:
        """The study's trial ids in creation order, as replayed so far."""
        return self._replay_result._study_id_to_trial_ids[study_id]

    def replayed_trial(self, trial_id: int) -> FrozenTrial:
        """The trial as replayed so far, not a copy."""
        return self._replay_result.get_trial(trial_id)

    def write_line(self, op_code: int, fields: dict[str, Any]) -> None:
        JournalStorage._write_log(self, op_code, fields)

    def before_read(self) -> None:
        """Nothing by default."""

    def read_new_lines(self) -> None:
        """``before_read``, then replay what the journal gained since the last read."""
        self._sync_with_backend()

    def _write_log(self, op_code: int, extra_fields: dict[str, Any]) -> None:
        self.write_line(op_code, extra_fields)

    def _sync_with_backend(self) -> None:
        self.before_read()
        super()._sync_with_backend()


# optuna-dashboard

_finished_study_cursor: type | None = None


def install_finished_study_cursor() -> type:
    """Make optuna-dashboard stop rescanning finished studies; returns the class installed.

    For every study-detail request (and every parameter-importance request) the dashboard
    updates a cached summary of the study's trials: the union and intersection of their
    search spaces and user attributes. Its ``_CachedExtraStudyProperty.update`` keeps a
    cursor so that it only looks at trials it has not settled, but it moves the cursor only
    when it meets an unfinished trial. Once every trial has finished (every study a user
    opens after its run), the cursor stays at -1 and each request rescans the whole study:
    0.26 s a request at 15,000 trials. The class installed here is the same update with one
    change: when a pass met no unfinished trial, the cursor moves past the last trial it
    saw. Unions and intersections are idempotent, so rescanning the unfinished ones, as
    upstream does, stays correct. docs/dashboard.md describes the fix for upstream.

    Imported lazily: optimisation workers import this module and never the dashboard.
    """
    global _finished_study_cursor
    from optuna.trial import TrialState
    from optuna_dashboard import _inmemory_cache

    if _finished_study_cursor is None:
        upstream = _inmemory_cache._CachedExtraStudyProperty

        class FinishedAwareCursor(upstream):  # type: ignore[misc, valid-type]
            def update(self, trials: list[FrozenTrial]) -> None:
                next_cursor = trials[-1].number + 1 if trials else self._cursor
                for trial in reversed(trials):
                    if self._cursor > trial.number:
                        break
                    if not trial.state.is_finished():
                        next_cursor = trial.number
                    self._update_user_attrs(trial)
                    if trial.state != TrialState.FAIL:
                        self._update_intermediate_values(trial)
                        self._update_search_space(trial)
                self._cursor = max(self._cursor, next_cursor)

        _finished_study_cursor = FinishedAwareCursor
    _inmemory_cache._CachedExtraStudyProperty = _finished_study_cursor
    return _finished_study_cursor


def _warn_on_unsupported_versions() -> None:
    unsupported = unsupported_versions()
    if unsupported:
        log.warning(
            "optuna_compat was written for %s; installed: %s (check backtune/optimize/optuna_compat.py)",
            ", ".join(f"{n} {v}" for n, v in WRITTEN_FOR.items()),
            ", ".join(f"{n} {v or 'absent'}" for n, v in unsupported.items()),
        )


_warn_on_unsupported_versions()
