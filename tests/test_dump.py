"""dump_study and IncrementalDumper must produce what optuna.copy_study produces, row for row.

The studies live in a real JournalFileBackend, as in production runs, and cover what the row
encoding has to get right: every trial state, int/float/log/step/categorical params (categorical
choices of mixed types), single and multi-objective values with infinities, intermediate values
with inf and NaN, JSON attrs of every shape, and trial datetimes. The local time zone is set off
UTC (by 5:30) because RDBStorage stores naive UTC while trials carry naive local time: under UTC a
missing conversion would go unnoticed.
"""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import optuna
import optuna_dashboard
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.storages import BaseStorage, JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import FrozenTrial, TrialState
from werkzeug.test import Client

from backtune.optimize.dump import IncrementalDumper, dump_study
from backtune.optimize.optuna_compat import trial_id_of

CHOICES = (None, True, 3, 2.5, "fast")


@pytest.fixture(autouse=True)
def _local_time_off_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "XST-05:30")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture(autouse=True)
def _quiet_optuna() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.fixture
def journal(tmp_path: Path) -> JournalStorage:
    return JournalStorage(JournalFileBackend(str(tmp_path / "journal.log")))


def _suggest_all(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -5.0, 5.0)
    lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
    frac = trial.suggest_float("frac", 0.0, 1.0, step=0.125)
    period = trial.suggest_int("period", 2, 200)
    batch = trial.suggest_int("batch", 1, 1024, log=True)
    lag = trial.suggest_int("lag", 0, 60, step=5)
    mode = trial.suggest_categorical("mode", CHOICES)
    trial.set_user_attr("metrics", {"sharpe": x / 3, "trades": period, "ok": mode is not None})
    trial.set_user_attr("note", "ünïcode ✓")
    return x * x + lr + frac + period / 100 + batch / 1000 + lag / 10


def _build_single_objective(storage: BaseStorage) -> None:
    study = optuna.create_study(
        study_name="single",
        storage=storage,
        direction="maximize",
        sampler=optuna.samplers.RandomSampler(seed=1),
    )
    study.set_user_attr("strategy", "sma_cross")
    study.set_user_attr("window", {"from": "2025-05-01", "bars": 19584, "tags": [1, None, 2.5]})
    storage.set_study_system_attr(storage.get_study_id_from_name("single"), "backtune:schema", 3)

    for _ in range(4):
        trial = study.ask()
        study.tell(trial, _suggest_all(trial))

    pruned = study.ask()
    _suggest_all(pruned)
    for step, value in enumerate((1.5, math.inf, -math.inf, math.nan, -0.25)):
        pruned.report(value, step)
    study.tell(pruned, state=TrialState.PRUNED)

    failed = study.ask()
    failed.suggest_float("x", -5.0, 5.0)
    failed.set_user_attr("error", "ZeroDivisionError")
    study.tell(failed, state=TrialState.FAIL)

    best = study.ask()
    _suggest_all(best)
    study.tell(best, math.inf)

    worst = study.ask()
    _suggest_all(worst)
    study.tell(worst, -math.inf)

    study.add_trial(
        optuna.trial.create_trial(
            value=0.5,
            params={"x": 1.0, "mode": "fast"},
            distributions={
                "x": FloatDistribution(-5.0, 5.0),
                "mode": CategoricalDistribution(CHOICES),
            },
            user_attrs={"empty": {}, "list": [], "none": None},
            system_attrs={"constraints": [-1.0, 0.5], "nested": {"a": [1, {"b": None}]}},
            intermediate_values={0: 0.1, 3: 0.3},
        )
    )

    study.enqueue_trial({"x": 2.0, "mode": True})
    running = study.ask()
    _suggest_all(running)
    running.report(0.75, 0)
    study.enqueue_trial({"x": -2.0, "period": 7, "mode": None})


