"""The run-end plateau step: the best trials' neighbourhoods and their "robust best" order.

The trial with the best in-sample value is often the one on the narrowest peak. So when
a run ends (like CSCV, it needs the finished population), the ``plateau_top`` best
trials are re-tested with every parameter moved one step, on the run's warm pool when it
has one, and ranked again by retention: the order a trader should read them in when
trusting a parameter set matters more than its last percent of profit. Each plateau is
also cached as the trial's on-demand report's (``backtune.robustness.report``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from backtune.optimize.config import RunConfig
from backtune.optimize.rundir import RunDir
from backtune.robustness.plateau import best_numbers, plateaus, robust_order
from backtune.robustness.report import save_plateau

# The neighbour sample's seed: the on-demand report with this seed reuses the run's plateaus.
PLATEAU_SEED = 1


def robust_best(
    run: RunDir, config: RunConfig, rows: Sequence[dict[str, Any]], pool: Any = None
) -> dict[str, Any] | None:
    """The run summary's ``robust_best`` object, its trials' plateau summaries in robust
    order (None when ``plateau_top`` is 0 or nothing completed); adds ``plateau`` and
    ``robust_rank`` to the chosen rows."""
    numbers = best_numbers(rows, config.plateau_top)
    if not numbers:
        return None
    started = time.perf_counter()
    batch = plateaus(run, rows, numbers, PLATEAU_SEED, pool)
    reports = [save_plateau(run, p, config, PLATEAU_SEED) for p in batch.plateaus]
    summaries = {r["number"]: {k: v for k, v in r.items() if k != "table"} for r in reports}
    order = robust_order(list(summaries.values()))
    by_number = {r["number"]: r for r in rows}
    for robust_rank, number in enumerate(order, start=1):
        by_number[number].update(plateau=summaries[number], robust_rank=robust_rank)
    return {
        "top": config.plateau_top,
        "seed": PLATEAU_SEED,
        "trials": [summaries[n] for n in order],
        "neighbours": sum(s["neighbours"] + s["invalid"] for s in summaries.values()),
        "backtested": batch.backtested,
        "seconds": time.perf_counter() - started,
    }
