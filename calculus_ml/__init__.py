"""calculus_ml: step-by-step, machine-checked derivatives of machine-learning losses.

The public API is re-exported here and loaded on first use, so ``import calculus_ml`` is cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "parse_expression": "parsing",
    "derive": "derivation",
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
    from .derivation import Derivation, derive
    from .errors import (
        BudgetError,
        CalculusMLError,
        ConvergenceWarning,
        DataError,
        DivergenceError,
        ExpressionError,
        VerificationError,
    )
    from . import losses
    from .functions import sigmoid, softplus
    from .losses import Loss
    from .numeric import check_gradient, compile_gradient
    from .optimize import GradientDescent
    from .parsing import parse_expression


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'calculus_ml' has no attribute {name!r}")
    module = _EXPORTS[name]
    if module is None:
        value = importlib.import_module(f".{name}", __name__)
    else:
        value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
