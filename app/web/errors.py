"""Every error leaves as ``{"error": {"code", "message", "field"}}`` with a 4xx or 503 status.

Core errors already name what is wrong (``FieldError.field``, ``DataError`` file/row/
column); this module only maps them to HTTP, so the API never answers a bad input with a
500 or a bare HTML page.
"""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from backtune.data.errors import DataError
from backtune.errors import FieldError
from backtune.registry import UnknownStrategyError

log = logging.getLogger("backtune.web")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field


def error_response(status: int, code: str, message: str, field: str | None = None):
    response = jsonify({"error": {"code": code, "message": message, "field": field}})
    response.status_code = status
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def api_error(exc: ApiError):
        return error_response(exc.status, exc.code, exc.message, exc.field)

    @app.errorhandler(FieldError)
    def field_error(exc: FieldError):
        return error_response(400, "invalid_field", str(exc), exc.field)

    @app.errorhandler(UnknownStrategyError)
    def unknown_strategy(exc: UnknownStrategyError):
        return error_response(400, "unknown_strategy", exc.message, "strategy")

    @app.errorhandler(DataError)
    def data_error(exc: DataError):
        return error_response(400, "invalid_data", str(exc), exc.column)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = (exc.name or "error").lower().replace(" ", "_")
        return error_response(exc.code or 500, code, exc.description or exc.name)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unexpected error: %s", exc)
        return error_response(500, "internal_error", "an unexpected error occurred; see the server log")
