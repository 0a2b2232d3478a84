"""The project's one error type and its one notice, so every entry point can report them in a line."""

from __future__ import annotations

import contextlib
import contextvars
import warnings

import numpy as np


class DipError(ValueError):
    """Bad input: the message names the input, what is wrong and what to do."""


class DipNotice(UserWarning):
    """Something was changed on the user's behalf (a crop, a conversion); worth one line, not an error."""


_QUIET: contextvars.ContextVar[bool] = contextvars.ContextVar("quiet_notices", default=False)


def notice(message: str) -> None:
    """Tell the user about a change made to their input: a plain line in a notebook, a warning elsewhere.

    In a notebook a warning lands in a red stderr box that reads as an error; a notice is not one.
    """
    if _QUIET.get():
        return
    try:
        from IPython import get_ipython

        in_kernel = getattr(get_ipython(), "kernel", None) is not None
    except ImportError:
        in_kernel = False
    if in_kernel:
        print(f"note: {message}")
    else:
        warnings.warn(message, DipNotice, stacklevel=3)


@contextlib.contextmanager
def quiet_notices():
    """Make no notices inside this block (for a change already announced once)."""
    token = _QUIET.set(True)
    try:
        yield
    finally:
        _QUIET.reset(token)


def require(condition: bool, message: str) -> None:
    """Raise DipError with `message` unless `condition` holds."""
    if not condition:
        raise DipError(message)


def number(
    value: object,
    name: str,
    lo: float | None = None,
    hi: float | None = None,
    *,
    whole: bool = False,
    open_lo: bool = False,
    open_hi: bool = False,
) -> float:
    """Check a numeric setting (finite; a whole number if `whole`; within [lo, hi], ends open where asked) and
    return it; otherwise raise DipError naming the setting and the range it must lie in."""
    left, right = "(" if open_lo else "[", ")" if open_hi else "]"
    span = f"{left}{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}{right}"
    kind = "a whole number" if whole else "a number"
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise DipError(f"{name} {value!r}: must be {kind} in {span}") from None
    ok = bool(np.isfinite(x)) and (not whole or x == int(x))
    ok = ok and (lo is None or (x > lo if open_lo else x >= lo)) and (hi is None or (x < hi if open_hi else x <= hi))
    require(ok, f"{name} {value}: must be {kind} in {span}")
    return int(x) if whole else x + 0.0  # + 0.0 turns -0.0 into 0.0
