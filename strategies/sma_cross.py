"""Moving-average crossover, as backtesting.py's ``SmaCross`` example trades it.

A golden cross (fast SMA crossing above slow) closes any position and goes long with all
available equity; a death cross is the mirror. (After a tie between the averages, two
golden crosses can follow each other; the second closes the long and opens a new one.)
Orders fill at the next bar's open in whole units. Reproducing backtesting.py trade for
trade makes it the engine's oracle.
"""

from __future__ import annotations

import sys

import numpy as np
from numba import njit

from backtune.data.ohlcv import OHLCV
from backtune.engine.signals import ExecutionRules, Fill, Signals, Sizing
from backtune.indicators import sma_pair
from backtune.params import Param, ParamError
from backtune.strategy import Params, Strategy

PARAMS = (
    Param(
        "n1",
        "int",
        10,
        label="Fast SMA length",
        group="Averages",
        min=5,
        max=50,
        step=5,
        bounds=(1, 10_000),
        description="Bars in the fast simple moving average of close.",
    ),
    Param(
        "n2",
        "int",
        20,
        label="Slow SMA length",
        group="Averages",
        min=10,
        max=200,
        step=10,
        bounds=(2, 10_000),
        description="Bars in the slow simple moving average of close; must exceed the fast length.",
    ),
)


@njit(cache=True)
def crossings(fast: np.ndarray, slow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Golden crosses (``fast`` went from strictly below ``slow`` to strictly above) and
    death crosses (the mirror), in one compiled pass instead of numpy's ten temporaries."""
    n = fast.shape[0]
    golden = np.zeros(n, dtype=np.bool_)
    death = np.zeros(n, dtype=np.bool_)
    for t in range(1, n):
        golden[t] = fast[t - 1] < slow[t - 1] and fast[t] > slow[t]
        death[t] = slow[t - 1] < fast[t - 1] and slow[t] > fast[t]
    return golden, death


def signals(bars: OHLCV, params: Params) -> Signals:
    golden, death = crossings(*sma_pair(bars.close, params["n1"], params["n2"]))
    return Signals.build(len(bars), entry_long=golden, entry_short=death)


def rules(params: Params) -> ExecutionRules:
    # One machine epsilon of equity held back, as backtesting.py does, so that rounding
    # can never make an all-in order cost more than the account holds.
    return ExecutionRules(
        fill=Fill.NEXT_OPEN,
        sizing=Sizing.ALL_IN,
        lot_size=1.0,
        equity_fraction=1.0 - sys.float_info.epsilon,
        reverse=True,
        reenter=True,
    )


def check(params: Params) -> None:
    if params["n1"] >= params["n2"]:
        raise ParamError("n1", f"fast length {params['n1']} must be below slow length {params['n2']}")


STRATEGY = Strategy(
    id="sma_cross",
    name="SMA crossover",
    description="Long on a golden cross, short on a death cross, always in the market once started.",
    params=PARAMS,
    signals=signals,
    rules=rules,
    check=check,
)
