"""A worker's storage on a shared database: two round trips per trial on PostgreSQL.

Optuna's ``RDBStorage`` costs about 33 SQL statements per trial through its ORM (21-33
trials/s for sma_cross on a local PostgreSQL, 3-5% of a journal worker's rate:
docs/performance.md). Here, as ``BatchingJournalStorage`` does for the journal, a trial's
writes are queued and go out together, and reads are answered from a local copy:

- creating a trial is one transaction: lock the study's row, number the trial by counting
  the study's trials, insert it RUNNING with its first heartbeat, or refuse it at the
  worker's ``trial_limit`` (so the budget is exact across every worker and host);
- its final state goes out with every queued row (parameters, metrics, intermediate
  values, values) in one transaction that only succeeds while the trial is still
  RUNNING: a worker that lost the network and was declared dead cannot overwrite the FAIL;
  parameters go out early (``flush``) only where other workers' sampler reads running
  trials (``publish_running``: TPE's constant liar);
- ``get_all_trials`` reads the study again at most every ``refresh_s`` seconds, and then
  only new and unfinished trials (``backtune.optimize.trial_rows.read_trials``); this worker's
  own trials are always current;
- heartbeats come from one thread per worker (Optuna would start one per trial), and
  stale trials are looked for once per heartbeat interval, when a trial is asked for;
  they are failed and handed to Optuna's retry callback (one retry);
- a lost connection (``connection_lost``) ends nothing here: the worker waits for the
  database (``backtune.optimize.reconnect``), then ``recover`` opens new connections,
  forgets the trials it held (the grace period fails and retries them) and sends again a
  result whose write was cut, which is written only if its trial is still RUNNING.

On PostgreSQL with psycopg 3 each of the two writes is one network round trip
(``_PostgresWrites``); any other database gets the same transactions as SQLAlchemy Core
statements (``_CoreWrites``). Rows are Optuna's own (its table definitions), so
``RDBStorage``, the dashboard and ``optuna.copy_study`` read the study as usual; anything
rare (study attributes, enqueued trials, the retry callback's copies) goes through an
``RDBStorage`` on the same engine. ``tests/test_database_storage.py`` reads a study written
here back through ``RDBStorage`` and compares it with Optuna's in-memory storage.
"""

from __future__ import annotations

import copy
import enum
import json
import os
import threading
import time
import warnings
from collections.abc import Callable, Container, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import optuna
import sqlalchemy
from optuna.distributions import BaseDistribution, distribution_to_json
from optuna.exceptions import ExperimentalWarning, UpdateFinishedTrialError
from optuna.storages import BaseStorage, RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState
from sqlalchemy.engine import make_url

from backtune.errors import FieldError
from backtune.optimize import optuna_compat as compat
from backtune.optimize.optuna_compat import FrozenStudy
from backtune.optimize.stopping import TrialLimitReached
from backtune.optimize.trial_rows import (
    INTERMEDIATE_VALUES,
    PARAMS,
    SYSTEM_ATTRS,
    TRIALS,
    USER_ATTRS,
    VALUES,
    read_trials,
)

_STUDIES: sqlalchemy.Table = compat.STUDY_TABLE
_HEARTBEATS: sqlalchemy.Table = compat.HEARTBEAT_TABLE

HEARTBEAT_INTERVAL_S = 5
GRACE_PERIOD_S = 20
REFRESH_S = 0.5
# A connection attempt to an unreachable host gives up after this long instead of the
# operating system's two minutes or so, so a worker retrying a lost database stays on time.
CONNECT_TIMEOUT_S = 10


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
        engine_kwargs["connect_args"] = {"options": "-c synchronous_commit=off", "connect_timeout": CONNECT_TIMEOUT_S}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)  # heartbeats: experimental since Optuna 2.9
        return RDBStorage(
            url,
            engine_kwargs=engine_kwargs,
            heartbeat_interval=heartbeat_interval,
            grace_period=grace_period,
            heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=1),
        )


