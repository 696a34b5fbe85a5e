"""Walk-forward runs end to end: real Optuna studies on real journals, the CLI as a user
runs it, and each figure checked against an independent run of the ``backtest`` command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
from scipy import stats

from backtune.data.loader import load_csv
from backtune.optimize.rundir import RunDir
from backtune.optimize.shared_bars import load_bars
from backtune.report import iso_utc
from backtune.walkforward.figures import t_statistic
from backtune.walkforward.holdout import open_holdout, walkforward_report
from backtune.walkforward.runner import WalkForwardProgress, execute_walkforward, oos_backtest, prepare_walkforward
from backtune.walkforward.schedule import Span
from backtune.walkforward.settings import WalkForwardRequest
from backtune.walkforward.stitch import stitch
from tests.conftest import backtesting_csv
from tests.helpers import backtest_window_cli, cli

CAPITAL, COMMISSION, WARMUP = 10_000.0, 0.001, 50
REPORT_KEYS = {
    "run_dir",
    "mode",
    "windows",
    "stitched",
    "wfe",
    "profitable_windows_pct",
    "largest_window_profit_share",
    "t_stat",
    "verdict",
    "holdout",
}


def request(data: Path, **walkforward) -> WalkForwardRequest:
    return WalkForwardRequest.parse(
        {
            "data": str(data),
            "strategy": "sma_cross",
            "workers": 1,
            "seed": 7,
            "budget": {"mode": "trials", "trials": 25},
            "window": {"warmup_bars": WARMUP},
            "capital": CAPITAL,
            "commission": COMMISSION,
            "walkforward": {"windows": 2, "holdout_days": 365, **walkforward},
        }
    )


def run_to_end(data: Path, out: Path, on_progress=None, **walkforward) -> tuple[RunDir, dict]:
    run = prepare_walkforward(request(data, **walkforward), out)
    execute_walkforward(run, on_progress=on_progress)
    return run, walkforward_report(run)


@pytest.fixture(scope="module")
def goog_run(tmp_path_factory):
    return run_to_end(backtesting_csv("GOOG"), tmp_path_factory.mktemp("wf"))


def test_two_windows_on_goog(goog_run):
    run, report = goog_run
    assert REPORT_KEYS <= set(report)
    assert report["status"] == "done" and report["mode"] == "rolling" and len(report["windows"]) == 2
    for k, window in enumerate(report["windows"]):
        assert window["index"] == k and window["trials"] == 25
        assert set(window) >= {"index", "is", "oos", "params", "is_metrics", "oos_metrics", "trials"}
        assert window["is"]["end"] < window["oos"]["start"]
        study = RunDir(run.path / "windows" / window["study"])
        assert window["study"].endswith(f"-w{k:02d}") and study.sqlite.is_file()
        assert optuna.load_study(study_name=f"backtune-w{k:02d}", storage=f"sqlite:///{study.sqlite}").trials
        best = study.read_json(study.results_file)["summary"]["best"]
        assert window["params"] == best["params"] and window["is_metrics"] == best["metrics"]
    assert report["holdout"]["sealed"] is True and report["holdout"]["openings"] == []
    assert report["windows"][-1]["oos"]["end"] < report["holdout"]["start"]


def test_each_window_is_what_the_backtest_command_reports(goog_run):
    _, report = goog_run
    for window in report["windows"]:
        backtest = backtest_window_cli(
            backtesting_csv("GOOG"), window, WARMUP, "--capital", str(CAPITAL), "--commission", str(COMMISSION)
        )
        assert window["oos_metrics"] == backtest["metrics"]
        assert backtest["window"]["start"] == window["oos"]["start"] and backtest["open_position"] is None


def test_stitched_equity_compounds_the_windows(goog_run):
    _, report = goog_run
    stitched = report["stitched"]
    growth = np.prod([1 + w["oos_metrics"]["net_profit_pct"] / 100 for w in report["windows"]])
    assert stitched["metrics"]["net_profit_pct"] == pytest.approx((growth - 1) * 100, rel=1e-9)
    assert stitched["equity"][-1][1] == pytest.approx(CAPITAL * growth, rel=1e-9)
    assert stitched["metrics"]["total_trades"] == sum(w["oos_metrics"]["total_trades"] for w in report["windows"])
    assert len(stitched["trades"]) == stitched["metrics"]["total_trades"]
    entries = [t["entry_time"] for t in stitched["trades"]]
    assert entries == sorted(entries)
    profitable = sum(w["oos_metrics"]["net_profit_pct"] > 0 for w in report["windows"])
    assert report["profitable_windows_pct"] == pytest.approx(100 * profitable / 2)
    criteria = {c["name"]: c for c in report["verdict"]["criteria"]}
    assert criteria["max_drawdown_pct"]["value"] == stitched["metrics"]["max_drawdown_pct"]
    assert criteria["total_trades"]["value"] == stitched["metrics"]["total_trades"]
    assert report["verdict"]["pass"] == all(c["pass"] for c in criteria.values())


def psr_by_the_paper(returns: np.ndarray, benchmark: float) -> float:
    """Bailey & López de Prado (2012): PSR = Φ((SR - SR*) √(n-1) / √(1 - γ3 SR + (γ4 - 1)/4 SR²))."""
    sr = returns.mean() / returns.std(ddof=1)
    g3, g4 = stats.skew(returns), stats.kurtosis(returns, fisher=False)
    z = (sr - benchmark) * np.sqrt(returns.shape[0] - 1) / np.sqrt(1 - g3 * sr + (g4 - 1) / 4 * sr**2)
    return float(stats.norm.cdf(z))


def test_stitched_psr_and_dsr_by_the_papers_formulas(goog_run):
    """The stitched returns rebuilt from the carried parameters; the DSR's N and variance
    from the windows' own results.json (completed trials' per-bar Sharpe ratios)."""
    run, report = goog_run
    bars = load_csv(backtesting_csv("GOOG")).bars
    times = [iso_utc(t) for t in bars.time]
    spans = [Span(times.index(w["oos"]["start"]), times.index(w["oos"]["end"])) for w in report["windows"]]
    base = request(backtesting_csv("GOOG")).base
    results = [oos_backtest(base, bars, span, w["params"]) for span, w in zip(spans, report["windows"])]
    equity = np.concatenate([[CAPITAL], stitch(results).equity])
    returns = equity[1:] / equity[:-1] - 1
    sharpe = report["stitched"]["sharpe"]
    assert t_statistic(equity[1:], CAPITAL) == pytest.approx(report["t_stat"], rel=1e-12)
    assert sharpe["n_returns"] == returns.shape[0]
    assert sharpe["psr"] == pytest.approx(psr_by_the_paper(returns, 0.0), rel=1e-9)

    sharpes = []
    for w in report["windows"]:
        study = RunDir(run.path / "windows" / w["study"])
        sharpes.append(
            [
                r["metrics"]["sharpe_per_bar"]
                for r in study.read_json(study.results_file)["results"]
                if r["state"] == "COMPLETE"
            ]
        )
    n_trials = sum(len(s) for s in sharpes)
    variances = [np.var([x for x in s if x is not None], ddof=1) for s in sharpes]
    pooled = sum((len(s) - 1) * v for s, v in zip(sharpes, variances)) / (n_trials - len(sharpes))
    gamma = np.euler_gamma
    lucky = np.sqrt(pooled) * (
        (1 - gamma) * stats.norm.ppf(1 - 1 / n_trials) + gamma * stats.norm.ppf(1 - 1 / (n_trials * np.e))
    )
    assert sharpe["n_trials"] == n_trials == sum(w["completed_trials"] for w in report["windows"]) > 2
    assert sharpe["sharpe_variance"] == pytest.approx(pooled, rel=1e-9)
    assert sharpe["dsr"] == pytest.approx(psr_by_the_paper(returns, lucky), rel=1e-9, abs=1e-12)
    assert 0 <= sharpe["dsr"] < sharpe["psr"] <= 1


def test_the_holdout_is_never_read_by_a_search(goog_run, tmp_path):
    """Poison every holdout bar: the windows come out identical, only the holdout differs."""
    run, report = goog_run
    frame = pd.read_csv(backtesting_csv("GOOG"), index_col=0)
    sealed = frame.index >= report["holdout"]["start"][:10]
    assert sealed.sum() > 200
    rng = np.random.default_rng(0)
    poison = rng.uniform(1, 5000, size=(sealed.sum(), 1))
    frame.loc[sealed, ["Open", "High", "Low", "Close"]] = np.hstack([poison, poison * 1.1, poison * 0.9, poison])
    poisoned_csv = tmp_path / "GOOG-poisoned.csv"
    frame.to_csv(poisoned_csv)
    poisoned_run, poisoned = run_to_end(poisoned_csv, tmp_path / "runs")
    for clean_window, poisoned_window in zip(report["windows"], poisoned["windows"]):
        assert {k: v for k, v in poisoned_window.items() if k != "study"} == {
            k: v for k, v in clean_window.items() if k != "study"
        }
    assert poisoned["stitched"] == report["stitched"] and poisoned["verdict"] == report["verdict"]
    # The studies' workers were given no bar past their in-sample end.
    for window in poisoned["windows"]:
        bars = load_bars(RunDir(poisoned_run.path / "windows" / window["study"]).bars_dir)
        assert pd.Timestamp(int(bars.time[-1]), tz="UTC") == pd.Timestamp(window["is"]["end"])
    assert open_holdout(poisoned_run)["metrics"] != open_holdout(run)["metrics"]


def test_cancel_keeps_finished_windows_and_resume_continues(goog_run, tmp_path):
    _, uninterrupted = goog_run
    seen = []

    def cancel_in_second_window(progress: WalkForwardProgress) -> None:
        seen.append(progress.window)
        if progress.window == 1 and progress.study.done >= 5:
            run.request_stop()

    run = prepare_walkforward(request(backtesting_csv("GOOG")), tmp_path)
    cancelled = execute_walkforward(run, on_progress=cancel_in_second_window)
    assert cancelled["status"] == "cancelled" and len(cancelled["windows"]) == 1
    assert run.read_json(run.state_file)["status"] == "cancelled"
    first_record = (run.path / "windows" / "w00.json").read_bytes()
    with pytest.raises(ValueError, match="finished 1 of 2 windows"):
        open_holdout(run)

    run.withdraw_stop()
    seen.clear()
    resumed = execute_walkforward(run, on_progress=lambda p: seen.append(p.window))
    assert set(seen) == {1}  # window 0 was not run again
    assert (run.path / "windows" / "w00.json").read_bytes() == first_record
    assert resumed["status"] == "done" and len(resumed["windows"]) == 2
    for mine, theirs in zip(resumed["windows"], uninterrupted["windows"]):
        assert (mine["params"], mine["oos_metrics"], mine["trials"]) == (
            theirs["params"],
            theirs["oos_metrics"],
            theirs["trials"],
        )
    assert resumed["stitched"] == uninterrupted["stitched"]


def test_forward_selection_carries_the_best_forward_result(tmp_path):
    from backtune.data.loader import load_csv
    from backtune.engine.backtest import EngineSettings, run_backtest
    from backtune.metrics import compute_metrics
    from backtune.optimize.score import ScoreConfig
    from backtune.window import DataWindow
    from strategies.sma_cross import STRATEGY

    run, report = run_to_end(backtesting_csv("GOOG"), tmp_path, select="forward", top_k=4)
    bars = load_csv(backtesting_csv("GOOG")).bars
    times = pd.DatetimeIndex(pd.to_datetime(bars.time, utc=True))
    for window in report["windows"]:
        rows = RunDir(run.path / "windows" / window["study"]).read_json(
            RunDir(run.path / "windows" / window["study"]).results_file
        )["results"]
        top = [r for r in rows if r["rank"] is not None and r["rank"] <= 4]
        first = times.get_loc(pd.Timestamp(window["is"]["start"]))
        last = times.get_loc(pd.Timestamp(window["is"]["end"]))
        forward_first = last - round((last - first + 1) * 0.25) + 1
        span = DataWindow(int(bars.time[forward_first]), int(bars.time[last]), WARMUP)
        scores = [
            ScoreConfig().score(
                compute_metrics(
                    run_backtest(
                        bars, STRATEGY, STRATEGY.validate(r["params"]), span, EngineSettings(CAPITAL, COMMISSION)
                    )
                ).as_dict()
            )
            for r in top
        ]
        assert window["params"] == top[int(np.argmax(scores))]["params"]


def independent_retention(row: dict, config, bars) -> float:
    """p5 of the score over the trial's ±1-step sma_cross neighbours (kept in range) over its value."""
    from backtune.engine.backtest import EngineSettings, run_backtest
    from backtune.metrics import compute_metrics
    from backtune.optimize.score import ScoreConfig
    from strategies.sma_cross import STRATEGY

    ranges = {r.name: r for r in config.space.ranges}
    found = {}
    for a in (-1, 0, 1):
        for b in (-1, 0, 1):
            params = dict(row["params"])
            for name, step in (("n1", a), ("n2", b)):
                r = ranges[name]
                value = params[name] + step * int(r.step or 1)
                params[name] = value if r.low <= value <= r.high else params[name]
            if params != row["params"]:
                found[(params["n1"], params["n2"])] = params
    scores = [
        ScoreConfig().score(
            compute_metrics(
                run_backtest(bars, STRATEGY, STRATEGY.validate(p), config.window, EngineSettings(CAPITAL, COMMISSION))
            ).as_dict()
        )
        for p in found.values()
    ]
    value = row["values"][0]
    return np.percentile(scores, 5) / value if value > 0 else -np.inf


