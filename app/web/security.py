"""Browser-facing protections, applied around the whole WSGI app (the dashboard included).

Two jobs, both at the outermost layer because the embedded optuna-dashboard is served
beside Flask rather than through it (app/web/dashboard.py), and both must cover it:

- **Response headers** on every page and API answer: a Content-Security-Policy that lets
  only this origin's scripts run and nobody frame the site (the runs page has cancel
  buttons, so clickjacking is an attack), ``nosniff`` so a JSON or CSV answer is never run
  as a script, and a referrer policy that keeps job ids in this origin.
- **Cross-origin refusal**: with no token set, any page a user visits could otherwise
  auto-submit a form to ``/api/optimize`` and start jobs. A state-changing request (any
  method but GET, HEAD, OPTIONS) that a browser marks as coming from another site
  (``Sec-Fetch-Site``), or whose ``Origin`` names another host, gets 403 before it reaches
  the app. Requests without either header are not from a browser page (curl, scripts) and
  pass; so do origins listed in BACKTUNE_TRUSTED_ORIGINS (a reverse proxy that rewrites
  ``Host``, say).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

DENY_FRAMING = "frame-ancestors 'none'"
# The dashboard's UI (MUI) injects <style> elements and the pages use style attributes, so
# styles may be inline; scripts may not. Plotly draws into blob: and data: images.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        DENY_FRAMING,
    )
)
SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),  # frame-ancestors for browsers that predate it
    ("Referrer-Policy", "same-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SAME_SITE_FETCHES = frozenset({"same-origin", "none"})  # "none": typed in the address bar, a bookmark


def secured(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``headers`` with every security header added. A policy the app set itself is kept
    (optuna-dashboard's allows ``unsafe-eval``, which its charts need), with framing denied."""
    present = {name.lower() for name, _ in headers}
    kept = [
        (
            name,
            f"{value}; {DENY_FRAMING}"
            if name.lower() == "content-security-policy" and "frame-ancestors" not in value
            else value,
        )
        for name, value in headers
    ]
    return kept + [(name, value) for name, value in SECURITY_HEADERS if name.lower() not in present]


class BrowserProtection:
    """WSGI middleware: security headers on every response, cross-origin writes refused."""

    def __init__(self, app: WSGIApplication, trusted_origins: Iterable[str] = ()) -> None:
        self._app = app
        self._trusted = frozenset(origin.rstrip("/").lower() for origin in trusted_origins)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        def with_headers(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            headers = secured(headers)
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        refusal = self.cross_origin_refusal(environ)
        if refusal is not None:
            body = json.dumps({"error": {"code": "cross_origin", "message": refusal, "field": "Origin"}}).encode()
            with_headers("403 Forbidden", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        return self._app(environ, with_headers)

    def cross_origin_refusal(self, environ: WSGIEnvironment) -> str | None:
        """Why a request must be refused as cross-origin, or None to let it through."""
        if environ.get("REQUEST_METHOD", "GET").upper() in SAFE_METHODS:
            return None
        origin = environ.get("HTTP_ORIGIN")
        if origin is not None and origin.rstrip("/").lower() in self._trusted:
            return None
        fetch_site = environ.get("HTTP_SEC_FETCH_SITE")
        if fetch_site is not None and fetch_site.lower() not in SAME_SITE_FETCHES:
            return f"a {fetch_site} request may not change anything here (Sec-Fetch-Site: {fetch_site})"
        if origin is None:
            return None
        host = (environ.get("HTTP_HOST") or environ.get("SERVER_NAME") or "").lower()
        if urlsplit(origin).netloc.lower() != host:  # "null" (a sandboxed page) has none
            return (
                f"requests from the page {origin!r} may not change anything on {host!r} "
                "(add it to BACKTUNE_TRUSTED_ORIGINS if it should)"
            )
        return None
