"""The base of every error a user can fix by changing one input field."""

from __future__ import annotations


class FieldError(ValueError):
    """A user-supplied value that cannot be used.

    ``field`` names the input (so an API can point at it in a form) and ``reason`` says
    what is wrong with it; ``label`` controls how the field reads in the message.
    """

    label = "{field}"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{self.label.format(field=field)}: {reason}")
        self.field = field
        self.reason = reason
