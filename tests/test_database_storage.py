"""BatchedDatabaseStorage against Optuna's own storages: the same study, written in fewer
round trips, reads back identically through a plain RDBStorage; the budget is exact across
workers; a worker that stops beating has its trial failed and retried once; a worker
that loses its connection (through tests/tcp_proxy.py) sends a cut result again once the
database answers, written only if its trial is still RUNNING, and goes on beating.

The psycopg pipeline writer runs on PostgreSQL (skipped with a reason where absent); the
SQLAlchemy Core writer, which every other database gets, runs on a SQLite file.
"""

from __future__ import annotations

import threading
import time
import uuid

import optuna
import pytest
from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import TrialState

from backtune.optimize.database import BatchedDatabaseStorage, connection_lost, database_storage
from backtune.optimize.optuna_compat import optimize_once
from backtune.optimize.stopping import TrialLimitReached
from tests.helpers import require_postgres
from tests.tcp_proxy import TcpProxy

optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.fixture(params=["postgresql+psycopg", "sqlite"])
def url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'study.db'}"
    return require_postgres().replace("postgresql://", "postgresql+psycopg://")


def objective(trial: optuna.Trial) -> float:
    """Every kind of write a Backtune trial makes: parameters of each distribution, a user
    and a system attribute, intermediate values with pruning, failures and infinities."""
    x = trial.suggest_float("x", -5, 5)
    n = trial.suggest_int("n", 1, 19, step=3)
    kind = trial.suggest_categorical("kind", ["a", "b", None])
    trial.set_user_attr("metrics", {"x": x, "n": n, "nested": [1, 2.5, "s"]})
    trial.storage.set_trial_system_attr(trial._trial_id, "origin", f"n{n}")
    for step in range(3):
        trial.report(x * (step + 1) if step < 2 else float("nan"), step)
    if n == 4:
        raise optuna.TrialPruned()
    if n == 7:
        raise RuntimeError("a failing backtest")
    return float("inf") if kind is None and x > 4 else x * n


def run_study(storage: optuna.storages.BaseStorage, name: str, trials: int) -> None:
    study = optuna.create_study(study_name=name, storage=storage, sampler=optuna.samplers.RandomSampler(seed=3))
    study.enqueue_trial({"x": 1.0, "n": 10, "kind": "b"})
    for _ in range(trials):
        study.optimize(objective, n_trials=1, catch=(RuntimeError,))


def comparable(trial: optuna.trial.FrozenTrial) -> tuple:
    return (
        trial.number,
        trial.state,
        trial.params,
        trial.distributions,
        trial.values,
        trial.user_attrs,
        trial.system_attrs,
        {k: (v if v == v else "nan") for k, v in trial.intermediate_values.items()},
    )


def test_a_study_reads_back_through_rdbstorage_as_optuna_wrote_it(url):
    name = f"batched-{uuid.uuid4().hex[:8]}"
    memory = optuna.storages.InMemoryStorage()
    run_study(memory, name, 40)
    batched = BatchedDatabaseStorage(database_storage(url))
    try:
        run_study(batched, name, 40)
        reread = optuna.load_study(study_name=name, storage=optuna.storages.RDBStorage(url)).trials
        expected = optuna.load_study(study_name=name, storage=memory).trials
        assert [comparable(t) for t in reread] == [comparable(t) for t in expected]
        assert {t.state for t in reread} == {TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL}
    finally:
        batched.close()
        optuna.delete_study(study_name=name, storage=url)


def test_the_trial_budget_is_exact_across_concurrent_workers(url):
    name = f"budget-{uuid.uuid4().hex[:8]}"
    optuna.create_study(study_name=name, storage=url)
    counts: list[int] = []

    def worker(seed: int) -> None:
        storage = BatchedDatabaseStorage(database_storage(url))
        storage.trial_limit = 60
        study = optuna.load_study(study_name=name, storage=storage, sampler=optuna.samplers.RandomSampler(seed))
        done = 0
        try:
            while True:
                study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
                done += 1
        except TrialLimitReached:
            counts.append(done)
        finally:
            storage.close()

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    try:
        trials = optuna.load_study(study_name=name, storage=url).trials
        assert len(counts) == 3 and sum(counts) == 60
        assert sorted(t.number for t in trials) == list(range(60))
        assert all(t.state == TrialState.COMPLETE for t in trials)
    finally:
        optuna.delete_study(study_name=name, storage=url)