def connection_lost(exc: BaseException) -> BaseException | None:
    """The error that says the database could not be reached (a server restart, a network
    cut), found in ``exc`` or any error it was raised from or while handling; None if there
    is none. SQLAlchemy wraps the driver's error, Optuna's ``RDBStorage`` wraps SQLAlchemy's
    in a ``StorageInternalError``, Optuna's ``optimize`` masks the lot (``optimize_once``),
    and the psycopg writer raises the driver's own. PEP 249 gives a lost or refused
    connection (and a server shutting down) the class ``OperationalError``."""
    import psycopg  # the driver Backtune installs; loaded already wherever its errors can occur

    lost = (
        sqlalchemy.exc.OperationalError,
        sqlalchemy.exc.InterfaceError,
        psycopg.OperationalError,
        psycopg.InterfaceError,
    )
    seen: set[int] = set()
    error: BaseException | None = exc
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, lost) or (isinstance(error, sqlalchemy.exc.DBAPIError) and error.connection_invalidated):
            return error
        error = error.__cause__ or error.__context__
    return None


@dataclass(frozen=True)
class _UnsentEnd:
    """A trial's end whose write a lost connection cut: what ``recover`` sends again."""

    trial: FrozenTrial
    state: TrialState
    values: Sequence[float] | None
    completed: datetime
    queued: dict[sqlalchemy.Table, list[dict[str, Any]]]


class _Mirror:
    """One study's trials as last read, plus this worker's own, which are always current."""

    def __init__(self) -> None:
        self.trials: dict[int, FrozenTrial] = {}
        self.by_number: dict[int, int] = {}
        self.unfinished: set[int] = set()
        self.waiting: set[int] = set()
        self.last_finished = -1
        self.read_at = -1e9
        self._ordered: list[FrozenTrial] | None = None

    def put(self, trial: FrozenTrial) -> None:
        self._ordered = None
        self.trials[compat.trial_id_of(trial)] = trial
        if trial.state == TrialState.WAITING:
            self.waiting.add(compat.trial_id_of(trial))
        else:
            self.waiting.discard(compat.trial_id_of(trial))
        self.by_number[trial.number] = compat.trial_id_of(trial)
        if trial.state.is_finished():
            self.unfinished.discard(compat.trial_id_of(trial))
        else:
            self.unfinished.add(compat.trial_id_of(trial))

    def ordered(self) -> list[FrozenTrial]:
        """By number; rebuilt only after a change (a sampler asks several times per trial)."""
        if self._ordered is None:
            self._ordered = [self.trials[self.by_number[n]] for n in sorted(self.by_number)]
        return self._ordered


