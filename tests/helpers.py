"""Helpers shared by several test modules."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Sequence

import pytest

ROOT = Path(__file__).resolve().parents[1]
POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
REMOTE_HOST = "remote-host"


def require_postgres() -> str:
    """The test database's URL, or a skip saying why it cannot be used."""
    try:
        import psycopg

        psycopg.connect(POSTGRES_URL, connect_timeout=3).close()
    except Exception as exc:  # any failure to reach the server means: not available here
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}: {exc}")
    return POSTGRES_URL


# Inside new mount and UTS namespaces: its own host name, and an empty file system mounted
# over each of the server's folders, so the command cannot read anything the server keeps
# (checked before it starts); then the command, from its own working directory.
_ISOLATE = """
hostname "$HOST_NAME" || exit 97
for folder in $HIDDEN; do
  mount -t tmpfs -o size=1m,mode=000 hidden "$folder" || exit 97
  [ -z "$(ls -A "$folder")" ] || exit 98
done
cd "$WORK_DIR" || exit 97
exec "$@"
"""


def require_namespaces() -> None:
    """Skip unless this process may create mount and UTS namespaces (root, as in CI)."""
    if shutil.which("unshare") is None or os.geteuid() != 0:
        pytest.skip("needs root and unshare(1) to run a worker that cannot see the server's folders")
    probe = subprocess.run(["unshare", "--mount", "--uts", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot create namespaces here: {probe.stderr.decode().strip()}")


def start_isolated(command: Sequence[str], hidden: Sequence[Path], work_dir: Path, env: dict[str, str],
                   log: Path) -> subprocess.Popen[bytes]:
    """``command`` as if on another machine: host name REMOTE_HOST, ``hidden`` folders empty,
    ``work_dir`` as its working directory; in a process group of its own (for killpg)."""
    work_dir.mkdir(parents=True, exist_ok=True)
    full_env = {**env, "HOST_NAME": REMOTE_HOST, "HIDDEN": " ".join(str(p) for p in hidden),
                "WORK_DIR": str(work_dir)}
    with log.open("ab") as out:
        return subprocess.Popen(["unshare", "--mount", "--uts", "--propagation", "private", "sh", "-c", _ISOLATE,
                                 "isolate", *command], env=full_env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)


def worker_command(server: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "app", "worker", "--server", server, *args]
