"""Which decimal mark a file's numbers use.

European spreadsheets write 1234,5 and so separate fields with semicolons. A comma is
taken as the decimal mark only there, and then for the whole file: mixing marks, or
reading a quoted "1,234" in a comma-separated file, could turn a thousand into a unit,
so such cells are refused rather than guessed. In a decimal-comma file a point or a
space may group thousands only where it cannot be a decimal point (1.234,5, 1.234.567,
1 234); a lone 1.234 is refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

# Space, no-break space and narrow no-break space: French exports group with either.
_SPACES = " \u00a0\u202f"
_COMMA_NUMBER = (
    "[+-]?(?:"
    + "|".join(
        (
            r"\d+(?:,\d+)?",  # 1234,5
            rf"\d{{1,3}}(?:[{_SPACES}]\d{{3}})+(?:,\d+)?",  # 1 234,5
            r"\d{1,3}(?:\.\d{3})+,\d+",  # 1.234,5
            r"\d{1,3}(?:\.\d{3}){2,}",  # 1.234.567
        )
    )
    + ")"
)


@dataclass(frozen=True)
class NumberFormat:
    """The file's decimal mark, and how its numbers should look, for error messages."""

    decimal_comma: bool
    expected: str


def number_format(columns: Iterable[pd.Series], delimiter: str) -> NumberFormat:
    """Decimal commas if the file is semicolon-separated and any number is written with one.

    The columns of a semicolon file must be text as written: once pandas has read 1.000
    as a number, whether it meant one or a thousand is lost.
    """
    if delimiter != ";":
        return NumberFormat(False, "a number such as 1234.5 (decimal commas only in semicolon-separated files)")
    for raw in columns:
        text = raw.str.strip()
        written = text[text.str.contains(",", regex=False, na=False) & text.str.fullmatch(_COMMA_NUMBER, na=False)]
        if len(written):
            return NumberFormat(
                True,
                f"a number with a decimal comma, as the file writes {written.iloc[0]!r}; a point is read only "
                "as a thousands separator where it cannot be a decimal point, as in 1.234,5 or 1.234.567",
            )
    return NumberFormat(False, "a number such as 1234.5 or 1234,5 (one decimal mark throughout the file)")


def read_numbers(raw: pd.Series, style: NumberFormat) -> np.ndarray:
    """The column as float64; cells that are no number in the file's format become NaN."""
    if pd.api.types.is_numeric_dtype(raw.dtype):
        return raw.to_numpy(dtype=np.float64, na_value=np.nan)
    text = raw.str.strip()
    if style.decimal_comma:
        readable = text.str.fullmatch(_COMMA_NUMBER, na=False)
        text = text.str.replace(f"[.{_SPACES}]", "", regex=True).str.replace(",", ".", regex=False).where(readable)
    return pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
