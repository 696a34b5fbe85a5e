"""``GET /api/openapi.json``: the whole API as an OpenAPI 3.1 document.

Generated from the operations the views declare (app/web/contract/registry.py) and the
models they parse and answer with, once per app, so it cannot drift from what the
server accepts.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify

from app.web.contract.registry import build_document, operation

bp = Blueprint("openapi", __name__)
_CACHE = "backtune.openapi"
INFO = {
    "title": "Backtune API",
    "version": "1.1.0",
    "description": "Backtest trading strategies and optimise their parameters. Every error is "
    '`{"error": {"code", "message", "field"}}` with a 4xx status; `field` names the input at '
    "fault. Request bodies refuse fields they do not declare. When the server sets "
    "BACKTUNE_API_TOKEN, send `Authorization: Bearer <token>` to everything under /api/ but this "
    "document. See docs/api.md.",
}


def document() -> dict[str, Any]:
    cached = current_app.extensions.get(_CACHE)
    if cached is None:
        cached = current_app.extensions[_CACHE] = build_document(current_app, INFO)
    return cached


@bp.get("/api/openapi.json")
@operation("meta", "This document", replies={200: None}, open=True)
def openapi_json():
    return jsonify(document())
