"""Sliders in Jupyter: the learning rate, the starting point and the number of steps, and the
cost curve (one parameter) or the contours (two) redrawn with the descent path.

Needs ``ipywidgets`` (``pip install "calculus_ml[widgets]"``). Each redraw runs plain gradient
descent with the loss's compiled gradient over the chosen parameters, the others held fixed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import CalculusMLError
from ..optimize.optimizers import gradient_descent
from .base import Params
from .costs import contour, cost_curve

__all__ = ["descent_path", "interactive_descent"]


def descent_path(loss: Any, params: Sequence[str], *, data: Mapping[str, Any],
                 start: Sequence[float], learning_rate: float, steps: int,
                 fixed: Params = None) -> np.ndarray:
    """Gradient descent over ``params`` from ``start`` (the others at ``fixed``, default 0):
    ``(steps + 1, len(params))``, the start first."""
    prepared = loss.gradient_function().prepare(**data)
    names = list(prepared.param_names)
    theta = np.array([float((fixed or {}).get(n, 0.0)) for n in names])
    chosen = [names.index(p) for p in params]
    path = [np.asarray(start, dtype=float)]

    def grad(x: np.ndarray, i: int) -> np.ndarray:
        theta[chosen] = x
        try:
            return prepared.grad(theta)[chosen]
        except OverflowError:  # a diverged point: the next step is not finite, and stops
            return np.full(len(chosen), np.inf)

    def record(x: np.ndarray, i: int, g: np.ndarray) -> bool:
        if not np.all(np.isfinite(x)):
            return True
        if i:
            path.append(np.array(x))
        return False

    with np.errstate(over="ignore", invalid="ignore"):  # a diverging path stops where it must
        last = gradient_descent(grad, path[0], learning_rate, steps, callback=record)
    if np.all(np.isfinite(last)):
        path.append(last)
    return np.array(path)


def interactive_descent(loss: Any, params: Sequence[str], *, data: Mapping[str, Any],
                        start: Sequence[float], learning_rate: float = 0.1, steps: int = 20,
                        fixed: Params = None, span: float = 5.0) -> Any:
    """Sliders for the learning rate (log scale), each start coordinate (± ``span``) and the
    number of steps; moving one redraws the picture. Returns the ``ipywidgets`` box.

    Raises
    ------
    CalculusMLError
        When ``ipywidgets`` is not installed.
    """
    try:
        import ipywidgets as widgets
    except ImportError:
        raise CalculusMLError('sliders need the ipywidgets package: '
                              'pip install "calculus_ml[widgets]"') from None
    import matplotlib.pyplot as plt
    from IPython.display import display

    params = list(params)
    rate = widgets.FloatLogSlider(value=learning_rate, base=10, min=-4, max=1, step=0.05,
                                  description="learning rate")
    count = widgets.IntSlider(value=steps, min=1, max=200, description="steps")
    starts = [widgets.FloatSlider(value=float(v), min=float(v) - span, max=float(v) + span,
                                  step=span / 50, description=f"start {p}")
              for p, v in zip(params, start)]
    output = widgets.Output()

    def redraw(*_: Any) -> None:
        path = descent_path(loss, params, data=data, start=[s.value for s in starts],
                            learning_rate=rate.value, steps=count.value, fixed=fixed)
        with output:
            output.clear_output(wait=True)
            if len(params) == 1:
                ax = cost_curve(loss, params[0], data=data, fixed=fixed, steps=path[:, 0])
            else:
                ax = contour(loss, params, data=data, fixed=fixed, path=path)
            display(ax.figure)
            plt.close(ax.figure)

    for slider in [rate, count, *starts]:
        slider.observe(redraw, names="value")
    redraw()
    return widgets.VBox([rate, count, *starts, output])
