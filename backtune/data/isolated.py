"""Validating a large file in a short-lived process of its own, so its memory leaves with it.

Parsing holds the file's columns, their converted values and the bars at once: about 2.5
times the file at its peak. In a web worker, that peak would stay as the worker's size
(freed memory goes back to its allocator, not to the system) and a handful of large
uploads would take the host; under gevent the parse would also hold the worker's loop for
its seconds. Here the worker streams the upload to disk and waits (cooperatively) for a
process that parses it from the file, fills the parse cache and reports the summary or the
located error as JSON. Later loads of the same content are cache hits.

``python -m backtune.data.isolated PATH NAME SHA256 CACHE_DIR``
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

from backtune.child import ChildFailed, run_child
from backtune.data.errors import DataError
from backtune.data.summary import DataSummary


def summarise_file(path: Path, name: str, sha256: str, cache_dir: Path) -> DataSummary:
    """The file's summary, validated by a child process; raises its DataError, located."""
    try:
        answer = run_child(__name__, [str(path), name, sha256, str(cache_dir)])
    except ChildFailed as exc:
        # Killed (out of memory) or crashed: nothing located to say, but never a 500.
        raise DataError(f"the file could not be read (the parser {exc})", file=name) from None
    if "error" in answer:
        raise DataError(**answer["error"])
    return DataSummary(**answer["summary"])


def main(path: str, name: str, sha256: str, cache_dir: str) -> int:
    from backtune.data.loader import load_csv

    try:
        summary = load_csv(Path(path), name=name, sha256=sha256, max_bytes=None, cache_dir=Path(cache_dir)).summary
    except DataError as exc:
        print(json.dumps({"error": {"reason": exc.reason, "file": exc.file, "row": exc.row, "column": exc.column}}))
    else:
        print(json.dumps({"summary": asdict(summary)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))
