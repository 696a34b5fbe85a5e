"""JSON-safe numbers: the reports' convention (as ``Metrics.as_dict``) that NaN and ±inf are null."""

from __future__ import annotations

import math


def finite_or_none(value: float | None) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None