def _build_multi_objective(storage: BaseStorage) -> None:
    study = optuna.create_study(
        study_name="multi",
        storage=storage,
        directions=["minimize", "maximize", "minimize"],
        sampler=optuna.samplers.RandomSampler(seed=2),
    )
    study.set_user_attr("objectives", ["drawdown", "profit", "trades"])
    for values in ((0.1, 2.0, 30.0), (math.inf, -math.inf, 0.0), (-math.inf, math.inf, 1e300)):
        trial = study.ask()
        _suggest_all(trial)
        study.tell(trial, values)
    failed = study.ask()
    _suggest_all(failed)
    study.tell(failed, state=TrialState.FAIL)
    pruned = study.ask()
    _suggest_all(pruned)
    study.tell(pruned, state=TrialState.PRUNED)


def _comparable(value: Any) -> Any:
    """NaN != NaN would fail equal dumps; bool == 1 would pass a changed categorical choice."""
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if isinstance(value, dict):
        return {key: _comparable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_comparable(item) for item in value]
    return (type(value).__name__, value)


def _trial_fields(trial: FrozenTrial) -> dict[str, Any]:
    return {
        "number": trial.number,
        "state": trial.state,
        "params": _comparable(list(trial.params.items())),
        "distributions": trial.distributions,
        "values": _comparable(trial.values),
        "intermediate_values": _comparable(trial.intermediate_values),
        "user_attrs": _comparable(trial.user_attrs),
        "system_attrs": _comparable(trial.system_attrs),
        "datetime_start": trial.datetime_start,
        "datetime_complete": trial.datetime_complete,
    }


def _snapshot(sqlite_path: Path, study_name: str) -> dict[str, Any]:
    storage = optuna.storages.RDBStorage(f"sqlite:///{sqlite_path}")
    study = optuna.load_study(study_name=study_name, storage=storage)
    return {
        "directions": study.directions,
        "user_attrs": _comparable(study.user_attrs),
        "system_attrs": _comparable(storage.get_study_system_attrs(storage.get_study_id_from_name(study_name))),
        # Trial ids too: the dashboard's API and URLs address trials by id.
        "trials": [{**_trial_fields(t), "trial_id": trial_id_of(t)} for t in study.trials],
    }