def test_robust_selection_carries_the_top_trial_whose_neighbours_keep_most(goog_run, tmp_path):
    from backtune.optimize.config import RunConfig

    def study_of(run: RunDir, window: dict) -> RunDir:
        return RunDir(run.path / "windows" / window["study"])

    best_run, best_report = goog_run
    assert all(
        study_of(best_run, w).read_json(study_of(best_run, w).results_file)["summary"]["robust_best"] is None
        for w in best_report["windows"]
    ), "best selection skips the plateau step"

    run, report = run_to_end(backtesting_csv("GOOG"), tmp_path, select="robust", top_k=3)
    bars = load_csv(backtesting_csv("GOOG")).bars
    for window in report["windows"]:
        study = study_of(run, window)
        config = RunConfig.parse(study.read_json(study.config_file))
        rows = study.read_json(study.results_file)["results"]
        top = sorted((r for r in rows if r["rank"] is not None), key=lambda r: r["rank"])[:3]
        kept = [independent_retention(r, config, bars) for r in top]
        assert window["params"] == top[int(np.argmax(kept))]["params"]


def test_cli_walkforward_and_holdout(tmp_path):
    done = cli(
        "walkforward",
        "--data",
        str(backtesting_csv("GOOG")),
        "--strategy",
        "sma_cross",
        "--windows",
        "2",
        "--trials",
        "15",
        "--workers",
        "2",
        "--warmup",
        str(WARMUP),
        "--holdout-days",
        "365",
        "--threshold",
        "total_trades=5",
        "--out",
        str(tmp_path),
        "--json",
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert REPORT_KEYS <= set(report) and len(report["windows"]) == 2
    assert {c["name"]: c["threshold"] for c in report["verdict"]["criteria"]}["total_trades"] == 5
    for opening in (1, 2):
        opened = cli("holdout", report["run_dir"], "--json")
        assert opened.returncode == 0, opened.stderr
        holdout = json.loads(opened.stdout)
        assert set(holdout) == {"params", "window", "metrics", "openings"} and len(holdout["openings"]) == opening
    assert holdout["params"] == report["windows"][-1]["params"]
    assert holdout["window"] == {"start": report["holdout"]["start"], "end": report["holdout"]["end"]}
    assert walkforward_report(RunDir(Path(report["run_dir"])))["holdout"]["sealed"] is False
    log = (Path(report["run_dir"]) / "run.log").read_text()
    assert log.count("holdout opened") == 2


@pytest.mark.parametrize(
    "args, message",
    [
        (("--is-days", "3200", "--oos-days", "100"), "walkforward.is_days"),
        (("--windows", "2", "--holdout-days", "9000"), "walkforward.holdout_days"),
        (("--windows", "2", "--target", "sharpe,sqn"), "target"),
        (("--windows", "2", "--select", "robust", "--top-k", "21"), "walkforward.top_k"),
    ],
)
def test_cli_refuses_impossible_settings_with_exit_2(tmp_path, args, message):
    done = cli(
        "walkforward",
        "--data",
        str(backtesting_csv("GOOG")),
        "--strategy",
        "sma_cross",
        *args,
        "--workers",
        "1",
        "--out",
        str(tmp_path),
        "--json",
    )
    assert done.returncode == 2
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not any(tmp_path.iterdir())
