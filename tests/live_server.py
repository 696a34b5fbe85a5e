"""Backtune under real gunicorn on a loopback port, started as the image starts it.

Shared by tests/test_e2e_gunicorn.py and benchmarks/bench_api_latency.py. The server gets
an environment of its own (every BACKTUNE_* and gunicorn variable of the caller's is
dropped, so a developer's token or home cannot leak in), its own process group, and a
log file in its home; stopping it also stops the job coordinators it started, which run
in sessions of their own precisely so that a web server's exit does not stop them.

HTTP goes through ``http.client``, one connection per request: urllib would honour the
machine's proxy variables and raise on every 4xx these tests expect.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

from backtune.jobs.store import FINISHED, JobStore, process_alive

ROOT = Path(__file__).resolve().parents[1]
FOREIGN_ENV = ("BACKTUNE_", "GUNICORN_")
FOREIGN_NAMES = ("WEB_CONCURRENCY", "PORT")
STOP_GRACE_S = 15.0


@dataclass(frozen=True)
class Response:
    status: int
    headers: Message
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class LiveServer:
    """``python -m gunicorn -c gunicorn.conf.py wsgi:app`` with BACKTUNE_HOME=``home``.

    The port is chosen once, so a restart (``kill`` then ``start``) comes back where
    clients expect it, as a container would.
    """

    def __init__(self, home: Path, workers: int = 2, **env: str) -> None:
        self.home = Path(home)
        self.port = free_port()
        self.log = self.home / "gunicorn.log"
        self.runs = JobStore(self.home / "runs")
        base = {k: v for k, v in os.environ.items() if not k.startswith(FOREIGN_ENV) and k not in FOREIGN_NAMES}
        self.env = {
            **base,
            "BACKTUNE_HOME": str(self.home),
            "BACKTUNE_BIND": f"127.0.0.1:{self.port}",
            "WEB_CONCURRENCY": str(workers),
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, timeout: float = 60.0) -> LiveServer:
        """Start gunicorn and return once /healthz answers (every worker has booted a
        moment later: gunicorn accepts as soon as the first one is up)."""
        self.home.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with code {self.process.returncode}:\n{self.log_tail()}")
            try:
                if self.get("/healthz", timeout=2).status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"gunicorn did not answer /healthz within {timeout} s:\n{self.log_tail()}")

    def stop(self) -> None:
        """SIGTERM (gunicorn's graceful shutdown), SIGKILL after STOP_GRACE_S; then the
        coordinators, which a real server would leave running."""
        if self.process is not None and self.process.poll() is None:
            _signal_group(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                pass
        self.kill()
        self.kill_coordinators()

    def kill(self) -> None:
        """SIGKILL to gunicorn and its workers at once: a crash, or a container going away."""
        if self.process is not None:
            _signal_group(self.process.pid, signal.SIGKILL)
            self.process.wait()
            self.process = None

    def kill_coordinators(self) -> None:
        """SIGKILL every live job coordinator with its optimisation workers (its session).

        Only a pid that still runs that job's coordinator is killed (``process_alive``
        checks its command line), never one the system has given to someone else since.
        """
        for run in self.runs.all():
            pid = self.runs.state(run).get("coordinator_pid")
            if process_alive(pid, run.run_id):
                _signal_group(pid, signal.SIGKILL)

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:]) if self.log.exists() else ""

    def wait_for_job(self, job_id: str, statuses: tuple[str, ...] = FINISHED, timeout: float = 120.0) -> dict[str, Any]:
        """The job's record once its status is one of ``statuses``."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.get(f"/api/jobs/{job_id}").json()
            if job["status"] in statuses:
                return job
            if time.monotonic() > deadline:
                raise AssertionError(f"job {job_id} still {job['status']} after {timeout} s:\n{self.log_tail()}")
            time.sleep(0.1)

    # HTTP

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30.0,
    ) -> Response:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=dict(headers or {}))
            response = connection.getresponse()
            return Response(response.status, response.headers, response.read())
        finally:
            connection.close()

    def get(self, path: str, timeout: float = 30.0) -> Response:
        return self.request("GET", path, timeout=timeout)

    def delete(self, path: str) -> Response:
        return self.request("DELETE", path)

    def post_json(self, path: str, body: Any) -> Response:
        return self.request("POST", path, json.dumps(body).encode(), {"Content-Type": "application/json"})

    def post_form(
        self,
        path: str,
        fields: Mapping[str, str],
        files: Mapping[str, tuple[str, bytes]] | None = None,
        timeout: float = 30.0,
    ) -> Response:
        """multipart/form-data: ``files`` maps a field to (file name, content)."""
        boundary = uuid.uuid4().hex
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            for name, value in fields.items()
        ]
        for name, (file_name, content) in (files or {}).items():
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{file_name}"\r\n'
                f"Content-Type: application/octet-stream\r\n\r\n".encode()
                + content
                + b"\r\n"
            )
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        return self.request(
            "POST", path, body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}, timeout=timeout
        )


def csv_of_size(megabytes: float) -> bytes:
    """An OKX-style 1-minute file (epoch seconds, six columns) of about ``megabytes`` MB."""
    rows = int(megabytes * 1e6 / 48)
    return b"time,open,high,low,close,Volume\n" + b"".join(
        b"%d,14.283,14.352,14.282,14.338,358236.574\n" % (1_500_000_000 + 60 * i) for i in range(rows)
    )


def web_workers(server: LiveServer) -> list[int]:
    master = server.process.pid
    return [
        int(p.name)
        for p in Path("/proc").iterdir()
        if p.name.isdigit() and _status(int(p.name)).get("PPid") == str(master)
    ]


def _status(pid: int) -> dict[str, str]:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    return {key: value.split()[0] for key, _, value in (line.partition(":\t") for line in lines) if value.split()}


def peak_growth(server: LiveServer, send: Callable[[], Any]) -> tuple[int, Any]:
    """The largest rise of a web worker's peak resident memory while ``send()`` runs, in bytes
    (the kernel's high-water mark, reset first), and what ``send`` returned."""
    workers = web_workers(server)
    before = {}
    for pid in workers:
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets VmHWM to the current VmRSS
        before[pid] = int(_status(pid)["VmRSS"]) * 1024
    answer = send()
    return max(int(_status(pid)["VmHWM"]) * 1024 - before[pid] for pid in workers), answer


def free_port() -> int:
    """A port nothing listens on now (gunicorn binds it a moment later, with SO_REUSEADDR)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _signal_group(leader: int, signum: int) -> None:
    """Signal a session leader's whole process group: gunicorn with its workers, or a
    coordinator with its optimisation workers."""
    try:
        os.killpg(leader, signum)
    except ProcessLookupError:
        pass
