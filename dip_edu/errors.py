"""The project's one error type and its one notice, so every entry point can report them in a line."""

from __future__ import annotations

import warnings


class DipError(ValueError):
    """Bad input: the message names the input, what is wrong and what to do."""


class DipNotice(UserWarning):
    """Something was changed on the user's behalf (a crop, a conversion); worth one line, not an error."""


def notice(message: str) -> None:
    """Tell the user, once, about a change made to their input."""
    warnings.warn(message, DipNotice, stacklevel=3)


def require(condition: bool, message: str) -> None:
    """Raise DipError with `message` unless `condition` holds."""
    if not condition:
        raise DipError(message)
