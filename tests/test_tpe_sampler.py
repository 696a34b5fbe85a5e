"""Backtune's TPE against Optuna's, and its incremental history under two real workers."""

from __future__ import annotations

import json
import math
import multiprocessing
import time
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState
from scipy.stats import ks_2samp

from backtune.optimize.storage import open_storage, publish_params
from backtune.optimize.tpe import TPESampler
from backtune.optimize.tpe.history import TrialHistory

optuna.logging.set_verbosity(optuna.logging.WARNING)

CONTINUOUS = {
    "x": FloatDistribution(-5, 5),
    "y": FloatDistribution(1e-3, 10, log=True),
    "z": FloatDistribution(0, 1),
    "kind": CategoricalDistribution(["a", "b", "c"]),
}
STEPPED = {
    "n": IntDistribution(2, 10),
    "mult": FloatDistribution(1.0, 3.0, step=0.1),
    "length": IntDistribution(25, 500, step=25),
    "lookback": IntDistribution(1, 100, log=True),
    "kind": CategoricalDistribution(["SMA", "EMA"]),
}


def target(params: dict) -> float:
    return sum(
        (float(v) if not isinstance(v, str) else float(v in ("b", "EMA"))) ** 2 * 0.01 + 0.1 * i
        for i, v in enumerate(params.values())
    )


def history_study(space: dict, n: int, seed: int) -> optuna.Study:
    """Random trials in every state TPE treats differently: completed, pruned with and
    without intermediate values, failed, and two running trials with their parameters."""
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    for i in range(n):
        trial = study.ask(space)
        if i % 11 == 3:
            trial.report(target(trial.params), step=i % 3)
            study.tell(trial, state=TrialState.PRUNED)
        elif i % 11 == 7:
            study.tell(trial, state=TrialState.PRUNED)
        elif i % 13 == 5:
            study.tell(trial, state=TrialState.FAIL)
        else:
            study.tell(trial, target(trial.params))
    study.ask(space)
    study.ask(space)
    return study


def proposal(sampler: optuna.samplers.BaseSampler, study: optuna.Study, current: optuna.trial.FrozenTrial) -> dict:
    space = sampler.infer_relative_search_space(study, current)
    return sampler.sample_relative(study, current, space)


def same_proposal(ours: dict, theirs: dict) -> bool:
    return ours.keys() == theirs.keys() and all(
        ours[k] == theirs[k] or (isinstance(ours[k], float) and math.isclose(ours[k], theirs[k], rel_tol=1e-9))
        for k in ours
    )


@pytest.mark.parametrize("constant_liar", [False, True])
@pytest.mark.parametrize("n", [30, 200])
def test_same_trials_and_seed_give_optunas_proposal_on_continuous_and_categorical_spaces(n, constant_liar):
    """Without equal parameter values among trials the algorithm is Optuna's step for step
    (same kernels, bandwidths, random draws), so proposals agree to rounding."""
    study = history_study(CONTINUOUS, n, seed=n)
    current = study.ask()
    frozen = study.get_trials(deepcopy=False)[-1]
    assert frozen.number == current.number and frozen.state == TrialState.RUNNING
    for seed in range(6):
        ours = proposal(TPESampler(seed=seed, constant_liar=constant_liar), study, frozen)
        theirs = proposal(
            optuna.samplers.TPESampler(seed=seed, multivariate=True, constant_liar=constant_liar), study, frozen
        )
        assert set(ours) == set(CONTINUOUS)
        assert same_proposal(ours, theirs), (seed, ours, theirs)


def test_the_constant_liar_counts_other_running_trials_among_the_bad_ones():
    study = history_study(CONTINUOUS, 60, seed=3)
    trials = study.get_trials(deepcopy=False)
    other, current = trials[-2], trials[-1]
    assert other.state == current.state == TrialState.RUNNING
    row = [dist.to_internal_repr(other.params[name]) for name, dist in CONTINUOUS.items()]
    observed = {}
    for liar in (True, False):
        sampler = TPESampler(seed=1, constant_liar=liar)
        observed[liar] = sampler._observations(sampler._history(study), current, CONTINUOUS)
    assert len(observed[True][0]) == len(observed[False][0])
    assert len(observed[True][1]) == len(observed[False][1]) + 1
    assert any(np.array_equal(r, row) for r in observed[True][1])
    assert not any(np.array_equal(r, row) for r in observed[False][1])


def test_stepped_spaces_propose_from_the_same_distribution_as_optuna():
    """With many equal values, Optuna's unstable sort decides which equal centre gets the
    gap to the next value as its bandwidth, Backtune's keeps trial order: the mixtures
    differ a little, the proposals' distributions must not. 80 seeds, fixed: the test is
    deterministic."""
    study = history_study(STEPPED, 300, seed=7)
    frozen = study.get_trials(deepcopy=False)[-1]
    ours, theirs = [], []
    for seed in range(80):
        ours.append(proposal(TPESampler(seed=seed), study, frozen))
        theirs.append(proposal(optuna.samplers.TPESampler(seed=seed, multivariate=True), study, frozen))
    identical = sum(same_proposal(a, b) for a, b in zip(ours, theirs))
    assert identical >= 40, f"only {identical} of 80 proposals identical"
    for name, dist in STEPPED.items():
        a = [dist.to_internal_repr(p[name]) for p in ours]
        b = [dist.to_internal_repr(p[name]) for p in theirs]
        assert ks_2samp(a, b, method="asymp").pvalue > 0.05, name


