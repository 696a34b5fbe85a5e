"""Remote workers: a web job's study on PostgreSQL, joined by ``python -m app worker`` run
as on another machine (own host name, working directory and BACKTUNE_HOME, the server's
folders hidden by a mount namespace), against gunicorn as deployed. A remote worker that
loses its database reaches it through tests/tcp_proxy.py (``--database-url``), which the
test cuts while the server and its own worker keep theirs.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.trial import TrialState

from backtune.optimize.optuna_compat import storage_of, study_id_of
from backtune.optimize.presence import WORKER_ATTR, workers_of
from backtune.optimize.results import state_counts
from tests.conftest import LINK_15M, SUI_30M
from tests.helpers import REMOTE_HOST, ROOT, require_namespaces, require_postgres, start_isolated, worker_command
from tests.live_server import LiveServer
from tests.tcp_proxy import TcpProxy

pytestmark = pytest.mark.postgres

TOKEN = "remote-s3cret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
HEARTBEAT_S, GRACE_S = 1, 3
RAN = (TrialState.COMPLETE, TrialState.PRUNED)  # a trial run to its end (a retry draws fresh parameters)
STALE_S = GRACE_S + 4 * HEARTBEAT_S + 30  # longest a dead worker's trial may take to be failed, on a busy machine


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


@pytest.fixture()
def proxy():
    """PostgreSQL through a connection the test can cut (``through``)."""
    with TcpProxy("127.0.0.1", 5432) as cuttable:
        yield cuttable


def through(proxy: TcpProxy, postgres: str) -> str:
    return postgres.replace("postgresql://", "postgresql+psycopg://").replace(":5432", f":{proxy.port}")


def until(condition: Callable[[], Any], timeout: float, why: Callable[[], Any], every: float = 0.2) -> Any:
    """``condition()`` once it is true; fails with ``why()`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, why()
        time.sleep(every)
    return result


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
    _until_remote_trials(server, job_id, worker, log)

    orphan = _freeze_mid_trial(worker, study)
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()
    # Failed by a live worker (or the coordinator) once the grace period is over, then retried once.
    until(lambda: _trial(study, orphan).state != TrialState.RUNNING, STALE_S, lambda: f"trial {orphan} still RUNNING")
    assert _trial(study, orphan).state == TrialState.FAIL
    # The retry is taken and run by the worker still alive. (With random sampling the
    # parameters go out with a trial's end, so the killed one had none in the database and
    # its retry draws fresh ones, which may be pruned; tests/test_database_storage.py
    # retries published ones.)
    until(
        lambda: [t for t in _retries(study, orphan) if t.state in RAN],
        30,
        lambda: [t.state for t in _retries(study, orphan)],
    )
    retried = _retries(study, orphan)
    assert len(retried) == 1 and set(retried[0].params) == {"n1", "n2"}

    api(server, "DELETE", f"/api/jobs/{job_id}")
    job = wait_for(server, job_id, ("cancelled",))
    assert job["summary"]["trials"]["running"] == 0
    assert not study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))


def _until_remote_trials(server: LiveServer, job_id: str, worker: subprocess.Popen[bytes], log: Path) -> None:
    """Until the remote worker has recorded trials; fails at once if it has exited."""

    def working() -> bool:
        assert worker.poll() is None, f"worker exited {worker.poll()}:\n{log.read_text()}"
        workers = api(server, "GET", f"/api/jobs/{job_id}/workers")["workers"]
        return any(w["kind"] == "remote" and w["trials"] for w in workers)

    until(working, 120, log.read_text)


def _freeze_mid_trial(worker: subprocess.Popen[bytes], study: optuna.Study) -> int:
    """Stop the remote worker's processes while one of its trials is RUNNING; that trial's
    number. The local worker's trials take milliseconds, so a trial still RUNNING a second
    after the stop is the frozen worker's."""
    for _ in range(30):
        os.killpg(worker.pid, signal.SIGSTOP)
        before = {t.number for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))}
        time.sleep(1.0)
        still = before & {t.number for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))}
        if still:
            return still.pop()
        os.killpg(worker.pid, signal.SIGCONT)
        # Long enough for the worker to get through what a second's stop made due (its
        # record, its heartbeat, a read of the study) and back into trials.
        time.sleep(1.0)
    raise AssertionError("never caught the remote worker inside a trial")


def _retries(study: optuna.Study, number: int) -> list[optuna.trial.FrozenTrial]:
    return [t for t in study.get_trials(deepcopy=False) if t.system_attrs.get("failed_trial") == number]


def _trial(study: optuna.Study, number: int) -> optuna.trial.FrozenTrial:
    """Trial ``number`` alone: reading every trial of a growing study at each poll would
    slow the job under test."""
    storage = storage_of(study)
    return storage.get_trial(storage.get_trial_id_from_study_id_trial_number(study_id_of(study), number))


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
    # A time budget, ended by a cancel once the remote host has run trials: a trial budget
    # may be spent by the server's own worker before a busy machine lets the remote one in.
    job_id = submit(server, upload(server, LINK_15M), optuna_budget_mode="time", optuna_time_limit=300)

    def remote_trials() -> bool:
        workers = api(server, "GET", f"/api/jobs/{job_id}/workers")["workers"]
        return any(w["host"] == REMOTE_HOST and w["trials"] for w in workers)

    until(remote_trials, 120, log.read_text)
    api(server, "DELETE", f"/api/jobs/{job_id}")
    wait_for(server, job_id, ("cancelled",))
    until(lambda: f"left job {job_id}" in log.read_text(), 30, log.read_text)
    assert worker.poll() is None  # still there, waiting for the next job


def test_a_remote_worker_that_loses_its_database_comes_back_and_the_study_stays_consistent(
    server, remote, postgres, proxy, tmp_path
):
    # trailing_ma on three times the bars: trials of tens of milliseconds, so the remote
    # worker is caught inside one at once, and the budget lasts past its return (about
    # 300 trials are done by then on a quiet 2-core machine; fewer on a busy one).
    budget = 1000
    data = upload(server, _repeated(LINK_15M, 3, tmp_path / "link-x3.csv"))
    job_id = submit(server, data, strategy="trailing_ma", optuna_n_trials=budget)
    wait_for(server, job_id, ("running",))
    worker, log = remote("--job", job_id, "--database-url", through(proxy, postgres))
    study = study_of(server, job_id)
    _until_remote_trials(server, job_id, worker, log)

    orphan = _freeze_mid_trial(worker, study)
    proxy.cut()
    os.killpg(worker.pid, signal.SIGCONT)
    # Cut off, the worker cannot write its trial's end; the coordinator fails the trial after
    # the grace period and enqueues its retry.
    until(lambda: _trial(study, orphan).state != TrialState.RUNNING, STALE_S, lambda: f"trial {orphan} still RUNNING")
    assert _trial(study, orphan).state == TrialState.FAIL
    assert len(until(lambda: _retries(study, orphan), 10, lambda: f"trial {orphan} not retried")) == 1
    assert worker.poll() is None, log.read_text()  # waiting for its database, not gone
    proxy.restore()
    restored, before = datetime.now(), _remote_record(server, job_id)["trials"]

    # Back, its late result is refused and it serves trials again.
    until(lambda: _remote_record(server, job_id)["trials"] > before, 60, log.read_text)
    text = log.read_text()
    assert "database connection lost" in text and "database connection restored" in text, text
    assert f"trial {orphan}'s result refused: the trial is no longer RUNNING" in text, text
    job = wait_for(server, job_id, ("done", "failed", "cancelled"))
    assert job["status"] == "done", server.log_tail()
    assert worker.wait(60) == 0, log.read_text()

    trials = study.get_trials(deepcopy=False)
    # Consistent: numbers 0..n-1 once each, the global budget exact, nothing left RUNNING,
    # the cut trial the only failure, retried once and completed.
    assert [t.number for t in trials] == list(range(budget))
    assert all(t.state.is_finished() for t in trials)
    assert [t.number for t in trials if t.state == TrialState.FAIL] == [orphan]
    [retry] = [t for t in trials if t.system_attrs.get("failed_trial") == orphan]
    assert retry.state in RAN
    remote_trials = [t for t in trials if t.user_attrs.get(WORKER_ATTR, "").startswith(f"{REMOTE_HOST}:")]
    assert any(t.datetime_start > restored for t in remote_trials)
    # The finished job's dump and results say what the database says.
    dumped = optuna.load_study(
        study_name=job["config"]["study_name"], storage=f"sqlite:///{server.home / 'runs' / job_id / 'study.db'}"
    ).get_trials(deepcopy=False)
    assert [_essentials(t) for t in dumped] == [_essentials(t) for t in trials]
    results = json.loads((server.home / "runs" / job_id / "results.json").read_text())
    assert results["summary"]["trials"] == state_counts(trials)
    ranked = {row["number"]: row["state"] for row in results["results"]}
    assert ranked == {t.number: t.state.name for t in trials if t.state != TrialState.FAIL}
    # The worker's record in the study counts the trials recorded under its name, the
    # refused one not. (Read from the study: the job's list is its coordinator's last
    # snapshot, which can predate a remote worker's last write.)
    [record] = [w for w in workers_of(study) if w["kind"] == "remote"]
    assert record["state"] == "stopped" and record["trials"] == len(remote_trials)


def test_a_remote_worker_whose_database_never_comes_back_gives_up_with_a_clear_message(server, remote, postgres, proxy):
    job_id = submit(server, upload(server, LINK_15M), optuna_budget_mode="time", optuna_time_limit=300)
    wait_for(server, job_id, ("running",))
    worker, log = remote("--job", job_id, "--database-url", through(proxy, postgres), "--reconnect-limit", "2")
    _until_remote_trials(server, job_id, worker, log)
    proxy.cut()
    assert worker.wait(60) == 2, log.read_text()
    last = log.read_text().strip().splitlines()[-1]
    assert last.startswith(f"error: job {job_id}: every worker failed: DatabaseUnreachable: database unreachable ")
    assert "for 2 s, giving up (last error: OperationalError" in last, last
    api(server, "DELETE", f"/api/jobs/{job_id}")
    job = wait_for(server, job_id, ("cancelled",))
    assert job["summary"]["trials"]["running"] == 0


def _repeated(csv: Path, times: int, out: Path) -> Path:
    """``csv``'s bars ``times`` over, end to end in time (its first column: Unix seconds)."""
    header, *rows = csv.read_text().splitlines()
    start, end = int(rows[0].split(",")[0]), int(rows[-1].split(",")[0])
    span = end - start + (end - int(rows[-2].split(",")[0]))
    shifted = [f"{int(t) + k * span},{rest}" for k in range(times) for t, rest in (r.split(",", 1) for r in rows)]
    out.write_text("\n".join([header, *shifted]) + "\n")
    return out


def _remote_record(server: LiveServer, job_id: str) -> dict[str, Any]:
    [record] = [w for w in api(server, "GET", f"/api/jobs/{job_id}/workers")["workers"] if w["kind"] == "remote"]
    return record


def _essentials(trial: optuna.trial.FrozenTrial) -> tuple:
    return trial.number, trial.state, trial.values, trial.params, trial.user_attrs.get(WORKER_ATTR)
