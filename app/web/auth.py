"""Optional token protection of the whole site (BACKTUNE_API_TOKEN).

When a token is set, every page, API path and dashboard path needs it; only the health
checks, the OpenAPI document, the login page and the static assets stay open (a load
balancer and an API client must be able to discover the service, and the login page must
load its stylesheet). Pages count: they would otherwise tell anyone which job ids exist.

Two ways to carry it, one rule:

- scripts send ``Authorization: Bearer <token>``;
- a browser cannot, so ``/login`` takes the token once and sets a cookie, which the pages'
  own requests to the API then carry. The cookie holds an HMAC of the token, not the token,
  is HttpOnly (no script reads it) and SameSite=Strict (no other site's request carries
  it); cross-origin writes are refused anyway (app/web/security.py).

Without credentials an API path answers 401 in the API's error shape and a page redirects
to the login page, for every path alike, so a job's page reveals nothing about the job.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import quote

from flask import Blueprint, Flask, current_app, redirect, render_template, request
from werkzeug.utils import redirect as werkzeug_redirect
from werkzeug.wrappers import Response

from app.web.errors import ApiError

OPEN_PATHS = frozenset({"/api/openapi.json", "/healthz", "/readyz", "/login"})
OPEN_PREFIXES = ("/assets/",)
COOKIE = "backtune_session"
UNAUTHORIZED = "send the header Authorization: Bearer <BACKTUNE_API_TOKEN>, or log in at /login"

bp = Blueprint("auth", __name__)


def session_value(token: str) -> str:
    """What the login cookie holds: derived from the token, so the cookie is no copy of it."""
    return hmac.new(token.encode(), b"backtune-session", hashlib.sha256).hexdigest()


def authorized(token: str, headers: Mapping[str, str], cookies: Mapping[str, str]) -> bool:
    """Whether a request carries the token, as a bearer header or as the login cookie."""
    bearer = hmac.compare_digest(headers.get("Authorization", "").encode(), f"Bearer {token}".encode())
    return bearer or hmac.compare_digest(cookies.get(COOKIE, "").encode(), session_value(token).encode())


def is_open(path: str) -> bool:
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


def login_redirect(path: str) -> Response:
    """A redirect to the login page that comes back to ``path`` afterwards (a plain
    werkzeug response: the dashboard's dispatcher sends it outside any Flask context)."""
    return werkzeug_redirect(f"/login?next={quote(path)}", 303)


def require_token(app: Flask, token: str) -> None:
    @app.before_request
    def check_token():
        if is_open(request.path) or authorized(token, request.headers, request.cookies):
            return None
        if request.path.startswith("/api/"):
            raise ApiError(401, "unauthorized", UNAUTHORIZED, "Authorization")
        return login_redirect(request.full_path.rstrip("?"))


@bp.get("/login")
def login_page():
    return render_template("login.html", next=_next_page(), failed=False, page="login")


@bp.post("/login")
def login():
    token = current_app.config["SETTINGS"].api_token
    response = redirect(_next_page(), 303)
    if token is None:  # nothing to log in to
        return response
    if not hmac.compare_digest(request.form.get("token", "").encode(), token.encode()):
        return render_template("login.html", next=_next_page(), failed=True, page="login"), 401
    response.set_cookie(
        COOKIE, session_value(token), httponly=True, samesite="Strict", secure=request.is_secure, path="/"
    )
    return response


def _next_page() -> str:
    """Where to go after logging in: a path on this site only, never another host."""
    wanted = request.values.get("next", "/")
    return wanted if wanted.startswith("/") and not wanted.startswith("//") and "\\" not in wanted else "/"
