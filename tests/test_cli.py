"""The command line as a user runs it: a real subprocess, stdout JSON, one-line errors."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.conftest import LINK_15M, backtesting_csv
from tests.helpers import cli

pytestmark = pytest.mark.slow  # every test runs the CLI in a subprocess (imports, numba cache loads)


def test_backtest_json_reproduces_the_reference_case(trailing_ma_case):
    case = json.loads((trailing_ma_case / "case.json").read_text())
    w = case["window"]
    done = cli(
        "backtest",
        "--data",
        str(LINK_15M),
        "--strategy",
        "trailing_ma",
        "--params",
        json.dumps(case["params"]),
        "--start",
        w["start"],
        "--end",
        w["end"],
        "--warmup",
        str(w["warmup_bars"]),
        "--capital",
        "100",
        "--commission",
        "0.0005",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert set(report) == {"strategy", "params", "window", "metrics", "trades", "open_position"}
    assert report["strategy"] == "trailing_ma" and report["params"] == case["params"]
    assert report["window"]["start"] == "2025-06-15T00:00:00Z" and report["window"]["warmup_bars"] == 1000
    expected = pd.read_csv(trailing_ma_case / "trades.csv")
    trades = report["trades"]
    assert len(trades) == len(expected) == 93
    first = trades[0]
    assert set(first) == {
        "direction",
        "entry_time",
        "exit_time",
        "entry_price",
        "exit_price",
        "size",
        "net_pnl",
        "pnl_pct",
        "bars",
    }
    assert first["direction"] == expected.direction[0]
    assert pd.Timestamp(first["entry_time"]) == pd.Timestamp(expected.entry_time[0])
    assert first["net_pnl"] == pytest.approx(expected.net_pnl[0], abs=1e-6)
    assert report["metrics"]["net_profit_pct"] == pytest.approx(case["expected"]["net_profit_pct"], abs=1e-6)
    assert report["metrics"]["total_trades"] == 93


def test_backtest_summary_is_readable_and_params_default():
    done = cli(
        "backtest",
        "--data",
        str(backtesting_csv("GOOG")),
        "--strategy",
        "sma_cross",
        "--capital",
        "10000",
        "--commission",
        "0.002",
    )
    assert done.returncode == 0, done.stderr
    assert "Net profit %" in done.stdout and "462.64" in done.stdout


def test_params_can_come_from_a_file(tmp_path):
    params = tmp_path / "p.json"
    params.write_text(json.dumps({"n1": 5, "n2": 30}))
    done = cli(
        "backtest", "--data", str(backtesting_csv("GOOG")), "--strategy", "sma_cross", "--params", str(params), "--json"
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["params"] == {"n1": 5, "n2": 30}


def test_strategies_json_lists_declarations():
    done = cli("strategies", "--json")
    assert done.returncode == 0
    listed = {s["id"]: s for s in json.loads(done.stdout)}
    assert {"trailing_ma", "sma_cross"} <= set(listed)
    ma_type = next(p for p in listed["trailing_ma"]["params"] if p["name"] == "maType")
    assert ma_type["type"] == "choice" and "KAMA" in ma_type["choices"]
    n1 = next(p for p in listed["sma_cross"]["params"] if p["name"] == "n1")
    assert {"name", "type", "default", "min", "max", "step", "choices", "label", "group", "description"} <= set(n1)


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["backtest", "--data", "missing.csv", "--strategy", "sma_cross"], "no such file"),
        (["backtest", "--data", "GOOG", "--strategy", "nope"], "unknown strategy 'nope'"),
        (["backtest", "--data", "GOOG", "--strategy", "sma_cross", "--params", "{bad json"], "invalid JSON"),
        (["backtest", "--data", "GOOG", "--strategy", "sma_cross", "--params", '{"n3": 1}'], "parameter 'n3'"),
        (["backtest", "--data", "GOOG", "--strategy", "sma_cross", "--params", '{"n1": "x"}'], "parameter 'n1'"),
        (["backtest", "--data", "GOOG", "--strategy", "sma_cross", "--start", "2030-01-01"], "no bars"),
        (["backtest", "--data", "GOOG", "--strategy", "sma_cross", "--capital", "-5"], "capital"),
        (["backtest", "--data", "GOOG", "--strategy", "sma_cross", "--commission", "0.5"], "commission"),
        (["backtest", "--data", "GOOG", "--strategy", "sma_cross", "--warmup", "x"], "--warmup"),
        (["backtest", "--strategy", "sma_cross"], "--data"),
    ],
)
def test_errors_are_one_line_on_stderr_with_exit_code_2(args, fragment):
    args = [str(backtesting_csv("GOOG")) if a == "GOOG" else a for a in args]
    done = cli(*args)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], done.stderr


def test_bad_csv_error_names_file_row_and_column(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("time,open,high,low,close\n1700000000,1,2,0.5,1.5\n1700000060,1,0.4,0.5,1.5\n")
    done = cli("backtest", "--data", str(bad), "--strategy", "sma_cross")
    assert done.returncode == 2
    line = done.stderr.strip()
    assert "bad.csv" in line and "3" in line and "high" in line
