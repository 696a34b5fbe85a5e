"""optuna-dashboard in the app's own server and origin, read-only, over every run.

The dashboard's bundle asks for absolute paths (``/static/bundle.js``, ``/api/studies``,
``/csv/<id>``...), so it cannot live under a URL prefix: a dispatcher in front of Flask
sends the dashboard's own paths to it and everything else to Flask. Both share ``/api/``,
so the dashboard's part is an explicit table (``DASHBOARD_PATHS``, checked against the
installed dashboard's routes and Flask's by tests/test_dashboard.py) rather than a prefix.

The dashboard can delete, rename and annotate studies; here any method but GET and HEAD on
its paths gets a 405 in the API's error shape before it reaches it, and its storage (the
``ReadOnlyRunsStorage``) refuses writes as well.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import optuna_dashboard
from flask import Flask
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wrappers import Request

from app.web import dashboard_cache
from app.web.auth import UNAUTHORIZED, authorized, login_redirect
from app.web.errors import error_response
from backtune.jobs.runs_storage import ReadOnlyRunsStorage
from backtune.optimize.optuna_compat import install_finished_study_cursor

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

# Each path and everything below it goes to the dashboard (optuna-dashboard 0.21's routes,
# optuna_dashboard/_app.py and the artifact, LLM and schema-migration routes it registers).
# Its "/" (a redirect to /dashboard) is left to Flask.
DASHBOARD_PATHS: tuple[str, ...] = (
    "/dashboard",  # the single-page app, client-side routes below it
    "/static",  # the bundle
    "/favicon.ico",
    "/api/meta",
    "/api/studies",
    "/api/trials",
    "/api/artifacts",
    "/api/llm",
    "/csv",
    "/artifacts",
    "/incompatible-rdb-schema",
)
READ_METHODS = frozenset({"GET", "HEAD"})


def is_dashboard_path(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in DASHBOARD_PATHS)


class DashboardDispatcher:
    """WSGI: the dashboard's paths to the dashboard (reads only), everything else to Flask.

    Requests for the dashboard never pass through Flask, so its request hooks (the API
    token check among them) do not see them: with ``BACKTUNE_API_TOKEN`` set, the dashboard
    asks for the same token (bearer header or login cookie, app/web/auth.py) here, or its
    pages would serve what the API guards. For the same reason its errors under ``/api/``
    (bottle's HTML pages) are rewritten into the API's error shape here.
    """

    def __init__(self, app: Flask, dashboard: WSGIApplication) -> None:
        self._app = app
        self._flask = app.wsgi_app
        self._dashboard = dashboard
        self._token = app.config["SETTINGS"].api_token

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if not is_dashboard_path(environ.get("PATH_INFO", "")):
            return self._flask(environ, start_response)
        if self._token and not self._authorized(environ):
            if not environ.get("PATH_INFO", "").startswith("/api/"):
                return login_redirect(environ.get("PATH_INFO", "/"))(environ, start_response)
            return self._error(environ, start_response, 401, "unauthorized", UNAUTHORIZED, "Authorization")
        if environ.get("REQUEST_METHOD", "GET").upper() not in READ_METHODS:
            return self._error(
                environ,
                start_response,
                405,
                "method_not_allowed",
                "the dashboard is read-only: runs change only through the jobs API",
                headers={"Allow": ", ".join(sorted(READ_METHODS))},
            )
        # The dashboard's static routes index this header and answer 500 without it (curl,
        # health probes); no header means any encoding will do, identity included.
        environ.setdefault("HTTP_ACCEPT_ENCODING", "identity")
        return self._json_errors(environ, start_response)

    def _authorized(self, environ: WSGIEnvironment) -> bool:
        request = Request(environ)
        return authorized(self._token, request.headers, request.cookies)

    def _json_errors(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """The dashboard's answer, with its error pages (4xx/5xx that are not JSON) replaced
        by the API's error shape: bottle answers a bad id or a path such as
        ``/static/..%2f..`` with an HTML page."""
        answer: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            answer.update(status=status, headers=headers)
            if int(status[:3]) < 400 or _is_json(headers):
                return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)
            return lambda _data: None  # the body is replaced below

        body = self._dashboard(environ, capture)
        if "status" not in answer or int(answer["status"][:3]) < 400 or _is_json(answer["headers"]):
            return body
        code = int(answer["status"][:3])
        if hasattr(body, "close"):
            body.close()
        name = HTTP_STATUS_CODES.get(code, "error")
        return self._error(
            environ, start_response, code, name.lower().replace(" ", "_"), f"{name}: {environ.get('PATH_INFO', '')!r}"
        )

    def _error(
        self,
        environ: WSGIEnvironment,
        start_response: StartResponse,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Iterable[bytes]:
        """The API's own error shape, though Flask never saw the request."""
        with self._app.app_context():
            response = error_response(status, code, message, field)
        response.headers.update(headers or {})
        return response(environ, start_response)


def _is_json(headers: list[tuple[str, str]]) -> bool:
    return any(name.lower() == "content-type" and "json" in value for name, value in headers)


def mount_dashboard(app: Flask) -> None:
    """Serve the dashboard over every run in the app's runs folder, from the same server."""
    install_finished_study_cursor()
    storage = ReadOnlyRunsStorage(app.config["SETTINGS"].runs_dir)
    app.config["RUNS_STORAGE"] = storage
    dashboard = dashboard_cache.ImportanceCache(optuna_dashboard.wsgi(storage))
    app.wsgi_app = DashboardDispatcher(app, dashboard)  # type: ignore[method-assign]
