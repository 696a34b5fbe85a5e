"""A worker's storage on a shared database: two short transactions per trial.

Optuna's ``RDBStorage`` costs about 33 SQL statements per trial through its ORM (about
35 ms on a local PostgreSQL, 5% of a journal worker's rate: docs/performance.md). Here,
as ``BatchingJournalStorage`` does for the journal, a trial's writes are queued and go out
together, and reads are answered from a local copy of the study:

- creating a trial is one transaction: lock the study's row, count its trials for the
  new number, insert the trial RUNNING and its first heartbeat;
- parameters go out once suggested (``flush``, so other workers' constant-liar TPE sees
  them); metrics, intermediate values, the values and the final state go out in one
  transaction at the end, which only succeeds if the trial is still RUNNING (a worker
  that lost the network and was declared dead cannot overwrite the FAIL);
- ``get_all_trials`` reads the study again at most every ``refresh_s`` seconds, and then
  only new and unfinished trials (``backtune.jobs.catalog._read_trials``); this worker's
  own trials are always current;
- heartbeats: the trial's first one is inserted with it, and Optuna's heartbeat thread
  writes again only when ``heartbeat_interval`` has passed; stale trials are looked for
  once per interval, not before every trial.

Rows are Optuna's own (its table definitions), so ``RDBStorage``, the dashboard and
``optuna.copy_study`` read the study as usual. Anything rare (study attributes, enqueued
trials, the retry callback's copies) goes through an ``RDBStorage`` on the same engine.
"""

from __future__ import annotations

import copy
import json
import os
import threading
import time
import warnings
from collections.abc import Callable, Container, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

import optuna
import sqlalchemy
from sqlalchemy.engine import make_url
from optuna.distributions import BaseDistribution, distribution_to_json
from optuna.exceptions import ExperimentalWarning, UpdateFinishedTrialError
from optuna.storages import BaseStorage, RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.storages._heartbeat import BaseHeartbeat
from optuna.storages._rdb import models
from optuna.study import StudyDirection
from optuna.study._frozen import FrozenStudy
from optuna.trial import FrozenTrial, TrialState

from backtune.errors import FieldError
from backtune.jobs.catalog import _read_trials
from backtune.optimize.dump import _INTERMEDIATE_VALUES, _PARAMS, _SYSTEM_ATTRS, _TRIALS, _USER_ATTRS, _VALUES

_STUDIES: sqlalchemy.Table = models.StudyModel.__table__
_HEARTBEATS: sqlalchemy.Table = models.TrialHeartbeatModel.__table__

HEARTBEAT_INTERVAL_S = 5
GRACE_PERIOD_S = 20
REFRESH_S = 0.25


def heartbeat_settings() -> tuple[int, int]:
    """(interval, grace period) in whole seconds, as Optuna takes them: the coordinator's
    ``BACKTUNE_HEARTBEAT_INTERVAL`` and ``BACKTUNE_GRACE_PERIOD``, handed to every worker in
    its plan so that all of them judge staleness alike."""
    interval = _whole_seconds("BACKTUNE_HEARTBEAT_INTERVAL", HEARTBEAT_INTERVAL_S)
    return interval, _whole_seconds("BACKTUNE_GRACE_PERIOD", max(GRACE_PERIOD_S, 2 * interval))


def _whole_seconds(variable: str, default: int) -> int:
    text = os.environ.get(variable)
    if text is None:
        return default
    if not text.isdigit() or int(text) < 1:
        raise FieldError(variable, f"expected a whole number of seconds >= 1, got {text!r}")
    return int(text)


def database_storage(url: str, heartbeat_interval: int | None = None, grace_period: int | None = None) -> RDBStorage:
    """Optuna's storage on ``url`` with heartbeats and one retry of a trial whose worker died.

    On PostgreSQL, commits do not wait for the write-ahead log to reach the disk
    (``synchronous_commit=off``): a commit then costs ~0.1 ms instead of a few, and a
    server crash can lose the last fraction of a second of trials but never corrupts the
    study (PostgreSQL manual, "Asynchronous Commit"). The run's SQLite dump is the durable copy.
    """
    if heartbeat_interval is None or grace_period is None:
        heartbeat_interval, grace_period = heartbeat_settings()
    engine_kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if make_url(url).get_backend_name() == "postgresql":
        engine_kwargs["connect_args"] = {"options": "-c synchronous_commit=off"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)  # heartbeats: experimental since Optuna 2.9
        return RDBStorage(url, engine_kwargs=engine_kwargs, heartbeat_interval=heartbeat_interval,
                          grace_period=grace_period,
                          heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=1))


