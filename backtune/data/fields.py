"""One role's column as read: numbers to validate plus the raw cells to quote in errors."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from backtune.data.decimals import NumberFormat, read_numbers


@dataclass(frozen=True)
class Field:
    """A column converted for its role.

    ``values`` is float64 for prices and volume, int64 ns for time. ``missing`` marks
    empty cells (including cells absent from short rows); ``unreadable`` marks cells that
    are present but do not convert (text, nan, inf, impossible dates). ``expected`` says
    what a readable cell of this column looks like, for the error about one that is not.
    """

    role: str
    header: str
    raw: pd.Series
    values: np.ndarray
    missing: np.ndarray
    unreadable: np.ndarray
    expected: str

    def cell(self, index: int) -> object:
        """The cell as pandas read it: a number, or the original text."""
        value = self.raw.iloc[index]
        return value.item() if isinstance(value, np.generic) else value


def number_field(role: str, header: str, raw: pd.Series, style: NumberFormat) -> Field:
    """Read a price or volume column; non-finite values count as unreadable."""
    values = read_numbers(raw, style)
    missing = raw.isna().to_numpy()
    return Field(
        role=role,
        header=header,
        raw=raw,
        values=values,
        missing=missing,
        unreadable=~np.isfinite(values) & ~missing,
        expected=style.expected,
    )
