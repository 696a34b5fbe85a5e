"""The OpenAPI registry: each view declares its operation once, the document is generated.

An endpoint plugs in with one decorator under its route::

    @bp.post("/api/things")
    @operation("things", "Create a thing", body=ThingRequest, replies={201: ThingReply}, errors=(400, 404))
    def create_thing(body: ThingRequest): ...

With ``body`` (a JSON body) or ``query`` (the query string) the view receives the parsed
model as a keyword argument of that name, so the model that is documented is the model
that is enforced. The document is built from the app's URL map: paths, methods and path
parameters come from the routes themselves, and routes under /api/ without a declared
operation are left out (tests/test_api_contract.py fails on them).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, request
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from app.web.body_limits import json_body
from app.web.contract.base import Body
from app.web.contract.parse import parse_fields, parse_json

ATTRIBUTE = "__api_operation__"
COMPONENTS = "#/components/schemas/{model}"
ERRORS: dict[int, tuple[str, str]] = {
    400: ("BadRequest", "A field is missing or invalid; `error.field` names it"),
    401: ("Unauthorized", "BACKTUNE_API_TOKEN is set and the bearer token is missing or wrong"),
    403: ("Forbidden", "`csvPath` resolves outside BACKTUNE_CSV_ROOTS (`forbidden_path`)"),
    404: ("NotFound", "The dataset, strategy, job, trial or file does not exist"),
    409: ("Conflict", "The job is not in a state that allows this"),
    413: ("TooLarge", "The request body is too large (BACKTUNE_MAX_UPLOAD_MB, BACKTUNE_MAX_JSON_KB)"),
    415: ("UnsupportedMediaType", "Send multipart/form-data or application/json"),
    503: ("Unavailable", "The computation did not finish within its time limit or was stopped; try again later"),
}
Schema = dict[str, Any]


@dataclass(frozen=True)
class Answer:
    """One documented response: a model (None for a body not described by one), why it is
    sent, and other media types or headers it carries."""

    model: type[BaseModel] | None
    description: str = "OK"
    location: str | None = None
    media: Mapping[str, Schema] = field(default_factory=dict)


@dataclass(frozen=True)
class Operation:
    tag: str
    summary: str
    description: str = ""
    body: type[Body] | None = None
    form: type[Body] | None = None
    query: type[Body] | None = None
    replies: Mapping[int, Answer] = field(default_factory=dict)
    errors: tuple[int, ...] = ()
    open: bool = False
    path_params: Mapping[str, str] = field(default_factory=dict)
    documents: tuple[type[Body], ...] = ()

    def models(self) -> list[tuple[type[BaseModel], str]]:
        found = [(m, "validation") for m in (self.body, self.form, *self.documents) if m is not None]
        return found + [(a.model, "serialization") for a in self.replies.values() if a.model is not None]


def operation(
    tag: str,
    summary: str,
    *,
    description: str = "",
    body: type[Body] | None = None,
    form: type[Body] | None = None,
    query: type[Body] | None = None,
    replies: Mapping[int, type[BaseModel] | Answer | None] | None = None,
    errors: tuple[int, ...] = (),
    open: bool = False,
    path_params: Mapping[str, str] | None = None,
    parse: bool = True,
    documents: tuple[type[Body], ...] = (),
) -> Callable:
    """Declare a view's operation. ``form`` documents a multipart alternative to ``body``;
    ``open`` marks views that need no token; ``parse=False`` leaves the body to the view
    (when it accepts several media types); ``documents`` adds models that others refer
    to (a form field holding JSON) to the document's components."""
    spec = Operation(
        tag,
        summary,
        description,
        body,
        form,
        query,
        {status: a if isinstance(a, Answer) else Answer(a) for status, a in (replies or {}).items()},
        errors,
        open,
        dict(path_params or {}),
        documents,
    )

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def parsed(*args: Any, **kwargs: Any) -> Any:
            if parse and body is not None:
                kwargs["body"] = parse_json(body, json_body())
            if query is not None:
                kwargs["query"] = parse_fields(query, request.args.to_dict())
            return view(*args, **kwargs)

        setattr(parsed, ATTRIBUTE, spec)
        return parsed

    return decorate


