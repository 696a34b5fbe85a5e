"""One backtest on the LINK 15m file (19,584 bars): Backtune vs backtesting.py, same run.

backtesting.py's ``Backtest.run`` always computes its statistics, so the ratio judged
against the goal includes Backtune's full metrics too; the engine alone (signals, bar
loop, trade list, equity curves) is printed beside it. Backtune's one-off JIT compile is
done before timing (the on-disk cache makes it a load in later processes anyway). The
cases take turns round after round and every call is timed (see ``call_times``); the
goal is judged on the fastest call of each side, the usual estimate of what code costs
on a machine other tenants share, and the ratio of median calls is printed beside it.
Goal: sma_cross >= 500x faster than backtesting.py.
"""

from __future__ import annotations

import argparse
import os
import warnings

# backtesting.py draws a tqdm progress bar on every run: not part of a backtest's work,
# and it would clutter this script's output. tqdm reads this when it is first imported.
os.environ["TQDM_DISABLE"] = "1"

from _common import LINK_15M, call_times, machine

from backtune.data.loader import load_csv
from backtune.engine.backtest import EngineSettings, run_backtest
from backtune.metrics import compute_metrics
from backtune.registry import get_strategy
from tests.helpers import SmaCross, oracle_frame

GOAL = 500.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=15, help="turns each case takes")
    args = parser.parse_args()

    from backtesting import Backtest

    bars = load_csv(LINK_15M).bars
    settings = EngineSettings(10_000.0, 0.0005)
    sma_cross = get_strategy("sma_cross")
    trailing_ma = get_strategy("trailing_ma")
    sma_params = sma_cross.validate({"n1": 10, "n2": 20})
    tma_params = trailing_ma.validate({})

    def ours(strategy, params):
        return lambda: compute_metrics(run_backtest(bars, strategy, params, settings=settings))

    def engine_only():
        return run_backtest(bars, sma_cross, sma_params, settings=settings)

    ours(sma_cross, sma_params)()
    ours(trailing_ma, tma_params)()
    frame = oracle_frame(bars)

    def theirs():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            Backtest(frame, SmaCross, cash=10_000, commission=0.0005).run(n1=10, n2=20)

    times = call_times(
        {
            "theirs": (theirs, 1),
            "sma": (ours(sma_cross, sma_params), 20),
            "engine": (engine_only, 20),
            "tma": (ours(trailing_ma, tma_params), 20),
        },
        rounds=args.rounds,
    )
    ref, sma, engine, tma = (times[name].fastest for name in ("theirs", "sma", "engine", "tma"))
    ratio = ref / sma
    typical = times["theirs"].median / times["sma"].median
    print(
        f"bars: {len(bars)}; fastest and median single calls over {args.rounds} interleaved rounds "
        f"(backtesting.py 1 call a round, Backtune 20); {machine()}"
    )
    print(f"backtesting.py SmaCross:   {ref * 1e3:9.2f} ms  (median {times['theirs'].median * 1e3:.2f} ms)")
    print(
        f"backtune sma_cross:        {sma * 1e3:9.3f} ms  (median {times['sma'].median * 1e3:.3f} ms; "
        f"engine alone {engine * 1e3:.3f} ms, {ref / engine:,.0f}x; metrics {(sma - engine) * 1e3:.3f} ms)"
    )
    print(f"backtune trailing_ma:      {tma * 1e3:9.3f} ms  ({ref / tma:,.0f}x backtesting.py's SmaCross)")
    print(
        f"sma_cross speed-up: {ratio:,.0f}x fastest vs fastest (goal >= {GOAL:.0f}x) "
        f"{'OK' if ratio >= GOAL else 'BELOW GOAL'}; {typical:,.0f}x median vs median"
    )


if __name__ == "__main__":
    main()
