"""One role's column as read: numbers to validate plus the raw cells to quote in errors."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Field:
    """A column converted for its role.

    ``values`` is float64 for prices and volume, int64 ns for time. ``missing`` marks
    empty cells (including cells absent from short rows); ``unreadable`` marks cells that
    are present but do not convert (text, nan, inf, impossible dates).
    """

    role: str
    header: str
    raw: pd.Series
    values: np.ndarray
    missing: np.ndarray
    unreadable: np.ndarray

    def cell(self, index: int) -> object:
        """The cell as pandas read it: a number, or the original text."""
        value = self.raw.iloc[index]
        return value.item() if isinstance(value, np.generic) else value


def number_field(role: str, header: str, raw: pd.Series) -> Field:
    """Read a price or volume column; non-finite values count as unreadable."""
    if pd.api.types.is_numeric_dtype(raw.dtype):
        numbers = raw
    else:
        numbers = pd.to_numeric(raw, errors="coerce")
    values = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
    missing = raw.isna().to_numpy()
    return Field(
        role=role,
        header=header,
        raw=raw,
        values=values,
        missing=missing,
        unreadable=~np.isfinite(values) & ~missing,
    )
