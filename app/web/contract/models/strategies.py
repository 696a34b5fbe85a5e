"""``/api/strategies``: strategies and their parameter declarations."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from app.web.contract.base import ParamValue, Reply
from backtune.params import PARAM_TYPES


class Param(Reply):
    name: str
    type: Literal[PARAM_TYPES]  # type: ignore[valid-type]
    default: ParamValue
    label: str
    group: str
    description: str
    min: float | None
    max: float | None
    step: float | None
    choices: list[ParamValue]
    bounds: list[float] | None = Field(description="Values accepted at all (may be wider than min..max)")
    optimize: bool = Field(description="Searched by default")


class Strategy(Reply):
    id: str
    name: str
    description: str
    params: list[Param]


class StrategyList(Reply):
    strategies: list[Strategy]
    total: int
