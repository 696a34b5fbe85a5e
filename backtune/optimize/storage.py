"""Optuna storage by URL: the run's journal file by default, a database for scale-out."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import optuna
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock, JournalFileSymlinkLock

DATABASE_SCHEMES = ("postgresql", "postgresql+psycopg2", "mysql", "sqlite")


def is_database_url(url: str) -> bool:
    return url.split("://", 1)[0] in DATABASE_SCHEMES and "://" in url


def open_storage(url: str) -> optuna.storages.BaseStorage:
    """A database URL opens an RDBStorage; anything else is a journal file path."""
    if is_database_url(url):
        return optuna.storages.RDBStorage(url, engine_kwargs={"pool_pre_ping": True})
    return JournalStorage(JournalFileBackend(url, lock_obj=_journal_lock(url)))


def _journal_lock(path: str) -> JournalFileSymlinkLock | JournalFileOpenLock:
    """The symlink lock is Optuna's default; some filesystems (and Windows) lack symlinks."""
    return JournalFileSymlinkLock(path) if _symlinks_work(Path(path).parent) else JournalFileOpenLock(path)


def _symlinks_work(folder: Path) -> bool:
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as probe:
        try:
            os.symlink("target", os.path.join(probe, "link"))
        except OSError:
            return False
    return True
