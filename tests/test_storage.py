"""The workers' journal storage: parameters appended together, the same journal as Optuna's."""

from __future__ import annotations

import json

import optuna
from optuna.storages import JournalStorage
from optuna.trial import TrialState

from backtune.optimize.storage import ParamBatchingJournalStorage, open_storage, publish_params

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
    batched_storage = open_storage(str(tmp_path / "batched.journal"), batch_params=True)
    assert isinstance(batched_storage, ParamBatchingJournalStorage)
    batched = run_study(batched_storage)

    assert journal_lines(tmp_path / "batched.journal") == journal_lines(tmp_path / "plain.journal")
    reread = optuna.load_study(study_name="s", storage=open_storage(str(tmp_path / "batched.journal")))
    for a, b in zip(plain.trials, reread.trials, strict=True):
        assert (a.params, a.values, a.user_attrs, a.state) == (b.params, b.values, b.user_attrs, b.state)
    assert [t.params for t in batched.trials] == [t.params for t in plain.trials]


def test_a_trials_parameters_go_out_in_one_append(tmp_path):
    path = tmp_path / "study.journal"
    storage = open_storage(str(path), batch_params=True)
    study = optuna.create_study(storage=storage)
    appends = []
    original = storage._backend.append_logs
    storage._backend.append_logs = lambda logs: (appends.append(len(logs)), original(logs))
    study.optimize(objective, n_trials=3)
    params_per_append = [n for n in appends if n > 1]
    assert params_per_append == [4, 4, 4]  # three parameters and the user attribute, once per trial


def test_published_parameters_are_visible_to_other_workers_while_the_trial_runs(tmp_path):
    path = str(tmp_path / "study.journal")
    mine = open_storage(path, batch_params=True)
    study = optuna.create_study(study_name="s", storage=mine)
    trial = study.ask()
    trial.suggest_float("x", 0, 1)
    theirs = JournalStorage(mine._backend.__class__(path))
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
