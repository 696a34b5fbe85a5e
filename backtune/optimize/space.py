"""The search space: which parameters Optuna varies, over what, and what stays fixed.

It is built from a strategy's declarations plus the user's overrides and checked once,
at the edge, so the workers can trust it.
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution

from backtune.errors import FieldError
from backtune.params import Param, ParamError
from backtune.strategy import Strategy


@dataclass(frozen=True)
class ParamRange:
    """One searched parameter: a numeric range with an optional step, or a set of choices."""

    name: str
    type: str
    low: float | None = None
    high: float | None = None
    step: float | None = None
    choices: tuple[Any, ...] = ()

    def distribution(self) -> BaseDistribution:
        if self.choices:
            return CategoricalDistribution(self.choices)
        if self.type == "int":
            return IntDistribution(int(self.low), int(self.high), step=int(self.step or 1))
        return FloatDistribution(self.low, self.high, step=self.step)

    def snap(self, value: Any) -> Any:
        """A stepped float's value as the decimal grid point it stands for.

        Optuna computes ``low + k * step`` in binary floating point, so it suggests (and
        stores in ``trial.params``) 2.9000000000000004 for the grid point 2.9; the
        strategy, the results and the CSV must all see 2.9. Other values pass unchanged.
        """
        if self.type != "float" or self.step is None:
            return value
        return _grid_point(self.low, self.step, round((value - self.low) / self.step))

    def as_dict(self) -> dict[str, Any]:
        if self.choices:
            return {"choices": list(self.choices)}
        return {"low": self.low, "high": self.high, "step": self.step}


@dataclass(frozen=True)
class SearchSpace:
    """Searched ranges plus fixed values; together they name every strategy parameter."""

    ranges: tuple[ParamRange, ...]
    fixed: Mapping[str, Any]

    def distributions(self) -> dict[str, BaseDistribution]:
        return {r.name: r.distribution() for r in self.ranges}

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        """A full parameter set: suggested values for the ranges, the fixed ones as they are."""
        suggested = {}
        for r in self.ranges:
            if r.choices:
                suggested[r.name] = trial.suggest_categorical(r.name, r.choices)
            elif r.type == "int":
                suggested[r.name] = trial.suggest_int(r.name, int(r.low), int(r.high), step=int(r.step or 1))
            else:
                suggested[r.name] = trial.suggest_float(r.name, r.low, r.high, step=r.step)
        return self.params(suggested)

    def params(self, suggested: Mapping[str, Any]) -> dict[str, Any]:
        """The full parameter set a trial runs with: the fixed values plus ``snapped``.

        The objective and every report (results, CSV, a trial re-run) build it here from
        the same Optuna values, so what a trial ran with and what it reports agree.
        """
        return {**self.fixed, **self.snapped(suggested)}

    def snapped(self, suggested: Mapping[str, Any]) -> dict[str, Any]:
        """Optuna's values (as suggested, or a trial's ``params``) with stepped floats on
        their decimal grid points (see ParamRange.snap)."""
        ranges = {r.name: r for r in self.ranges}
        return {name: ranges[name].snap(value) if name in ranges else value for name, value in suggested.items()}

    def seed(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """A seed parameter set (already validated) with stepped floats on their grid.

        Optuna's noise in a value copied from results of an older run (2.9000000000000004)
        is cleaned; a value between grid points is refused, since the strategy would run
        the grid point while the trial records the value given.
        """
        seed = dict(given)
        for r in self.ranges:
            if r.name in seed:
                value, snapped = seed[r.name], r.snap(seed[r.name])
                if snapped != value and not math.isclose(value, snapped, rel_tol=1e-9, abs_tol=r.step * 1e-9):
                    raise FieldError(
                        "seed_params",
                        f"{r.name} {value} is not on the search grid "
                        f"({r.low} + k * {r.step}); the nearest point is {snapped}",
                    )
                seed[r.name] = snapped
        return seed

    def as_dict(self) -> dict[str, Any]:
        """The canonical, re-parseable form stored in run.json."""
        spec: dict[str, Any] = {name: value for name, value in self.fixed.items()}
        spec.update({r.name: r.as_dict() for r in self.ranges})
        return spec

    @classmethod
    def parse(cls, strategy: Strategy, spec: Mapping[str, Any] | None) -> SearchSpace:
        """Build from the user's spec (see docs/optimization.md).

        No spec: every parameter declared ``optimize=True`` is searched over its declared
        range, the rest are fixed at their defaults. With a spec, each entry is a fixed
        value, ``{"low", "high", "step"}``, ``{"choices": [...]}``, or ``{"enabled": false,
        "value": v}``; parameters it does not name stay at their defaults.
        """
        declared = {p.name: p for p in strategy.params}
        if spec is None:
            ranges = tuple(_declared_range(p) for p in strategy.params if p.optimize)
            searched = {r.name for r in ranges}
            fixed = {p.name: p.default for p in strategy.params if p.name not in searched}
        else:
            unknown = sorted(set(spec) - set(declared))
            if unknown:
                raise ParamError(unknown[0], f"unknown parameter (known: {', '.join(declared)})")
            found = [_entry(declared[name], entry) for name, entry in spec.items()]
            ranges = tuple(r for r in found if isinstance(r, ParamRange))
            searched = {r.name for r in ranges}
            fixed = {p.name: p.default for p in strategy.params}
            fixed.update({name: value for name, value in zip(spec, found) if not isinstance(value, ParamRange)})
            for name in searched:
                fixed.pop(name)
        if not ranges:
            raise ParamError(next(iter(declared), "space"), "no parameter is searched; enable at least one")
        strategy.validate({**fixed, **{r.name: _sample_value(r) for r in ranges}})
        return cls(ranges=ranges, fixed=fixed)


def _declared_range(p: Param) -> ParamRange:
    if p.type == "choice":
        return ParamRange(p.name, p.type, choices=tuple(p.choices))
    if p.type == "bool":
        return ParamRange(p.name, p.type, choices=(False, True))
    return _numeric_range(p, p.min, p.max, p.step)


def _entry(p: Param, entry: Any) -> ParamRange | Any:
    if not isinstance(entry, Mapping):
        return p.validate(entry)
    keys = set(entry)
    allowed = {"enabled", "value", "low", "high", "step", "choices"}
    if keys - allowed:
        raise ParamError(p.name, f"unexpected keys {sorted(keys - allowed)} (allowed: {sorted(allowed)})")
    if entry.get("enabled", True) is False:
        return p.validate(entry.get("value", p.default))
    if "choices" in entry:
        return _choice_range(p, entry["choices"])
    if p.type in ("choice", "bool"):
        return _declared_range(p)
    return _numeric_range(p, entry.get("low", p.min), entry.get("high", p.max), entry.get("step", p.step))


def _choice_range(p: Param, choices: Any) -> ParamRange:
    if not isinstance(choices, (list, tuple)) or not choices:
        raise ParamError(p.name, "choices must be a non-empty list")
    values = tuple(dict.fromkeys(p.validate(c) for c in choices))
    return ParamRange(p.name, p.type, choices=values)


def _numeric_range(p: Param, low: Any, high: Any, step: Any) -> ParamRange:
    if p.type not in ("int", "float"):
        raise ParamError(p.name, "low/high/step apply to numeric parameters; use choices")
    low, high = p.validate(low), p.validate(high)
    if low > high:
        raise ParamError(p.name, f"low {low} is above high {high}")
    if step is not None:
        if isinstance(step, bool) or not isinstance(step, (int, float)) or not math.isfinite(step) or step <= 0:
            raise ParamError(p.name, f"step must be a positive number, got {step!r}")
        if p.type == "int" and step != int(step):
            raise ParamError(p.name, f"step of a whole-number parameter must be whole, got {step}")
        if p.type == "float":
            # Optuna requires (high - low) to be a multiple of step; snap high down onto the grid.
            high = _grid_point(low, step, math.floor((high - low) / step + 1e-9))
    return ParamRange(p.name, p.type, low=low, high=high, step=step if step is None else type(low)(step))


def _grid_point(low: float, step: float, k: int) -> float:
    """``low + k * step`` rounded to as many decimals as ``low`` and ``step`` are written
    with, so that it is the float nearest the decimal grid point (2.9, never 2.9000000000000004)."""
    return round(low + k * step, max(_decimals(low), _decimals(step)))


def _decimals(number: float) -> int:
    """Digits after the point in the shortest form of ``number``: 0.1 -> 1, 2.5e-05 -> 6, 10.0 -> 1."""
    return max(0, -int(decimal.Decimal(repr(float(number))).as_tuple().exponent))


def _sample_value(r: ParamRange) -> Any:
    return r.choices[0] if r.choices else r.low
