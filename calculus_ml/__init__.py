"""calculus_ml: step-by-step, machine-checked derivatives of machine-learning losses.

The public API is re-exported here and loaded on first use, so ``import calculus_ml`` is cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .caching import loaded_on_first_use

__version__ = "0.1.0"

_EXPORTS = {
    "parse_expression": "parsing",
    "derive": "derivation",
    "HigherDerivation": "derivation",
    "substitute": "derivation",
    "check_answer": "learning",
    "check_steps": "learning",
    "Verdict": "learning",
    "hints": "learning",
    "practice": "learning",
    "DomainError": "errors",
    "Derivation": "derivation",
    "CalculusMLError": "errors",
    "ExpressionError": "errors",
    "VerificationError": "errors",
    "BudgetError": "errors",
    "DataError": "errors",
    "DivergenceError": "errors",
    "ConvergenceWarning": "errors",
    "sigmoid": "functions",
    "softplus": "functions",
    "compile_gradient": "numeric",
    "check_gradient": "numeric",
    "GradientDescent": "optimize",
    "Loss": "losses",
    "losses": None,  # a module: calculus_ml.losses.get("mse")
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from .derivation import Derivation, HigherDerivation, derive, substitute
    from .learning import Verdict, check_answer, check_steps, hints, practice
    from .errors import (
        BudgetError,
        CalculusMLError,
        ConvergenceWarning,
        DataError,
        DivergenceError,
        DomainError,
        ExpressionError,
        VerificationError,
    )
    from . import losses
    from .functions import sigmoid, softplus
    from .losses import Loss
    from .numeric import check_gradient, compile_gradient
    from .optimize import GradientDescent
    from .parsing import parse_expression


__getattr__, __dir__ = loaded_on_first_use(__name__, _EXPORTS)
