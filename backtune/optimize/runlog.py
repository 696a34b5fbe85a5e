"""The run's log file: one line per event that matters, from every process of the run."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from backtune.optimize.rundir import RunDir

FORMAT = "%(asctime)s %(levelname)s %(processName)s %(message)s"


def echo_to_stderr() -> None:
    """This process's ``backtune`` log lines on stderr too: a remote host's worker command
    (and its container's log) then shows each event its workers write to the local run.log."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(FORMAT))
    logging.getLogger("backtune").addHandler(handler)


@contextmanager
def run_log(run: RunDir) -> Iterator[None]:
    """Append this process's ``backtune`` log lines to ``run.log`` while the block runs.

    Short appends from several processes land whole, so workers and the coordinator
    share one file. Nested use (an in-process worker inside its coordinator) is a no-op.
    """
    logger = logging.getLogger("backtune")
    if any(getattr(h, "baseFilename", None) == str(run.log_file.resolve()) for h in logger.handlers):
        yield
        return
    handler = logging.FileHandler(run.log_file)
    handler.setFormatter(logging.Formatter(FORMAT))
    previous_level = logger.level
    logger.addHandler(handler)
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous_level)
        handler.close()
