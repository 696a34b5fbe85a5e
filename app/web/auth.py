"""Optional bearer-token protection of the API (BACKTUNE_API_TOKEN).

Health checks and the OpenAPI document stay open so load balancers and API clients
can discover the service; everything else under /api/ needs the token when one is set.
"""

from __future__ import annotations

import hmac

from flask import Flask, request

from app.web.errors import ApiError

OPEN_PATHS = ("/api/openapi.json",)


def require_token(app: Flask, token: str) -> None:
    @app.before_request
    def check_token() -> None:
        if not request.path.startswith("/api/") or request.path in OPEN_PATHS:
            return
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            raise ApiError(401, "unauthorized", "send the header Authorization: Bearer <BACKTUNE_API_TOKEN>",
                           "Authorization")
