"""Parameter declarations: defaults, coercion, and errors that name the field."""

from __future__ import annotations

import pytest

from backtune.params import Param, ParamError, validate_params
from backtune.registry import UnknownStrategyError, all_strategies, get_strategy

DECLARED = (
    Param("length", "int", 20, min=5, max=50, step=5, bounds=(0, 500)),
    Param("mult", "float", 2.0, min=1.0, max=3.0, step=0.5),
    Param("kind", "choice", "EMA", choices=("SMA", "EMA")),
    Param("flip", "bool", False),
)


def test_missing_parameters_take_defaults_and_values_are_coerced():
    params = validate_params(DECLARED, {"length": 300.0, "mult": 3})
    assert params == {"length": 300, "mult": 3.0, "kind": "EMA", "flip": False}
    assert type(params["length"]) is int and type(params["mult"]) is float


@pytest.mark.parametrize(
    "given, field, fragment",
    [
        ({"lenght": 3}, "lenght", "unknown parameter"),
        ({"length": 2.5}, "length", "whole number"),
        ({"length": "20"}, "length", "expected a number"),
        ({"length": True}, "length", "expected a number"),
        ({"length": 501}, "length", "outside [0, 500]"),
        ({"mult": float("nan")}, "mult", "finite"),
        ({"mult": 3.5}, "mult", "outside [1.0, 3.0]"),
        ({"kind": "WMA"}, "kind", "not one of SMA, EMA"),
        ({"flip": 1}, "flip", "true or false"),
    ],
)
def test_bad_values_name_the_field(given, field, fragment):
    with pytest.raises(ParamError) as info:
        validate_params(DECLARED, given)
    assert info.value.field == field
    assert fragment in str(info.value) and field in str(info.value)


def test_declaration_errors_are_caught_at_definition():
    with pytest.raises(ParamError, match="needs choices"):
        Param("x", "choice", "a")
    with pytest.raises(ParamError, match="outside"):
        Param("x", "int", 100, min=1, max=10)


def test_every_strategy_declares_valid_defaults_and_ranges():
    strategies = all_strategies()
    assert {"trailing_ma", "sma_cross"} <= set(strategies)
    for strategy in strategies.values():
        defaults = strategy.validate({})
        assert defaults == strategy.defaults
        for p in strategy.params:
            if p.type in ("int", "float"):
                low, high = p.allowed
                assert low <= p.min <= p.max <= high, p.name
                assert p.step is None or p.step > 0, p.name
        described = strategy.as_dict()
        assert described["id"] == strategy.id and len(described["params"]) == len(strategy.params)


def test_cross_parameter_check_names_the_field():
    with pytest.raises(ParamError) as info:
        get_strategy("sma_cross").validate({"n1": 30, "n2": 20})
    assert info.value.field == "n1"


def test_unknown_strategy_lists_the_known_ones():
    with pytest.raises(UnknownStrategyError, match="sma_cross"):
        get_strategy("nope")
