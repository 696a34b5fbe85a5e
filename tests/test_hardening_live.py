"""Issue 9's attacks on a running server, against real gunicorn started as the image starts it.

Each test sends what the attack sent and asserts what the server must do instead. The
Flask-level regressions of the same table are in tests/test_hardening.py.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.live_server import LiveServer
from tests.test_e2e_gunicorn import make_home, server_env

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
    body = {"strategy": "sma_cross", "csvPath": "GOOG.csv", "worker_processes": 1, "optuna_sampler": "random",
            "optuna_budget_mode": "time", "optuna_time_limit": 30}

    def wait_for_job(_: int):
        return server.request("POST", "/api/optimize?wait=true", json.dumps(body).encode(),
                              {"Content-Type": "application/json"}, timeout=120)

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
