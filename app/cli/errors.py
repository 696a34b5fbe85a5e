"""The errors a user can fix, which the CLI reports as one line instead of a traceback."""

from __future__ import annotations

from backtune.data.errors import DataError
from backtune.errors import FieldError
from backtune.registry import UnknownStrategyError


class CliError(Exception):
    """A bad command-line value (a file that does not exist, malformed JSON, ...)."""

    EXIT_CODE = 2


USER_ERRORS = (CliError, DataError, FieldError, UnknownStrategyError)
