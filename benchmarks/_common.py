"""Helpers every benchmark shares: where the data is, and noise-resistant timing."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
LINK_15M = SHARED_DATA / "okx_linkusdt_p_15m_2025-05-01_2025-11-20.csv"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def best_time(fn: Callable[[], object], repeat: int, number: int = 1) -> float:
    """Fastest mean of ``number`` calls over ``repeat`` rounds: on a shared, noisy machine the
    minimum is the best estimate of what the code itself costs."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best