class BatchedDatabaseStorage(BaseStorage):
    """A worker's storage on a database URL (see the module docstring). One per worker:
    the trial loop runs in one thread; the heartbeat thread only stamps its trials."""

    def __init__(self, rdb: RDBStorage, refresh_s: float = REFRESH_S) -> None:
        self._rdb = rdb
        self._engine: sqlalchemy.Engine = rdb.engine
        self._refresh_s = refresh_s
        self._mirrors: dict[int, _Mirror] = {}
        self._study_of: dict[int, int] = {}
        self._own: dict[int, FrozenTrial] = {}
        self._queued: dict[sqlalchemy.Table, list[dict[str, Any]]] = {}
        self._stale_checked = -1e9
        self._beater: threading.Thread | None = None
        self._closed = threading.Event()
        self._conn: sqlalchemy.Connection | None = None
        self._writes = self._open_writes()
        self._unsent: _UnsentEnd | None = None
        # Set by a worker that runs to a trial budget: ``create_new_trial`` then refuses,
        # under the study's lock, a trial numbered at or past it (TrialLimitReached).
        self.trial_limit: int | None = None
        self.publish_running = True

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
            self._write_queue()
            trial_id = self._rdb.create_new_trial(study_id, template_trial)
            self._refresh(study_id, force=True)
            return trial_id
        started = datetime.now()
        created = self._writes.create(study_id, _utc(started), self.trial_limit)
        if created is None:
            raise TrialLimitReached(f"the study holds its {self.trial_limit} trials")
        trial_id, number = created
        self._beat_while_running()
        trial = FrozenTrial(
            number=number,
            state=TrialState.RUNNING,
            value=None,
            datetime_start=started,
            datetime_complete=None,
            params={},
            distributions={},
            user_attrs={},
            system_attrs={},
            intermediate_values={},
            trial_id=trial_id,
        )
        self._adopt(study_id, trial)
        return trial_id

    def set_trial_param(
        self, trial_id: int, param_name: str, param_value_internal: float, distribution: BaseDistribution
    ) -> None:
        trial = self._running(trial_id)
        trial.params = {**trial.params, param_name: distribution.to_external_repr(param_value_internal)}
        trial.distributions = {**trial.distributions, param_name: distribution}
        self._queue(
            PARAMS,
            trial_id=trial_id,
            param_name=param_name,
            param_value=param_value_internal,
            distribution_json=distribution_to_json(distribution),
        )

    def set_trial_intermediate_value(self, trial_id: int, step: int, intermediate_value: float) -> None:
        trial = self._running(trial_id)
        trial.intermediate_values = {**trial.intermediate_values, step: intermediate_value}
        stored, kind = compat.intermediate_to_stored(intermediate_value)
        self._queue(
            INTERMEDIATE_VALUES, trial_id=trial_id, step=step, intermediate_value=stored, intermediate_value_type=kind
        )

    def set_trial_user_attr(self, trial_id: int, key: str, value: Any) -> None:
        trial = self._running(trial_id)
        trial.user_attrs = {**trial.user_attrs, key: value}
        self._queue(USER_ATTRS, trial_id=trial_id, key=key, value_json=json.dumps(value))

    def set_trial_system_attr(self, trial_id: int, key: str, value: Any) -> None:
        trial = self._running(trial_id)
        trial.system_attrs = {**trial.system_attrs, key: value}
        self._queue(SYSTEM_ATTRS, trial_id=trial_id, key=key, value_json=json.dumps(value))

    def set_trial_state_values(self, trial_id: int, state: TrialState, values: Sequence[float] | None = None) -> bool:
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
        """Queued rows, values and the final state in one transaction, if still RUNNING.
        A result (not a FAIL, which the grace period records with a retry) whose write the
        connection cut is kept for ``recover`` to send again."""
        rows = []
        for objective, value in enumerate(values or ()):
            stored, kind = compat.value_to_stored(value)
            rows.append({"trial_id": trial_id, "objective": objective, "value": stored, "value_type": kind})
        queued, self._queued = self._queued, {}
        if rows:
            queued[VALUES] = rows
        try:
            written = self._writes.finish(trial_id, state, _utc(now), queued)
        except Exception as exc:
            if state != TrialState.FAIL and trial_id in self._own and connection_lost(exc):
                self._unsent = _UnsentEnd(self._own[trial_id], state, values, now, queued)
            raise
        if not written:
            raise UpdateFinishedTrialError(f"trial {trial_id} is no longer RUNNING (declared dead?)")

    def recover(self) -> tuple[int, bool] | None:
        """After a lost connection: forget the trials this worker held, open new connections
        and send again the result whose write was cut, if any: (its trial's number, whether
        it was written). Raises the connection error while the database cannot be reached.

        A trial held when the connection dropped may have been failed and retried by now
        (the grace period), so nothing more is written for it: its heartbeats stop here and
        the grace period fails it if nobody has. Its result, if it was being written, is the
        exception: that one statement writes only while the trial is still RUNNING, so it
        saves the result after a short cut and is refused after a long one."""
        self._own.clear()
        self._queued = {}
        if self._conn is not None:
            self._conn.invalidate()
            self._conn = None
        with self._transaction() as conn:
            conn.execute(sqlalchemy.select(1))
        writes = self._open_writes()
        self._writes.discard()
        self._writes = writes
        unsent = self._unsent
        if unsent is None:
            return None
        trial_id = compat.trial_id_of(unsent.trial)
        written = self._writes.finish(trial_id, unsent.state, _utc(unsent.completed), unsent.queued)
        self._unsent = None
        if written:
            trial = unsent.trial
            trial.state, trial.datetime_complete = unsent.state, unsent.completed
            trial.values = None if unsent.values is None else list(unsent.values)
            self._mirror(self._study_of[trial_id]).put(trial)
        return unsent.trial.number, written

    def flush(self) -> None:
        """Where the objective publishes a trial's parameters (``publish_params``): written
        now if other workers' sampler reads running trials (``publish_running``, TPE's
        constant liar), else with the trial's end, one round trip fewer."""
        if self.publish_running:
            self._write_queue()

    def _write_queue(self) -> None:
        if self._queued:
            queued, self._queued = self._queued, {}
            self._writes.write(queued)

    def get_trial_id_from_study_id_trial_number(self, study_id: int, trial_number: int) -> int:
        known = self._mirror(study_id).by_number.get(trial_number)
        if known is not None:
            return known
        with self._transaction() as conn:
            found = conn.execute(
                sqlalchemy.select(TRIALS.c.trial_id).where(
                    TRIALS.c.study_id == study_id, TRIALS.c.number == trial_number
                )
            ).scalar()
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

    def get_all_trials(
        self, study_id: int, deepcopy: bool = True, states: Container[TrialState] | None = None
    ) -> list[FrozenTrial]:
        if states is not None and tuple(states) == (TrialState.WAITING,):
            # ask(): a trial is about to start. Only the few waiting trials are looked at,
            # not the whole study (a cost that would grow with every trial).
            self._fail_stale(study_id)
            self._refresh(study_id)
            mirror = self._mirror(study_id)
            waiting = sorted((mirror.trials[t] for t in mirror.waiting), key=lambda t: t.number)
            return copy.deepcopy(waiting) if deepcopy else waiting
        self._refresh(study_id)
        trials = self._mirror(study_id).ordered()
        if states is not None:
            trials = [t for t in trials if t.state in states]
        return copy.deepcopy(trials) if deepcopy else trials

    # Heartbeats: one thread per worker, not Optuna's thread per trial.

    def _beat_while_running(self) -> None:
        """Start this worker's heartbeat thread, once: every interval it stamps the trials
        the worker holds RUNNING (Optuna would start and join a thread per trial, which on
        a busy machine costs as much as a fast trial)."""
        if self._beater is None:
            self._beater = threading.Thread(target=self._beat, name="heartbeat", daemon=True)
            self._beater.start()

    def _beat(self) -> None:
        """A stamp the connection cut is skipped, not fatal: the trial loop notices the lost
        connection too and waits for it, and the next stamp goes out on a new connection."""
        interval = self._rdb.heartbeat_interval or HEARTBEAT_INTERVAL_S
        while not self._closed.wait(interval):
            running = tuple(self._own)
            if not running:
                continue
            try:
                with self._engine.begin() as conn:
                    conn.execute(
                        sqlalchemy.update(_HEARTBEATS)
                        .where(_HEARTBEATS.c.trial_id.in_(running))
                        .values(heartbeat=sqlalchemy.func.current_timestamp())
                    )
            except Exception as exc:
                if not connection_lost(exc):
                    raise

    def _fail_stale(self, study_id: int) -> None:
        """Optuna's ``fail_stale_trials``, run before a trial is asked for, at most once per
        heartbeat interval: RUNNING trials whose last heartbeat is older than the grace
        period are failed, then handed to the retry callback (one retry)."""
        interval = self._rdb.heartbeat_interval
        if interval is None or time.monotonic() - self._stale_checked < interval:
            return
        self._stale_checked = time.monotonic()
        grace = self._rdb.grace_period or 2 * interval
        with self._transaction() as conn:
            now = conn.execute(sqlalchemy.select(sqlalchemy.func.current_timestamp())).scalar_one()
            rows = conn.execute(
                sqlalchemy.select(TRIALS.c.trial_id, _HEARTBEATS.c.heartbeat)
                .join(_HEARTBEATS, _HEARTBEATS.c.trial_id == TRIALS.c.trial_id)
                .where(TRIALS.c.study_id == study_id, TRIALS.c.state == TrialState.RUNNING)
            ).all()
        now = now.replace(tzinfo=None)
        stale = [
            row.trial_id
            for row in rows
            if row.trial_id not in self._own and now - row.heartbeat > timedelta(seconds=grace)
        ]
        failed = [
            trial_id for trial_id in stale if self._writes.finish(trial_id, TrialState.FAIL, _utc(datetime.now()), {})
        ]
        if not failed:
            return
        self._refresh(study_id, force=True)
        retry = self._rdb.heartbeat_stale_trial_callback
        if retry is not None:
            study = optuna.load_study(study_name=self.get_study_name_from_id(study_id), storage=self)
            for trial_id in failed:
                retry(study, copy.deepcopy(self._mirror(study_id).trials[trial_id]))

    def remove_session(self) -> None:
        """Optuna calls this at the end of every ``optimize``: the connection is kept."""

    def close(self) -> None:
        self._closed.set()
        self._writes.close()
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self._rdb.remove_session()
        self._engine.dispose()

    # Internals

    def _open_writes(self) -> _CoreWrites | _PostgresWrites:
        if self._engine.dialect.driver == "psycopg":
            return _PostgresWrites(self._engine)
        return _CoreWrites(self._transaction)

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
        self._study_of[compat.trial_id_of(trial)] = study_id
        self._own[compat.trial_id_of(trial)] = trial
        self._mirror(study_id).put(trial)

    def _running(self, trial_id: int) -> FrozenTrial:
        trial = self._own.get(trial_id)
        if trial is None:
            raise UpdateFinishedTrialError(f"trial {trial_id} is not running in this worker")
        return trial

    def _queue(self, table: sqlalchemy.Table, **row: Any) -> None:
        self._queued.setdefault(table, []).append(row)

    def _take_waiting(self, trial_id: int) -> bool:
        """A WAITING trial (a seed, or a dead worker's trial to retry) becomes this worker's."""
        self._write_queue()
        now = datetime.now()
        with self._transaction() as conn:
            taken = conn.execute(
                sqlalchemy.update(TRIALS)
                .where(TRIALS.c.trial_id == trial_id, TRIALS.c.state == TrialState.WAITING)
                .values(state=TrialState.RUNNING, datetime_start=_utc(now))
            ).rowcount
            if taken == 1:
                conn.execute(sqlalchemy.insert(_HEARTBEATS).values(trial_id=trial_id))
        if taken != 1:
            return False
        study_id = self._study_of[trial_id]
        trial = copy.deepcopy(self._mirror(study_id).trials[trial_id])
        trial.state, trial.datetime_start = TrialState.RUNNING, now
        self._beat_while_running()
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
            fresh = read_trials(conn, study_id, mirror.last_finished, sorted(mirror.unfinished))
        mirror.read_at = time.monotonic()
        finished = [mirror.last_finished]
        for trial in fresh:
            self._study_of[compat.trial_id_of(trial)] = study_id
            if compat.trial_id_of(trial) not in self._own:
                mirror.put(trial)
            if trial.state.is_finished():
                finished.append(compat.trial_id_of(trial))
        # Only past a prefix with nothing unfinished: ids below stay read through ``unfinished``.
        mirror.last_finished = max(finished)


