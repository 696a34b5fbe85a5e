"""Atomic file replacement and file locks, shared by everything that writes files other
processes read."""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO


@contextlib.contextmanager
def atomic_writer(target: Path) -> Iterator[BinaryIO]:
    """A binary handle whose content replaces ``target`` only if the block completes.

    Written to a temporary file beside the target and renamed over it, so a concurrent
    reader (another worker, the web app) sees the old file or the new one, never half of
    one; a failure leaves the old file and no temporary behind.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            yield out
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


LOCK_POLL_S = 0.005


@contextlib.contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive flock on ``path`` (created if need be) for the block.

    Polls rather than blocking in the kernel: under gunicorn's gevent workers a blocking
    flock would stop every request of the process while another one holds the lock (a
    salvage or a large parse can take seconds); ``time.sleep`` yields instead.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                time.sleep(LOCK_POLL_S)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
