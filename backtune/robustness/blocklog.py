"""Per-trial block statistics, written by the workers to files of their own in the run directory.

CSCV needs, per trial, ``(n, sum, sum of squares)`` of its per-bar returns in each of S
blocks: 48 numbers at S = 16. As a user attribute they would go through the Optuna
journal, which every worker re-reads and parses after each of its own appends, and into
the SQLite dump; here each worker appends one fixed-size binary record per trial (trial
number plus the table) to ``blocks/worker-<i>.f64`` with a single unbuffered write, and
the coordinator reads all files with ``numpy.fromfile`` after the run. A worker on
another host (a database-backed run) writes on its own disk; the coordinator backtests
the trials it cannot find again (``overfitting.block_table``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

FOLDER = "blocks"


class BlockLog:
    """Appends ``(trial number, blocks x 3 table)`` records for one worker."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    @classmethod
    def for_worker(cls, run_path: Path, index: int) -> BlockLog:
        return cls(run_path / FOLDER / f"worker-{index}.f64")

    def append(self, number: int, table: np.ndarray) -> None:
        os.write(self._fd, np.concatenate(([float(number)], table.ravel())).tobytes())

    def close(self) -> None:
        os.close(self._fd)


def read_block_logs(run_path: Path, blocks: int) -> dict[int, np.ndarray]:
    """Trial number -> (blocks x 3) table from every worker's file; a later record of the
    same trial (a resumed run re-using a worker index) wins. A torn last record (a worker
    killed mid-write) is ignored."""
    width = 1 + 3 * blocks
    found: dict[int, np.ndarray] = {}
    for path in sorted((run_path / FOLDER).glob("worker-*.f64")):
        data = np.fromfile(path, dtype=np.float64)
        records = data[: data.shape[0] // width * width].reshape(-1, width)
        for record in records:
            found[int(record[0])] = record[1:].reshape(blocks, 3)
    return found
