"""The Optuna and optuna-dashboard internals Backtune leans on are the ones it was written for.

backtune/optimize/optuna_compat.py is the only module that touches their private names.
On an upgrade these tests fail first, naming the versions and every name that has gone,
before tests/test_dump.py, test_storage.py and test_dashboard.py show what behaviour broke.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from backtune.optimize import optuna_compat

ROOT = Path(__file__).resolve().parents[1]


def test_the_installed_versions_are_the_ones_the_compat_module_was_written_for():
    unsupported = optuna_compat.unsupported_versions()
    assert not unsupported, (
        f"optuna_compat was written for {optuna_compat.WRITTEN_FOR}, installed {unsupported}: review every "
        "name in backtune/optimize/optuna_compat.py against the new release, then update WRITTEN_FOR"
    )


def test_every_private_name_the_compat_module_uses_still_exists():
    assert optuna_compat.missing_private_names() == []


def test_a_missing_private_name_is_reported(monkeypatch):
    """The check above can fail: a name that does not exist is named."""
    monkeypatch.setattr(
        optuna_compat,
        "PRIVATE_NAMES",
        (
            "optuna.study.study:Study._storage",
            "optuna.study.study:Study._no_such_attribute",
            "optuna.storages._rdb.models:NoSuchModel",
            "optuna.no_such_module:X",
        ),
    )
    assert optuna_compat.missing_private_names() == [
        "optuna.study.study:Study._no_such_attribute",
        "optuna.storages._rdb.models:NoSuchModel",
        "optuna.no_such_module:X",
    ]


def test_an_other_version_is_reported(monkeypatch):
    monkeypatch.setitem(optuna_compat.WRITTEN_FOR, "optuna", "4.9")
    assert list(optuna_compat.unsupported_versions()) == ["optuna"]


def test_no_other_module_touches_optunas_private_names():
    """Private modules (``optuna.x._y``, ``optuna_dashboard._z``) and the private attributes
    of Optuna's objects (on anything but ``self``: our own classes have attributes of the
    same names) are reached only through the compat module."""
    private = re.compile(
        r"(?:from|import)\s+optuna(?:_dashboard)?(?:\.\w+)*\._\w+|optuna_dashboard import _"
        r"|(?<!\bself)\.(?:_trial_id|_study_id|_storage|_replay_result|_write_log"
        r"|_sync_with_backend|_backend|_log_number_offset|_file_path|_thread_lock)\b"
    )
    found = []
    for folder in ("backtune", "app", "strategies", "benchmarks"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path.name == "optuna_compat.py":
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if private.search(line) and not line.lstrip().startswith("#"):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == []


def test_workers_do_not_import_the_dashboard():
    """The dashboard fix is installed lazily: importing the compat module (every worker
    does, through the storage) must not pull optuna-dashboard in."""
    code = "import sys, backtune.optimize.storage; print('optuna_dashboard' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
