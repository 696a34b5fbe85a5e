"""Storage settings: database URLs as SQLAlchemy reads them, journal paths, and a clear error
naming the setting for anything else (exit 2 on the command line, refused at server start,
409 for a plan of a job that no other host can join)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from app import create_app
from backtune.optimize.config import RunConfig
from backtune.optimize.run import prepare_run
from backtune.optimize.storage_url import StorageUrlError, parse_storage
from tests.conftest import LINK_15M
from tests.helpers import ROOT, cli


@pytest.mark.parametrize(
    "text, backend",
    [
        ("postgresql://postgres@127.0.0.1:5432/test", "postgresql"),
        ("postgresql+psycopg://postgres@db:5432/backtune", "postgresql"),
        ("postgresql+psycopg2://u:p@db/x", "postgresql"),
        ("mysql+pymysql://u:p@db/x", "mysql"),
        ("sqlite:///runs/study.db", "sqlite"),
        ("/dev/shm/backtune/run.journal", None),
        ("runs/x.journal", None),
        (r"C:\runs\x.journal", None),
    ],
)
def test_database_urls_and_journal_paths(text, backend):
    target = parse_storage(text)
    assert target.url == text and target.backend == backend and target.is_database == (backend is not None)


@pytest.mark.parametrize(
    "text, says",
    [
        ("postgres://u@db/x", "write postgresql://"),
        ("redis://localhost:6379", "unsupported database 'redis'"),
        ("http://example.com/x", "unsupported database 'http'"),
        ("postgresql://u:pw@db:notaport/x", "not a URL SQLAlchemy can read"),
        ("", "expected a database URL or a journal file path"),
    ],
)
def test_anything_else_is_an_error_naming_the_setting(text, says):
    with pytest.raises(StorageUrlError) as info:
        parse_storage(text, "BACKTUNE_DATABASE_URL")
    assert info.value.field == "BACKTUNE_DATABASE_URL" and says in str(info.value)
    assert "pw" not in str(info.value)  # a password never reaches a log or a terminal


def test_the_cli_refuses_a_bad_storage_with_one_line_and_exit_2():
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "app",
            "optimize",
            "--data",
            str(LINK_15M),
            "--strategy",
            "sma_cross",
            "--trials",
            "3",
            "--storage",
            "redis://cache:6379",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: storage: unsupported database 'redis'; use postgresql[+driver]://, mysql+driver://, sqlite:/// "
        "or a journal file path"
    ]


@pytest.mark.slow
@pytest.mark.parametrize(
    "option, says",
    [
        (["--database-url", "redis://cache:6379/0"], "--database-url: unsupported database 'redis'; use postgresql"),
        (["--database-url", "postgresql://u:pw@db:notaport/x"], "--database-url: 'postgresql://***@db:notaport/x'"),
        (["--database-url", "runs/x.journal"], "--database-url: expected a database URL such as postgresql+psycopg://"),
        (["--reconnect-limit", "0"], "--reconnect-limit: expected a number of seconds > 0, got 0"),
    ],
)
def test_a_remote_worker_refuses_a_bad_database_url_before_it_contacts_anything(option, says):
    """Checked at the edge: the server named here does not even exist."""
    done = cli("worker", "--server", "http://127.0.0.1:9", "--job", "x", *option, timeout=120)
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f"error: {says}") and "pw" not in line, line


def test_the_server_refuses_a_database_setting_that_is_no_database(tmp_path):
    with pytest.raises(StorageUrlError) as info:
        create_app({"home": str(tmp_path), "database_url": str(tmp_path / "x.journal")})
    assert info.value.field == "BACKTUNE_DATABASE_URL"


def test_a_job_on_a_journal_has_no_plan_for_remote_workers(tmp_path):
    app = create_app({"home": str(tmp_path)})
    config = RunConfig.parse({"data": str(LINK_15M), "strategy": "sma_cross", "workers": 1})
    run = prepare_run(config, app.config["SETTINGS"].runs_dir)
    response = app.test_client().get(f"/api/jobs/{run.run_id}/plan")
    assert response.status_code == 409
    assert response.get_json()["error"] | {"message": None} == {
        "code": "not_shared",
        "message": None,
        "field": "job_id",
    }
