"""The contract between a strategy module and the engine."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from backtune.data.ohlcv import OHLCV
from backtune.engine.signals import ExecutionRules, Signals
from backtune.params import Param, validate_params

Params = Mapping[str, Any]


@dataclass(frozen=True)
class Strategy:
    """A trading strategy as data: its declared parameters and two pure functions.

    ``signals`` turns bars and a validated parameter set into per-bar signal arrays;
    ``rules`` says how the engine executes them. ``check`` enforces constraints between
    parameters (e.g. fast length < slow length) by raising ``ParamError``.
    """

    id: str
    name: str
    description: str
    params: tuple[Param, ...]
    signals: Callable[[OHLCV, Params], Signals]
    rules: Callable[[Params], ExecutionRules]
    check: Callable[[Params], None] | None = None

    def validate(self, given: Params) -> dict[str, Any]:
        """A complete, typed parameter set, or a ParamError naming the bad field."""
        params = validate_params(self.params, given)
        if self.check is not None:
            self.check(params)
        return params

    @property
    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "params": [p.as_dict() for p in self.params],
        }
