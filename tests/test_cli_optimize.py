"""``python -m app optimize`` and ``resume`` as a user runs them, including Ctrl-C."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest

from tests.conftest import ROOT, backtesting_csv
from tests.helpers import cli

pytestmark = pytest.mark.slow  # each test runs the CLI, and most an optimisation, in a subprocess

GOOG = str(backtesting_csv("GOOG"))
SPACE = json.dumps({"n1": {"low": 5, "high": 30}, "n2": {"low": 40, "high": 120, "step": 5}})


def test_optimize_json_summary_then_resume(tmp_path):
    done = cli(
        "optimize",
        "--data",
        GOOG,
        "--strategy",
        "sma_cross",
        "--space",
        SPACE,
        "--trials",
        "16",
        "--workers",
        "2",
        "--sampler",
        "random",
        "--out",
        str(tmp_path),
        "--json",
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert {"run_dir", "study_name", "paths", "trials", "best", "timings", "trials_per_s"} <= set(summary)
    assert 16 <= summary["trials"]["total"] <= 17
    assert set(summary["best"]) >= {"number", "value", "params", "metrics"}
    assert set(summary["timings"]) == {"optimize_s", "dump_s", "total_s"}
    assert "journal" not in summary["paths"]
    assert "trial" in done.stderr  # the progress bar
    run_dir = Path(summary["run_dir"])
    csv_text = (run_dir / "results.csv").read_text()
    assert csv_text.startswith("# Metadata") and "# Fixed parameters" in csv_text and "# Ranked trials" in csv_text

    resumed = cli("resume", str(run_dir), "--trials", "6", "--json")
    assert resumed.returncode == 0, resumed.stderr
    again = json.loads(resumed.stdout)
    assert 6 <= again["trials"]["total"] - summary["trials"]["total"] <= 7  # overshoot: workers - 1
    study = optuna.load_study(study_name="backtune", storage=f"sqlite:///{run_dir / 'study.db'}")
    assert [t.number for t in study.trials] == list(range(again["trials"]["total"]))


def test_a_run_with_seeds_resumes_with_fewer_trials_than_seeds(tmp_path):
    """Seeds belong to the first budget: a resume smaller than their count is fine."""
    seeds = json.dumps([{"n1": 10, "n2": 40}, {"n1": 12, "n2": 50}, {"n1": 7, "n2": 90}])
    done = cli(
        "optimize",
        "--data",
        GOOG,
        "--strategy",
        "sma_cross",
        "--space",
        SPACE,
        "--trials",
        "4",
        "--workers",
        "1",
        "--seed-params",
        seeds,
        "--out",
        str(tmp_path),
        "--json",
    )
    assert done.returncode == 0, done.stderr
    run_dir = json.loads(done.stdout)["run_dir"]
    resumed = cli("resume", run_dir, "--trials", "1", "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["trials"]["total"] == 5


def test_text_summary_names_the_best_the_overfitting_and_the_robust_best(tmp_path):
    done = cli(
        "optimize",
        "--data",
        GOOG,
        "--strategy",
        "sma_cross",
        "--space",
        SPACE,
        "--trials",
        "12",
        "--workers",
        "1",
        "--plateau-top",
        "2",
        "--out",
        str(tmp_path),
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("done: 12 trials") and lines[1].startswith("best trial #")
    assert lines[2].startswith("overfitting: PBO ") and "over 12 trials" in lines[2]
    robust = r"robust best \(retention of the 2 best trials' neighbours\): #\d+ \(\S+\), #\d+ \(\S+\)"
    assert re.fullmatch(robust, lines[3])


def test_keep_journal_leaves_it_in_the_run_directory(tmp_path):
    done = cli(
        "optimize",
        "--data",
        GOOG,
        "--strategy",
        "sma_cross",
        "--trials",
        "5",
        "--workers",
        "1",
        "--out",
        str(tmp_path),
        "--keep-journal",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    journal = Path(json.loads(done.stdout)["paths"]["journal"])
    assert journal.is_file() and journal.parent == Path(json.loads(done.stdout)["run_dir"])


def test_ctrl_c_cancels_cleanly_with_a_dump_and_a_summary(tmp_path):
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "app",
            "optimize",
            "--data",
            GOOG,
            "--strategy",
            "sma_cross",
            "--budget",
            "time",
            "--timeout",
            "120",
            "--workers",
            "2",
            "--out",
            str(tmp_path),
            "--json",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 60
    while time.time() < deadline and not list(tmp_path.glob("*/workers/worker-1.json")):
        time.sleep(0.1)
    time.sleep(1.0)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    summary = json.loads(stdout)
    assert summary["status"] == "cancelled" and summary["trials"]["total"] > 0
    assert Path(summary["paths"]["sqlite"]).is_file()
    assert summary["timings"]["optimize_s"] < 30


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--target", "alpha"], "unknown target"),
        (["--workers", "40"], "workers: expected 1 to 32"),
        (["--budget", "time"], "budget.seconds"),
        (["--space", '{"n1": {"low": 9, "high": 3}}'], "parameter 'n1'"),
        (["--sampler", "nope"], "--sampler"),
        (["--constraint", "trades>3"], "--constraint"),
        (["--plateau-top", "21"], "plateau_top"),
    ],
)
def test_optimize_errors_are_one_line_with_exit_code_2(tmp_path, args, fragment):
    done = cli("optimize", "--data", GOOG, "--strategy", "sma_cross", "--out", str(tmp_path), *args)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0]


def test_resume_refuses_a_folder_that_is_not_a_run(tmp_path):
    done = cli("resume", str(tmp_path), "--trials", "3")
    assert done.returncode == 2 and "not a finished run directory" in done.stderr
