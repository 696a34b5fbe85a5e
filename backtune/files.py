"""Atomic file replacement, shared by everything that writes files other processes read."""

from __future__ import annotations

import contextlib
import os
import tempfile
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
