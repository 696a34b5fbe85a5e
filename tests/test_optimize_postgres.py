"""The engine on a PostgreSQL storage URL: the path remote workers will join through."""

from __future__ import annotations

import threading
import time
import uuid

import optuna
import pytest
from optuna.trial import TrialState

from backtune.optimize.run import execute_run, prepare_run
from tests.helpers import config, require_postgres
from tests.tcp_proxy import TcpProxy

pytestmark = pytest.mark.postgres


@pytest.fixture()
def postgres_url() -> str:
    return require_postgres()


def test_two_workers_share_a_postgres_study_and_the_run_dumps_it(tmp_path, postgres_url):
    name = f"backtune-test-{uuid.uuid4().hex[:8]}"
    run_dir = prepare_run(
        config(workers=2, storage=postgres_url, study_name=name, budget={"mode": "trials", "trials": 10}), tmp_path
    )
    try:
        summary = execute_run(run_dir)
        # Exact: the database refuses a trial numbered past the budget.
        assert summary["status"] == "done" and summary["trials"]["total"] == 10
        shared = optuna.load_study(study_name=name, storage=postgres_url)
        dumped = optuna.load_study(study_name=name, storage=f"sqlite:///{run_dir.sqlite}")
        assert [t.params for t in dumped.trials] == [t.params for t in shared.trials]
        assert [t.value for t in dumped.trials] == [t.value for t in shared.trials]
    finally:
        optuna.delete_study(study_name=name, storage=postgres_url)


def test_a_database_outage_mid_run_costs_progress_reports_not_the_run(tmp_path, postgres_url, monkeypatch):
    """Coordinator and workers reach the database through a connection the test cuts for
    two seconds (a restart, a network blip): the workers wait for it, the coordinator skips
    its polls, and the run ends done with its exact budget."""
    name = f"backtune-test-{uuid.uuid4().hex[:8]}"
    # A short grace period: trials the cut orphaned are failed in seconds, not twenty.
    monkeypatch.setenv("BACKTUNE_HEARTBEAT_INTERVAL", "1")
    monkeypatch.setenv("BACKTUNE_GRACE_PERIOD", "2")
    with TcpProxy("127.0.0.1", 5432) as proxy:
        through = postgres_url.replace(":5432", f":{proxy.port}")
        run_dir = prepare_run(
            config(workers=2, storage=through, study_name=name, budget={"mode": "trials", "trials": 500}), tmp_path
        )
        direct = optuna.load_study(study_name=name, storage=postgres_url)
        finished: dict = {}
        reports = []
        coordinator = threading.Thread(
            target=lambda: finished.update(execute_run(run_dir, on_progress=reports.append)), daemon=True
        )
        try:
            coordinator.start()
            deadline = time.monotonic() + 120
            while len(direct.get_trials(deepcopy=False)) < 100:
                assert time.monotonic() < deadline and coordinator.is_alive()
                time.sleep(0.1)
            proxy.cut()
            time.sleep(2)
            cut_at = len(direct.get_trials(deepcopy=False))
            proxy.restore()
            coordinator.join(180)
            assert finished["status"] == "done", finished
            counts = finished["trials"]
            # The budget counts every trial run, the ones the cut failed included (at most one
            # per worker, each given a retry, run if budget is left); none is RUNNING at the end.
            assert cut_at < 500 == counts["total"] - counts["waiting"]
            assert counts["fail"] <= 2 and counts["running"] == 0 and counts["waiting"] <= counts["fail"]
            log = run_dir.log_file.read_text()
            assert "database unreachable" in log and "database answers again" in log
            assert "database connection lost" in log and "database connection restored" in log
            trials = direct.get_trials(deepcopy=False)
            assert [t.number for t in trials] == list(range(counts["total"]))
            assert TrialState.RUNNING not in {t.state for t in trials}
        finally:
            coordinator.join(5)
            optuna.delete_study(study_name=name, storage=postgres_url)
