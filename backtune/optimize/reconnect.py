"""A worker whose database connection dropped waits for the database, within a limit.

A server restart or a network cut fails the worker's next statement. Ending the worker
there would leave a host that lost the network for a minute idle until someone restarts
it, so the worker tries again every ``RETRY_S`` seconds, still obeying the stop rules that
need no database (a cancel, the deadline), and goes on serving trials once the database
answers. A host that never gets it back gives up after its limit (``RECONNECT_LIMIT_S``
unless told otherwise, ``worker --reconnect-limit``) with ``DatabaseUnreachable``.

The study needs nothing from the worker meanwhile: the trial it was running stops
receiving heartbeats, so after the grace period another worker or the coordinator fails it
and enqueues its retry; ``BatchedDatabaseStorage.recover`` forgets it, so no heartbeat of
this worker revives it, and sends again only a result whose write was cut, which is
written only while its trial is still RUNNING.

No SQLAlchemy here: this module is imported by every worker, journal ones included.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger("backtune.worker")

RECONNECT_LIMIT_S = 300.0
RETRY_S = 1.0


class DatabaseUnreachable(Exception):
    """The database stayed out of reach for the whole reconnect limit."""


class Recoverable(Protocol):
    def recover(self) -> tuple[int, bool] | None: ...


@dataclass(frozen=True)
class Reconnect:
    """``wait`` is what a worker does with an error for which ``lost`` gives the cause."""

    storage: Recoverable
    label: str  # "run <id> worker <index>", which every log line starts with
    limit_s: float = RECONNECT_LIMIT_S

    @staticmethod
    def lost(exc: BaseException) -> BaseException | None:
        """The lost connection behind ``exc``, or None for any other error."""
        from backtune.optimize.database import connection_lost

        return connection_lost(exc)

    def wait(self, cause: BaseException, stop: Callable[[], str | None]) -> tuple[str | None, int]:
        """Until the database answers: (None, results written on reconnection, 0 or 1). Or
        until ``stop`` gives a reason: (that reason, 0)."""
        log.warning(
            "%s: database connection lost (%s); reconnecting for up to %.0f s", self.label, _line(cause), self.limit_s
        )
        started = time.monotonic()
        while (reason := stop()) is None:
            try:
                resent = self.storage.recover()
            except Exception as exc:
                if (again := self.lost(exc)) is None:
                    raise
                if time.monotonic() - started >= self.limit_s:
                    raise DatabaseUnreachable(
                        f"database unreachable for {self.limit_s:.0f} s, giving up (last error: {_line(again)})"
                    ) from None
                time.sleep(RETRY_S)
                continue
            log.info("%s: database connection restored after %.1f s", self.label, time.monotonic() - started)
            return None, self._report(resent)
        log.warning("%s: stopping (%s) while the database is unreachable", self.label, reason)
        return reason, 0

    def _report(self, resent: tuple[int, bool] | None) -> int:
        if resent is None:
            return 0
        number, written = resent
        if written:
            log.info("%s: trial %d's result, cut by the connection, written on reconnection", self.label, number)
            return 1
        log.warning(
            "%s: trial %d's result refused: the trial is no longer RUNNING (failed after the grace period, "
            "or written before the cut)",
            self.label,
            number,
        )
        return 0


def _line(exc: BaseException) -> str:
    """The error's type and first line (SQLAlchemy's messages run to several)."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"