class _Mirror:
    """One study's trials as last read, plus this worker's own, which are always current."""

    def __init__(self) -> None:
        self.trials: dict[int, FrozenTrial] = {}
        self.by_number: dict[int, int] = {}
        self.unfinished: set[int] = set()
        self.last_finished = -1
        self.read_at = -1e9

    def put(self, trial: FrozenTrial) -> None:
        self.trials[trial._trial_id] = trial
        self.by_number[trial.number] = trial._trial_id
        if trial.state.is_finished():
            self.unfinished.discard(trial._trial_id)
        else:
            self.unfinished.add(trial._trial_id)

    def ordered(self) -> list[FrozenTrial]:
        return [self.trials[self.by_number[n]] for n in sorted(self.by_number)]


class BatchedDatabaseStorage(BaseStorage, BaseHeartbeat):
    """A worker's storage on a database URL (see the module docstring). One per worker;
    the trial loop runs in one thread, Optuna's heartbeat thread only records heartbeats."""

    def __init__(self, rdb: RDBStorage, refresh_s: float = REFRESH_S) -> None:
        self._rdb = rdb
        self._engine: sqlalchemy.Engine = rdb.engine
        self._refresh_s = refresh_s
        self._mirrors: dict[int, _Mirror] = {}
        self._study_of: dict[int, int] = {}
        self._own: dict[int, FrozenTrial] = {}
        self._queued: dict[sqlalchemy.Table, list[dict[str, Any]]] = {}
        self._beats: dict[int, float] = {}
        self._stale_checked = -1e9
        self._lock = threading.Lock()
        self._conn: sqlalchemy.Connection | None = None

    # Studies: rare, through Optuna's own storage.

    def create_new_study(self, directions: Sequence[StudyDirection], study_name: str | None = None) -> int:
        return self._rdb.create_new_study(directions, study_name)

    def delete_study(self, study_id: int) -> None:
        self._rdb.delete_study(study_id)

    def set_study_user_attr(self, study_id: int, key: str, value: Any) -> None:
        self._rdb.set_study_user_attr(study_id, key, value)

    def set_study_system_attr(self, study_id: int, key: str, value: Any) -> None:
        self._rdb.set_study_system_attr(study_id, key, value)

    def get_study_id_from_name(self, study_name: str) -> int:
        return self._rdb.get_study_id_from_name(study_name)

    def get_study_name_from_id(self, study_id: int) -> str:
        return self._rdb.get_study_name_from_id(study_id)

    def get_study_directions(self, study_id: int) -> list[StudyDirection]:
        return self._rdb.get_study_directions(study_id)

    def get_study_user_attrs(self, study_id: int) -> dict[str, Any]:
        return self._rdb.get_study_user_attrs(study_id)

    def get_study_system_attrs(self, study_id: int) -> dict[str, Any]:
        return self._rdb.get_study_system_attrs(study_id)

    def get_all_studies(self) -> list[FrozenStudy]:
        return self._rdb.get_all_studies()

    # Trials

    def create_new_trial(self, study_id: int, template_trial: FrozenTrial | None = None) -> int:
        if template_trial is not None:
            self.flush()
            trial_id = self._rdb.create_new_trial(study_id, template_trial)
            self._refresh(study_id, force=True)
            return trial_id
        started = datetime.now()
        with self._transaction() as conn:
            conn.execute(sqlalchemy.select(_STUDIES.c.study_id).where(_STUDIES.c.study_id == study_id)
                         .with_for_update())
            number = conn.execute(sqlalchemy.select(sqlalchemy.func.count()).select_from(_TRIALS)
                                  .where(_TRIALS.c.study_id == study_id)).scalar_one()
            trial_id = conn.execute(sqlalchemy.insert(_TRIALS).values(
                number=number, study_id=study_id, state=TrialState.RUNNING, datetime_start=_utc(started))
                .returning(_TRIALS.c.trial_id)).scalar_one()
            conn.execute(sqlalchemy.insert(_HEARTBEATS).values(trial_id=trial_id))
        self._beats[trial_id] = time.monotonic()
        trial = FrozenTrial(number=number, state=TrialState.RUNNING, value=None, datetime_start=started,
                            datetime_complete=None, params={}, distributions={}, user_attrs={}, system_attrs={},
                            intermediate_values={}, trial_id=trial_id)
        self._adopt(study_id, trial)
        return trial_id

    def set_trial_param(self, trial_id: int, param_name: str, param_value_internal: float,
                        distribution: BaseDistribution) -> None:
        trial = self._running(trial_id)
        trial.params = {**trial.params, param_name: distribution.to_external_repr(param_value_internal)}
        trial.distributions = {**trial.distributions, param_name: distribution}
        self._queue(_PARAMS, trial_id=trial_id, param_name=param_name, param_value=param_value_internal,
                    distribution_json=distribution_to_json(distribution))

    def set_trial_intermediate_value(self, trial_id: int, step: int, intermediate_value: float) -> None:
        trial = self._running(trial_id)
        trial.intermediate_values = {**trial.intermediate_values, step: intermediate_value}
        stored, kind = models.TrialIntermediateValueModel.intermediate_value_to_stored_repr(intermediate_value)
        self._queue(_INTERMEDIATE_VALUES, trial_id=trial_id, step=step, intermediate_value=stored,
                    intermediate_value_type=kind)

    def set_trial_user_attr(self, trial_id: int, key: str, value: Any) -> None:
        trial = self._running(trial_id)
        trial.user_attrs = {**trial.user_attrs, key: value}
        self._queue(_USER_ATTRS, trial_id=trial_id, key=key, value_json=json.dumps(value))

    def set_trial_system_attr(self, trial_id: int, key: str, value: Any) -> None:
        trial = self._running(trial_id)
        trial.system_attrs = {**trial.system_attrs, key: value}
        self._queue(_SYSTEM_ATTRS, trial_id=trial_id, key=key, value_json=json.dumps(value))

    def set_trial_state_values(self, trial_id: int, state: TrialState,
                               values: Sequence[float] | None = None) -> bool:
        if state == TrialState.RUNNING:
            return self._take_waiting(trial_id)
        now = datetime.now()
        try:
            self._finish(trial_id, state, values, now)
        except UpdateFinishedTrialError:
            self._own.pop(trial_id, None)
            raise
        trial = self._own.pop(trial_id, None)
        if trial is None:  # a stale trial of another worker, failed here
            self._refresh(self._study_of.get(trial_id), force=True)
            return True
        trial.state, trial.datetime_complete = state, now
        trial.values = None if values is None else list(values)
        self._mirror(self._study_of[trial_id]).put(trial)
        return True

    def _finish(self, trial_id: int, state: TrialState, values: Sequence[float] | None, now: datetime) -> None:
        """Queued rows, values and the final state in one transaction, if still RUNNING."""
        with self._transaction() as conn:
            self._write_queued(conn)
            done = conn.execute(sqlalchemy.update(_TRIALS)
                                .where(_TRIALS.c.trial_id == trial_id, _TRIALS.c.state == TrialState.RUNNING)
                                .values(state=state, datetime_complete=_utc(now))).rowcount
            if done != 1:
                raise UpdateFinishedTrialError(f"trial {trial_id} is no longer RUNNING (declared dead?)")
            if values is not None:
                rows = []
                for objective, value in enumerate(values):
                    stored, kind = models.TrialValueModel.value_to_stored_repr(value)
                    rows.append({"trial_id": trial_id, "objective": objective, "value": stored, "value_type": kind})
                conn.execute(sqlalchemy.insert(_VALUES), rows)

    def flush(self) -> None:
        """Write whatever is queued (the parameters, once suggested)."""
        if self._queued:
            with self._transaction() as conn:
                self._write_queued(conn)

    def get_trial_id_from_study_id_trial_number(self, study_id: int, trial_number: int) -> int:
        known = self._mirror(study_id).by_number.get(trial_number)
        if known is not None:
            return known
        with self._transaction() as conn:
            found = conn.execute(sqlalchemy.select(_TRIALS.c.trial_id).where(
                _TRIALS.c.study_id == study_id, _TRIALS.c.number == trial_number)).scalar()
        if found is None:
            raise KeyError(f"no trial number {trial_number} in study {study_id}")
        return found

    def get_trial(self, trial_id: int) -> FrozenTrial:
        study_id = self._study_of.get(trial_id)
        if study_id is not None:
            trial = self._own.get(trial_id) or self._mirror(study_id).trials.get(trial_id)
            if trial is not None:
                return trial
        return self._rdb.get_trial(trial_id)

    def get_all_trials(self, study_id: int, deepcopy: bool = True,
                       states: Container[TrialState] | None = None) -> list[FrozenTrial]:
        self._refresh(study_id)
        trials = self._mirror(study_id).ordered()
        if states is not None:
            trials = [t for t in trials if t.state in states]
        return copy.deepcopy(trials) if deepcopy else trials

    # Heartbeats

    def record_heartbeat(self, trial_id: int) -> None:
        """Called by Optuna's heartbeat thread when a trial starts and then every interval;
        the start is covered by the row inserted with the trial."""
        interval = self._rdb.heartbeat_interval or 0
        if time.monotonic() - self._beats.get(trial_id, -1e9) < interval:
            return
        with self._engine.begin() as conn:
            conn.execute(sqlalchemy.update(_HEARTBEATS).where(_HEARTBEATS.c.trial_id == trial_id)
                         .values(heartbeat=sqlalchemy.func.current_timestamp()))
        self._beats[trial_id] = time.monotonic()

    def _get_stale_trial_ids(self, study_id: int) -> list[int]:
        """RUNNING trials whose last heartbeat is older than the grace period, looked for
        once per heartbeat interval (Optuna asks before every trial)."""
        interval = self._rdb.heartbeat_interval or 0
        if time.monotonic() - self._stale_checked < interval:
            return []
        self._stale_checked = time.monotonic()
        grace = self._rdb.grace_period or 2 * interval
        with self._transaction() as conn:
            now = conn.execute(sqlalchemy.select(sqlalchemy.func.current_timestamp())).scalar_one()
            rows = conn.execute(sqlalchemy.select(_TRIALS.c.trial_id, _HEARTBEATS.c.heartbeat)
                                .join(_HEARTBEATS, _HEARTBEATS.c.trial_id == _TRIALS.c.trial_id)
                                .where(_TRIALS.c.study_id == study_id, _TRIALS.c.state == TrialState.RUNNING)).all()
        now = now.replace(tzinfo=None)
        stale = [row.trial_id for row in rows if now - row.heartbeat > timedelta(seconds=grace)]
        for trial_id in stale:
            self._study_of[trial_id] = study_id
        return stale

    def get_heartbeat_interval(self) -> int | None:
        return self._rdb.heartbeat_interval

    def get_heartbeat_stale_trial_callback(self) -> Callable[[optuna.Study, FrozenTrial], None] | None:
        return self._rdb.heartbeat_stale_trial_callback

    def remove_session(self) -> None:
        """Optuna calls this at the end of every ``optimize``: the connection is kept."""

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self._rdb.remove_session()
        self._engine.dispose()

    # Internals

    @contextmanager
    def _transaction(self) -> Iterator[sqlalchemy.Connection]:
        """A transaction on this worker's own connection (kept: a checkout costs a ping)."""
        if self._conn is None or self._conn.closed or self._conn.invalidated:
            self._conn = self._engine.connect()
        with self._conn.begin():
            yield self._conn

    def _mirror(self, study_id: int) -> _Mirror:
        mirror = self._mirrors.get(study_id)
        if mirror is None:
            mirror = self._mirrors[study_id] = _Mirror()
        return mirror

    def _adopt(self, study_id: int, trial: FrozenTrial) -> None:
        self._study_of[trial._trial_id] = study_id
        self._own[trial._trial_id] = trial
        self._mirror(study_id).put(trial)

    def _running(self, trial_id: int) -> FrozenTrial:
        trial = self._own.get(trial_id)
        if trial is None:
            raise UpdateFinishedTrialError(f"trial {trial_id} is not running in this worker")
        return trial

    def _queue(self, table: sqlalchemy.Table, **row: Any) -> None:
        self._queued.setdefault(table, []).append(row)

    def _write_queued(self, conn: sqlalchemy.Connection) -> None:
        queued, self._queued = self._queued, {}
        for table, rows in queued.items():
            conn.execute(sqlalchemy.insert(table), rows)

    def _take_waiting(self, trial_id: int) -> bool:
        """A WAITING trial (a seed, or a dead worker's trial to retry) becomes this worker's."""
        self.flush()
        now = datetime.now()
        with self._transaction() as conn:
            taken = conn.execute(sqlalchemy.update(_TRIALS)
                                 .where(_TRIALS.c.trial_id == trial_id, _TRIALS.c.state == TrialState.WAITING)
                                 .values(state=TrialState.RUNNING, datetime_start=_utc(now))).rowcount
            if taken == 1:
                conn.execute(sqlalchemy.insert(_HEARTBEATS).values(trial_id=trial_id))
        if taken != 1:
            return False
        study_id = self._study_of[trial_id]
        trial = copy.deepcopy(self._mirror(study_id).trials[trial_id])
        trial.state, trial.datetime_start = TrialState.RUNNING, now
        self._beats[trial_id] = time.monotonic()
        self._adopt(study_id, trial)
        return True

    def _refresh(self, study_id: int | None, force: bool = False) -> None:
        """Read new and unfinished trials, at most every ``refresh_s`` unless forced."""
        if study_id is None:
            return
        mirror = self._mirror(study_id)
        if not force and time.monotonic() - mirror.read_at < self._refresh_s:
            return
        with self._transaction() as conn:
            fresh = _read_trials(conn, study_id, mirror.last_finished, sorted(mirror.unfinished))
        mirror.read_at = time.monotonic()
        finished = [mirror.last_finished]
        for trial in fresh:
            self._study_of[trial._trial_id] = study_id
            if trial._trial_id not in self._own:
                mirror.put(trial)
            if trial.state.is_finished():
                finished.append(trial._trial_id)
        # Only past a prefix with nothing unfinished: ids below stay read through ``unfinished``.
        mirror.last_finished = max(finished)


def _utc(moment: datetime) -> datetime:
    """RDBStorage stores naive UTC; trials carry naive local time."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None)
