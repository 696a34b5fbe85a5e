"""Parameter plateaus: how the target holds up when a trial's parameters move one step.

A best trial on a narrow peak is likely a fluke of the sample; one on a plateau is not.
Every searched numeric parameter moves by -1, 0 or +1 step (its declared step, or 5% of
its searched range when it is continuous); categorical parameters keep their value. The
3^d - 1 neighbours are all evaluated when 3^d <= 729, else a seeded sample of 729 of
them. A move that would leave the searched range keeps that parameter where it is (the
duplicates this makes are evaluated once), and parameter sets the strategy rejects are
left out (counted as ``invalid``). A neighbour is backtested only when it is new: one
the study completed as a trial takes that trial's metrics. docs/robustness.md describes
every figure.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import product
from typing import Any

import numpy as np

from backtune.optimize.config import RunConfig
from backtune.optimize.objective import Objective
from backtune.optimize.rundir import RunDir
from backtune.optimize.space import ParamRange, SearchSpace, _grid_point
from backtune.robustness.batch import evaluate
from backtune.robustness.values import finite_or_none

log = logging.getLogger("backtune.robustness")
MAX_NEIGHBOURS = 729
CONTINUOUS_STEP = 0.05


def moves(space: SearchSpace) -> list[ParamRange]:
    """The searched parameters a neighbourhood moves: the numeric ones."""
    return [r for r in space.ranges if not r.choices]


def step_of(r: ParamRange) -> float:
    if r.step is not None:
        return r.step
    return 1 if r.type == "int" else CONTINUOUS_STEP * (r.high - r.low)


def moved(r: ParamRange, value: Any, offset: int) -> Any:
    """``value`` moved by ``offset`` steps, or kept where that would leave the searched range."""
    if offset == 0:
        return value
    step = step_of(r)
    if r.type == "int":
        new = int(value) + offset * int(step)
    elif r.step is not None:
        new = _grid_point(r.low, r.step, round((value - r.low) / r.step) + offset)
    else:
        new = value + offset * step
    tolerance = 1e-9 * max(1.0, abs(r.high - r.low))
    return new if r.low - tolerance <= new <= r.high + tolerance else value


def offsets(dimensions: int, seed: int, limit: int = MAX_NEIGHBOURS) -> list[tuple[int, ...]]:
    """Every non-zero offset vector in {-1, 0, 1}^d, or a seeded sample of ``limit`` of them."""
    total = 3**dimensions - 1
    if total <= limit:
        return [o for o in product((-1, 0, 1), repeat=dimensions) if any(o)]
    rng = random.Random(seed)
    chosen = set()
    while len(chosen) < limit:
        index = rng.randrange(1, 3**dimensions)  # 0 is the zero vector (see _vector)
        chosen.add(index)
    return [_vector(i, dimensions) for i in sorted(chosen)]


def _vector(index: int, dimensions: int) -> tuple[int, ...]:
    """Base-3 digits, minus one, of ``index`` shifted by the middle of the range, so 0 is the zero vector."""
    centre = (3**dimensions - 1) // 2
    index = (index + centre) % 3**dimensions
    digits = []
    for _ in range(dimensions):
        index, digit = divmod(index, 3)
        digits.append(digit - 1)
    return tuple(reversed(digits))


def neighbours(space: SearchSpace, params: Mapping[str, Any], seed: int = 1) -> list[dict[str, Any]]:
    """The full parameter sets of the neighbourhood of ``params`` (see the module docstring)."""
    ranges = moves(space)
    found: dict[tuple, dict[str, Any]] = {}
    centre = tuple(params[r.name] for r in ranges)
    for vector in offsets(len(ranges), seed):
        values = tuple(moved(r, params[r.name], o) for r, o in zip(ranges, vector))
        if values != centre:
            found.setdefault(values, {**params, **dict(zip((r.name for r in ranges), values))})
    return list(found.values())


def at_edge(space: SearchSpace, params: Mapping[str, Any]) -> list[str]:
    """Searched numeric parameters sitting on the low or high end of their searched range."""
    return [
        r.name
        for r in moves(space)
        if math.isclose(params[r.name], r.low, abs_tol=1e-12) or math.isclose(params[r.name], r.high, abs_tol=1e-12)
    ]


@dataclass(frozen=True)
class Plateau:
    number: int
    value: float
    neighbours: list[dict[str, Any]]
    targets: list[float]
    profits: list[float]
    invalid: int
    edge: list[str]
    maximize: bool

    def summary(self) -> dict[str, Any]:
        values = np.array(self.targets, dtype=float)
        if values.shape[0] == 0:
            p5 = median = worst = math.nan
        else:
            # "p5" is the 5th percentile on the bad side: the low tail when the target is maximised.
            p5 = float(np.percentile(values, 5.0 if self.maximize else 95.0))
            median = float(np.median(values))
            worst = float(values.min() if self.maximize else values.max())
        retention = math.nan
        if math.isfinite(p5) and self.value > 0 and (self.maximize or p5 > 0):
            retention = p5 / self.value if self.maximize else self.value / p5
        profitable = float(np.mean(np.array(self.profits) > 0.0)) if self.profits else math.nan
        return {
            "number": self.number,
            "value": self.value,
            "neighbours": len(self.targets),
            "invalid": self.invalid,
            "p5": finite_or_none(p5),
            "median": finite_or_none(median),
            "worst": finite_or_none(worst),
            "retention": finite_or_none(retention),
            "share_profitable": finite_or_none(profitable),
            "at_edge": self.edge,
        }

    def table(self, space: SearchSpace) -> list[dict[str, Any]]:
        names = [r.name for r in moves(space)]
        return [
            {"params": {n: p[n] for n in names}, "value": v, "net_profit_pct": profit}
            for p, v, profit in zip(self.neighbours, self.targets, self.profits)
        ]


def best_numbers(rows: Sequence[Mapping[str, Any]], top: int) -> list[int]:
    """The ``top`` best completed trials by target."""
    return [r["number"] for r in sorted((r for r in rows if r.get("rank") is not None), key=lambda r: r["rank"])[:top]]


@dataclass(frozen=True)
class PlateauBatch:
    plateaus: list[Plateau]
    backtested: int  # neighbours that were neither another neighbour nor a completed trial


def plateaus(
    run: RunDir, rows: Sequence[Mapping[str, Any]], numbers: Sequence[int], seed: int = 1, pool: Any = None
) -> PlateauBatch:
    """Plateaus of trials ``numbers`` (completed trials of ``rows``), every neighbour
    evaluated once: a parameter set shared by several neighbourhoods is backtested once,
    and one the study already ran to completion takes that trial's metrics (the same
    deterministic backtest), so only what is new goes to the pool in one batch."""
    config = RunConfig.parse(run.read_json(run.config_file))
    by_number = {r["number"]: r for r in rows}
    chosen = [by_number[n] for n in numbers]
    sets = [neighbours(config.space, row["params"], seed) for row in chosen]
    known = {_key(r["params"]): r["metrics"] for r in rows if r.get("rank") is not None}
    wanted = {_key(p): p for group in sets for p in group if _key(p) not in known}
    known.update(zip(wanted, evaluate(run, list(wanted.values()), pool)))
    log.info(
        "run %s: plateaus of %d trials, %d neighbours: %d backtested, the rest known",
        run.run_id,
        len(chosen),
        sum(len(group) for group in sets),
        len(wanted),
    )
    target = config.targets[0]
    out = []
    for row, group in zip(chosen, sets):
        valid = [(p, m) for p in group if (m := known[_key(p)]) is not None]
        out.append(
            Plateau(
                number=row["number"],
                value=row["values"][0] if row["values"] else math.nan,
                neighbours=[p for p, _ in valid],
                targets=[Objective.target_value(m, target.metric, target.direction) for _, m in valid],
                profits=[m["net_profit_pct"] for _, m in valid],
                invalid=len(group) - len(valid),
                edge=at_edge(config.space, row["params"]),
                maximize=target.direction == "maximize",
            )
        )
    return PlateauBatch(out, len(wanted))


def _key(params: Mapping[str, Any]) -> tuple:
    """A parameter set as a lookup key; floats to 12 significant digits, so a grid point
    computed here and the same point snapped from Optuna's value are one key."""
    return tuple(sorted((k, float(f"{v:.12g}") if isinstance(v, float) else v) for k, v in params.items()))


def robust_order(summaries: Sequence[Mapping[str, Any]]) -> list[int]:
    """Trial numbers of plateau summaries by retention, best first ("robust best"); an
    undefined retention last, ties in the order given (the target's)."""

    def key(summary: Mapping[str, Any]) -> tuple[bool, float]:
        retention = summary["retention"]
        return (retention is None, -(retention or 0.0))

    return [s["number"] for s in sorted(summaries, key=key)]