def _utc(moment: datetime) -> datetime:
    """RDBStorage stores naive UTC; trials carry naive local time."""
    return moment.astimezone(UTC).replace(tzinfo=None)


_Queued = dict[sqlalchemy.Table, list[dict[str, Any]]]


class _CoreWrites:
    """A trial's writes as SQLAlchemy Core statements, a few per transaction (any database)."""

    def __init__(self, transaction: Callable[[], Any]) -> None:
        self._transaction = transaction

    def create(self, study_id: int, started: datetime, limit: int | None) -> tuple[int, int] | None:
        """(trial id, number) of a new RUNNING trial with its first heartbeat; None at ``limit``.

        The study's row is locked first so that concurrent workers number their trials in
        turn: by a no-op update, which locks the row on PostgreSQL and MySQL and takes
        SQLite's write lock before the count is read (SQLite ignores FOR UPDATE)."""
        with self._transaction() as conn:
            conn.execute(
                sqlalchemy.update(_STUDIES).where(_STUDIES.c.study_id == study_id).values(study_id=_STUDIES.c.study_id)
            )
            number = conn.execute(
                sqlalchemy.select(sqlalchemy.func.count()).select_from(TRIALS).where(TRIALS.c.study_id == study_id)
            ).scalar_one()
            if limit is not None and number >= limit:
                return None
            trial_id = conn.execute(
                sqlalchemy.insert(TRIALS)
                .values(number=number, study_id=study_id, state=TrialState.RUNNING, datetime_start=started)
                .returning(TRIALS.c.trial_id)
            ).scalar_one()
            conn.execute(sqlalchemy.insert(_HEARTBEATS).values(trial_id=trial_id))
        return trial_id, number

    def finish(self, trial_id: int, state: TrialState, now: datetime, queued: _Queued) -> bool:
        with self._transaction() as conn:
            done = conn.execute(
                sqlalchemy.update(TRIALS)
                .where(TRIALS.c.trial_id == trial_id, TRIALS.c.state == TrialState.RUNNING)
                .values(state=state, datetime_complete=now)
            ).rowcount
            if done != 1:
                return False
            self._insert(conn, queued)
        return True

    def write(self, queued: _Queued) -> None:
        with self._transaction() as conn:
            self._insert(conn, queued)

    def close(self) -> None:
        pass

    def discard(self) -> None:
        pass

    @staticmethod
    def _insert(conn: sqlalchemy.Connection, queued: _Queued) -> None:
        for table, rows in queued.items():
            conn.execute(sqlalchemy.insert(table), rows)


