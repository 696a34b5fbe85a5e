"""Base classes of the contract's models and the field types they share.

Requests are strict (a number is never read from text, a whole number never from 2.5),
refuse NaN and Infinity, and refuse fields they do not declare, so a typo is an error
rather than a silently ignored setting. Replies are described with the same rigour so
that tests can hold real responses to the document.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field

FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
Number = int | FiniteFloat  # a whole number stays whole (a strategy's int parameters)
ParamValue = Annotated[
    Number | bool | str, Field(description="A number, true/false or a choice, by the parameter's type")
]
Time = Annotated[str, Field(description="UTC date/time, ISO 8601", examples=["2025-06-15T00:00:00Z"])]


class Body(BaseModel):
    """A JSON request body.

    ``keyed_fields`` are objects keyed by strategy parameter: an error inside one names
    the parameter (``n1``), which is where the form shows it. ``nested_fields`` are
    objects of settings: an error inside one is named by its dotted path
    (``walkforward.windows``), as the form names that setting.
    """

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)
    keyed_fields: ClassVar[frozenset[str]] = frozenset()
    nested_fields: ClassVar[frozenset[str]] = frozenset()


class Form(Body):
    """Form fields and query strings: text on the wire, so numbers are read from it."""

    model_config = ConfigDict(strict=False)


class Reply(BaseModel):
    """A response body (documented and checked by the tests, not re-validated at run time)."""

    model_config = ConfigDict(extra="forbid")
