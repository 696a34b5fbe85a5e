"""Two fixes for the cost of the embedded optuna-dashboard (0.21) on large studies.

**Finished studies rescanned.** The dashboard's per-study cache rescanned every trial of a
finished study on each request (0.26 s a request at 15,000 trials);
``backtune.optimize.optuna_compat.install_finished_study_cursor`` fixes it in place, as it
rests on the dashboard's private names (docs/dashboard.md describes the fix for upstream).

**Importances recomputed for live studies.** The dashboard recomputes parameter
importances (PED-ANOVA over every completed trial) whenever the number of completed
trials has changed, which for a running study is every time its trial list is refreshed
(10 s): seconds of CPU per refresh at 20,000 trials, taken from the workers.
``ImportanceCache`` serves an importance response again for ``IMPORTANCE_TTL_S``; with
thousands of trials, half a minute moves the importances little. (docs/performance.md)
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

IMPORTANCE_PATH = re.compile(r"/api/studies/\d+/param_importances")
IMPORTANCE_TTL_S = 30.0


@dataclass(frozen=True)
class _Response:
    at: float
    status: str
    headers: list[tuple[str, str]]
    body: bytes


class ImportanceCache:
    """WSGI, in front of the dashboard: a successful importance GET is answered again for
    ``ttl_s`` seconds; every other request passes through untouched."""

    def __init__(
        self, dashboard: WSGIApplication, ttl_s: float = IMPORTANCE_TTL_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._dashboard = dashboard
        self._ttl_s = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._responses: dict[tuple[str, str], _Response] = {}

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD", "GET") != "GET" or not IMPORTANCE_PATH.fullmatch(path):
            return self._dashboard(environ, start_response)
        key = (path, environ.get("QUERY_STRING", ""))
        with self._lock:
            cached = self._responses.get(key)
        if cached is None or self._clock() - cached.at >= self._ttl_s:
            cached = self._call_dashboard(environ)
            if cached.status.startswith("200"):
                with self._lock:
                    self._responses[key] = cached
        start_response(cached.status, cached.headers)
        return [cached.body]

    def _call_dashboard(self, environ: WSGIEnvironment) -> _Response:
        chunks: list[bytes] = []
        started: dict[str, object] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> Callable:
            started.update(status=status, headers=headers)
            return chunks.append

        at = self._clock()
        body = self._dashboard(environ, start_response)
        try:
            chunks.extend(body)
        finally:
            getattr(body, "close", lambda: None)()
        return _Response(at, started["status"], list(started["headers"]), b"".join(chunks))
