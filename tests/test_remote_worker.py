"""Remote workers: a web job's study on PostgreSQL, joined by ``python -m app worker`` run
as on another machine (own host name, working directory and BACKTUNE_HOME, the server's
folders hidden by a mount namespace), against gunicorn as deployed.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.trial import TrialState

from backtune.optimize.presence import WORKER_ATTR
from tests.conftest import LINK_15M, SUI_30M
from tests.helpers import REMOTE_HOST, ROOT, require_namespaces, require_postgres, start_isolated, worker_command
from tests.live_server import LiveServer

TOKEN = "remote-s3cret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
HEARTBEAT_S, GRACE_S = 1, 3


@pytest.fixture(scope="module")
def postgres() -> str:
    return require_postgres()


@pytest.fixture(scope="module")
def server(tmp_path_factory, postgres):
    require_namespaces()
    home = tmp_path_factory.mktemp("remote-server") / "home"
    env = {
        "BACKTUNE_DATABASE_URL": postgres.replace("postgresql://", "postgresql+psycopg://"),
        "BACKTUNE_API_TOKEN": TOKEN,
        "BACKTUNE_MAX_JOBS": "2",
        "BACKTUNE_MAX_WORKERS": "1",
        "BACKTUNE_HEARTBEAT_INTERVAL": str(HEARTBEAT_S),
        "BACKTUNE_GRACE_PERIOD": str(GRACE_S),
        "BACKTUNE_JOURNAL_DIR": str(home / "journals"),
    }
    with LiveServer(home, **env) as live:
        yield live


@pytest.fixture()
def remote(tmp_path, server):
    """Starts remote workers; each is SIGKILLed with its process group at the end."""
    started: list[subprocess.Popen[bytes]] = []

    def start(*args: str, token: str = TOKEN) -> tuple[subprocess.Popen[bytes], Path]:
        log = tmp_path / f"remote-{len(started)}.log"
        env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT), "BACKTUNE_HOME": str(tmp_path / "remote-home")}
        process = start_isolated(
            worker_command(f"http://127.0.0.1:{server.port}", "--token", token, *args),
            hidden=[server.home],
            work_dir=tmp_path / "remote-cwd",
            env=env,
            log=log,
        )
        started.append(process)
        return process, log

    yield start
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def api(server: LiveServer, method: str, path: str, body: Any = None) -> Any:
    headers = dict(AUTH)
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    response = server.request(method, path, data, headers)
    assert response.status < 400, (response.status, response.body)
    return response.json()


def upload(server: LiveServer, path: Path) -> str:
    boundary = "b0undary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n\r\n'.encode()
        + path.read_bytes()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    response = server.request(
        "POST", "/api/datasets", body, {**AUTH, "Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    assert response.status in (200, 201), response.body
    return response.json()["id"]


def submit(server: LiveServer, dataset: str, **options: Any) -> str:
    body = {"strategy": "sma_cross", "dataset": dataset, "worker_processes": 1, "optuna_sampler": "random", **options}
    return api(server, "POST", "/api/optimize", body)["job_id"]


def wait_for(server: LiveServer, job_id: str, statuses: tuple[str, ...], timeout: float = 180.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = api(server, "GET", f"/api/jobs/{job_id}")
        if job["status"] in statuses:
            return job
        assert time.monotonic() < deadline, f"job {job_id} still {job['status']}:\n{server.log_tail()}"
        time.sleep(0.2)


def study_of(server: LiveServer, job_id: str) -> optuna.Study:
    plan = api(server, "GET", f"/api/jobs/{job_id}/plan")
    return optuna.load_study(study_name=plan["study_name"], storage=plan["storage"])


def test_a_remote_worker_and_the_servers_share_the_global_trial_budget(server, remote):
    budget = 1500
    job_id = submit(server, upload(server, LINK_15M), optuna_n_trials=budget)
    worker, log = remote("--job", job_id)
    job = wait_for(server, job_id, ("done", "failed", "cancelled"))
    assert job["status"] == "done", server.log_tail()
    # The worker leaves by itself once the job has ended.
    assert worker.wait(60) == 0, log.read_text()

    dumped = optuna.load_study(
        study_name=job["config"]["study_name"], storage=f"sqlite:///{server.home / 'runs' / job_id / 'study.db'}"
    )
    trials = dumped.get_trials(deepcopy=False)
    # The global budget, exact: the database refuses a trial numbered past it.
    assert len(trials) == budget
    assert all(t.state.is_finished() for t in trials)
    hosts = {t.user_attrs[WORKER_ATTR].split(":")[0] for t in trials}
    assert hosts == {socket.gethostname(), REMOTE_HOST}
    by_host = {h: sum(t.user_attrs[WORKER_ATTR].startswith(h + ":") for t in trials) for h in hosts}

    workers = api(server, "GET", f"/api/jobs/{job_id}/workers")["workers"]
    assert {(w["kind"], w["host"]) for w in workers} == {("local", socket.gethostname()), ("remote", REMOTE_HOST)}
    for w in workers:
        assert w["state"] == "stopped" and w["trials"] == by_host[w["host"]] and w["last_heartbeat"] > 0
    # The remote host kept its own copy of the data, checked against the plan's digest.
    plan = api(server, "GET", f"/api/jobs/{job_id}/plan")
    assert plan["accepting"] is False
    cached = list((worker_home(log) / "remote" / "datasets").glob("*.csv"))
    assert [p.stem for p in cached] == [plan["dataset"]["sha256"]]


def worker_home(log: Path) -> Path:
    return log.parent / "remote-home"


def test_a_killed_remote_worker_leaves_no_running_trial_after_the_grace_period(server, remote):
    job_id = submit(server, upload(server, LINK_15M), optuna_budget_mode="time", optuna_time_limit=300)
    wait_for(server, job_id, ("running",))
    worker, log = remote("--job", job_id)
    study = study_of(server, job_id)
    deadline = time.monotonic() + 120
    while not any(
        w["kind"] == "remote" and w["trials"] for w in api(server, "GET", f"/api/jobs/{job_id}/workers")["workers"]
    ):
        assert time.monotonic() < deadline and worker.poll() is None, log.read_text()
        time.sleep(0.2)

    orphan = _freeze_mid_trial(worker, study)
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()
    # Failed by a live worker (or the coordinator) once the grace period is over, then retried once.
    deadline = time.monotonic() + GRACE_S + 4 * HEARTBEAT_S + 30
    while _trial(study, orphan).state == TrialState.RUNNING:
        assert time.monotonic() < deadline, f"trial {orphan} still RUNNING"
        time.sleep(0.2)
    assert _trial(study, orphan).state == TrialState.FAIL
    # The retry is taken and run by the worker still alive. (With random sampling the
    # parameters go out with a trial's end, so the killed one had none in the database and
    # its retry draws fresh ones; tests/test_database_storage.py retries published ones.)
    deadline = time.monotonic() + 30
    while not [t for t in _retries(study, orphan) if t.state == TrialState.COMPLETE]:
        assert time.monotonic() < deadline, [t.state for t in _retries(study, orphan)]
        time.sleep(0.2)
    retried = _retries(study, orphan)
    assert len(retried) == 1 and set(retried[0].params) == {"n1", "n2"}

    api(server, "DELETE", f"/api/jobs/{job_id}")
    job = wait_for(server, job_id, ("cancelled",))
    assert job["summary"]["trials"]["running"] == 0
    assert not study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))


def _freeze_mid_trial(worker: subprocess.Popen[bytes], study: optuna.Study) -> int:
    """Stop the remote worker's processes while one of its trials is RUNNING; that trial's
    number. The local worker's trials take milliseconds, so a trial still RUNNING a second
    after the stop is the frozen worker's."""
    for _ in range(50):
        os.killpg(worker.pid, signal.SIGSTOP)
        before = {t.number for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))}
        time.sleep(1.0)
        still = before & {t.number for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))}
        if still:
            return still.pop()
        os.killpg(worker.pid, signal.SIGCONT)
        time.sleep(0.05)
    raise AssertionError("never caught the remote worker inside a trial")


