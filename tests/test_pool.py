"""Warm worker pools: real spawned processes serving real runs on a real journal."""

from __future__ import annotations

import json
import os
import threading
import time

import optuna
import pytest
from optuna.trial import TrialState

from backtune.optimize.pool import WorkerPool, warm_pool
from backtune.optimize.run import execute_run, prepare_run
from tests.helpers import config, kill_worker_soon

pytestmark = pytest.mark.slow  # warm worker processes, real runs


def worker_pids(run_dir) -> list[int]:
    return [json.loads(run_dir.worker_status(i).read_text())["pid"] for i in range(2)]


@pytest.fixture(scope="module")
def pool():
    with WorkerPool(2) as pool:
        yield pool


def test_a_pool_warms_up_then_serves_run_after_run_with_the_same_processes(pool, tmp_path):
    assert pool.wait_warm(timeout=120)
    pids = pool.pids
    for name in ("first", "second"):
        run_dir = prepare_run(config(workers=2, budget={"mode": "trials", "trials": 30}), tmp_path / name)
        summary = execute_run(run_dir, pool=pool)
        assert summary["status"] == "done" and summary["workers"] is None
        assert 30 <= summary["trials"]["complete"] + summary["trials"]["pruned"] <= 31
        assert set(worker_pids(run_dir)) == pids
    assert pool.pids == pids


def test_a_pooled_worker_killed_mid_run_is_reported_and_replaced(pool, tmp_path):
    run_dir = prepare_run(config(workers=2, budget={"mode": "time", "seconds": 6}), tmp_path / "killed")
    killed = kill_worker_soon(run_dir, 1, after=1.0)
    summary = execute_run(run_dir, pool=pool)
    assert summary["status"] == "done"
    assert summary["workers"] == [{"index": 1, "exit_code": -9, "error": "killed by signal 9"}]
    study = optuna.load_study(study_name="backtune", storage=f"sqlite:///{run_dir.sqlite}")
    assert all(t.state != TrialState.RUNNING for t in study.trials)

    again = prepare_run(config(workers=2, budget={"mode": "trials", "trials": 10}), tmp_path / "after")
    assert execute_run(again, pool=pool)["workers"] is None
    assert killed["pid"] not in worker_pids(again) and killed["pid"] not in pool.pids


def test_a_cancelled_pooled_run_stops_within_two_seconds(pool, tmp_path):
    run_dir = prepare_run(config(workers=2, budget={"mode": "time", "seconds": 60}), tmp_path)
    asked = {}

    def cancel():
        while not run_dir.worker_status(1).exists():
            time.sleep(0.05)
        time.sleep(0.5)
        asked["at"] = time.perf_counter()
        run_dir.request_stop()

    threading.Thread(target=cancel, daemon=True).start()
    summary = execute_run(run_dir, pool=pool)
    assert summary["status"] == "cancelled"
    assert time.perf_counter() - asked["at"] < 2.0 + summary["timings"]["dump_s"] + 1.0


def test_a_plan_that_fails_is_reported_and_its_process_serves_the_next(pool, tmp_path):
    broken = prepare_run(config(workers=2), tmp_path / "broken")
    (broken.bars_dir / "prices.npy").write_bytes(b"not an array")
    summary = execute_run(broken, pool=pool)
    assert summary["status"] == "failed"
    assert [w["exit_code"] for w in summary["workers"]] == [1, 1]
    pids = pool.pids
    fine = prepare_run(config(workers=2, budget={"mode": "trials", "trials": 6}), tmp_path / "fine")
    assert execute_run(fine, pool=pool)["status"] == "done"
    assert set(worker_pids(fine)) == pids


def test_closing_a_pool_ends_its_processes():
    with WorkerPool(2) as pool:
        assert pool.wait_warm(timeout=120)
        pids = pool.pids
    for pid in pids:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            pytest.fail(f"pooled process {pid} still alive after close")


def test_one_worker_needs_no_pool():
    with warm_pool(1) as pool:
        assert pool is None
