"""How large a request body may be, by kind, and the one answer when it is larger.

Uploads (multipart) may reach BACKTUNE_MAX_UPLOAD_MB; every other body (JSON, and a
form's text fields such as ``config``) BACKTUNE_MAX_JSON_KB, since no JSON the API takes
needs more. The limit is enforced on the stream as it is read, so a chunked body with
no Content-Length is cut off as surely as a declared one, and the answer is always a
413 saying the body is too large, naming the part at fault (``file`` or ``body``).
"""

from __future__ import annotations

from flask import Flask, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from app.web.errors import error_response

MULTIPART = "multipart/form-data"


def json_body() -> bytes:
    """The request body, refused with 413 when over its limit.

    Werkzeug cuts a body without Content-Length (chunked) off at the limit without an
    error when it is read in one go, so a truncated body would otherwise reach the JSON
    parser; reading one byte past the limit tells the two apart.
    """
    data = request.get_data(cache=True)
    limit = request.max_content_length
    if limit is not None and len(data) >= limit:
        raise RequestEntityTooLarge()
    return data


def limit_bodies(app: Flask) -> None:
    settings = app.config["SETTINGS"]
    app.config["MAX_CONTENT_LENGTH"] = settings.max_upload_mb * 1024 * 1024
    app.config["MAX_FORM_MEMORY_SIZE"] = settings.max_json_kb * 1024

    @app.before_request
    def small_unless_upload() -> None:
        if request.mimetype != MULTIPART:
            # One byte over the limit is read, so that json_body can tell "at" from "over".
            request.max_content_length = settings.max_json_kb * 1024 + 1

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(_: RequestEntityTooLarge):
        settings = current_app.config["SETTINGS"]
        if request.mimetype == MULTIPART:
            return error_response(
                413,
                "request_entity_too_large",
                f"the request body is too large: an upload may have at most {settings.max_upload_mb}"
                f" MB (BACKTUNE_MAX_UPLOAD_MB) and a form field {settings.max_json_kb} KB "
                f"(BACKTUNE_MAX_JSON_KB)",
                "file",
            )
        return error_response(
            413,
            "request_entity_too_large",
            f"the request body is too large: at most {settings.max_json_kb} KB (BACKTUNE_MAX_JSON_KB)",
            "body",
        )