def _retries(study: optuna.Study, number: int) -> list[optuna.trial.FrozenTrial]:
    return [t for t in study.get_trials(deepcopy=False) if t.system_attrs.get("failed_trial") == number]


def _trial(study: optuna.Study, number: int) -> optuna.trial.FrozenTrial:
    return next(t for t in study.get_trials(deepcopy=False) if t.number == number)


def test_a_wrong_token_is_refused(server, remote, tmp_path):
    job_id = submit(server, upload(server, LINK_15M), optuna_n_trials=20)
    worker, log = remote("--job", job_id, token="wrong")
    assert worker.wait(60) == 2
    assert "HTTP 401" in log.read_text()
    wait_for(server, job_id, ("done",))


def test_a_tampered_dataset_is_refused(server, remote):
    dataset = upload(server, SUI_30M)
    job_id = submit(server, dataset, optuna_budget_mode="time", optuna_time_limit=300)
    wait_for(server, job_id, ("running",))
    stored = api(server, "GET", f"/api/datasets/{dataset}")
    path = server.home / "data" / "datasets" / f"{stored['sha256']}.csv"
    data = bytearray(path.read_bytes())
    data[-3] = ord("7") if data[-3] != ord("7") else ord("8")  # one digit of the last close
    path.write_bytes(bytes(data))
    worker, log = remote("--job", job_id)
    assert worker.wait(60) == 2
    text = log.read_text()
    assert "sha256" in text and "refused" in text and not list((worker_home(log) / "remote").rglob("*.npy"))
    api(server, "DELETE", f"/api/jobs/{job_id}")
    wait_for(server, job_id, ("cancelled",))


def test_only_jobs_on_a_database_can_be_joined_and_the_plan_needs_the_token(server, tmp_path):
    response = server.get("/api/jobs/nope/plan")
    assert response.status == 401
    response = server.request("GET", "/api/jobs/nope/plan", headers=AUTH)
    assert response.status == 404 and response.json()["error"]["field"] == "job_id"


def test_a_worker_with_any_serves_the_next_job_and_waits_for_more(server, remote):
    worker, log = remote("--any")
    time.sleep(3)  # started before there is a job to serve
    job_id = submit(server, upload(server, LINK_15M), optuna_n_trials=1200)
    job = wait_for(server, job_id, ("done",))
    hosts = {w["host"] for w in api(server, "GET", f"/api/jobs/{job_id}/workers")["workers"] if w["trials"]}
    assert REMOTE_HOST in hosts, log.read_text()
    deadline = time.monotonic() + 30
    while f"left job {job_id}" not in log.read_text():
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)
    assert worker.poll() is None  # still there, waiting for the next job
    assert job["summary"]["trials"]["total"] == 1200
