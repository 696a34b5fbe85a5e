"""The few calls a remote worker makes to the server, over plain HTTP(S) with the API token.

Standard library only, so a worker host needs nothing beyond Backtune's core.
"""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backtune.files import atomic_writer

TIMEOUT_S = 30.0


class RemoteError(Exception):
    """The server refused (a wrong token, an unknown job) or could not be reached; or its
    data failed a check. The message says which; ``status`` is the HTTP status, if any."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Unreachable(RemoteError):
    """No answer at all: the network or the server is down (a worker retries these)."""


@dataclass(frozen=True)
class ServerClient:
    server: str
    token: str | None = None

    def plan(self, job_id: str) -> dict[str, Any]:
        return json.loads(self._get(f"/api/jobs/{job_id}/plan"))

    def jobs(self) -> list[dict[str, Any]]:
        return json.loads(self._get("/api/jobs"))["jobs"]

    def dataset(self, reference: dict[str, Any], cache: Path) -> Path:
        """The plan's dataset as a local file under ``cache``, downloaded once and kept only
        if its bytes hash to the plan's sha256: a file altered on the way (or on the
        server, after the job was planned) is refused, never backtested."""
        expected = reference["sha256"]
        path = cache / f"{expected}.csv"
        if path.is_file() and _sha256(path.read_bytes()) == expected:
            return path
        data = self._get(reference["file"])
        actual = _sha256(data)
        if actual != expected:
            raise RemoteError(
                f"dataset {reference['id']} ({reference['name']}): the downloaded file's sha256 "
                f"is {actual}, the job's plan says {expected}; refused"
            )
        with atomic_writer(path) as out:
            out.write(data)
        return path

    def _get(self, path: str) -> bytes:
        request = urllib.request.Request(self.server.rstrip("/") + path)
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
                return response.read()
        except urllib.error.HTTPError as exc:
            raise RemoteError(f"{self.server}{path}: HTTP {exc.code}: {_error_message(exc)}", exc.code) from None
        except (urllib.error.URLError, OSError) as exc:
            raise Unreachable(f"{self.server}{path}: {getattr(exc, 'reason', exc)}") from None


def _error_message(exc: urllib.error.HTTPError) -> str:
    """The API's ``{"error": {"message"}}``, or the status text."""
    try:
        return json.loads(exc.read())["error"]["message"]
    except (ValueError, KeyError, TypeError, OSError):
        return exc.reason


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
