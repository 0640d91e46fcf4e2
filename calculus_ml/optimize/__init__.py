"""Gradient descent and its relatives, with history and divergence detection.

Two layers, as in autograd and scikit-learn:

``optimizers``
    The plain optimizers — :func:`gradient_descent`, :func:`momentum`, :func:`nesterov` and
    :func:`adam` — take a gradient callable ``grad(x, i)`` (``i`` is the step number, which a
    stochastic gradient uses to pick its batch), a start ``x0`` and ``callback(x, i, g)``, called
    before each step with the point, the step number and the gradient there; a callback that
    returns ``True`` stops the run. They know nothing of SymPy or losses, and importing them
    loads no SymPy.
``estimator``
    :class:`GradientDescent` compiles a :class:`~calculus_ml.losses.Loss` (through
    :mod:`calculus_ml.numeric`, which uses SymPy), runs one of those optimizers on it and keeps
    the history: ``GradientDescent(loss).fit(x=x, y=y)``. It is loaded on first use.

Beside them, what the estimator runs instead of a plain loop when it can: ``second_order``
(Newton's method, gradient descent with a line search), ``lbfgs`` (SciPy's L-BFGS-B),
``quadratic`` (gradient descent on a quadratic loss, a block of steps at a time in closed form)
and ``epochs`` (an SGD or mini-batch epoch per call, in NumPy, Numba, or block by block on Dask).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..caching import loaded_on_first_use
from .optimizers import adam, estimate_stable_rate, gradient_descent, momentum, nesterov

__all__ = ["GradientDescent", "gradient_descent", "momentum", "nesterov", "adam",
           "estimate_stable_rate"]

if TYPE_CHECKING:  # pragma: no cover
    from .estimator import GradientDescent

__getattr__, __dir__ = loaded_on_first_use(__name__, {"GradientDescent": "estimator"})
