"""Second derivatives by central differences: of a gradient, or of values alone.

The one home of finite-difference curvature in the package:

* :func:`hessian` — the Hessian, column by column, from a gradient function;
* :func:`hessian_vector_product` — ``H v`` from two gradients, for power iteration;
* :func:`value_derivatives` — gradient and Hessian from values only, for functions that have no
  compiled gradient (a cost evaluated on plot grids).

Central differences of a quadratic are exact up to rounding, whatever the step.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Gradient = Callable[[np.ndarray], np.ndarray]


def hessian(grad: Gradient, theta: np.ndarray) -> np.ndarray:
    """The Hessian at ``theta`` from central differences of ``grad``, one column per parameter.

    Parameters
    ----------
    grad : callable
        ``grad(theta)``, the gradient as a flat array.
    theta : numpy.ndarray
        The flat point, shape ``(k,)``.

    Returns
    -------
    numpy.ndarray
        ``(k, k)``; column ``j`` is ``(∇J(θ + hⱼeⱼ) − ∇J(θ − hⱼeⱼ)) / 2hⱼ`` with
        ``hⱼ = 10⁻⁵·max(1, |θⱼ|)``. Not symmetrised: ``(H + Hᵀ)/2`` is the caller's choice.
    """
    size = theta.size
    H = np.empty((size, size))
    for k in range(size):
        step = np.zeros(size)
        step[k] = 1e-5 * max(1.0, abs(theta[k]))
        H[:, k] = (grad(theta + step) - grad(theta - step)) / (2 * step[k])
    return H


def hessian_vector_product(grad: Gradient, x: np.ndarray, v: np.ndarray,
                           h: float) -> np.ndarray:
    """``H v ≈ (∇J(x + h v) − ∇J(x − h v)) / 2h``: the Hessian times ``v`` at ``x``.

    Parameters
    ----------
    grad : callable
        ``grad(x)``, the gradient as a flat array.
    x, v : numpy.ndarray
        The point and the direction, shape ``(k,)``.
    h : float
        The step along ``v``.

    Returns
    -------
    numpy.ndarray
        ``(k,)``.
    """
    return (grad(x + h * v) - grad(x - h * v)) / (2 * h)


def value_derivatives(value: Callable[[np.ndarray], float], x: np.ndarray,
                      step: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Gradient and Hessian at ``x`` from central differences of values alone.

    Parameters
    ----------
    value : callable
        ``value(point)``, a number for a flat point.
    x : numpy.ndarray
        The flat point, shape ``(k,)``.
    step : float
        The step along each axis.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ``gᵢ = (f(x + heᵢ) − f(x − heᵢ)) / 2h`` and ``Hᵢⱼ = (f(x + h(eᵢ + eⱼ))
        − f(x + h(eᵢ − eⱼ)) − f(x + h(eⱼ − eᵢ)) + f(x − h(eᵢ + eⱼ))) / 4h²``.
    """
    at = lambda direction: value(x + step * direction)  # noqa: E731
    eye = np.eye(x.size)
    g = np.array([(at(e) - at(-e)) / (2 * step) for e in eye])
    H = np.array([[(at(a + b) - at(a - b) - at(b - a) + at(-a - b)) / (4 * step * step)
                   for b in eye] for a in eye])
    return g, H