def build_document(app: Flask, info: Schema) -> Schema:
    """The OpenAPI 3.1 document of every declared operation mounted on ``app``."""
    declared = [
        (rule, getattr(app.view_functions[rule.endpoint], ATTRIBUTE, None)) for rule in app.url_map.iter_rules()
    ]
    declared = [(rule, spec) for rule, spec in declared if spec is not None]
    refs, schemas = _schemas([m for _, spec in declared for m in spec.models()])
    paths: dict[str, Schema] = {}
    for rule, spec in sorted(declared, key=lambda pair: pair[0].rule):
        path, parameters = _path(rule, spec)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(spec, parameters, refs)
    return {
        "openapi": "3.1.0",
        "info": info,
        "servers": [{"url": "/"}],
        "security": [{}, {"bearerAuth": []}],
        "tags": [{"name": tag} for tag in dict.fromkeys(spec.tag for _, spec in declared)],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": {
                name: _json_content({"$ref": COMPONENTS.format(model="Error")}, text) for name, text in ERRORS.values()
            },
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Required when BACKTUNE_API_TOKEN is set",
                }
            },
        },
    }


def declared_operation(app: Flask, endpoint: str) -> Operation | None:
    return getattr(app.view_functions.get(endpoint), ATTRIBUTE, None)


def _schemas(models: list[tuple[type[BaseModel], str]]) -> tuple[dict[tuple[type[BaseModel], str], Schema], Schema]:
    from app.web.contract.models.common import Error

    unique = list(dict.fromkeys([(Error, "serialization"), *models]))
    refs, top = models_json_schema(unique, ref_template=COMPONENTS)
    return refs, top.get("$defs", {})


def _path(rule: Any, spec: Operation) -> tuple[str, list[Schema]]:
    parameters = []
    for name in rule.arguments:
        converter = rule._converters[name]  # werkzeug's per-argument converters; no public accessor
        kind = "integer" if type(converter).__name__ == "IntegerConverter" else "string"
        parameters.append(
            {
                "name": name,
                "in": "path",
                "required": True,
                "description": spec.path_params.get(name, name.replace("_", " ").capitalize()),
                "schema": {"type": kind},
            }
        )
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule), parameters


def _operation(spec: Operation, path_parameters: list[Schema], refs: Mapping[Any, Schema]) -> Schema:
    operation: Schema = {"tags": [spec.tag], "summary": spec.summary}
    if spec.description:
        operation["description"] = spec.description
    parameters = [*path_parameters, *_query_parameters(spec.query)]
    if parameters:
        operation["parameters"] = parameters
    content = {}
    if spec.body is not None:
        content["application/json"] = {"schema": refs[(spec.body, "validation")]}
    if spec.form is not None:
        content["multipart/form-data"] = {"schema": refs[(spec.form, "validation")]}
    if content:
        operation["requestBody"] = {"required": True, "content": content}
    responses: Schema = {}
    for status, answer in spec.replies.items():
        schema = refs[(answer.model, "serialization")] if answer.model is not None else {}
        responses[str(status)] = _json_content(schema, answer.description, answer.media)
        if answer.location:
            responses[str(status)]["headers"] = {
                "Location": {"schema": {"type": "string"}, "description": answer.location}
            }
    errors = spec.errors if spec.open else (*spec.errors, 401)
    responses.update(
        {str(status): {"$ref": f"#/components/responses/{ERRORS[status][0]}"} for status in sorted(set(errors))}
    )
    operation["responses"] = responses
    if spec.open:
        operation["security"] = []
    return operation


def _query_parameters(model: type[Body] | None) -> list[Schema]:
    if model is None:
        return []
    schema = model.model_json_schema()
    return [
        {
            "name": name,
            "in": "query",
            "required": name in schema.get("required", ()),
            "description": prop.get("description", ""),
            "schema": {k: v for k, v in prop.items() if k not in ("description", "title")},
        }
        for name, prop in schema["properties"].items()
    ]


def _json_content(schema: Schema, description: str, media: Mapping[str, Schema] | None = None) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}, **(media or {})}}
