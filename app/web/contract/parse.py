"""Request parts read through the contract's models; every failure is one ApiError.

pydantic reports a list of errors with locations; a client needs one message naming the
field it sent, so the first error is mapped to ``{"code", "message", "field"}``: the
field is the top-level name the client used, or the parameter inside an object keyed
by parameter. JSON is parsed by pydantic itself, which refuses NaN, Infinity and nesting
deeper than its recursion limit instead of raising from deep inside the standard library.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, get_args

from pydantic import BaseModel, ValidationError

from app.web.contract.base import Body
from app.web.errors import ApiError

M = TypeVar("M", bound=Body)
MESSAGE_INPUT_CHARS = 40


def parse_json(model: type[M], data: bytes | str, field: str = "body") -> M:
    """``data`` (a request body, or the JSON text of form field ``field``) as ``model``."""
    if not data:
        raise ApiError(400, "malformed_json", f"{field}: send a JSON object", field)
    try:
        return model.model_validate_json(data)
    except ValidationError as exc:
        raise api_error(model, exc, json_field=field) from None


def parse_fields(model: type[M], fields: Mapping[str, Any]) -> M:
    """Form fields or query arguments as ``model``."""
    try:
        return model.model_validate(dict(fields))
    except ValidationError as exc:
        raise api_error(model, exc) from None


def api_error(model: type[Body], exc: ValidationError, json_field: str = "body") -> ApiError:
    error = exc.errors(include_url=False)[0]
    kind, loc = error["type"], error["loc"]
    if kind == "json_invalid":
        return ApiError(400, "malformed_json", f"{json_field}: not valid JSON ({error['ctx']['error']})", json_field)
    if kind == "model_type":
        return ApiError(400, "malformed_json", f"{json_field}: expected a JSON object", json_field)
    field = client_field(model, loc) or json_field
    if kind == "extra_forbidden":
        known = ", ".join(_fields_around(model, loc))
        return ApiError(400, "unknown_field", f"{field}: unknown field (known: {known})", field)
    if kind == "missing":
        return ApiError(400, "missing_field", f"{field}: required", field)
    return ApiError(400, "invalid_field", f"{field}: {_reason(error)}", field)


def client_field(model: type[Body], loc: tuple[int | str, ...]) -> str | None:
    names = [part for part in loc if isinstance(part, str)]
    if not names:
        return None
    if names[0] in model.keyed_fields and len(names) > 1:
        return names[1]
    if names[0] in model.nested_fields:
        return ".".join(names)
    return names[0]


def _fields_around(model: type[Body], loc: tuple[int | str, ...]) -> list[str]:
    """The fields of the object an unknown field was sent in: a nested settings object's own."""
    names = [part for part in loc if isinstance(part, str)]
    if not names or names[0] not in model.nested_fields:
        return list(model.model_fields)
    current: type[BaseModel] = model
    for name in names[:-1]:
        annotation = current.model_fields[name].annotation
        current = next(
            kind
            for kind in (annotation, *get_args(annotation))
            if isinstance(kind, type) and issubclass(kind, BaseModel)
        )
    return list(current.model_fields)


def _reason(error: Mapping[str, Any]) -> str:
    """pydantic's message with the offending value, shortened: the value may be huge."""
    shown = repr(error.get("input"))
    if len(shown) > MESSAGE_INPUT_CHARS:
        shown = shown[:MESSAGE_INPUT_CHARS] + "..."
    return f"{error['msg'][0].lower()}{error['msg'][1:]}, got {shown}"