def _rows(sqlite_path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every table as stored, surrogate keys included: a stricter check than load_study."""
    with sqlite3.connect(sqlite_path) as conn:
        tables = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        return {table: conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall() for (table,) in tables}


def _copy_study(source: BaseStorage, study_name: str, sqlite_path: Path) -> None:
    optuna.copy_study(
        from_study_name=study_name,
        from_storage=source,
        to_storage=f"sqlite:///{sqlite_path}",
    )


@pytest.mark.slow  # optuna.copy_study, the reference, commits per trial
@pytest.mark.parametrize("build", [_build_single_objective, _build_multi_objective])
def test_dump_study_equals_copy_study(
    journal: JournalStorage, tmp_path: Path, build: Callable[[BaseStorage], None]
) -> None:
    build(journal)
    (study_name,) = [s.study_name for s in journal.get_all_studies()]

    stats = dump_study(journal, study_name, tmp_path / "study.db")
    _copy_study(journal, study_name, tmp_path / "copy.db")

    dumped = _snapshot(tmp_path / "study.db", study_name)
    assert dumped == _snapshot(tmp_path / "copy.db", study_name)
    assert _rows(tmp_path / "study.db") == _rows(tmp_path / "copy.db")
    source_trials = journal.get_all_trials(journal.get_study_id_from_name(study_name))
    assert [{k: v for k, v in t.items() if k != "trial_id"} for t in dumped["trials"]] == [
        _trial_fields(t) for t in source_trials
    ]
    assert stats.trials == len(source_trials)
    assert {t.state for t in source_trials} >= {
        TrialState.COMPLETE,
        TrialState.PRUNED,
        TrialState.FAIL,
    }


def test_dump_study_leaves_an_ordinary_database_and_no_temporary_file(journal: JournalStorage, tmp_path: Path) -> None:
    _build_multi_objective(journal)
    target = tmp_path / "out" / "study.db"
    target.parent.mkdir()
    target.write_bytes(b"previous export")

    dump_study(journal, "multi", target)

    assert [p.name for p in target.parent.iterdir()] == ["study.db"]
    with sqlite3.connect(target) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_failed_dump_keeps_the_previous_file(journal: JournalStorage, tmp_path: Path) -> None:
    _build_multi_objective(journal)
    target = tmp_path / "study.db"
    target.write_bytes(b"previous export")

    with pytest.raises(KeyError):
        dump_study(journal, "no such study", target)

    assert target.read_bytes() == b"previous export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["journal.log", "study.db"]


def _trials(sqlite_path: Path, study_name: str) -> list[dict[str, Any]]:
    return _snapshot(sqlite_path, study_name)["trials"]


@pytest.mark.slow  # optuna.copy_study, the reference, commits per trial
def test_incremental_dumper_equals_copy_study(journal: JournalStorage, tmp_path: Path) -> None:
    live = tmp_path / "live.db"
    study = optuna.create_study(study_name="live", storage=journal, sampler=optuna.samplers.RandomSampler(seed=3))
    study.set_user_attr("strategy", "sma_cross")

    with IncrementalDumper(journal, "live", live) as dumper:
        assert dumper.sync().trials == 0

        for _ in range(3):
            trial = study.ask()
            study.tell(trial, _suggest_all(trial))
        slow = study.ask()
        _suggest_all(slow)
        slow.report(1.0, 0)
        assert dumper.sync().trials == 4
        assert _trials(live, "live")[3]["state"] is TrialState.RUNNING

        for _ in range(2):
            trial = study.ask()
            study.tell(trial, _suggest_all(trial))
        slow.report(0.5, 1)
        assert dumper.sync().trials == 3, "two new trials and the running one, rewritten"
        trials = _trials(live, "live")
        assert [t["number"] for t in trials] == list(range(6))
        assert trials[3]["intermediate_values"] == {0: ("float", 1.0), 1: ("float", 0.5)}
        assert trials[3]["trial_id"] == 4, "kept its id, the highest before this sync"

        trial = study.ask()
        study.tell(trial, _suggest_all(trial))
        assert dumper.sync().trials == 1, "the unchanged running trial is not rewritten"

        slow.report(math.nan, 2)
        slow.report(math.inf, 3)
        study.tell(slow, state=TrialState.PRUNED)
        failed = study.ask()
        study.tell(failed, state=TrialState.FAIL)
        study.set_user_attr("strategy", "trailing_ma")
        journal.set_study_system_attr(journal.get_study_id_from_name("live"), "finished", True)
        assert dumper.sync().trials == 2
        assert dumper.sync().trials == 0

    _copy_study(journal, "live", tmp_path / "copy.db")
    assert _snapshot(live, "live") == _snapshot(tmp_path / "copy.db", "live")


def test_incremental_dumper_refuses_an_existing_study(journal: JournalStorage, tmp_path: Path) -> None:
    _build_multi_objective(journal)
    dump_study(journal, "multi", tmp_path / "study.db")

    with pytest.raises(optuna.exceptions.DuplicatedStudyError):
        IncrementalDumper(journal, "multi", tmp_path / "study.db")


@pytest.mark.slow
def test_dashboard_reads_the_dump(journal: JournalStorage, tmp_path: Path) -> None:
    _build_single_objective(journal)
    dump_study(journal, "single", tmp_path / "study.db")
    client = Client(optuna_dashboard.wsgi(f"sqlite:///{tmp_path / 'study.db'}"))

    studies = client.get("/api/studies").get_json()["study_summaries"]
    assert [(s["study_name"], s["directions"]) for s in studies] == [("single", ["maximize"])]
    detail = client.get(f"/api/studies/{studies[0]['study_id']}").get_json()

    source_trials = journal.get_all_trials(journal.get_study_id_from_name("single"))
    assert [(t["number"], t["state"]) for t in detail["trials"]] == [
        (t.number, t.state.name.capitalize()) for t in source_trials
    ]
    assert detail["has_intermediate_values"]
    assert {p["name"] for p in detail["union_search_space"]} == set(source_trials[0].params)
