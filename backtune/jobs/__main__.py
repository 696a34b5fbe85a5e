"""``python -m backtune.jobs RUN_DIR RUNS_DIR MAX_JOBS``: run one job to its end (see
``backtune.jobs.coordinator``).

A thin launcher on purpose: the coordinator's workers are spawned processes, and each
imports the main module again before its own, so the coordinator (with pandas,
SQLAlchemy and the dump) is imported only under the guard.
"""

import sys

if __name__ == "__main__":
    from backtune.jobs.coordinator import main

    sys.exit(main(*sys.argv[1:4]))
