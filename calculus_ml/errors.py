"""The package's exception and warning types."""


class CalculusMLError(Exception):
    """Base class of every error calculus_ml raises on purpose."""


class ExpressionError(CalculusMLError, ValueError):
    """Text that is not a safe, well-formed expression, or a name used wrongly."""


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