class _PostgresWrites:
    """The same writes on PostgreSQL through psycopg 3, each one network round trip.

    A round trip to the database costs a wake-up of its server process; on a busy machine
    that is most of a fast trial. Here every row of a kind travels as one JSON parameter
    expanded by ``jsonb_to_recordset``, the final state and the rows are one statement
    (data-modifying CTEs, the rows written only if the trial was still RUNNING), and a new
    trial's lock, numbering and insert are sent together in pipeline mode.
    """

    def __init__(self, engine: sqlalchemy.Engine) -> None:
        self._pooled = engine.raw_connection()
        self._conn = self._pooled.driver_connection
        self._conn.autocommit = True
        self._types = {
            table: {c.name: c.type.compile(dialect=engine.dialect) for c in table.columns} for table in _QUEUED_TABLES
        }

    def create(self, study_id: int, started: datetime, limit: int | None) -> tuple[int, int] | None:
        # One sync for the four statements (a transaction block would sync at its start and end).
        try:
            with self._conn.pipeline():
                self._conn.execute("BEGIN")
                self._conn.execute("SELECT 1 FROM studies WHERE study_id = %s FOR UPDATE", (study_id,))
                cursor = self._conn.execute(_CREATE, {"study": study_id, "started": started, "limit": limit})
                self._conn.execute("COMMIT")
        except Exception:
            if not self._conn.closed:
                self._conn.execute("ROLLBACK")  # the explicit block is left aborted otherwise
            raise
        row = cursor.fetchone()
        return None if row is None else (row[0], row[1])

    def finish(self, trial_id: int, state: TrialState, now: datetime, queued: _Queued) -> bool:
        inserts, params = self._inserts(queued, gated=True)
        sql = (
            "WITH done AS (UPDATE trials SET state = %(state)s, datetime_complete = %(now)s "
            "WHERE trial_id = %(trial)s AND state = 'RUNNING' RETURNING trial_id)"
            + "".join(f", {cte}" for cte in inserts)
            + " SELECT count(*) FROM done"
        )
        return (
            self._conn.execute(sql, {**params, "state": state.name, "now": now, "trial": trial_id}).fetchone()[0] == 1
        )

    def write(self, queued: _Queued) -> None:
        inserts, params = self._inserts(queued, gated=False)
        self._conn.execute("WITH " + ", ".join(inserts) + " SELECT 1", params)

    def close(self) -> None:
        self._pooled.close()

    def discard(self) -> None:
        """Drop a connection that may be broken (closing it would try a rollback on it)."""
        self._pooled.invalidate()

    def _inserts(self, queued: _Queued, gated: bool) -> tuple[list[str], dict[str, str]]:
        ctes, params = [], {}
        for i, (table, rows) in enumerate(queued.items()):
            types = self._types[table]
            columns = [c for c in rows[0] if c in types]
            record = ", ".join(f"{c} {types[c]}" for c in columns)
            ctes.append(
                f"w{i} AS (INSERT INTO {table.name} ({', '.join(columns)}) "
                f"SELECT {', '.join('x.' + c for c in columns)} "
                f"FROM {'done, ' if gated else ''}jsonb_to_recordset(%(rows{i})s::jsonb) AS x({record}))"
            )
            params[f"rows{i}"] = json.dumps([{c: _plain(row[c]) for c in columns} for row in rows])
        return ctes, params


_QUEUED_TABLES = (PARAMS, VALUES, INTERMEDIATE_VALUES, USER_ATTRS, SYSTEM_ATTRS)
_CREATE = """
WITH n AS (SELECT count(*) AS c FROM trials WHERE study_id = %(study)s),
t AS (INSERT INTO trials (number, study_id, state, datetime_start)
      SELECT n.c, %(study)s, 'RUNNING', %(started)s FROM n
      WHERE %(limit)s::integer IS NULL OR n.c < %(limit)s::integer RETURNING trial_id, number),
h AS (INSERT INTO trial_heartbeats (trial_id, heartbeat) SELECT trial_id, CURRENT_TIMESTAMP FROM t)
SELECT trial_id, number FROM t
"""


def _plain(value: Any) -> Any:
    """Enum members (value and intermediate-value types) as the names PostgreSQL stores."""
    return value.name if isinstance(value, enum.Enum) else value
