"""What several test modules (and the benchmarks) share: run configurations, bad requests,
old dataset entries, backtesting.py's SmaCross oracle. Fixtures live in conftest.py."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from backtesting import Strategy as BtStrategy
from backtesting.lib import crossover
from backtesting.test import SMA

from backtune.optimize.config import RunConfig
from tests.conftest import ROOT, backtesting_csv
from tests.live_server import LiveServer

FINISHED = ("done", "failed", "cancelled", "interrupted")
CHROMIUM = Path("/usr/bin/chromium")
VIEWPORT = {"width": 1280, "height": 720}  # the smallest laptop screen the pages are made for
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


def playwright_or_skip() -> Any:
    """Playwright's sync API, or the calling test module skipped with the reason."""
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)
    return pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")


class Tab:
    """A browser page on the server that records console errors and uncaught exceptions."""

    def __init__(self, browser, server: LiveServer) -> None:
        self.context = browser.new_context(
            viewport=VIEWPORT,
            locale="en-US",
            timezone_id="UTC",
            base_url=f"http://127.0.0.1:{server.port}",
            accept_downloads=True,
        )
        self.context.set_default_timeout(20_000)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on(
            "console", lambda m: self.errors.append(f"{self.page.url}: {m.text}") if m.type == "error" else None
        )
        self.page.on("pageerror", lambda e: self.errors.append(f"{self.page.url}: {e}"))

    def close(self) -> None:
        self.context.close()


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """``python -m app ARGS`` as a user runs it, from the project root."""
    return subprocess.run(
        [sys.executable, "-m", "app", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def backtest_window_cli(data: Path, window: dict[str, Any], warmup: int, *options: str) -> dict[str, Any]:
    """``python -m app backtest --close-at-end --json`` of a walk-forward window's carried
    parameters over its out-of-sample range: what that window's result must equal."""
    done = cli(
        "backtest", "--data", str(data), "--strategy", "sma_cross", "--params", json.dumps(window["params"]),
        "--start", window["oos"]["start"], "--end", window["oos"]["end"], "--warmup", str(warmup),
        *options, "--close-at-end", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


# --- a live gunicorn's home and jobs -------------------------------------------------------


def server_env(home: Path) -> dict[str, str]:
    return {
        "BACKTUNE_MAX_JOBS": "1",
        "BACKTUNE_MAX_WORKERS": "2",
        "BACKTUNE_MAX_UPLOAD_MB": "1",
        "BACKTUNE_JOURNAL_DIR": str(home / "journals"),
    }


def make_home(home: Path) -> Path:
    """GOOG.csv and a CSV with a bad row in the data folder, for requests by ``csvPath``."""
    (home / "data").mkdir(parents=True)
    shutil.copy(backtesting_csv("GOOG"), home / "data" / "GOOG.csv")
    (home / "data" / "bad.csv").write_text(
        "time,open,high,low,close\n1700000000,1,2,0.5,1.5\n1700000060,1,0.4,0.5,1.5\n"
    )
    return home


def long_job_with_trials(server: LiveServer, trials: int = 5) -> str:
    """A job with a 2-minute time budget (and no trial cap), returned once it has ``trials`` trials."""
    response = server.post_json(
        "/api/optimize",
        {
            "strategy": "sma_cross",
            "csvPath": "GOOG.csv",
            "worker_processes": 2,
            "optuna_sampler": "random",
            "optuna_budget_mode": "time",
            "optuna_time_limit": 120,
        },
    )
    assert response.status == 202, response.json()
    job_id = response.json()["job_id"]
    deadline = time.monotonic() + 90
    while server.wait_for_job(job_id, ("running",))["trials"] < trials:
        assert time.monotonic() < deadline, server.log_tail()
        time.sleep(0.2)
    return job_id


def wait_for_job(client: Any, job_id: str, statuses: tuple[str, ...] = FINISHED, timeout: float = 120.0) -> dict:
    """The job's record (through a Flask test client) once its status is one of ``statuses``."""
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/api/jobs/{job_id}").json
        if job["status"] in statuses:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {job['status']} after {timeout} s")
        time.sleep(0.2)


def finished_job(client: Any, body: dict, timeout: float = 120.0) -> str:
    """Submit an optimisation through the API's test client and wait for it to finish; its id."""
    response = client.post("/api/optimize", json=body)
    assert response.status_code == 202, response.json
    job = wait_for_job(client, response.json["job_id"], timeout=timeout)
    assert job["status"] == "done", job
    return job["job_id"]


def goog_home(folder: Path) -> Path:
    """A BACKTUNE_HOME whose data folder holds GOOG.csv, for requests by ``csvPath``."""
    (folder / "data").mkdir()
    shutil.copy(backtesting_csv("GOOG"), folder / "data" / "GOOG.csv")
    return folder


def assert_api_error(response: Any, status: int, field: str | None, code: str | None = None) -> dict[str, Any]:
    """The API's error shape, with the status, the field and (if given) the code expected."""
    body = response.get_json() if hasattr(response, "get_json") else response.json()
    assert response.status_code == status if hasattr(response, "status_code") else response.status == status, body
    error = body["error"]
    assert error["field"] == field and error["message"], error
    if code is not None:
        assert error["code"] == code, error
    return error


# --- optimisation runs ------------------------------------------------------------------

GOOG = str(backtesting_csv("GOOG"))
SMALL_SPACE = {"n1": {"low": 5, "high": 30, "step": 1}, "n2": {"low": 31, "high": 120, "step": 1}}


def config(**overrides) -> RunConfig:
    raw = {
        "data": GOOG,
        "strategy": "sma_cross",
        "space": SMALL_SPACE,
        "workers": 1,
        "sampler": "random",
        "seed": 3,
        "budget": {"mode": "trials", "trials": 20},
        "capital": 10_000,
        "commission": 0.002,
    }
    raw.update(overrides)
    return RunConfig.parse(raw)


def kill_worker_soon(run_dir, index: int, after: float) -> dict:
    """SIGKILL worker ``index`` ``after`` seconds into its run, from a thread; the returned
    dict receives the pid it killed."""
    killed = {}

    def kill():
        status = run_dir.worker_status(index)
        while not status.exists():
            time.sleep(0.05)
        time.sleep(after)
        killed["pid"] = json.loads(status.read_text())["pid"]
        os.kill(killed["pid"], signal.SIGKILL)

    threading.Thread(target=kill, daemon=True).start()
    return killed


# --- the optimise API: bad requests and the field each must name --------------------------

BAD_REQUESTS = [
    ({"strategy": "nope"}, 400, "strategy"),
    ({"strategy": None}, 400, "strategy"),
    ({"param_ranges": {"n9": [1, 2, 1]}, "enabled_params": ["n1"]}, 400, "n9"),
    ({"enabled_params": ["zz"]}, 400, "zz"),
    ({"param_ranges": {"n1": [30, 5, 1]}, "enabled_params": ["n1"]}, 400, "n1"),
    ({"param_ranges": {"n1": [5, 30, 0]}, "enabled_params": ["n1"]}, 400, "n1"),
    ({"param_ranges": {"n1": [5, 30, -2]}, "enabled_params": ["n1"]}, 400, "n1"),
    ({"param_ranges": {"n1": ["a", 30, 1]}, "enabled_params": ["n1"]}, 400, "n1"),
    ({"param_ranges": {"n1": {"type": "select", "values": []}}, "enabled_params": ["n1"]}, 400, "n1"),
    ({"param_ranges": {"n1": 7}, "enabled_params": ["n1"]}, 400, "n1"),
    ({"optuna_n_trials": 0}, 400, "optuna_n_trials"),
    ({"optuna_n_trials": -3}, 400, "optuna_n_trials"),
    ({"optuna_n_trials": "ten"}, 400, "optuna_n_trials"),
    ({"worker_processes": 0}, 400, "worker_processes"),
    ({"worker_processes": 33}, 400, "worker_processes"),
    ({"worker_processes": 2.5}, 400, "worker_processes"),
    ({"worker_processes": "2"}, 400, "worker_processes"),
    ({"optuna_target": "alpha"}, 400, "optuna_target"),
    ({"optuna_sampler": "annealing"}, 400, "optuna_sampler"),
    ({"optuna_pruner": "hyperband"}, 400, "optuna_pruner"),
    ({"optuna_budget_mode": "forever"}, 400, "optuna_budget_mode"),
    ({"optuna_budget_mode": "time"}, 400, "optuna_time_limit"),
    ({"optuna_budget_mode": "convergence"}, 400, "optuna_convergence"),
    ({"fixed_params": {"dateFilter": True, "start": "someday"}}, 400, "start"),
    ({"warmupBars": -5}, 400, "warmupBars"),
    ({"warmupBars": "many"}, 400, "warmupBars"),
    ({"score_config": {"buy_and_hold_pct": 1}}, 400, "score_config"),
    ({"colour": "blue"}, 400, "colour"),
    ({"csvPath": None}, 400, "dataset"),
    ({"csvPath": "../../etc/passwd"}, 403, "csvPath"),
    ({"csvPath": "/etc/passwd"}, 403, "csvPath"),
    ({"csvPath": "missing.csv"}, 404, "csvPath"),
    ({"csvPath": "bad.csv"}, 400, "high"),
    ({"dataset": "0123456789abcdef", "csvPath": None}, 404, "dataset"),
    ({"dataset": "0123456789abcdef"}, 400, "csvPath"),
]


# --- dataset entries as version 1 of the store wrote them --------------------------------

YYYYMMDD_CSV = b"date,open,high,low,close\n20240102,1,2,0.5,1.5\n20240103,1,2,0.5,1.5\n20240104,1,2,0.5,1.5\n"
# Version 1 read every cell as an epoch, so these increasing times passed; version 2 reads
# the column as YYYYMMDD dates and refuses the one Unix time among them.
MIXED_CSV = b"time,open,high,low,close\n20240102,1,2,0.5,1.5\n20240103,1,2,0.5,1.5\n1704326400,1,2,0.5,1.5\n"


def write_v1_entry(data_dir: Path, data: bytes, summary: dict[str, Any], **extra: Any) -> str:
    """An entry as version 1 wrote it (no version, digest only in the summary); its id."""
    digest = hashlib.sha256(data).hexdigest()
    folder = data_dir / "datasets"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{digest}.csv").write_bytes(data)
    entry = {
        "id": digest[:16],
        "name": "my prices",
        "file_name": "prices.csv",
        "uploaded_at": "2025-01-05T10:00:00Z",
        "sample": False,
        "description": "daily closes",
        "summary": {**summary, "sha256": digest},
        **extra,
    }
    (folder / f"{digest[:16]}.json").write_text(json.dumps(entry))
    return digest[:16]


def v1_summary(first_time: str, last_time: str) -> dict[str, Any]:
    return {
        "rows": 3,
        "first_time": first_time,
        "last_time": last_time,
        "interval_seconds": 1,
        "interval_label": "1s",
        "columns": {"time": "time", "open": "open", "high": "high", "low": "low", "close": "close"},
        "file_name": "prices.csv",
    }


# --- backtesting.py's SmaCross, the oracle of the sma_cross parity tests ------------------


class SmaCross(BtStrategy):
    """backtesting.py's documented example, the oracle."""

    n1 = 10
    n2 = 20

    def init(self):
        self.sma1 = self.I(SMA, self.data.Close, self.n1)
        self.sma2 = self.I(SMA, self.data.Close, self.n2)

    def next(self):
        if crossover(self.sma1, self.sma2):
            self.position.close()
            self.buy()
        elif crossover(self.sma2, self.sma1):
            self.position.close()
            self.sell()


def oracle_frame(bars) -> pd.DataFrame:
    index = pd.DatetimeIndex(pd.to_datetime(bars.time, utc=True).tz_localize(None))
    return pd.DataFrame(
        {"Open": bars.open, "High": bars.high, "Low": bars.low, "Close": bars.close, "Volume": bars.volume}, index=index
    )


# --- PostgreSQL and a worker on "another host" -------------------------------------------

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
REMOTE_HOST = "remote-host"


def require_postgres() -> str:
    """The test database's URL, or a skip saying why it cannot be used."""
    try:
        import psycopg

        psycopg.connect(POSTGRES_URL, connect_timeout=3).close()
    except Exception as exc:  # any failure to reach the server means: not available here
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}: {exc}")
    return POSTGRES_URL


# Inside new mount and UTS namespaces: its own host name, and an empty file system mounted
# over each of the server's folders, so the command cannot read anything the server keeps
# (checked before it starts); then the command, from its own working directory.
_ISOLATE = """
hostname "$HOST_NAME" || exit 97
for folder in $HIDDEN; do
  mount -t tmpfs -o size=1m,mode=000 hidden "$folder" || exit 97
  [ -z "$(ls -A "$folder")" ] || exit 98
done
cd "$WORK_DIR" || exit 97
exec "$@"
"""


def require_namespaces() -> None:
    """Skip unless this process may create mount and UTS namespaces (root, as in CI)."""
    if shutil.which("unshare") is None or os.geteuid() != 0:
        pytest.skip("needs root and unshare(1) to run a worker that cannot see the server's folders")
    probe = subprocess.run(["unshare", "--mount", "--uts", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot create namespaces here: {probe.stderr.decode().strip()}")


def start_isolated(
    command: Sequence[str], hidden: Sequence[Path], work_dir: Path, env: dict[str, str], log: Path
) -> subprocess.Popen[bytes]:
    """``command`` as if on another machine: host name REMOTE_HOST, ``hidden`` folders empty,
    ``work_dir`` as its working directory; in a process group of its own (for killpg)."""
    work_dir.mkdir(parents=True, exist_ok=True)
    full_env = {**env, "HOST_NAME": REMOTE_HOST, "HIDDEN": " ".join(str(p) for p in hidden), "WORK_DIR": str(work_dir)}
    with log.open("ab") as out:
        return subprocess.Popen(
            ["unshare", "--mount", "--uts", "--propagation", "private", "sh", "-c", _ISOLATE, "isolate", *command],
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def worker_command(server: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "app", "worker", "--server", server, *args]
