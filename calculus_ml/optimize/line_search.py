"""Backtracking (Armijo) line search: the step that every method without a fixed rate takes.

:func:`backtrack` shortens a step along a descent direction until the loss drops by at least a
fixed fraction of what its slope promises (the Armijo condition ``J(x + t p) ≤ J(x) + c t ∇J·p``,
up to rounding).
It knows nothing but the callable it is given, so the trial evaluation can bring along what the
next iteration needs (a gradient, a Hessian): an accepted trial is never evaluated twice.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

__all__ = ["backtrack", "ARMIJO", "SHRINK", "MIN_STEP", "ROUNDING"]

ARMIJO = 1e-4
"""The fraction ``c`` of the promised decrease a step must achieve."""
SHRINK = 0.5
"""The factor a rejected step is multiplied by."""
MIN_STEP = 1e-12
"""Below this step the search gives up: no step along the direction lowers the loss."""
ROUNDING = 4 * 2.0 ** -52
"""A rise of J smaller than this fraction of J is rounding, not a rise: at the minimum J cannot
drop any further, and the step that J does not notice is accepted."""


def backtrack(f0: float, slope: float, trial: Callable[[float], tuple[float, Any]],
              step: float = 1.0) -> tuple[float, float, Any, int] | None:
    """The first step ``t = step, step/2, ...`` with ``J(x + t p) ≤ J(x) + c t ∇J·p``.

    Parameters
    ----------
    f0 : float
        The loss at the current point.
    slope : float
        The directional derivative ``∇J·p`` (negative along a descent direction).
    trial : callable
        ``trial(t) -> (J, extra)``: the loss at ``x + t p`` and whatever else the caller
        computed there (returned with the accepted step).
    step : float
        The first step tried.

    Returns
    -------
    (t, J, extra, evaluations) or None
        The accepted step with its loss and extra, and how many trials it took; ``None`` when no
        step down to :data:`MIN_STEP` (relative to ``step``) satisfies the condition.
    """
    t, evaluations = step, 0
    while t >= MIN_STEP * step:
        f, extra = trial(t)
        evaluations += 1
        if math.isfinite(f) and f <= f0 + ARMIJO * t * slope + ROUNDING * abs(f0):
            return t, f, extra, evaluations
        t *= SHRINK
    return None
