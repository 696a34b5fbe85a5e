"""Two fixes for the cost of the embedded optuna-dashboard (0.21) on large studies.

**Finished studies rescanned.** For every study-detail request (and every parameter-
importance request) the dashboard updates a cached summary of the study's trials: the
union and intersection of their search spaces and user attributes. Its
``_CachedExtraStudyProperty.update`` keeps a cursor so that it only looks at trials it has
not settled, but it moves the cursor only when it meets an unfinished trial. Once every
trial has finished (every study a user opens after its run), the cursor stays at -1 and
each request rescans the whole study: 0.26 s a request at 15,000 trials.
``FinishedAwareCursor`` is the same update with one change: when this pass met no
unfinished trial, the cursor moves past the last trial it saw. Unions and intersections
are idempotent, so rescanning the unfinished ones, as upstream does, stays correct.

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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable

from optuna.trial import FrozenTrial, TrialState
from optuna_dashboard import _inmemory_cache

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

IMPORTANCE_PATH = re.compile(r"/api/studies/\d+/param_importances")
IMPORTANCE_TTL_S = 30.0

_Upstream = _inmemory_cache._CachedExtraStudyProperty


class FinishedAwareCursor(_Upstream):  # type: ignore[misc, valid-type]
    def update(self, trials: list[FrozenTrial]) -> None:
        next_cursor = trials[-1].number + 1 if trials else self._cursor
        for trial in reversed(trials):
            if self._cursor > trial.number:
                break
            if not trial.state.is_finished():
                next_cursor = trial.number
            self._update_user_attrs(trial)
            if trial.state != TrialState.FAIL:
                self._update_intermediate_values(trial)
                self._update_search_space(trial)
        self._cursor = max(self._cursor, next_cursor)


def install() -> None:
    _inmemory_cache._CachedExtraStudyProperty = FinishedAwareCursor


@dataclass(frozen=True)
class _Response:
    at: float
    status: str
    headers: list[tuple[str, str]]
    body: bytes


class ImportanceCache:
    """WSGI, in front of the dashboard: a successful importance GET is answered again for
    ``ttl_s`` seconds; every other request passes through untouched."""

    def __init__(self, dashboard: WSGIApplication, ttl_s: float = IMPORTANCE_TTL_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
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
