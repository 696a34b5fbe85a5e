"""Optuna's trial tables, written and read with SQLAlchemy Core: the one trial-row codec.

The SQLite dump (``backtune.optimize.dump``) writes trials into Optuna's own tables and the
dashboard's storage over every run (``backtune.jobs.runs_storage``) reads them back, both
without Optuna's ORM: ``RDBStorage`` commits per trial when writing and builds ORM objects
when reading, which costs about seven times more per trial. The rows follow what
``RDBStorage`` writes and reads in the installed Optuna (``optuna/storages/_rdb/storage.py``
and ``models.py``, reached through ``backtune.optimize.optuna_compat``).
tests/test_dump.py compares the writer with ``optuna.copy_study`` and tests/test_dashboard.py
the reader with ``RDBStorage``, trial by trial.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy
from optuna.distributions import BaseDistribution, distribution_to_json, json_to_distribution
from optuna.trial import FrozenTrial
from sqlalchemy.engine import Connection

from backtune.optimize import optuna_compat as compat

TRIALS = compat.TRIAL_TABLE
PARAMS = compat.PARAM_TABLE
VALUES = compat.VALUE_TABLE
INTERMEDIATE_VALUES = compat.INTERMEDIATE_VALUE_TABLE
USER_ATTRS = compat.USER_ATTR_TABLE
SYSTEM_ATTRS = compat.SYSTEM_ATTR_TABLE
# Parent table first: inserts follow this order, deletes run it backwards.
TRIAL_TABLES = (TRIALS, PARAMS, VALUES, INTERMEDIATE_VALUES, USER_ATTRS, SYSTEM_ATTRS)

Rows = dict[sqlalchemy.Table, list[dict[str, Any]]]


def trial_rows(study_id: int, trials: Iterable[tuple[int, FrozenTrial]]) -> Rows:
    """The rows RDBStorage._get_prepared_new_trial would write for each ``(trial_id, trial)``.

    Params go in ``trial.params`` order because RDBStorage rebuilds the dict ordered by
    ``param_id``.
    """
    rows: Rows = {table: [] for table in TRIAL_TABLES}
    for trial_id, trial in trials:
        rows[TRIALS].append(
            {
                "trial_id": trial_id,
                "number": trial.number,
                "study_id": study_id,
                "state": trial.state,
                "datetime_start": _stored_datetime(trial.datetime_start),
                "datetime_complete": _stored_datetime(trial.datetime_complete),
            }
        )
        for name, value in trial.params.items():
            distribution = trial.distributions[name]
            rows[PARAMS].append(
                {
                    "trial_id": trial_id,
                    "param_name": name,
                    "param_value": distribution.to_internal_repr(value),
                    "distribution_json": distribution_to_json(distribution),
                }
            )
        for objective, value in enumerate(trial.values or ()):
            stored, value_type = compat.value_to_stored(value)
            rows[VALUES].append(
                {
                    "trial_id": trial_id,
                    "objective": objective,
                    "value": stored,
                    "value_type": value_type,
                }
            )
        for step, value in trial.intermediate_values.items():
            stored, value_type = compat.intermediate_to_stored(value)
            rows[INTERMEDIATE_VALUES].append(
                {
                    "trial_id": trial_id,
                    "step": step,
                    "intermediate_value": stored,
                    "intermediate_value_type": value_type,
                }
            )
        for table, attrs in ((USER_ATTRS, trial.user_attrs), (SYSTEM_ATTRS, trial.system_attrs)):
            rows[table].extend(
                {"trial_id": trial_id, "key": key, "value_json": json.dumps(value)} for key, value in attrs.items()
            )
    return rows


def insert(conn: Connection, rows: Rows) -> None:
    for table, table_rows in rows.items():
        if table_rows:
            conn.execute(table.insert(), table_rows)


def delete_trials(conn: Connection, trial_ids: list[int]) -> None:
    if not trial_ids:
        return
    for table in reversed(TRIAL_TABLES):
        conn.execute(table.delete().where(table.c.trial_id.in_(trial_ids)))


def next_trial_id(conn: Connection) -> int:
    """Trial ids are assigned by the writer rather than by SQLite so child rows can be built in one pass."""
    highest = conn.execute(sqlalchemy.select(sqlalchemy.func.max(TRIALS.c.trial_id))).scalar()
    return (highest or 0) + 1


def _stored_datetime(value: datetime | None) -> datetime | None:
    """RDBStorage stores naive UTC (TrialModel's datetime setters); trials carry naive local."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None)


def read_trials(conn: Connection, study_id: int, after_id: int, unfinished: list[int]) -> list[FrozenTrial]:
    """The study's trials with an id above ``after_id`` or in ``unfinished``, by id.

    They are the FrozenTrials ``RDBStorage`` builds (``_build_frozen_trial_from_trial_model``
    in the installed Optuna).

    Each statement reads the file as it is then; a running trial rewritten in between may
    come out mixed, but the caller keeps it in ``unfinished`` and reads it again on its next
    refresh, and a finished trial is never rewritten. Child rows of trials the first
    statement did not see (inserted since) are left for the next refresh.
    """

    def chosen(table: sqlalchemy.Table) -> sqlalchemy.ColumnElement[bool]:
        """On trial_id alone, which every table has indexed: a range scan, not a join."""
        return sqlalchemy.or_(table.c.trial_id > after_id, table.c.trial_id.in_(unfinished))

    rows = conn.execute(
        sqlalchemy.select(TRIALS).where(TRIALS.c.study_id == study_id, chosen(TRIALS)).order_by(TRIALS.c.trial_id)
    ).all()
    parts = {row.trial_id: _TrialParts() for row in rows}

    def children(table: sqlalchemy.Table, *order: Any) -> Iterator[Any]:
        """Rows of the trials read above; others (another study's, or inserted since) are skipped.
        Bounded by those trials' ids: a range scan of the index, never every study's rows (a
        first read, from id -1, would otherwise read the whole table of a database that keeps
        many studies, at every refresh until a finished trial moves ``after_id``)."""
        if parts:
            span = table.c.trial_id.between(min(parts), max(parts))
            for row in conn.execute(sqlalchemy.select(table).where(span, chosen(table)).order_by(*order)):
                if row.trial_id in parts:
                    yield parts[row.trial_id], row

    distributions: dict[str, BaseDistribution] = {}
    for part, row in children(PARAMS, PARAMS.c.param_id):
        distribution = distributions.get(row.distribution_json)
        if distribution is None:
            distribution = distributions[row.distribution_json] = json_to_distribution(row.distribution_json)
        part.params[row.param_name] = distribution.to_external_repr(row.param_value)
        part.distributions[row.param_name] = distribution
    for part, row in children(VALUES, VALUES.c.objective):
        part.values.append(compat.stored_to_value(row.value, row.value_type))
    for part, row in children(INTERMEDIATE_VALUES):
        part.intermediate_values[row.step] = compat.stored_to_intermediate(
            row.intermediate_value, row.intermediate_value_type
        )
    for part, row in children(USER_ATTRS):
        part.user_attrs[row.key] = json.loads(row.value_json)
    for part, row in children(SYSTEM_ATTRS):
        part.system_attrs[row.key] = json.loads(row.value_json)

    trials = []
    for row in rows:
        part = parts[row.trial_id]
        trials.append(
            FrozenTrial(
                number=row.number,
                state=row.state,
                value=None,
                values=part.values or None,
                datetime_start=row.datetime_start,
                datetime_complete=row.datetime_complete,
                params=part.params,
                distributions=part.distributions,
                user_attrs=part.user_attrs,
                system_attrs=part.system_attrs,
                intermediate_values=part.intermediate_values,
                trial_id=row.trial_id,
            )
        )
    return trials


@dataclass
class _TrialParts:
    params: dict[str, Any] = field(default_factory=dict)
    distributions: dict[str, BaseDistribution] = field(default_factory=dict)
    values: list[float] = field(default_factory=list)
    intermediate_values: dict[int, float] = field(default_factory=dict)
    user_attrs: dict[str, Any] = field(default_factory=dict)
    system_attrs: dict[str, Any] = field(default_factory=dict)
