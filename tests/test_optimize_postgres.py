"""The engine on a PostgreSQL storage URL: the path remote workers will join through."""

from __future__ import annotations

import uuid

import optuna
import pytest

from backtune.optimize.run import execute_run, prepare_run
from tests.helpers import config, require_postgres

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
