"""The walk-forward endpoints' part of the OpenAPI 3.0 document, generated from their
pydantic models (``app.web.walkforward_models``), so the document is what the code checks.

pydantic writes JSON Schema 2020-12; OpenAPI 3.0 has no ``null`` type, no ``const`` and
a boolean ``exclusiveMinimum``, and ignores siblings of ``$ref``: ``openapi30`` rewrites
those few constructs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic.json_schema import models_json_schema

from app.web.walkforward_models import (
    HoldoutOpened,
    WalkForwardAccepted,
    WalkForwardBody,
    WalkForwardPreview,
    WalkForwardReport,
)

Schema = dict[str, Any]
REF = "#/components/schemas/{model}"


def walkforward_schemas() -> dict[str, Schema]:
    """Every model the endpoints use (and the models they nest), by name."""
    responses = (WalkForwardAccepted, WalkForwardPreview, WalkForwardReport, HoldoutOpened)
    _, document = models_json_schema([(WalkForwardBody, "validation"),
                                      *((model, "serialization") for model in responses)], ref_template=REF)
    return {name: openapi30(schema) for name, schema in document["$defs"].items()}


def walkforward_paths(job_id: Schema, errors: Callable[..., dict[str, Schema]]) -> dict[str, Schema]:
    """``job_id``: the path parameter; ``errors(*statuses)``: the document's error responses."""

    def ok(model: str, status: str = "200", description: str = "OK") -> dict[str, Schema]:
        return {status: {"description": description,
                         "content": {"application/json": {"schema": {"$ref": REF.format(model=model)}}}}}

    body = {"required": True, "content": {"application/json": {"schema": {"allOf": [
        {"$ref": REF.format(model="OptimizeJson")},
        {"type": "object", "required": ["walkforward"],
         "properties": {"walkforward": {"$ref": REF.format(model="WalkForwardBody")}}}]}}}}
    return {
        "/api/walkforward": {"post": {
            "tags": ["walkforward"], "summary": "Queue a walk-forward run (docs/walkforward.md)", "requestBody": body,
            "responses": {**ok("WalkForwardAccepted", "202", "Queued"), **errors(400, 403, 404, 415)}}},
        "/api/walkforward/preview": {"post": {
            "tags": ["walkforward"], "summary": "The windows a walk-forward request would run", "requestBody": body,
            "responses": {**ok("WalkForwardPreview"), **errors(400, 403, 404, 415)}}},
        "/api/jobs/{job_id}/walkforward": {"get": {
            "tags": ["walkforward"], "summary": "A walk-forward job's report (python -m app walkforward --json)",
            "parameters": [job_id], "responses": {**ok("WalkForwardReport"), **errors(404)}}},
        "/api/jobs/{job_id}/holdout": {"post": {
            "tags": ["walkforward"], "summary": "Open the sealed holdout (each opening is recorded)",
            "parameters": [job_id], "responses": {**ok("HoldoutOpened"), **errors(404, 409)}}},
    }


def openapi30(schema: Any) -> Any:
    if isinstance(schema, list):
        return [openapi30(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    schema = dict(schema)
    options = schema.get("anyOf")
    if options is not None and {"type": "null"} in options:
        rest = [option for option in options if option != {"type": "null"}]
        del schema["anyOf"]
        schema.update(rest[0] if len(rest) == 1 else {"anyOf": rest}, nullable=True)
    if "const" in schema:
        schema["enum"] = [schema.pop("const")]
    for bound, inclusive in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(schema.get(bound), (int, float)) and not isinstance(schema[bound], bool):
            schema[inclusive] = schema[bound]
            schema[bound] = True
    if "$ref" in schema and len(schema) > 1:
        schema = {"allOf": [{"$ref": schema.pop("$ref")}], **schema}
    return {key: openapi30(value) for key, value in schema.items()}
