"""Issue 9's attacks, through Flask's test client into a real app with real jobs.

Each test sends what the attack sent and asserts what the server must do instead; the row
of the issue's table is in the test's name. tests/test_hardening_live.py covers the rows
that need a real gunicorn (slow clients, long waits, killed coordinators).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from app import create_app
from app.web.auth import COOKIE
from backtune.data.header import MAX_COLUMNS
from backtune.optimize.rundir import RunDir
from tests.conftest import backtesting_csv
from tests.helpers import goog_home, wait_for_job

GOOG = backtesting_csv("GOOG").read_bytes()
JOB = {"strategy": "sma_cross", "csvPath": "GOOG.csv", "optuna_sampler": "random", "optuna_n_trials": 3}


@pytest.fixture()
def home(tmp_path: Path) -> Path:
    return goog_home(tmp_path)


@pytest.fixture()
def client(home: Path):
    return create_app({"home": str(home), "max_jobs": 1, "max_workers": 1}).test_client()


# Row 3: a page on another origin auto-submits a form


CROSS_ORIGIN = {
    "another site's page": {"Origin": "https://evil.example"},
    "a sandboxed page": {"Origin": "null"},
    "a cross-site fetch": {"Sec-Fetch-Site": "cross-site"},
    "a sibling subdomain": {"Sec-Fetch-Site": "same-site", "Origin": "https://other.localhost"},
}


@pytest.mark.parametrize("headers", CROSS_ORIGIN.values(), ids=CROSS_ORIGIN.keys())
def test_row3_cross_origin_form_posts_are_refused_and_start_nothing(client, headers):
    form = {"strategy": "sma_cross", "csvPath": "GOOG.csv", "config": '{"optuna_n_trials": 3}'}
    response = client.post("/api/optimize", data=form, headers=headers)
    assert response.status_code == 403, response.json
    assert response.json["error"]["code"] == "cross_origin" and response.json["error"]["field"] == "Origin"
    upload = client.post("/api/datasets", data={"file": (io.BytesIO(GOOG), "g.csv")}, headers=headers)
    assert upload.status_code == 403
    assert client.get("/api/jobs").json["total"] == 0


def test_row3_the_ui_on_its_own_origin_and_scripts_without_an_origin_still_work(client):
    same_origin = {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}
    by_page = client.post("/api/optimize", json=JOB, headers=same_origin)
    by_script = client.post("/api/optimize", json=JOB)
    assert by_page.status_code == by_script.status_code == 202
    assert client.get("/api/jobs").json["total"] == 2


def test_row3_a_trusted_origin_may_write(home):
    client = create_app({"home": str(home), "trusted_origins": ("https://backtune.example",)}).test_client()
    response = client.post(
        "/api/optimize", json=JOB, headers={"Origin": "https://backtune.example", "Sec-Fetch-Site": "cross-site"}
    )
    assert response.status_code == 202, response.json


# Row 10: no security headers; /runs could be framed


@pytest.mark.parametrize(
    "path", ["/", "/runs", "/api/jobs", "/api/strategies", "/dashboard", "/api/studies", "/nope", "/api/nope"]
)
def test_row10_pages_api_and_dashboard_send_security_headers(client, path):
    headers = client.get(path).headers
    policy = headers["Content-Security-Policy"]
    assert (
        "frame-ancestors 'none'" in policy
        and "script-src 'self'" in policy
        and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    )
    if path != "/dashboard":  # the dashboard's own policy allows eval for its charts
        assert "unsafe-eval" not in policy
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"


# Row 15: with a token, pages need none; server paths in responses


def test_row15_with_a_token_pages_and_dashboard_redirect_to_login_alike_for_known_and_unknown_jobs(home):
    client = create_app({"home": str(home), "api_token": "s3cret"}).test_client()
    job_id = client.post("/api/optimize", json=JOB, headers={"Authorization": "Bearer s3cret"}).json["job_id"]
    answers = {path: client.get(path) for path in ("/", "/runs", f"/jobs/{job_id}", "/jobs/no-such-job", "/dashboard")}
    for path, response in answers.items():
        assert response.status_code == 303, path
        assert response.headers["Location"].startswith("/login?next=")
    assert answers[f"/jobs/{job_id}"].data.replace(job_id.encode(), b"X") == answers["/jobs/no-such-job"].data.replace(
        b"no-such-job", b"X"
    )
    assert client.get("/api/jobs").status_code == 401
    assert client.get("/login").status_code == 200
    assert client.get("/healthz").status_code == 200


def test_row15_logging_in_sets_a_cookie_that_opens_pages_api_and_dashboard(home):
    client = create_app({"home": str(home), "api_token": "s3cret"}).test_client()
    wrong = client.post("/login", data={"token": "guess", "next": "/runs"})
    assert wrong.status_code == 401 and client.get_cookie(COOKIE) is None
    right = client.post("/login", data={"token": "s3cret", "next": "/runs"})
    assert right.status_code == 303 and right.headers["Location"] == "/runs"
    cookie = client.get_cookie(COOKIE)
    assert cookie.http_only and cookie.same_site == "Strict" and "s3cret" not in cookie.value
    for path in ("/", "/runs", "/api/jobs", "/dashboard", "/api/studies"):
        assert client.get(path).status_code == 200, path
    offsite = client.post("/login", data={"token": "s3cret", "next": "//evil.example/"})
    assert offsite.headers["Location"] == "/"


def test_row15_no_server_folder_in_job_json_results_csv_or_errors(client, home):
    job_id = client.post("/api/optimize", json=JOB).json["job_id"]
    wait_for_job(client, job_id)
    answers = [
        client.get(f"/api/jobs/{job_id}"),
        client.get(f"/api/jobs/{job_id}/results"),
        client.get(f"/api/jobs/{job_id}/results?format=csv"),
        client.get("/api/jobs"),
        client.post("/api/optimize", json={**JOB, "csvPath": "missing.csv"}),
    ]
    job = answers[0].json
    assert job["config"]["data"] == "GOOG.csv"
    assert re.search(r"^data,GOOG\.csv$", answers[2].data.decode(), re.M)
    for response in answers:
        assert str(home).encode() not in response.data and str(home.resolve()).encode() not in response.data
    # What the run directory itself keeps is unchanged: the CLI and recovery need real paths.
    assert str(home) in RunDir(home / "runs" / job_id).config_file.read_text()


# Row 18: an HTML error page; jobs of one second in any order


@pytest.mark.parametrize(
    "path",
    ["/static/..%2f..", "/static/..%2f..%2fetc%2fpasswd", "/api/nope", "/api/jobs/x/results/y", "/api/studies/x"],
)
def test_row18_odd_paths_answer_in_the_api_error_shape(client, path):
    response = client.get(path)
    assert 400 <= response.status_code < 500 and response.mimetype == "application/json", response.data[:200]
    body = response.json
    assert "error" in body or "reason" in body  # the dashboard's own JSON errors keep their shape for its UI
    if "error" in body:
        assert set(body["error"]) == {"code", "message", "field"}


def test_row18_jobs_created_in_the_same_second_list_newest_first(client):
    """Run ids carry the second and then the strategy: rsi_reversion sorts before sma_cross."""
    first = client.post("/api/optimize", json=JOB).json["job_id"]
    second = client.post("/api/optimize", json={**JOB, "strategy": "rsi_reversion"}).json["job_id"]
    listed = [job["job_id"] for job in client.get("/api/jobs").json["jobs"]]
    assert listed == [second, first]


# Rows 1 and 12: a header of many columns; 19-digit epoch times


def upload(client, data: bytes, name: str):
    return client.post("/api/datasets", data={"file": (io.BytesIO(data), name)})


def test_row1_a_header_over_the_column_limit_is_refused_naming_the_header(client):
    header = "time,open,high,low,close," + ",".join(f"c{i}" for i in range(MAX_COLUMNS))
    response = upload(client, f"{header}\n1700000000,1,2,0.5,1.5\n".encode(), "wide.csv")
    assert response.status_code == 400
    assert response.json["error"]["message"] == (
        f"wide.csv, row 1: the header has {MAX_COLUMNS + 5:,} columns, over the limit of {MAX_COLUMNS}"
    )
    assert client.get("/api/datasets").json["total"] == 3  # the samples only


def test_row12_19_digit_epochs_are_refused_with_file_row_and_column(client):
    rows = "".join(f"{1_700_000_000_000_000_000 + i},1,2,0.5,1.5\n" for i in range(5))
    error = upload(client, f"time,open,high,low,close\n{rows}".encode(), "ns.csv").json["error"]
    assert error["field"] == "time"
    assert error["message"].startswith("ns.csv, row 2, column 'time': cannot read time 1700000000000000000")


def test_row12_microsecond_epochs_are_read_as_documented(client):
    rows = "".join(f"{1_700_000_000_000_000 + i * 60_000_000},1,2,0.5,1.5\n" for i in range(5))
    summary = upload(client, f"time,open,high,low,close\n{rows}".encode(), "us.csv").json["summary"]
    assert (summary["first_time"], summary["interval_seconds"]) == ("2023-11-14T22:13:20Z", 60)
