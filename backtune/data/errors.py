"""The one exception the data layer raises for a bad file.

Users fix CSVs in a text editor or a spreadsheet, so every error carries the file, the
line number as the editor shows it and the original column header, both as attributes
(for the web layer to highlight) and in the message (for the CLI to print).
"""

from __future__ import annotations

from typing import Any


class DataError(ValueError):
    """A file that cannot become bars.

    ``row`` is the 1-based line number in the file (the header is line 1), ``column`` the
    header as written in the file; either is None when the problem is not tied to one.
    ``reason`` is the message without the location prefix.
    """

    def __init__(
        self,
        reason: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.file = file
        self.row = row
        self.column = column

    def __str__(self) -> str:
        where = []
        if self.file is not None:
            where.append(self.file)
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        return f"{', '.join(where)}: {self.reason}" if where else self.reason

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only arguments are lost by ValueError's default pickling; optimisation
        # workers send errors across processes, so rebuild from the reason and restore
        # the location from the instance dict.
        return (type(self), (self.reason,), self.__dict__)
