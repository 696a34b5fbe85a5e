"""trailing_ma against the reference trade list and against a literal reading of the spec."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from backtune.engine.backtest import EngineSettings, run_backtest
from backtune.indicators import MA_TYPES
from backtune.window import DataWindow, resolve_window
from strategies.trailing_ma import STRATEGY
from tests.spec_trailing_ma import run_spec


def test_reproduces_reference_case_exactly(trailing_ma_case, link_bars):
    case = json.loads((trailing_ma_case / "case.json").read_text())
    expected = pd.read_csv(trailing_ma_case / case["expected"]["trades_file"])
    tol = case["expected"]["tolerances"]
    w = case["window"]
    result = run_backtest(
        link_bars,
        STRATEGY,
        STRATEGY.validate(case["params"]),
        DataWindow.parse(w["start"], w["end"], w["warmup_bars"]),
        EngineSettings(case["initial_capital"], case["commission"]),
    )
    trades = result.trades
    assert len(trades) == case["expected"]["total_trades"] == len(expected)
    assert list(np.where(trades.direction == 1, "long", "short")) == list(expected.direction)
    assert list(pd.to_datetime(trades.entry_time, utc=True)) == list(pd.to_datetime(expected.entry_time))
    assert list(pd.to_datetime(trades.exit_time, utc=True)) == list(pd.to_datetime(expected.exit_time))
    np.testing.assert_allclose(trades.entry_price, expected.entry_price, rtol=0, atol=tol["price"])
    np.testing.assert_allclose(trades.exit_price, expected.exit_price, rtol=0, atol=tol["price"])
    np.testing.assert_allclose(trades.size, expected["size"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(trades.net_pnl, expected.net_pnl, rtol=0, atol=tol["net_pnl"])
    np.testing.assert_allclose(trades.pnl_pct, expected.profit_pct, rtol=0, atol=1e-6)
    net_profit_pct = (result.equity[-1] / case["initial_capital"] - 1) * 100
    assert net_profit_pct == pytest.approx(case["expected"]["net_profit_pct"], abs=tol["net_profit_pct"])


def _spec_cases():
    rng = np.random.default_rng(7)
    for i, ma in enumerate(MA_TYPES):
        params = {p.name: p.default for p in STRATEGY.params}
        for p in STRATEGY.params:
            if p.optimize and p.type == "int":
                params[p.name] = int(rng.choice(np.arange(p.min, p.max + 1, p.step)))
            elif p.optimize and p.type == "float":
                params[p.name] = float(np.round(rng.choice(np.arange(p.min, p.max + p.step / 2, p.step)), 6))
        params["maType"] = ma
        params["trailMaType"] = MA_TYPES[(i + 3) % len(MA_TYPES)]
        yield pytest.param(params, id=f"{ma}-trail-{params['trailMaType']}")


@pytest.mark.parametrize("params", list(_spec_cases()))
@pytest.mark.parametrize("dataset", ["link_bars", "sui_bars"])
def test_matches_literal_spec_on_other_parameters(params, dataset, request):
    bars = request.getfixturevalue(dataset)
    window = DataWindow.parse("2025-07-01", "2025-10-01", 500)
    settings = EngineSettings(1_000.0, 0.001)
    result = run_backtest(bars, STRATEGY, STRATEGY.validate(params), window, settings)
    span = resolve_window(bars, window)
    spec_trades, spec_equity = run_spec(bars.slice(span.first, span.last), params, span.trade_start, 1_000.0, 0.001)
    assert len(spec_trades) > 5, "parameter set too quiet to prove anything"
    got = [
        (int(d), int(e), int(x))
        for d, e, x in zip(result.trades.direction, result.trades.entry_idx, result.trades.exit_idx)
    ]
    assert got == [(d, e, x) for d, e, x, *_ in spec_trades]
    spec = np.array([t[3:] for t in spec_trades])
    got_values = np.column_stack(
        [result.trades.entry_price, result.trades.exit_price, result.trades.size, result.trades.net_pnl]
    )
    np.testing.assert_allclose(got_values, spec, rtol=1e-12, atol=1e-9)
    assert result.equity[-1] == pytest.approx(spec_equity, rel=1e-12)
