"""The journal storage: parameters appended together, a kernel lock, the same journal as Optuna's."""

from __future__ import annotations

import json
import multiprocessing
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from backtune.optimize.optuna_compat import JournalOperation
from backtune.optimize.run import execute_run, prepare_run
from backtune.optimize.storage import BatchingJournalStorage, FlockLock, open_storage, publish_params

VOLATILE = ("worker_id", "datetime_start", "datetime_complete")


def objective(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -5, 5)
    n = trial.suggest_int("n", 1, 19, step=2)
    kind = trial.suggest_categorical("kind", ["a", "b", "c"])
    trial.set_user_attr("metrics", {"x": x, "n": n})
    return x * x + n + (kind == "b")


def journal_lines(path) -> list[dict]:
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    return [{k: v for k, v in line.items() if k not in VOLATILE} for line in lines]


def run_study(storage: optuna.storages.BaseStorage, trials: int = 25) -> optuna.Study:
    study = optuna.create_study(study_name="s", storage=storage, sampler=optuna.samplers.TPESampler(seed=7))
    study.enqueue_trial({"x": 1.0, "n": 3, "kind": "c"})
    study.optimize(objective, n_trials=trials)
    return study


def test_batched_parameters_make_the_same_journal_and_the_same_study(tmp_path):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    plain = run_study(open_storage(str(tmp_path / "plain.journal")))
    batched_storage = open_storage(str(tmp_path / "batched.journal"), batched=True)
    assert isinstance(batched_storage, BatchingJournalStorage)
    batched = run_study(batched_storage)

    assert journal_lines(tmp_path / "batched.journal") == journal_lines(tmp_path / "plain.journal")
    reread = optuna.load_study(study_name="s", storage=open_storage(str(tmp_path / "batched.journal")))
    for a, b in zip(plain.trials, reread.trials, strict=True):
        assert (a.params, a.values, a.user_attrs, a.state) == (b.params, b.values, b.user_attrs, b.state)
    assert [t.params for t in batched.trials] == [t.params for t in plain.trials]


def test_a_trial_takes_three_appends_however_many_parameters_and_attributes(tmp_path):
    """Created; parameters, published once suggested; user attributes with the final state."""
    storage = open_storage(str(tmp_path / "study.journal"), batched=True)
    study = optuna.create_study(storage=storage)
    appends = []
    original = storage.append_lines
    storage.append_lines = lambda logs: (appends.append([log["op_code"] for log in logs]), original(logs))

    def like_a_worker(trial: optuna.Trial) -> float:
        value = trial.suggest_float("x", -5, 5) + trial.suggest_int("n", 1, 19, step=2)
        trial.suggest_categorical("kind", ["a", "b", "c"])
        publish_params(trial.storage)
        trial.set_user_attr("metrics", {"value": value})
        trial.set_user_attr("note", "seen")
        return value

    study.optimize(like_a_worker, n_trials=3)
    create, param, attr, state = (
        JournalOperation.CREATE_TRIAL,
        JournalOperation.SET_TRIAL_PARAM,
        JournalOperation.SET_TRIAL_USER_ATTR,
        JournalOperation.SET_TRIAL_STATE_VALUES,
    )
    assert appends[-9:] == [[create], [param] * 3, [attr, attr, state]] * 3
    expected = [{"metrics": {"value": t.value}, "note": "seen"} for t in study.trials]
    assert [t.user_attrs for t in study.trials] == expected


def test_published_parameters_are_visible_to_other_workers_while_the_trial_runs(tmp_path):
    path = str(tmp_path / "study.journal")
    mine = open_storage(path, batched=True)
    study = optuna.create_study(study_name="s", storage=mine)
    trial = study.ask()
    trial.suggest_float("x", 0, 1)
    theirs = open_storage(path)
    seen = optuna.load_study(study_name="s", storage=theirs).trials[0]
    assert seen.state == TrialState.RUNNING and seen.params == {}
    publish_params(trial.storage)
    seen = optuna.load_study(study_name="s", storage=theirs).trials[0]
    assert set(seen.params) == {"x"}


def test_publishing_is_a_no_op_for_other_storages():
    study = optuna.create_study()
    trial = study.ask()
    trial.suggest_float("x", 0, 1)
    publish_params(trial.storage)
    assert study.trials[0].params.keys() == {"x"}


def append_attrs(path: str, name: str, count: int) -> None:
    """A writer process: its own trial, ``count`` user attributes, each its own append."""
    storage = open_storage(path, batched=True)
    study = optuna.load_study(study_name="s", storage=storage)
    trial = study.ask()
    for i in range(count):
        trial.set_user_attr(f"{name}-{i}", i)
    study.tell(trial, 0.0)


@pytest.mark.slow
def test_concurrent_writers_append_whole_lines_under_the_flock(tmp_path):
    """Two processes hammering the same journal: every line lands whole and both trials
    replay complete."""
    path = str(tmp_path / "study.journal")
    optuna.create_study(study_name="s", storage=open_storage(path))
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=append_attrs, args=(path, name, 300)) for name in ("a", "b")]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(60)
        assert writer.exitcode == 0
    lines = (tmp_path / "study.journal").read_text().splitlines()
    assert all(json.loads(line) for line in lines)
    trials = optuna.load_study(study_name="s", storage=open_storage(path)).trials
    assert sorted(len(t.user_attrs) for t in trials) == [300, 300]
    assert all(t.state == TrialState.COMPLETE for t in trials)
    assert (tmp_path / "study.journal.flock").exists()


def take_lock_then_touch(journal: str, marker: str) -> None:
    lock = FlockLock(journal)
    lock.acquire()
    Path(marker).touch()
    lock.release()


@pytest.mark.slow
def test_the_flock_makes_another_process_wait_until_it_is_released(tmp_path):
    journal, marker = str(tmp_path / "study.journal"), tmp_path / "acquired"
    held = FlockLock(journal)
    held.acquire()
    other = multiprocessing.get_context("spawn").Process(target=take_lock_then_touch, args=(journal, str(marker)))
    other.start()
    time.sleep(1.5)
    assert not marker.exists()
    held.release()
    other.join(30)
    assert other.exitcode == 0 and marker.exists()


@pytest.mark.slow
def test_a_finished_run_leaves_no_journal_or_lock_files(tmp_path, monkeypatch):
    monkeypatch.setenv("BACKTUNE_JOURNAL_DIR", str(tmp_path / "journals"))
    from tests.helpers import config

    summary = execute_run(prepare_run(config(workers=2, budget={"mode": "trials", "trials": 6}), tmp_path / "runs"))
    assert summary["status"] == "done"
    assert list((tmp_path / "journals").iterdir()) == []


def test_enqueued_trials_are_taken_in_order_also_when_enqueued_mid_study(tmp_path):
    """Workers answer "which trials are waiting?" incrementally; trials enqueued at any
    time, before or between others, must still be found, in order, once each."""
    storage = open_storage(str(tmp_path / "study.journal"), batched=True)
    study = optuna.create_study(storage=storage, sampler=optuna.samplers.RandomSampler(seed=1))
    study.enqueue_trial({"x": 0.25})
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    study.enqueue_trial({"x": 0.5})
    study.enqueue_trial({"x": 0.75})
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    xs = [t.params["x"] for t in study.trials if t.state == TrialState.COMPLETE]
    assert len(xs) == 6 and xs[0] == 0.25 and xs[3:5] == [0.5, 0.75]
    assert not study.get_trials(states=(TrialState.WAITING,))
