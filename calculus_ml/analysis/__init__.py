"""Second order and closed form of a :class:`~calculus_ml.losses.Loss`.

* :func:`hessian` -- the symbolic Hessian of ``J`` over the sums (index notation for vectors).
* :func:`convexity` -- convex / not convex / undetermined, with the reason.
* :func:`learning_rate_bound` -- ``2/λ_max(H)`` for a quadratic ``J``.
* :func:`closed_form` and :func:`solve` -- the normal equations step by step, and their numeric
  solution on data.

These use a :class:`~calculus_ml.losses.Loss`; a loss only leads here through its methods.
"""

from __future__ import annotations

from .closed_form import ClosedForm, SolutionStep, closed_form
from .convexity import Convexity, convexity
from .quadratic import hessian, is_quadratic, learning_rate_bound, solve

__all__ = ["hessian", "convexity", "learning_rate_bound", "closed_form", "solve", "Convexity",
           "ClosedForm", "SolutionStep", "is_quadratic"]
