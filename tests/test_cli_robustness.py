"""``optimize --json`` carries the overfitting statistics; ``robustness RUN_DIR`` reports plateaus and Monte Carlo."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import ROOT, backtesting_csv
from tests.helpers import cli

GOOG = str(backtesting_csv("GOOG"))
SPACE = json.dumps({"n1": {"low": 5, "high": 30}, "n2": {"low": 40, "high": 120, "step": 5}})
OVERFITTING_KEYS = {
    "pbo",
    "logits",
    "degradation",
    "prob_oos_loss",
    "blocks",
    "n_trials_used",
    "sharpe_variance",
    "n_trials",
}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    done = cli(
        "optimize",
        "--data",
        GOOG,
        "--strategy",
        "sma_cross",
        "--space",
        SPACE,
        "--trials",
        "24",
        "--workers",
        "2",
        "--sampler",
        "random",
        "--seed",
        "4",
        "--cscv-blocks",
        "6",
        "--out",
        str(tmp_path_factory.mktemp("runs")),
        "--json",
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_optimize_json_and_results_json_carry_the_overfitting_statistics(run_dir):
    over = run_dir["overfitting"]
    assert set(over) == OVERFITTING_KEYS
    assert over["blocks"] == 6 and len(over["logits"]) == 20 and over["n_trials_used"] == over["n_trials"]
    assert over["pbo"] == pytest.approx(np.mean(np.array(over["logits"]) <= 0))
    assert set(over["degradation"]) == {"slope", "r2"}
    results = json.loads((ROOT / run_dir["run_dir"] / "results.json").read_text())
    assert results["summary"]["overfitting"] == over
    complete = [r for r in results["results"] if r["rank"] is not None]
    assert all(
        0 <= r["metrics"]["psr"] <= 1 and 0 <= r["metrics"]["dsr"] <= r["metrics"]["psr"]
        for r in complete
        if r["metrics"]["psr"] is not None
    )
    assert "psr" in (ROOT / run_dir["run_dir"] / "results.csv").read_text().splitlines()[-len(results["results"]) - 1]


def test_robustness_json_and_text(run_dir):
    done = cli("robustness", run_dir["run_dir"], "--top", "3", "--scenarios", "500", "--workers", "2", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert [t["plateau"]["number"] for t in report["trials"]] == [t["number"] for t in report["trials"]]
    assert len(report["trials"]) == 3 and sorted(report["robust_order"]) == sorted(
        t["number"] for t in report["trials"]
    )
    assert report["trials"][0]["number"] == run_dir["best"]["number"]
    assert report["trials"][0]["monte_carlo"]["scenarios"] == 500
    # The run's own plateau step (seed 1, top 5) covers these three: the CLI reads them back.
    at_run_end = {t["number"]: t for t in run_dir["robust_best"]["trials"]}
    assert all(t["plateau"] == at_run_end[t["number"]] for t in report["trials"])
    text = cli(
        "robustness",
        run_dir["run_dir"],
        "--trial",
        str(run_dir["best"]["number"]),
        "--scenarios",
        "500",
        "--drawdown",
        "7.5",
    )
    assert text.returncode == 0, text.stderr
    assert "robust best order" in text.stdout and "reshuffle" in text.stdout and "bootstrap" in text.stdout
    assert "P(drawdown > 7.5%)" in text.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["--trial", "100000"], "no completed trial 100000"),
        (["--top", "0"], "--top"),
        (["--drawdown", "0"], "--drawdown"),
    ],
)
def test_bad_robustness_input_is_one_line_with_exit_code_2(run_dir, args, message):
    done = cli("robustness", run_dir["run_dir"], *args)
    assert done.returncode == 2 and message in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_not_a_run_directory(tmp_path):
    done = cli("robustness", str(tmp_path))
    assert done.returncode == 2 and "not a finished run directory" in done.stderr
