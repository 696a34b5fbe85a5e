"""The optimisation engine with real parts: spawned workers, a real journal, a real SQLite dump."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from backtune.data.loader import load_csv
from backtune.engine.backtest import run_backtest
from backtune.errors import FieldError
from backtune.metrics import compute_metrics
from backtune.optimize.config import Budget, RunConfig
from backtune.optimize.presence import WORKER_ATTR
from backtune.optimize.run import execute_run, prepare_run, resume_run
from backtune.optimize.samplers import METRICS_ATTR
from backtune.optimize.score import ScoreConfig
from backtune.optimize.space import SearchSpace
from backtune.optimize.targets import TARGETS
from backtune.registry import get_strategy
from tests.conftest import ROOT
from tests.helpers import GOOG, config, kill_worker_soon


def run(tmp_path: Path, **overrides) -> tuple[dict, optuna.Study]:
    run_dir = prepare_run(config(**overrides), tmp_path)
    summary = execute_run(run_dir)
    study = optuna.load_study(study_name="backtune", storage=f"sqlite:///{run_dir.sqlite}")
    return summary, study


@pytest.mark.slow
def test_two_workers_share_a_global_trial_budget(tmp_path):
    summary, study = run(tmp_path, workers=2, budget={"mode": "trials", "trials": 40})
    assert summary["status"] == "done" and summary["stop_reason"] == "trials"
    assert 40 <= summary["trials"]["total"] <= 41  # overshoot at most workers - 1
    assert [t.number for t in study.trials] == list(range(summary["trials"]["total"]))
    statuses = [json.loads(p.read_text()) for p in sorted(Path(summary["run_dir"], "workers").glob("*.json"))]
    assert len(statuses) == 2 and all(s["state"] == "done" for s in statuses)
    assert all(s["trials"] > 0 for s in statuses), "both workers must have run trials"
    assert not Path(summary["run_dir"], "bars").joinpath("missing").exists()


@pytest.mark.slow
def test_time_budget_stops_every_worker_at_the_deadline(tmp_path):
    run_dir = prepare_run(config(workers=2, budget={"mode": "time", "seconds": 8}), tmp_path)
    started = time.time()
    summary = execute_run(run_dir)
    study = optuna.load_study(study_name="backtune", storage=f"sqlite:///{run_dir.sqlite}")
    assert summary["stop_reason"] == "time"
    assert summary["trials"]["total"] > 0, "workers never started within the budget"
    last_start = max(t.datetime_start.timestamp() for t in study.trials)
    last_end = max(t.datetime_complete.timestamp() for t in study.trials)
    assert last_start <= started + 8 + 0.5
    assert last_end <= started + 8 + 2.0  # within one (sub-second) trial of the deadline


@pytest.mark.slow
def test_convergence_counts_trials_of_all_workers(tmp_path):
    summary, study = run(tmp_path, workers=2, budget={"mode": "convergence", "patience": 15, "trials": 500})
    assert summary["stop_reason"] == "converged"
    finished = sorted(study.trials, key=lambda t: (t.datetime_complete, t.number))
    best = max(
        (t for t in finished if t.state == TrialState.COMPLETE), key=lambda t: (t.value, -finished.index(t))
    )  # the first to finish with the best value
    after_best = finished[finished.index(best) + 1 :]
    assert 15 <= len(after_best) <= 15 + 4, "trials finished after the best one"
    assert summary["trials"]["total"] < 500


@pytest.mark.slow
@pytest.mark.parametrize("target", sorted(TARGETS))
def test_every_target_optimises_in_its_direction_and_ranks_by_it(tmp_path, target):
    summary, study = run(tmp_path, target=target, budget={"mode": "trials", "trials": 12})
    assert study.direction.name.lower() == TARGETS[target].direction
    results = json.loads(Path(summary["run_dir"], "results.json").read_text())["results"]
    ranked = [r for r in results if r["rank"] is not None]
    metric = TARGETS[target].metric
    values = [
        r["metrics"][metric]
        if r["metrics"][metric] is not None
        else (float("-inf") if TARGETS[target].direction == "maximize" else float("inf"))
        for r in ranked
    ]
    assert values == sorted(values, reverse=TARGETS[target].direction == "maximize")
    assert summary["best"]["number"] == ranked[0]["number"]
    assert [r["rank"] for r in ranked] == list(range(1, len(ranked) + 1))


@pytest.mark.slow
def test_score_is_computed_per_trial_from_that_trial_alone(tmp_path):
    summary, study = run(tmp_path / "a", budget={"mode": "trials", "trials": 15})
    scorer = ScoreConfig()
    for trial in study.trials:
        assert trial.value == pytest.approx(scorer.score(trial.user_attrs[METRICS_ATTR]))
    # The same parameter set gets the same score in a different population.
    first = study.trials[0]
    _, other = run(tmp_path / "b", seed_params=[first.params], seed=99, budget={"mode": "trials", "trials": 5})
    assert other.trials[0].params == first.params and other.trials[0].value == pytest.approx(first.value)
    results = json.loads(Path(summary["run_dir"], "results.json").read_text())["results"]
    percentiles = [r["percentile_score"] for r in results]
    assert all(0 <= p <= 100 for p in percentiles) and max(percentiles) > min(percentiles)


def test_every_trial_records_all_metrics_in_one_attribute_and_its_worker(tmp_path):
    _, study = run(tmp_path, budget={"mode": "trials", "trials": 5})
    for trial in study.trials:
        assert set(trial.user_attrs) == {METRICS_ATTR, WORKER_ATTR}
        # A one-worker run's worker is a thread of this process.
        assert trial.user_attrs[WORKER_ATTR] == f"{socket.gethostname()}:{os.getpid()}"
        assert {"net_profit_pct", "sharpe", "max_drawdown_pct", "total_trades", "score"} <= set(
            trial.user_attrs[METRICS_ATTR]
        )


def test_min_profit_filter_prunes_and_keeps_the_metrics(tmp_path):
    summary, study = run(tmp_path, min_profit=300.0, budget={"mode": "trials", "trials": 20})
    pruned = [t for t in study.trials if t.state == TrialState.PRUNED]
    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert pruned and summary["trials"]["pruned"] == len(pruned)
    assert all(t.user_attrs[METRICS_ATTR]["net_profit_pct"] < 300 for t in pruned)
    assert all(t.user_attrs[METRICS_ATTR]["net_profit_pct"] >= 300 for t in complete)
    results = json.loads(Path(summary["run_dir"], "results.json").read_text())["results"]
    assert len(results) == 20
    assert all(r["rank"] is None and "filter" in r["pruned_reason"] for r in results if r["state"] == "PRUNED")


def test_invalid_sampled_combinations_are_pruned_with_a_reason(tmp_path):
    space = {"n1": {"low": 5, "high": 50, "step": 5}, "n2": {"low": 10, "high": 60, "step": 10}}
    _, study = run(tmp_path, space=space, budget={"mode": "trials", "trials": 30})
    invalid = [t for t in study.trials if t.params["n1"] >= t.params["n2"]]
    assert invalid and all(t.state == TrialState.PRUNED for t in invalid)
    assert all("invalid parameters" in t.user_attrs["pruned_reason"] for t in invalid)


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_seeds_count_within_the_trial_budget(tmp_path, workers):
    """Queued seeds are trials of this run: 12 trials with two seeds is 12 trials, not 14."""
    _, study = run(
        tmp_path,
        workers=workers,
        seed_params=[{"n1": 10, "n2": 40}, {"n1": 12, "n2": 50}],
        budget={"mode": "trials", "trials": 12},
    )
    trials = study.get_trials()
    assert 12 <= len(trials) <= 12 + workers - 1
    assert [t.params for t in trials[:2]] == [{"n1": 10, "n2": 40}, {"n1": 12, "n2": 50}]


def test_seed_params_are_tried_first(tmp_path):
    _, study = run(tmp_path, seed_params=[{"n1": 10, "n2": 40}, {"n1": 12, "n2": 50}])
    assert study.trials[0].params == {"n1": 10, "n2": 40}
    assert study.trials[1].params == {"n1": 12, "n2": 50}


# Optuna builds a stepped float as low + k * step in binary floating point: on this grid
# 21 of the 50 points come back as e.g. 0.30000000000000004 rather than 0.3.
STEPPED_STOP = {"stop_atr": {"low": 0.1, "high": 5.0, "step": 0.1}}


def decimal_text(value: float) -> str:
    """A value as the one-decimal grid point it stands for, written as a user would."""
    return f"{value:.1f}"


def test_stepped_floats_run_as_their_decimal_grid_points():
    space = SearchSpace.parse(get_strategy("rsi_reversion"), STEPPED_STOP)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    noisy = 0
    for _ in range(40):
        trial = study.ask()
        params = space.suggest(trial)
        raw = trial.params["stop_atr"]
        assert repr(params["stop_atr"]) == decimal_text(raw), "another grid point, or not its decimal"
        assert space.params(trial.params) == params, "a report must show what the trial ran with"
        noisy += repr(raw) != decimal_text(raw)
        study.tell(trial, 0.0)
    assert noisy, "Optuna gave no value with floating-point noise: the test checks nothing"


@pytest.mark.slow
def test_stepped_floats_read_as_decimals_in_results_csv_progress_seeds_and_after_resume(tmp_path):
    seeded = 0.1 + 0.2  # 0.30000000000000004, as an older run's results reported it
    run_dir = prepare_run(
        config(
            strategy="rsi_reversion",
            space=STEPPED_STOP,
            seed_params=[{"stop_atr": seeded}],
            budget={"mode": "trials", "trials": 12},
        ),
        tmp_path,
    )
    assert run_dir.read_json(run_dir.config_file)["seed_params"] == [{"stop_atr": 0.3}]
    progress = []
    execute_run(run_dir, on_progress=progress.append)
    resume_run(run_dir, Budget(mode="trials", trials=12), on_progress=progress.append)

    raw = {
        t.number: t.params["stop_atr"]
        for t in optuna.load_study(study_name="backtune", storage=f"sqlite:///{run_dir.sqlite}").trials
    }
    assert raw[0] == 0.3 and len(raw) >= 24, "the seed first, then the first run's trials and the resumed ones"
    assert any(repr(value) != decimal_text(value) for value in raw.values()), "no noisy value to clean"
    results = run_dir.read_json(run_dir.results_file)["results"]
    assert {r["number"]: repr(r["params"]["stop_atr"]) for r in results} == {
        number: decimal_text(value) for number, value in raw.items()
    }
    best = progress[-1].best_params["stop_atr"]
    assert repr(best) == decimal_text(raw[progress[-1].best_number])

    table = run_dir.results_csv.read_text().split("# Ranked trials\n", 1)[1].splitlines()
    column = table[0].split(",").index("stop_atr")
    rows = [line.split(",") for line in table[1:]]
    assert {int(row[1]): row[column] for row in rows} == {number: decimal_text(value) for number, value in raw.items()}

    run_config = RunConfig.parse(run_dir.read_json(run_dir.config_file))
    strategy, bars = get_strategy("rsi_reversion"), load_csv(GOOG).bars
    for row in results[:5]:
        result = run_backtest(bars, strategy, strategy.validate(row["params"]), run_config.window, run_config.settings)
        metrics = compute_metrics(result).as_dict()
        assert metrics == {k: v for k, v in row["metrics"].items() if k in metrics}


def test_a_seed_between_grid_points_is_refused_naming_the_nearest():
    with pytest.raises(FieldError) as refused:
        config(strategy="rsi_reversion", space=STEPPED_STOP, seed_params=[{"stop_atr": 0.35}])
    assert refused.value.field == "seed_params"
    assert "stop_atr 0.35 is not on the search grid" in str(refused.value)


@pytest.mark.slow
def test_one_worker_with_a_seed_is_reproducible_and_two_workers_agree_on_the_data(tmp_path):
    _, first = run(tmp_path / "a", sampler="tpe", warmup_trials=5, budget={"mode": "trials", "trials": 15})
    _, second = run(tmp_path / "b", sampler="tpe", warmup_trials=5, budget={"mode": "trials", "trials": 15})
    assert [t.params for t in first.trials] == [t.params for t in second.trials]
    assert [t.value for t in first.trials] == [t.value for t in second.trials]
    _, parallel = run(tmp_path / "c", workers=2, budget={"mode": "trials", "trials": 20})
    by_params = {tuple(t.params.values()): t.value for t in first.trials}
    shared = [t for t in parallel.trials if tuple(t.params.values()) in by_params]
    for trial in shared:
        assert trial.value == pytest.approx(by_params[tuple(trial.params.values())])


@pytest.mark.slow
def test_multi_objective_run_reports_a_pareto_front_under_constraints(tmp_path):
    summary, study = run(
        tmp_path,
        target=["net_profit", "max_drawdown"],
        sampler="nsga2",
        constraints=[{"metric": "total_trades", "op": ">=", "value": 30}],
        budget={"mode": "trials", "trials": 20},
    )
    assert [d.name for d in study.directions] == ["MAXIMIZE", "MINIMIZE"]
    results = json.loads(Path(summary["run_dir"], "results.json").read_text())["results"]
    front = [r for r in results if r["pareto"]]
    assert front and all(len(r["values"]) == 2 for r in front)
    for trial in study.trials:
        feasible = trial.user_attrs[METRICS_ATTR]["total_trades"] >= 30
        violation = trial.system_attrs["constraints:total_trades>=30"]
        assert (violation <= 0) == feasible


@pytest.mark.slow
def test_cancel_stops_within_two_seconds_and_keeps_results(tmp_path):
    run_dir = prepare_run(config(workers=2, budget={"mode": "time", "seconds": 120}), tmp_path)
    requested = {}

    def cancel_when_busy():
        while len(list(run_dir.workers_dir.glob("*.json"))) < 2:
            time.sleep(0.05)
        time.sleep(1.0)
        requested["at"] = time.time()
        run_dir.request_stop()

    threading.Thread(target=cancel_when_busy, daemon=True).start()
    summary = execute_run(run_dir)
    ended = time.time()
    assert summary["status"] == "cancelled" and summary["stop_reason"] == "cancelled"
    assert ended - requested["at"] < 2.0 + summary["timings"]["dump_s"] + 1.0
    study = optuna.load_study(study_name="backtune", storage=f"sqlite:///{run_dir.sqlite}")
    assert len(study.trials) == summary["trials"]["total"] > 0
    assert all(t.state != TrialState.RUNNING for t in study.trials)


@pytest.mark.slow
def test_a_worker_killed_mid_run_is_reported_and_the_others_go_on(tmp_path):
    run_dir = prepare_run(config(workers=2, budget={"mode": "time", "seconds": 6}), tmp_path)
    kill_worker_soon(run_dir, 1, after=1.5)
    summary = execute_run(run_dir)
    assert summary["status"] == "done"
    assert summary["workers"] == [{"index": 1, "exit_code": -9, "error": "killed by signal 9"}]
    assert "worker 1 failed (exit code -9)" in run_dir.log_file.read_text()
    study = optuna.load_study(study_name="backtune", storage=f"sqlite:///{run_dir.sqlite}")
    assert all(t.state != TrialState.RUNNING for t in study.trials)
    assert set(summary["orphaned_trials"]) <= {t.number for t in study.trials if t.state == TrialState.FAIL}
    worker_zero = json.loads(run_dir.worker_status(0).read_text())
    assert worker_zero["state"] == "done" and worker_zero["stop_reason"] == "time"


@pytest.mark.slow
def test_orphaned_running_trials_are_failed_before_the_dump(tmp_path):
    run_dir = prepare_run(config(budget={"mode": "trials", "trials": 3}), tmp_path)
    from backtune.optimize.storage import open_storage

    storage = open_storage(run_dir.read_json(run_dir.state_file)["storage"])
    optuna.load_study(study_name="backtune", storage=storage).ask()  # a trial some dead worker left behind
    summary = execute_run(run_dir)
    assert summary["orphaned_trials"] == [0]
    study = optuna.load_study(study_name="backtune", storage=f"sqlite:///{run_dir.sqlite}")
    assert study.trials[0].state == TrialState.FAIL
    assert sum(t.state == TrialState.COMPLETE for t in study.trials) == 3


@pytest.mark.slow
def test_when_every_worker_fails_the_run_fails_with_their_error(tmp_path):
    run_dir = prepare_run(config(workers=2), tmp_path)
    (run_dir.bars_dir / "prices.npy").write_bytes(b"not an array")
    summary = execute_run(run_dir)
    assert summary["status"] == "failed"
    assert len(summary["workers"]) == 2
    assert all("ValueError" in w["error"] or "pickle" in w["error"].lower() for w in summary["workers"])
    assert json.loads(run_dir.state_file.read_text())["status"] == "failed"


@pytest.mark.slow
def test_workers_read_the_shared_bars_not_the_csv(tmp_path):
    csv = tmp_path / "copy.csv"
    csv.write_bytes(Path(GOOG).read_bytes())
    run_dir = prepare_run(config(data=str(csv), workers=2, budget={"mode": "trials", "trials": 6}), tmp_path / "runs")
    csv.unlink()
    assert 6 <= execute_run(run_dir)["trials"]["complete"] <= 7  # the budget's overshoot: at most workers - 1


@pytest.mark.slow
@pytest.mark.parametrize("sampler", ["tpe", "tpe-optuna", "random", "cmaes", "qmc", "nsga2"])
def test_each_sampler_runs(tmp_path, sampler):
    summary, _ = run(tmp_path, sampler=sampler, warmup_trials=3, budget={"mode": "trials", "trials": 8})
    assert summary["trials"]["complete"] + summary["trials"]["pruned"] == 8


@pytest.mark.slow
@pytest.mark.parametrize("pruner", ["median", "percentile"])
def test_pruners_report_checkpoints_and_prune(tmp_path, pruner):
    _, study = run(tmp_path, pruner=pruner, warmup_trials=3, budget={"mode": "trials", "trials": 25})
    assert all(len(t.intermediate_values) >= 1 for t in study.trials)
    assert any(t.state == TrialState.PRUNED for t in study.trials)


@pytest.mark.slow
def test_resume_continues_numbering_and_rewrites_the_study(tmp_path):
    run_dir = prepare_run(config(budget={"mode": "trials", "trials": 12}), tmp_path)
    execute_run(run_dir)
    first = optuna.load_study(study_name="backtune", storage=f"sqlite:///{run_dir.sqlite}")
    first_params = [t.params for t in first.trials]
    summary = resume_run(run_dir, Budget(mode="trials", trials=8))
    study = optuna.load_study(study_name="backtune", storage=f"sqlite:///{run_dir.sqlite}")
    assert [t.number for t in study.trials] == list(range(20))
    assert [t.params for t in study.trials[:12]] == first_params
    assert summary["trials"]["total"] == 20


@pytest.mark.slow
def test_a_cancel_before_the_workers_start_is_not_lost_and_resume_withdraws_it(tmp_path):
    run_dir = prepare_run(config(workers=2, budget={"mode": "trials", "trials": 10}), tmp_path)
    run_dir.request_stop()
    cancelled = execute_run(run_dir)
    assert cancelled["status"] == "cancelled" and cancelled["trials"]["total"] == 0
    run_dir.withdraw_stop()
    resumed = resume_run(run_dir, Budget(mode="trials", trials=5))
    assert resumed["status"] == "done"
    assert 5 <= resumed["trials"]["total"] - cancelled["trials"]["total"] <= 6  # overshoot: at most workers - 1


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"strategy": "nope"}, None),
        ({"target": "alpha"}, "target"),
        ({"target": ["net_profit", "net_profit"]}, "target"),
        ({"sampler": "annealing"}, "sampler"),
        ({"pruner": "hyperband"}, "pruner"),
        ({"budget": {"mode": "forever"}}, "budget.mode"),
        ({"budget": {"mode": "trials", "trials": 0}}, "budget.trials"),
        ({"budget": {"mode": "time"}}, "budget.seconds"),
        ({"budget": {"mode": "convergence"}}, "budget.patience"),
        ({"workers": 2.5}, "workers"),
        ({"space": {"n1": {"low": 30, "high": 5}}}, "n1"),
        ({"space": {"n1": {"low": 5, "high": 30, "step": 0}}}, "n1"),
        ({"space": {"n9": 3}}, "n9"),
        ({"score": {"buy_and_hold_pct": 1}}, "score_config"),
        ({"constraints": [{"metric": "total_trades", "op": ">", "value": 3}]}, "constraints"),
        ({"target": ["net_profit", "sharpe"], "pruner": "median"}, "pruner"),
        ({"study_name": "../etc"}, "study_name"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_bad_run_settings_name_the_field(overrides, field):
    with pytest.raises((FieldError, KeyError)) as info:
        config(**overrides)
    if field is not None:
        assert info.value.field == field


@pytest.mark.parametrize("workers", [0, 33, 99])
def test_workers_outside_the_supported_range_are_refused(workers):
    """One rule for the CLI, run.json and the web: refused, never quietly changed."""
    with pytest.raises(FieldError) as refused:
        config(workers=workers)
    assert refused.value.field == "workers" and "1 to 32" in refused.value.reason
    assert config(workers=32).workers == 32


@pytest.mark.slow
def test_live_dump_lets_a_reader_follow_the_running_study(tmp_path):
    run_dir = prepare_run(config(workers=2, budget={"mode": "time", "seconds": 5}), tmp_path)
    seen = []

    def follow(progress):
        if run_dir.live_sqlite.exists():
            study = optuna.load_study(study_name="backtune", storage=f"sqlite:///{run_dir.live_sqlite}")
            seen.append(len(study.trials))

    summary = execute_run(run_dir, on_progress=follow, live_dump_every=0.5)
    assert any(0 < n < summary["trials"]["total"] for n in seen), seen
    assert seen == sorted(seen)
    assert not run_dir.live_sqlite.exists()


@pytest.mark.slow
def test_salvage_falls_back_to_the_live_copy_when_the_journal_is_gone(tmp_path):
    from backtune.optimize.dump import IncrementalDumper
    from backtune.optimize.optuna_compat import storage_of
    from backtune.optimize.run import salvage_run
    from backtune.optimize.storage import open_storage

    run_dir = prepare_run(config(budget={"mode": "trials", "trials": 6}), tmp_path)
    journal = Path(run_dir.read_json(run_dir.state_file)["storage"])
    study = optuna.load_study(study_name="backtune", storage=open_storage(str(journal)))
    study.optimize(lambda t: t.suggest_int("n1", 5, 30) * 1.0, n_trials=4)
    study.ask()  # left running when the machine went away
    with IncrementalDumper(storage_of(study), "backtune", run_dir.live_sqlite) as live:
        live.sync()
    journal.unlink()  # tmpfs emptied by a restart
    summary = salvage_run(run_dir, "interrupted")
    assert summary["trials"]["total"] == 5 and summary["orphaned_trials"] == [4]
    salvaged = optuna.load_study(study_name="backtune", storage=f"sqlite:///{run_dir.sqlite}")
    assert [t.state for t in salvaged.trials][-1] == TrialState.FAIL
    assert not run_dir.live_sqlite.exists()


_WORKER_IMPORTS = """
import sys
import {main}
import backtune.optimize.worker
print(" ".join(m for m in ("pandas", "sqlalchemy", "flask", "backtune.optimize.run") if m in sys.modules))
"""


@pytest.mark.slow
@pytest.mark.parametrize("main", ["app.__main__", "backtune.jobs.__main__"])
def test_a_spawned_worker_imports_only_what_a_worker_needs(main):
    """A spawned child imports its parent's main module again (as ``__mp_main__``), then the
    module of its target: neither may drag in pandas, SQLAlchemy, Flask or the coordinator,
    which would add about a second to every worker's start-up (docs/performance.md)."""
    done = subprocess.run(
        [sys.executable, "-c", _WORKER_IMPORTS.format(main=main)], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == []
