"""Gradient descent and its relatives, with history and divergence detection.

Two layers, as in autograd and scikit-learn:

``optimizers``
    The plain optimizers — :func:`gradient_descent`, :func:`momentum`, :func:`nesterov` and
    :func:`adam` — take a gradient callable ``grad(x, i)`` (``i`` is the step number, which a
    stochastic gradient uses to pick its batch), a start ``x0`` and ``callback(x, i, g)``, called
    before each step with the point, the step number and the gradient there; a callback that
    returns ``True`` stops the run. They know nothing of SymPy or losses.
``estimator``
    :class:`GradientDescent` compiles a :class:`~calculus_ml.losses.Loss`, runs one of those
    optimizers on it and keeps the history: ``GradientDescent(loss).fit(x=x, y=y)``.

The package imports no SymPy: losses reach it compiled, through :mod:`calculus_ml.numeric`.
"""

from __future__ import annotations

from .estimator import GradientDescent
from .optimizers import adam, estimate_stable_rate, gradient_descent, momentum, nesterov

__all__ = ["GradientDescent", "gradient_descent", "momentum", "nesterov", "adam",
           "estimate_stable_rate"]
