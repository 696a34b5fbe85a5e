"""Two parameters against the target over the completed trials, as a grid of cells.

Each cell holds the trials whose two parameters fall in it, aggregated by max (where the
best points are) and by median (how good the region is typically: a bright max over a
dark median is an isolated peak). A parameter with at most ``MAX_CELLS`` distinct values
gets one row or column per value; others are cut into ``MAX_CELLS`` equal-width bins.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

MAX_CELLS = 20


def _axis(values: list[Any]) -> tuple[list[Any], list[int]]:
    """Axis labels and each value's cell index."""
    distinct = sorted(set(values), key=lambda v: (isinstance(v, str), v))
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in distinct)
    if len(distinct) <= MAX_CELLS or not numeric:
        where = {v: i for i, v in enumerate(distinct)}
        return distinct, [where[v] for v in values]
    edges = np.linspace(min(distinct), max(distinct), MAX_CELLS + 1)
    index = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, MAX_CELLS - 1)
    labels = [float((edges[i] + edges[i + 1]) / 2) for i in range(MAX_CELLS)]
    return labels, index.tolist()


def heatmap(rows: Sequence[Mapping[str, Any]], x: str, y: str) -> dict[str, Any]:
    """Cells of the completed ``rows``' first target value by parameters ``x`` and ``y``."""
    complete = [
        r
        for r in rows
        if r.get("rank") is not None
        and r.get("values")
        and r["values"][0] is not None
        and math.isfinite(r["values"][0])
    ]
    for name in (x, y):
        if complete and name not in complete[0]["params"]:
            raise KeyError(name)
    xs, xi = _axis([r["params"][x] for r in complete])
    ys, yi = _axis([r["params"][y] for r in complete])
    cells: dict[tuple[int, int], list[float]] = {}
    for row, i, j in zip(complete, xi, yi):
        cells.setdefault((j, i), []).append(row["values"][0])

    def grid(aggregate, cast=float) -> list[list[Any]]:
        return [
            [cast(aggregate(cells[(j, i)])) if (j, i) in cells else None for i in range(len(xs))]
            for j in range(len(ys))
        ]

    return {
        "x": {"name": x, "values": xs},
        "y": {"name": y, "values": ys},
        "max": grid(max),
        "median": grid(np.median),
        "count": grid(len, int),
    }
