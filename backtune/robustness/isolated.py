"""A trial's robustness report computed in a process of its own (``backtune.child`` says why).

Its plateau backtests up to 729 neighbours and its Monte Carlo draws 2 x 10,000
scenarios: seconds of CPU that, inside a web worker, would hold every other request of
that worker. A child computes the report into the run's cache and prints it; a report
already cached (the best trials' plateaus come from the run's end) is read without one.

``python -m backtune.robustness.isolated RUN_DIR NUMBER SCENARIOS SEED [DRAWDOWN]``
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from backtune.child import run_child
from backtune.optimize.rundir import RunDir
from backtune.robustness.report import cached_robustness

# A report of 729 neighbours takes seconds; this bounds a request on a huge data file.
LIMIT_S = 120.0


def robustness_report(
    run: RunDir, number: int, scenarios: int, seed: int, drawdown_pct: float | None, limit_s: float = LIMIT_S
) -> dict[str, Any]:
    """Trial ``number``'s report (a completed trial of the finished run); ChildFailed when
    the child could not compute it within ``limit_s``."""
    cached = cached_robustness(run, number, scenarios, seed, drawdown_pct)
    if cached is not None:
        return cached
    args = [str(run.path), str(number), str(scenarios), str(seed)]
    return run_child(__name__, args + ([repr(drawdown_pct)] if drawdown_pct is not None else []), limit_s)


def main(run_dir: str, number: str, scenarios: str, seed: str, drawdown_pct: str | None = None) -> int:
    from backtune.robustness.report import trial_robustness

    run = RunDir(Path(run_dir))
    rows = run.read_json(run.results_file)["results"]
    level = None if drawdown_pct is None else float(drawdown_pct)
    print(json.dumps(trial_robustness(run, rows, int(number), int(scenarios), int(seed), drawdown_pct=level)))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:6]))
