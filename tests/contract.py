"""Holding what the tests send and receive to the published OpenAPI document.

Every exchange a test makes through Flask's test client or a LiveServer is checked
here when the server accepted it (2xx): the JSON request body (and an optimise form's
``config``) against the operation's request schema, and the JSON answer against the
schema of its status. The schemas refuse properties they do not declare, so a field a
test sends, or a server returns, that the document lacks fails the test that made the
exchange. Refused requests (4xx) are not checked: many tests send bad bodies on purpose.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from jsonschema import Draft202012Validator

JSON = "application/json"


class Contract:
    """One OpenAPI document, ready to check exchanges against."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        self.paths = [
            (re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"), operations)
            for path, operations in document["paths"].items()
        ]

    def validator(self, schema: Mapping[str, Any]) -> Draft202012Validator:
        return Draft202012Validator({**schema, "components": self.document["components"]})

    def operation(self, method: str, path: str) -> Mapping[str, Any] | None:
        for pattern, operations in self.paths:
            if pattern.match(path):
                return operations.get(method.lower())
        return None

    def request_schema(self, operation: Mapping[str, Any], media: str) -> Mapping[str, Any] | None:
        return operation.get("requestBody", {}).get("content", {}).get(media, {}).get("schema")

    def schema(self, name: str) -> Mapping[str, Any]:
        return {"$ref": f"#/components/schemas/{name}"}

    def errors(self, schema: Mapping[str, Any], value: Any) -> list[str]:
        return [
            f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
            for e in self.validator(schema).iter_errors(value)
        ]

    def check(
        self, method: str, path: str, status: int, sent: Any = None, form_config: Any = None, answer: Any = None
    ) -> None:
        """Raise AssertionError when an accepted exchange strays from the document."""
        from app.web.dashboard import is_dashboard_path

        if not 200 <= status < 300 or is_dashboard_path(path):
            return  # refused on purpose, or optuna-dashboard's own API (not ours to describe)
        operation = self.operation(method, path)
        assert operation is not None, f"{method} {path} answered {status} but is not in the document"
        problems = []
        if sent is not None:
            schema = self.request_schema(operation, JSON)
            assert schema is not None, f"{method} {path} took a JSON body the document does not describe"
            problems += [f"request {p}" for p in self.errors(schema, sent)]
        if form_config is not None:
            problems += [f"form config {p}" for p in self.errors(self.schema("OptimizeOptions"), form_config)]
        response = operation["responses"].get(str(status), {}).get("content", {}).get(JSON)
        if answer is not None and response is not None:
            problems += [f"response {p}" for p in self.errors(response["schema"], answer)]
        assert not problems, f"{method} {path} ({status}) strays from /api/openapi.json:\n" + "\n".join(problems)


def _json_or_none(data: bytes | str | None) -> Any:
    if not data:
        return None
    try:
        return json.loads(data)
    except (ValueError, RecursionError):  # the server's answer to such a body is checked by the tests
        return None


def _sent(kwargs: Mapping[str, Any]) -> tuple[Any, Any]:
    """(JSON body, optimise form's config) of a test client call, read from its arguments
    (the request stream is consumed by the time the answer is back)."""
    if "json" in kwargs:
        return kwargs["json"], None
    data = kwargs.get("data")
    if isinstance(data, Mapping):
        return None, _json_or_none(data.get("config")) if isinstance(data.get("config"), str) else None
    if kwargs.get("content_type") == JSON:
        return _json_or_none(data), None
    return None, None


@contextmanager
def held_to_the_contract() -> Iterator[None]:
    """Patch Flask's test client and LiveServer so that every accepted exchange is checked."""
    from flask.testing import FlaskClient

    from tests.live_server import LiveServer

    contracts: dict[int, Contract] = {}

    def flask_contract(app) -> Contract:
        if id(app) not in contracts:
            from app.web.api.openapi import document

            with app.app_context():
                contracts[id(app)] = Contract(document())
        return contracts[id(app)]

    original_open, original_request = FlaskClient.open, LiveServer.request

    def open_checked(self, *args: Any, **kwargs: Any):
        response = original_open(self, *args, **kwargs)
        request = response.request
        if request.path.startswith("/api/") or request.path in ("/healthz", "/readyz"):
            sent, config = _sent(kwargs)
            answer = response.get_json(silent=True) if response.mimetype == JSON else None
            flask_contract(self.application).check(
                request.method, request.path, response.status_code, sent, config, answer
            )
        return response

    def request_checked(
        self, method: str, path: str, body: bytes | None = None, headers: Mapping[str, str] | None = None, **kwargs: Any
    ):
        response = original_request(self, method, path, body, headers, **kwargs)
        route = path.split("?", 1)[0]
        if (route.startswith("/api/") or route in ("/healthz", "/readyz")) and route != "/api/openapi.json":
            if id(self) not in contracts:
                contracts[id(self)] = Contract(original_request(self, "GET", "/api/openapi.json").json())
            sent = _json_or_none(body) if (headers or {}).get("Content-Type") == JSON else None
            answer = _json_or_none(response.body) if response.headers.get_content_type() == JSON else None
            contracts[id(self)].check(method, route, response.status, sent, None, answer)
        return response

    FlaskClient.open, LiveServer.request = open_checked, request_checked
    try:
        yield
    finally:
        FlaskClient.open, LiveServer.request = original_open, original_request
