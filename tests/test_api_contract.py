"""The contract's machinery: an endpoint plugs into the OpenAPI registry with one
decorator, its body is parsed by the model it declares, and the checks the other tests
run under (tests/contract.py) do refuse what the document does not declare."""

from __future__ import annotations

import pytest
from flask import Blueprint, Flask, jsonify
from openapi_spec_validator import validate
from pydantic import Field

from app import create_app
from app.web.api.openapi import INFO, document
from app.web.contract.base import Body, Form, Reply
from app.web.contract.registry import Answer, build_document, operation
from app.web.errors import register_error_handlers
from tests.contract import Contract
from tests.helpers import assert_api_error


class ThingRequest(Body):
    name: str = Field(min_length=1, description="What to call it")
    size: int = Field(ge=1, description="How big")


class ThingQuery(Form):
    dry_run: bool = Field(False, description="Only check")


class ThingReply(Reply):
    number: int
    name: str
    size: int


def app_with_a_new_endpoint() -> Flask:
    bp = Blueprint("things", __name__)

    @bp.post("/api/things/<int:number>")
    @operation(
        "things",
        "Make a thing",
        body=ThingRequest,
        query=ThingQuery,
        errors=(400,),
        replies={201: Answer(ThingReply, "Made", location="/api/things/{number}")},
        path_params={"number": "Which thing"},
    )
    def make_thing(number: int, body: ThingRequest, query: ThingQuery):
        return jsonify({"number": number, **body.model_dump()}), 200 if query.dry_run else 201

    app = Flask("things")
    register_error_handlers(app)
    app.register_blueprint(bp)
    return app


def test_an_endpoint_plugs_into_the_document_with_one_decorator():
    app = app_with_a_new_endpoint()
    doc = build_document(app, INFO)
    validate(doc)
    operation_doc = doc["paths"]["/api/things/{number}"]["post"]
    assert operation_doc["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ThingRequest"
    }
    parameters = {p["name"]: p for p in operation_doc["parameters"]}
    assert parameters["number"]["in"] == "path" and parameters["number"]["schema"] == {"type": "integer"}
    assert parameters["dry_run"]["in"] == "query"
    assert set(operation_doc["responses"]) == {"201", "400", "401"}
    assert doc["components"]["schemas"]["ThingRequest"]["additionalProperties"] is False
    assert doc["components"]["schemas"]["ThingRequest"]["properties"]["size"]["description"] == "How big"


def test_the_declared_model_is_the_one_enforced():
    client = app_with_a_new_endpoint().test_client()
    made = client.post("/api/things/3", json={"name": "box", "size": 2})
    assert made.status_code == 201 and made.json == {"number": 3, "name": "box", "size": 2}
    assert client.post("/api/things/3?dry_run=true", json={"name": "box", "size": 2}).status_code == 200
    assert_api_error(
        client.post("/api/things/3", json={"name": "box", "size": 2, "colour": "red"}), 400, "colour", "unknown_field"
    )
    assert_api_error(client.post("/api/things/3", json={"name": "box"}), 400, "size", "missing_field")
    assert_api_error(client.post("/api/things/3", json={"name": "box", "size": "2"}), 400, "size", "invalid_field")
    assert_api_error(client.post("/api/things/3?dry_run=perhaps", json={"name": "box", "size": 2}), 400, "dry_run")
    assert_api_error(
        client.post("/api/things/3", data="{", content_type="application/json"), 400, "body", "malformed_json"
    )


@pytest.fixture(scope="module")
def contract(tmp_path_factory) -> Contract:
    app = create_app({"home": str(tmp_path_factory.mktemp("contract"))})
    with app.app_context():
        return Contract(document())


def test_the_exchange_checks_refuse_what_the_document_does_not_declare(contract):
    with pytest.raises(AssertionError, match="colour"):
        contract.check("POST", "/api/backtest", 200, sent={"strategy": "sma_cross", "colour": "blue"})
    with pytest.raises(AssertionError, match="extra"):
        contract.check("GET", "/api/jobs", 200, answer={"jobs": [], "total": 0, "extra": 1})
    with pytest.raises(AssertionError, match="not in the document"):
        contract.check("GET", "/api/nowhere", 200)
    contract.check("GET", "/api/jobs", 200, answer={"jobs": [], "total": 0})
    contract.check("POST", "/api/backtest", 400, sent={"colour": "blue"})  # refusals are the point of such tests


def test_the_optimise_form_config_refers_to_the_options_schema(contract):
    form = contract.request_schema(contract.operation("post", "/api/optimize"), "multipart/form-data")
    config = contract.document["components"]["schemas"][form["$ref"].rsplit("/", 1)[-1]]["properties"]["config"]
    assert config["contentSchema"] == {"$ref": "#/components/schemas/OptimizeOptions"}
    assert contract.errors(contract.schema("OptimizeOptions"), {"optuna_save_study": True})
