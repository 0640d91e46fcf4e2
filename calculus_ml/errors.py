"""The package's exception and warning types, and how their messages quote an input."""

from typing import Any

MESSAGE_LIMIT = 300
"""The longest error message the package shows (the command line, handout specs), in
characters: a long input in it is quoted :func:`shortened`."""


def shortened(text: str, limit: int = 60) -> str:
    """``text`` for a message, cut in the middle to ``limit`` characters (``…``), so that a long
    input never makes a long message."""
    if len(text) <= limit:
        return text
    head = (limit - 1) // 2
    return text[:head] + "…" + text[len(text) - (limit - 1 - head):]


def quoted(value: Any, limit: int = 60) -> str:
    """``repr(value)`` for a message, :func:`shortened`."""
    return shortened(repr(value), limit)


class CalculusMLError(Exception):
    """Base class of every error calculus_ml raises on purpose."""


class ExpressionError(CalculusMLError, ValueError):
    """Text that is not a safe, well-formed expression, or a name used wrongly."""


class DomainError(ExpressionError):
    """An expression that is real at no point: ``sqrt(-1 - x^2)``, ``log(-x^2 - 1)``. Its
    derivative (a real quantity) is not defined anywhere, so there is nothing to explain."""


class VerificationError(CalculusMLError, AssertionError):
    """A derivation step whose result disagrees with ``sympy.diff`` (a bug in a rule)."""


class DataError(CalculusMLError, ValueError):
    """Data arrays that are missing, mismatched or not finite."""


class SpecError(CalculusMLError, ValueError):
    """A handout spec (``derivations/*.toml``) that is invalid: the message names the file, the
    key and the problem."""


class BudgetError(CalculusMLError):
    """Work past the package's budget: an expression too large to explain step by step (a sum
    that multiplying out would make too long, a ``max`` of too many arguments) or a derivation or
    compilation that ran past its time limit (:data:`calculus_ml.symbolic.TIME_LIMIT`). The
    message says which, and what to try instead."""


class DivergenceError(CalculusMLError, ArithmeticError):
    """An optimizer whose loss became non-finite or kept growing."""


class ConvergenceWarning(UserWarning):
    """An optimizer stopped at ``max_iter`` before meeting its tolerance."""