def test_an_incremental_history_equals_one_read_from_scratch_after_every_change():
    study = history_study(STEPPED, 0, seed=1)
    incremental = TrialHistory(minimize=True)
    for i in range(40):
        trial = study.ask(STEPPED)
        incremental.sync(study.get_trials(deepcopy=False))
        if i % 5 == 4:
            study.tell(trial, state=TrialState.FAIL)
        elif i % 5 == 3:
            study.tell(trial, state=TrialState.PRUNED)
        elif i % 2 == 0:
            study.tell(trial, target(trial.params))
        trials = study.get_trials(deepcopy=False)
        assert incremental.sync(trials)
        fresh = TrialHistory(minimize=True)
        fresh.sync(trials)
        assert history_summary(incremental) == history_summary(fresh)


def history_summary(history: TrialHistory) -> dict:
    """What a history holds, keyed by trial number (rows may be in another order)."""
    fin = history.finished
    rows = {}
    for row, number in enumerate(fin.numbers.tolist()):
        params = {name: float(col.view(len(fin))[row]) for name, cols in fin.columns.items() for _, col in cols}
        rows[number] = (
            int(fin.states[row]),
            repr(float(fin.values[row])),
            fin.pruned_keys[0][row],
            fin.pruned_keys[1][row],
            float(fin.infeasibility[row]),
            {k: v for k, v in params.items() if not math.isnan(v)},
        )
    return {
        "rows": rows,
        "failed": history.n_failed,
        "space": history.search_space,
        "running": sorted(t.number for t in history.running),
    }


STUDY = "tpe-two-workers"


def suggest(trial: optuna.Trial, name: str, dist):
    if isinstance(dist, CategoricalDistribution):
        return trial.suggest_categorical(name, dist.choices)
    if isinstance(dist, IntDistribution):
        return trial.suggest_int(name, dist.low, dist.high, step=dist.step, log=dist.log)
    return trial.suggest_float(name, dist.low, dist.high, step=dist.step, log=dist.log)


def two_worker_run(journal: str, index: int, n_trials: int, out: str, start: Any) -> None:
    """One worker process: Backtune's journal storage and TPE, an objective that also
    fails and prunes, and before each trial's work a check that the sampler's own
    incremental history equals one read from scratch, and that both give the same good
    and bad observations. Both workers start their trials together (``start``, a barrier),
    so each sees the other's trials arrive in every state."""
    sampler = TPESampler(n_startup_trials=4, seed=index, constant_liar=True)
    study = optuna.load_study(study_name=STUDY, storage=open_storage(journal, batched=True), sampler=sampler)
    report = {"checks": 0, "mismatches": [], "other_running": 0, "other_failed": 0, "other_pruned": 0}

    def objective(trial: optuna.Trial) -> float:
        params = {name: suggest(trial, name, dist) for name, dist in STEPPED.items()}
        publish_params(trial.storage)
        trial.set_user_attr("worker", index)
        trials = study.get_trials(deepcopy=False)
        history = sampler._histories.get(STUDY) or sampler._history(study)  # enqueued trials skip the sampler
        assert history.sync(trials)
        fresh = TrialHistory(minimize=True)
        fresh.sync(trials)
        frozen = next(t for t in trials if t.number == trial.number)
        mine = sampler._observations(history, frozen, STEPPED)
        theirs = sampler._observations(fresh, frozen, STEPPED)
        if history_summary(history) != history_summary(fresh) or not all(
            np.array_equal(a, b) for a, b in zip(mine, theirs)
        ):
            report["mismatches"].append(trial.number)
        report["checks"] += 1
        others = [
            t
            for t in trials
            if t.user_attrs.get("worker", index) != index
            or (t.state == TrialState.RUNNING and t.number != trial.number)
        ]
        report["other_running"] += sum(t.state == TrialState.RUNNING for t in others)
        report["other_failed"] = max(report["other_failed"], sum(t.state == TrialState.FAIL for t in others))
        report["other_pruned"] = max(report["other_pruned"], sum(t.state == TrialState.PRUNED for t in others))
        time.sleep(0.004)
        if trial.number % 6 == 1:
            raise ValueError("a failing trial")
        if trial.number % 6 == 4:
            raise optuna.TrialPruned()
        return target(params)

    start.wait(timeout=120)
    study.optimize(objective, n_trials=n_trials, catch=(ValueError,))
    Path(out).write_text(json.dumps(report))


def test_two_worker_processes_keep_their_histories_correct_as_each_others_trials_arrive(tmp_path):
    journal = str(tmp_path / "journal.log")
    study = optuna.create_study(study_name=STUDY, storage=open_storage(journal))
    study.enqueue_trial({"n": 5, "mult": 2.0, "length": 100, "lookback": 10, "kind": "EMA"})
    study.enqueue_trial({"n": 3, "mult": 1.5, "length": 200, "lookback": 3, "kind": "SMA"})
    spawn = multiprocessing.get_context("spawn")
    outs = [str(tmp_path / f"worker-{i}.json") for i in range(2)]
    start = spawn.Barrier(2)
    workers = [spawn.Process(target=two_worker_run, args=(journal, i, 40, outs[i], start)) for i in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=300)
        assert w.exitcode == 0
    reports = [json.loads(Path(out).read_text()) for out in outs]
    for report in reports:
        assert report["checks"] >= 40 and report["mismatches"] == []
        assert report["other_running"] > 0
        assert report["other_failed"] > 0 and report["other_pruned"] > 0
    done = optuna.load_study(study_name=STUDY, storage=open_storage(journal))
    states = [t.state for t in done.trials]
    assert len(states) == 80 and TrialState.WAITING not in states and TrialState.RUNNING not in states