def test_a_trial_whose_worker_stops_beating_is_failed_then_retried_once(url):
    name = f"stale-{uuid.uuid4().hex[:8]}"
    optuna.create_study(study_name=name, storage=url)
    dead = BatchedDatabaseStorage(database_storage(url, heartbeat_interval=1, grace_period=2))
    lost = optuna.load_study(study_name=name, storage=dead)
    trial = lost.ask()
    trial.suggest_float("x", 0, 1)
    dead.flush()
    dead._closed.set()  # its heartbeat thread stops, as when the host dies or loses the network
    alive = BatchedDatabaseStorage(database_storage(url, heartbeat_interval=1, grace_period=2))
    try:
        study = optuna.load_study(study_name=name, storage=alive)
        time.sleep(3.5)
        study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
        trials = optuna.load_study(study_name=name, storage=url).trials
        assert [t.state for t in trials] == [TrialState.FAIL, TrialState.COMPLETE]
        assert trials[1].system_attrs["failed_trial"] == 0 and trials[1].params == trials[0].params
        # The lost worker comes back: its result is refused, the study keeps the FAIL.
        with pytest.raises(UpdateFinishedTrialError):
            lost.tell(trial, 0.5)
        assert optuna.load_study(study_name=name, storage=url).trials[0].state == TrialState.FAIL
    finally:
        alive.close()
        dead.close()
        optuna.delete_study(study_name=name, storage=url)


def test_a_refused_end_comes_out_of_one_trial_as_itself(url):
    """Optuna's ``optimize`` masks a refused final write with AssertionError("Should not
    reach."); ``optimize_once`` gives a worker the real error, which it survives."""
    name = f"refused-{uuid.uuid4().hex[:8]}"
    optuna.create_study(study_name=name, storage=url)
    storage = BatchedDatabaseStorage(database_storage(url))
    study = optuna.load_study(study_name=name, storage=storage)

    def failed_meanwhile(trial: optuna.Trial) -> float:
        optuna.load_study(study_name=name, storage=url).tell(trial.number, state=TrialState.FAIL)
        return trial.suggest_float("x", 0, 1)

    try:
        with pytest.raises(AssertionError, match="Should not reach"):
            study.optimize(failed_meanwhile, n_trials=1)
        with pytest.raises(UpdateFinishedTrialError):
            optimize_once(study, failed_meanwhile)
        study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
        trials = optuna.load_study(study_name=name, storage=url).trials
        assert [t.state for t in trials] == [TrialState.FAIL, TrialState.FAIL, TrialState.COMPLETE]
        assert trials[0].params == trials[1].params == {}  # the refused ends wrote nothing
    finally:
        storage.close()
        optuna.delete_study(study_name=name, storage=url)


@pytest.mark.postgres
@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
@pytest.mark.parametrize("failed_meanwhile", [False, True], ids=["short-cut", "failed-meanwhile"])
def test_a_result_cut_by_a_lost_connection_is_sent_again_once_the_database_answers(failed_meanwhile):
    url = require_postgres().replace("postgresql://", "postgresql+psycopg://")
    name = f"cut-{uuid.uuid4().hex[:8]}"
    optuna.create_study(study_name=name, storage=url)
    direct = optuna.load_study(study_name=name, storage=database_storage(url, heartbeat_interval=1, grace_period=2))
    with TcpProxy("127.0.0.1", 5432) as proxy:
        storage = BatchedDatabaseStorage(
            database_storage(url.replace(":5432", f":{proxy.port}"), heartbeat_interval=1, grace_period=2)
        )
        study = optuna.load_study(study_name=name, storage=storage)

        def cut_inside(trial: optuna.Trial) -> float:
            x = trial.suggest_float("x", 0, 1)
            trial.set_user_attr("worker", "me")
            proxy.cut()
            time.sleep(1.5)  # the heartbeat thread meets the cut too, and must survive it
            return x

        try:
            with pytest.raises(Exception) as lost:
                optimize_once(study, cut_inside)
            assert connection_lost(lost.value) is not None, lost.value
            with pytest.raises(Exception) as unreachable:
                storage.recover()
            assert connection_lost(unreachable.value) is not None, unreachable.value
            if failed_meanwhile:
                direct.tell(0, state=TrialState.FAIL)
            proxy.restore()
            assert storage.recover() == (0, not failed_meanwhile)
            [cut] = direct.get_trials()
            if failed_meanwhile:
                assert cut.state == TrialState.FAIL and cut.params == {} and cut.user_attrs == {}
            else:
                assert cut.state == TrialState.COMPLETE and cut.value == cut.params["x"]
                assert cut.user_attrs == {"worker": "me"}
            # The worker goes on: a new trial is kept alive by its heartbeats past the grace period.
            held = study.ask()
            time.sleep(3.2)
            optuna.storages.fail_stale_trials(direct)
            assert direct.get_trials()[held.number].state == TrialState.RUNNING
            study.tell(held, 0.5)
            assert [t.state for t in direct.get_trials()] == [cut.state, TrialState.COMPLETE]
        finally:
            storage.close()
            optuna.delete_study(study_name=name, storage=url)
