"""Parameter declarations: one source for validation, the UI form and the Optuna search space.

A strategy lists its parameters once; the CLI, the web form and the optimiser all read
that list, so a range or default never has to be repeated anywhere else.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from backtune.errors import FieldError

ParamType = Literal["int", "float", "bool", "choice"]
PARAM_TYPES: tuple[str, ...] = ("int", "float", "bool", "choice")


class ParamError(FieldError):
    """A parameter value or declaration that cannot be used; ``field`` names the parameter."""

    label = "parameter '{field}'"


@dataclass(frozen=True)
class Param:
    """One strategy parameter.

    ``min``/``max``/``step`` are the default *search* range (what the optimiser explores and
    the form pre-fills); ``bounds`` are the values the strategy accepts at all, which may be
    wider (e.g. a length of 0 that disables an indicator). ``optimize`` says whether the
    parameter is searched when the user gives no explicit search space.
    """

    name: str
    type: ParamType
    default: Any
    label: str = ""
    group: str = "General"
    description: str = ""
    min: float | None = None
    max: float | None = None
    step: float | None = None
    choices: tuple[Any, ...] = ()
    bounds: tuple[float, float] | None = None
    optimize: bool = True

    def __post_init__(self) -> None:
        if self.type not in PARAM_TYPES:
            raise ParamError(self.name, f"unknown type {self.type!r}")
        if self.type == "choice" and not self.choices:
            raise ParamError(self.name, "a choice parameter needs choices")
        if self.type in ("int", "float") and (self.min is None or self.max is None):
            raise ParamError(self.name, "a numeric parameter needs min and max")
        self.validate(self.default)

    @property
    def allowed(self) -> tuple[float, float] | None:
        """The inclusive range a value must lie in (numeric parameters only)."""
        if self.type not in ("int", "float"):
            return None
        return self.bounds if self.bounds is not None else (self.min, self.max)

    def validate(self, value: Any) -> Any:
        """Coerce ``value`` to this parameter's type, or raise ParamError naming it."""
        if self.type == "bool":
            if not isinstance(value, bool):
                raise ParamError(self.name, f"expected true or false, got {value!r}")
            return value
        if self.type == "choice":
            if value not in self.choices:
                options = ", ".join(map(str, self.choices))
                raise ParamError(self.name, f"{value!r} is not one of {options}")
            return value
        number = self._as_number(value)
        low, high = self.allowed
        if not low <= number <= high:
            raise ParamError(self.name, f"{number} is outside [{low}, {high}]")
        return number

    def _as_number(self, value: Any) -> int | float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParamError(self.name, f"expected a number, got {value!r}")
        if not math.isfinite(value):
            raise ParamError(self.name, f"expected a finite number, got {value!r}")
        if self.type == "int":
            if value != int(value):
                raise ParamError(self.name, f"expected a whole number, got {value!r}")
            return int(value)
        return float(value)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["choices"] = list(self.choices)
        data["bounds"] = list(self.allowed) if self.allowed else None
        data["label"] = self.label or self.name
        return data


def validate_params(declared: Sequence[Param], given: Mapping[str, Any]) -> dict[str, Any]:
    """A complete, typed parameter set: defaults for what is missing, errors for the rest."""
    by_name = {p.name: p for p in declared}
    unknown = sorted(set(given) - set(by_name))
    if unknown:
        raise ParamError(unknown[0], f"unknown parameter (known: {', '.join(by_name)})")
    return {name: p.validate(given[name]) if name in given else p.default for name, p in by_name.items()}
