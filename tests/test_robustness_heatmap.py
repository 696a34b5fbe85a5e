"""Heatmap cells against a plain group-by over the trials."""

from __future__ import annotations

import numpy as np
import pytest

from backtune.robustness.heatmap import MAX_CELLS, heatmap


def rows(points):
    return [{"rank": i + 1, "params": {"a": a, "b": b, "c": "x"}, "values": [v]} for i, (a, b, v) in enumerate(points)]


def test_cells_hold_max_median_and_count_of_their_trials():
    rng = np.random.default_rng(1)
    points = [(int(rng.integers(1, 4)), str(rng.choice(["SMA", "EMA"])), float(rng.normal())) for _ in range(60)]
    got = heatmap(rows(points) + [{"rank": None, "params": {"a": 1, "b": "SMA"}, "values": [99.0]}], "a", "b")
    assert got["x"]["values"] == [1, 2, 3] and got["y"]["values"] == ["EMA", "SMA"]
    for j, b in enumerate(got["y"]["values"]):
        for i, a in enumerate(got["x"]["values"]):
            values = [v for pa, pb, v in points if (pa, pb) == (a, b)]
            assert got["count"][j][i] == len(values)
            assert got["max"][j][i] == max(values)
            assert got["median"][j][i] == pytest.approx(np.median(values))


def test_many_distinct_values_are_binned():
    points = [(i * 0.37, i % 3, float(i)) for i in range(100)]
    got = heatmap(rows(points), "a", "b")
    assert len(got["x"]["values"]) == MAX_CELLS
    assert sum(c for line in got["count"] for c in line if c) == 100
    assert got["max"][0][-1] == 99.0 or got["max"][99 % 3][-1] == 99.0


def test_unknown_parameter():
    with pytest.raises(KeyError):
        heatmap(rows([(1, 2, 3.0)]), "a", "nope")
