"""Matplotlib figures of the calculus behind machine learning, as a textbook would print them.

Each plot function returns its Axes (``.figure`` is the figure), draws into ``ax=`` when given and
tags its main artists with a ``gid`` (``"cost"``, ``"path"``, ...). Slopes come from
:func:`calculus_ml.derive` (verified steps) or the compiled gradient, never finite differences.
Every value drawn comes from :mod:`calculus_ml.numeric.grid` (J of a loss broadcast over grid
points × samples, a function's values on a grid); this package only draws. Imported on demand:
``import calculus_ml`` does not load matplotlib; Agg is chosen only when no backend was chosen and
there is no display.

``base``
    The backend choice, axes, labels and ranges every figure shares, and :func:`save`.
``curves``
    :func:`tangent`, :func:`slices`, :func:`loss_history`, :func:`fitted_line`.
``costs``
    The cost over the parameters: :func:`cost_curve`, :func:`contour`, :func:`surface`.
``graph``
    A network's computation graph (matplotlib; Graphviz DOT/SVG with the ``graph`` extra).
``animation``
    :func:`animate_descent` (GIF, HTML5, MP4) and :func:`descent_frames` (a strip for print).
``training``
    :func:`decision_boundary` of a trained network.
``interactive``
    Sliders in Jupyter (the ``widgets`` extra): :func:`interactive_descent`.
"""

from __future__ import annotations

from .animation import animate_descent, descent_frames
from .base import save
from .costs import contour, cost_curve, surface
from .curves import fitted_line, loss_history, slices, tangent
from .training import decision_boundary

__all__ = ["tangent", "cost_curve", "contour", "surface", "loss_history", "fitted_line",
           "slices", "save", "animate_descent", "descent_frames", "decision_boundary"]
