"""``python -m backtune.jobs RUN_DIR RUNS_DIR MAX_JOBS``: run one job to its end (see
``backtune.jobs.coordinator``).

A thin launcher on purpose. The job's worker pool starts first, so its processes warm
up while this one imports the coordinator (pandas, SQLAlchemy, the dump); and since
spawned processes import the main module again, importing the coordinator only under
the guard keeps it out of them.
"""

import sys
from pathlib import Path

if __name__ == "__main__":
    from backtune.optimize.pool import warm_pool
    from backtune.optimize.rundir import RunDir

    run = RunDir(Path(sys.argv[1]))
    with warm_pool(run.read_json(run.config_file)["workers"]) as pool:
        from backtune.jobs.coordinator import main

        sys.exit(main(*sys.argv[1:4], pool=pool))
