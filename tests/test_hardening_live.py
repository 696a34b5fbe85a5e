"""Issue 9's attacks on a running server, against real gunicorn started as the image starts it.

Each test sends what the attack sent and asserts what the server must do instead. The
Flask-level regressions of the same table are in tests/test_hardening.py.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from backtune.jobs.store import process_alive
from tests.helpers import long_job_with_trials, make_home, server_env
from tests.live_server import LiveServer, csv_of_size, peak_growth

SLOW_CLIENTS = 20
HEALTH_WITHIN_S = 1.0


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = make_home(tmp_path_factory.mktemp("hardening") / "home")
    with LiveServer(home, **server_env(home), BACKTUNE_WAIT_LIMIT_S="60") as live:
        yield live


def healthz_answers(server: LiveServer) -> bool:
    try:
        return server.get("/healthz", timeout=HEALTH_WITHIN_S).status == 200
    except OSError:
        return False


def test_healthz_answers_within_a_second_with_20_slowloris_clients_connected(server):
    stop = threading.Event()
    sockets = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(SLOW_CLIENTS)]

    def drip(sock: socket.socket) -> None:
        """A request line, then one header line every 4 s, never the blank line that ends it."""
        try:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
            line = 0
            while not stop.wait(4.0):
                sock.sendall(f"X-Slow-{line}: a\r\n".encode())
                line += 1
        except OSError:
            pass

    threads = [threading.Thread(target=drip, args=(s,), daemon=True) for s in sockets]
    try:
        for thread in threads:
            thread.start()
        time.sleep(1.0)  # every slow client has sent its first line and holds its connection
        answers = []
        for _ in range(5):
            answers.append(healthz_answers(server))
            time.sleep(1.0)
        assert answers == [True] * 5, server.log_tail()
    finally:
        stop.set()
        for sock in sockets:
            sock.close()


def test_long_waits_do_not_starve_health_checks_or_short_requests(server):
    """16 parallel ``POST /api/optimize?wait=true`` for jobs that queue behind each other
    (one job at a time): while they all wait, /healthz and the job list still answer."""
    body = {
        "strategy": "sma_cross",
        "csvPath": "GOOG.csv",
        "worker_processes": 1,
        "optuna_sampler": "random",
        "optuna_budget_mode": "time",
        "optuna_time_limit": 30,
    }

    def wait_for_job(_: int):
        return server.request(
            "POST",
            "/api/optimize?wait=true",
            json.dumps(body).encode(),
            {"Content-Type": "application/json"},
            timeout=120,
        )

    with ThreadPoolExecutor(16) as pool:
        waits = [pool.submit(wait_for_job, i) for i in range(16)]
        deadline = time.monotonic() + 60
        while len(server.get("/api/jobs").json()["jobs"]) < 16:  # every wait has its job and now sleeps
            assert time.monotonic() < deadline, server.log_tail()
            time.sleep(0.2)
        probes = []
        for _ in range(4):
            probes.append(healthz_answers(server))
            started = time.monotonic()
            listed = server.get("/api/jobs", timeout=HEALTH_WITHIN_S)
            probes.append(listed.status == 200 and time.monotonic() - started < HEALTH_WITHIN_S)
            time.sleep(0.5)
        for job in server.get("/api/jobs").json()["jobs"]:
            server.delete(f"/api/jobs/{job['job_id']}")
        assert all(w.result().status in (200, 202) for w in waits)
    assert probes == [True] * 8, server.log_tail()


def reaped(pid: int) -> bool:
    """Whether ``pid`` is gone for good: neither running nor a zombie waiting for its parent."""
    return not Path(f"/proc/{pid}").exists()


def eventually(condition, timeout: float, server: LiveServer) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, server.log_tail()
        time.sleep(0.1)


def running_jobs(server: LiveServer) -> list[str]:
    return [job["job_id"] for job in server.get("/api/jobs").json()["jobs"] if job["status"] == "running"]


def test_a_killed_coordinator_is_noticed_its_workers_exit_the_queue_moves_on_and_the_job_resumes(server):
    job_id = long_job_with_trials(server)
    queued = server.post_json(
        "/api/optimize",
        {
            "strategy": "sma_cross",
            "csvPath": "GOOG.csv",
            "worker_processes": 2,
            "optuna_sampler": "random",
            "optuna_n_trials": 30,
        },
    ).json()["job_id"]
    assert server.get(f"/api/jobs/{queued}").json()["status"] == "queued"
    coordinator = server.runs.state(server.runs.run(job_id))["coordinator_pid"]

    def workers_listed() -> list[int]:
        return [w["pid"] for w in server.get(f"/api/jobs/{job_id}").json()["progress"]["workers"]]

    # A worker is listed once it has started a trial; the second may still be warming up.
    eventually(lambda: len(workers_listed()) == 2, 30, server)
    workers = workers_listed()
    assert all(process_alive(pid) for pid in workers)

    os.kill(coordinator, signal.SIGKILL)  # the coordinator alone: its workers are not told
    eventually(lambda: all(not process_alive(pid) for pid in workers), 5, server)
    interrupted = server.get(f"/api/jobs/{job_id}").json()
    assert interrupted["status"] == "interrupted"
    kept = interrupted["summary"]["trials"]["total"]
    assert kept >= 5 and interrupted["summary"]["trials"]["running"] == 0
    eventually(lambda: reaped(coordinator), 5, server)  # no zombie left in the web worker

    # The queued job takes the one slot (BACKTUNE_MAX_JOBS=1), never beside the dead job's workers.
    seen = []
    while (status := server.get(f"/api/jobs/{queued}").json()["status"]) != "done":
        seen.append(running_jobs(server))
        assert status in ("queued", "running"), status
        time.sleep(0.1)
    assert all(len(running) <= 1 for running in seen) and [queued] in seen

    assert server.delete(f"/api/jobs/{job_id}").status == 409  # interrupted: nothing left to cancel
    assert server.post_json(f"/api/jobs/{job_id}/resume", {"trials": 4}).status == 202
    resumed = server.wait_for_job(job_id)
    assert resumed["status"] == "done" and 4 <= resumed["summary"]["trials"]["total"] - kept <= 5


def test_cancel_notices_a_dead_coordinator(server):
    job_id = long_job_with_trials(server)
    os.kill(server.runs.state(server.runs.run(job_id))["coordinator_pid"], signal.SIGKILL)
    time.sleep(0.5)
    cancelled = server.delete(f"/api/jobs/{job_id}")
    assert cancelled.status == 200 and cancelled.json()["status"] == "interrupted"
    assert cancelled.json()["summary"]["trials"]["total"] >= 5


def test_coordinators_of_finished_jobs_are_reaped(server):
    job_id = server.post_json(
        "/api/optimize", {"strategy": "sma_cross", "csvPath": "GOOG.csv", "optuna_n_trials": 3}
    ).json()["job_id"]
    server.wait_for_job(job_id)
    coordinator = server.runs.state(server.runs.run(job_id))["coordinator_pid"]
    eventually(lambda: reaped(coordinator), 5, server)


# Uploads: memory, header size, parallel identical uploads


@pytest.fixture(scope="module")
def upload_server(tmp_path_factory):
    home = make_home(tmp_path_factory.mktemp("uploads") / "home")
    with LiveServer(home, **{**server_env(home), "BACKTUNE_MAX_UPLOAD_MB": "64"}) as live:
        live.get("/api/datasets")  # both workers have imported and registered the samples
        live.get("/api/datasets")
        yield live


def test_a_50_mb_upload_grows_worker_memory_by_less_than_the_file(upload_server):
    data = csv_of_size(50)
    growth, response = peak_growth(
        upload_server, lambda: upload_server.post_form("/api/datasets", {}, {"file": ("big.csv", data)}, timeout=300)
    )
    assert response.status == 201, response.body[:300]
    assert response.json()["summary"]["rows"] == data.count(b"\n") - 1
    assert growth < len(data), f"worker memory grew {growth / 1e6:.0f} MB for a {len(data) / 1e6:.0f} MB file"


def test_a_header_of_560000_columns_is_refused_before_parsing(upload_server):
    header = b"time,open,high,low,close," + b",".join(b"c%d" % i for i in range(560_000))
    data = header + b"\n" + b"1700000000,1,2,0.5,1.5" + b",1" * 560_000 + b"\n"
    growth, response = peak_growth(
        upload_server, lambda: upload_server.post_form("/api/datasets", {}, {"file": ("wide.csv", data)}, timeout=300)
    )
    assert response.status == 400
    error = response.json()["error"]
    assert error["field"] == "file" and "wide.csv, row 1: the header is longer than" in error["message"]
    assert growth < 3 * len(data), f"worker memory grew {growth / 1e6:.0f} MB for a {len(data) / 1e6:.1f} MB file"


def test_parallel_uploads_of_the_same_bytes_create_one_entry(upload_server):
    data = csv_of_size(2)
    with ThreadPoolExecutor(4) as pool:
        answers = list(
            pool.map(
                lambda i: upload_server.post_form("/api/datasets", {}, {"file": (f"same-{i}.csv", data)}, timeout=120),
                range(4),
            )
        )
    assert sorted(a.status for a in answers) == [200, 200, 200, 201], [a.body[:200] for a in answers]
    stored = upload_server.get(f"/api/datasets/{answers[0].json()['id']}").json()
    assert {(a.json()["id"], a.json()["name"]) for a in answers} == {(stored["id"], stored["name"])}
    created = next(a for a in answers if a.status == 201)
    assert created.json()["name"] == stored["name"]
