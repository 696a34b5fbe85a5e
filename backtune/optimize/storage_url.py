"""Which storage a ``--storage`` / ``BACKTUNE_DATABASE_URL`` setting names.

SQLAlchemy's ``make_url`` reads the URL, so every form SQLAlchemy accepts for the
supported databases works (``postgresql://``, ``postgresql+psycopg://``,
``mysql+pymysql://``, ``sqlite:///path``); text with no ``scheme://`` is a journal file
path. Anything else (``postgres://``, ``redis://``, a typo) is refused here, naming the
setting, instead of being taken for a file name and failing later with a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from backtune.errors import FieldError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

DATABASES = ("postgresql", "mysql", "sqlite")


class StorageUrlError(FieldError):
    """A storage setting that names no database we open and is no file path."""


@dataclass(frozen=True)
class StorageTarget:
    """``url`` is the setting as given; ``database`` is its parsed URL, None for a journal path."""

    url: str
    database: URL | None

    @property
    def is_database(self) -> bool:
        return self.database is not None

    @property
    def backend(self) -> str | None:
        return None if self.database is None else self.database.get_backend_name()


def parse_storage(text: str, setting: str = "storage") -> StorageTarget:
    if not isinstance(text, str) or not text.strip():
        raise StorageUrlError(setting, f"expected a database URL or a journal file path, got {text!r}")
    if "://" not in text:
        return StorageTarget(text, None)  # a path; and no SQLAlchemy import in a journal's worker
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(text)
    except (ArgumentError, ValueError):  # ValueError: a port that is no number
        raise StorageUrlError(setting, f"{_redacted(text)!r} is not a URL SQLAlchemy can read") from None
    if url.get_backend_name() not in DATABASES:
        hint = " (write postgresql://)" if url.get_backend_name() == "postgres" else ""
        raise StorageUrlError(
            setting,
            f"unsupported database {url.drivername!r}{hint}; use "
            "postgresql[+driver]://, mysql+driver://, sqlite:/// or a journal file path",
        )
    return StorageTarget(text, url)


def is_database_url(text: str) -> bool:
    return parse_storage(text).is_database


def _redacted(text: str) -> str:
    """The text without what sits between ``://`` and ``@`` (a password, usually)."""
    scheme, _, rest = text.partition("://")
    return f"{scheme}://***@{rest.rsplit('@', 1)[1]}" if "@" in rest else text
