"""Mapping parsed rows back to the lines a user sees in their editor."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backtune.data.errors import DataError


@dataclass(frozen=True)
class SourceRows:
    """The file line of every kept data row.

    Blank lines are dropped before validation, so a row's position in the arrays is not
    its line number; errors go through here to name the line the user must edit.
    """

    file: str
    lines: np.ndarray

    def __len__(self) -> int:
        return int(self.lines.shape[0])

    def line(self, index: int) -> int:
        return int(self.lines[index])

    def error(self, reason: str, *, index: int | None = None, column: str | None = None) -> DataError:
        row = None if index is None else self.line(index)
        return DataError(reason, file=self.file, row=row, column=column)
