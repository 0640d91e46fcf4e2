"""Losses and data shared by the tests of calculus_ml.numeric (its modules have a test file each).

``LOSSES`` are written out here, independently of the catalogue; ``finite_differences`` is the
oracle most of the numeric tests compare against.
"""

from __future__ import annotations

import numpy as np
import sympy

from calculus_ml.functions import dot, sigmoid
from calculus_ml.losses import Loss

w, v, x, y, b, lam = sympy.symbols("w v x y b lam", real=True)
z = dot(w, x) + b

LOSSES = {
    "mse": lambda: Loss("(y - (m*x + b))**2", ["m", "b"], ["x", "y"], prediction="m*x + b"),
    "rss": lambda: Loss("(y - (m*x + b))**2", ["m", "b"], ["x", "y"], reduce="sum"),
    "ridge": lambda: Loss("(y - (m*x + b))**2", ["m", "b"], ["x", "y"],
                          regularization="lam*m**2"),
    "mae": lambda: Loss("abs(y - (m*x + b))", ["m", "b"], ["x", "y"]),
    "polynomial": lambda: Loss("(y - (a*x**3 + c*x**2 + m*x + b))**2", ["a", "c", "m", "b"],
                               ["x", "y"]),
    "logistic-1d": lambda: Loss("-y*log(sigmoid(w*x + b)) - (1 - y)*log(1 - sigmoid(w*x + b))",
                                ["w", "b"], ["x", "y"]),
    "logistic": lambda: Loss(-y * sympy.log(sigmoid(z)) - (1 - y) * sympy.log(1 - sigmoid(z)),
                             ["w", "b"], ["x", "y"], prediction=sigmoid(z)),
    "multiple-regression": lambda: Loss((y - z) ** 2, ["w", "b"], ["x", "y"], prediction=z),
    "ridge-vector": lambda: Loss((y - z) ** 2, ["w", "b"], ["x", "y"],
                                 regularization=lam * dot(w, w)),
    "poisson": lambda: Loss(sympy.exp(z) - y * z, ["w", "b"], ["x", "y"]),
    "neuron": lambda: Loss((y - sigmoid(z)) ** 2, ["w", "b"], ["x", "y"]),
    "hinge": lambda: Loss(sympy.Max(0, 1 - y * z), ["w", "b"], ["x", "y"]),
    "huber": lambda: _huber(),
    "penalty-only-vector": lambda: Loss((y - b - dot(v, x)) ** 2, ["v", "w", "b"], ["x", "y"],
                                        regularization=lam * dot(w, w) + lam * dot(v, w)),
}


def _huber() -> Loss:
    m, delta = sympy.Symbol("m", real=True), sympy.Symbol("delta", positive=True)
    r = y - (m * x + b)
    term = sympy.Piecewise((r**2 / 2, sympy.Abs(r) <= delta),
                           (delta * (sympy.Abs(r) - delta / 2), True))
    return Loss(term, ["m", "b"], ["x", "y"])


def random_data(loss, rng, n=64, d=3) -> dict:
    """Random data for every data name (``(n, d)`` for vectors), labels inside the loss's domain
    (``loss.labels``), and 0.7 per hyperparameter."""
    data = {}
    for s in loss.data:
        data[s.name] = rng.normal(size=(n, d)) if s in loss.vectors else rng.normal(size=n)
    labels = getattr(loss, "labels", {})
    inside = {"binary": lambda: rng.integers(0, 2, size=n).astype(float),
              "sign": lambda: rng.choice([-1.0, 1.0], size=n),
              "nonnegative": lambda: rng.poisson(2.0, size=n).astype(float)}
    data.update((name, inside[domain]()) for name, domain in labels.items() if domain in inside)
    columns = [name for name, domain in labels.items() if domain == "one-hot"]
    if columns:
        hot = np.eye(len(columns))[rng.integers(0, len(columns), size=n)]
        data.update((name, hot[:, k]) for k, name in enumerate(columns))
    data.update((h.name, 0.7) for h in loss.hyperparameters)
    return data


def finite_differences(compiled, theta, data, h=1e-6):
    """Central differences of the compiled loss value, one coordinate at a time."""
    out = np.empty_like(theta)
    for k in range(theta.size):
        e = np.zeros_like(theta)
        e[k] = h * max(1.0, abs(theta[k]))
        up = compiled.value(theta + e, **data)
        down = compiled.value(theta - e, **data)
        out[k] = (up - down) / (2 * e[k])
    return out
