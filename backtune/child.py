"""Work done in a short-lived Python process of its own, which answers one JSON object.

A web worker runs gevent: CPU-bound work inside it holds every other request of that
worker for as long, and the memory it peaks at stays with the worker. So the heavy work a
request can start (parsing a large upload, a trial's robustness report) runs as
``python -m <module> ARGS``, a child that prints one JSON object; the worker waits for it
cooperatively (gevent patches ``subprocess``) and the child's memory leaves with it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class ChildFailed(Exception):
    """The child printed no answer: killed (out of memory, the time limit) or crashed."""


def run_child(module: str, args: list[str], timeout_s: float | None = None) -> dict[str, Any]:
    """The JSON object ``python -m module args`` printed; ChildFailed says why there is none."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", module, *args],
            cwd=PROJECT_ROOT,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            check=False,
            timeout=timeout_s,
        )
    except subprocess.TimeoutExpired:
        raise ChildFailed(f"stopped after the {timeout_s:g} s limit") from None
    try:
        return json.loads(done.stdout)
    except ValueError:
        raise ChildFailed(f"stopped with code {done.returncode}") from None
