"""The catalogue of named losses: :func:`names` lists them, :func:`get` builds one
(``get("polynomial", degree=3)``), :func:`describe` gives its one-line description and options.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import sympy

from ..errors import ExpressionError, quoted
from .loss import Loss
from .matrix import least_squares_matrix_gradient, logistic_matrix_gradient
from .network import mlp

__all__ = ["Entry", "names", "describe", "get"]


@dataclass(frozen=True)
class Entry:
    """A named loss of the catalogue: a description, option defaults and a builder."""

    name: str
    description: str
    build: Callable[..., Loss]
    options: Mapping[str, Any] = field(default_factory=dict)


_CATALOGUE: dict[str, Entry] = {}


def _entry(name: str, description: str, **options: Any) -> Callable:
    def register(build: Callable[..., Loss]) -> Callable[..., Loss]:
        _CATALOGUE[name] = Entry(name, description, build, options)
        return build

    return register


def names() -> list[str]:
    """The names of the catalogue's losses, in catalogue order."""
    return list(_CATALOGUE)


def describe(name: str) -> Entry:
    """The catalogue entry ``name`` (description and option defaults).

    Raises
    ------
    ExpressionError
        For a name not in the catalogue.
    """
    if name not in _CATALOGUE:
        raise ExpressionError(f"unknown loss {quoted(name)} (choose from {', '.join(_CATALOGUE)})")
    return _CATALOGUE[name]


def get(name: str, **options: Any) -> Loss:
    """Build the catalogue's loss ``name``, e.g. ``get("mse")`` or ``get("softmax", k=4)``.

    Raises
    ------
    ExpressionError
        For an unknown name (the message lists the catalogue), an option the loss does not
        take, or a bad option value.
    """
    entry = describe(name)
    for option in options:
        if option not in entry.options:
            takes = ", ".join(f"{k}={v!r}" for k, v in entry.options.items()) or "no options"
            raise ExpressionError(f"loss {name!r} has no option {option!r} (it takes {takes})")
    loss = entry.build(**{**entry.options, **options})
    loss.name = name
    return loss


_MOST = 10
"""The largest degree of a polynomial and number of softmax classes: each step of their
derivation is explained and checked, which takes seconds already at this size."""


def _option(value: Any, name: str, kind: type, least: int | None = None, choices=()) -> Any:
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)
                        or not least <= value <= _MOST):
        raise ExpressionError(f"option {name} must be an integer from {least} to {_MOST}, "
                              f"not {quoted(value)}")
    if kind is bool and not isinstance(value, bool):
        raise ExpressionError(f"option {name} must be True or False, not {quoted(value)}")
    if choices and (not isinstance(value, str) or value not in choices):
        raise ExpressionError(f"option {name} must be one of {', '.join(choices)}, "
                              f"not {quoted(value)}")
    return value


def _linear(vector: bool, slope: str = "w") -> str:
    _option(vector, "vector", bool)
    return "dot(w, x) + b" if vector else f"{slope}*x + b"


_KINK = "{what} has no derivative where {where}; there the package uses the subgradient {used}."


@_entry("mse", "mean squared error of the regression line y = m x + b (the lesson's model)")
def _mse() -> Loss:
    return Loss("(y - (m*x + b))**2", ["m", "b"], ["x", "y"], title=describe("mse").description,
                prediction="m*x + b")


@_entry("rss", "residual sum of squares of the line y = m x + b (a sum, not a mean)")
def _rss() -> Loss:
    return Loss("(y - (m*x + b))**2", ["m", "b"], ["x", "y"], reduce="sum",
                title=describe("rss").description, prediction="m*x + b")


@_entry("mae", "mean absolute error of the line y = m x + b")
def _mae() -> Loss:
    note = _KINK.format(what="|yᵢ − (m xᵢ + b)|", where="a residual is 0 (yᵢ = m xᵢ + b)",
                        used="sign(0) = 0 (that point does not pull the line)")
    return Loss("abs(y - (m*x + b))", ["m", "b"], ["x", "y"], title=describe("mae").description,
                prediction="m*x + b", notes=[note])


@_entry("huber", "Huber loss of the line y = m x + b: squared near 0, absolute beyond δ")
def _huber() -> Loss:
    m, b, x, y = sympy.symbols("m b x y", real=True)
    delta = sympy.Symbol("delta", positive=True)
    r = y - (m * x + b)
    term = sympy.Piecewise((r**2 / 2, sympy.Abs(r) <= delta),
                           (delta * (sympy.Abs(r) - delta / 2), True))
    note = ("The Huber loss is differentiable everywhere (its pieces meet with equal slopes ±δ "
            "at |r| = δ), but its second derivative jumps there; at |r| = δ exactly the "
            "quadratic piece's formula is used. The slope of |r| at r = 0 is never needed.")
    return Loss(term, ["m", "b"], ["x", "y"], title=describe("huber").description,
                prediction=m * x + b, notes=[note])


@_entry("ridge", "squared error of a line (or of w·x + b) plus the ridge penalty λ‖slope‖²",
        vector=False)
def _ridge(vector: bool) -> Loss:
    penalty = "lam*dot(w, w)" if vector else "lam*m**2"
    linear = _linear(vector, "m")
    return Loss(f"(y - ({linear}))**2", ["w" if vector else "m", "b"], ["x", "y"],
                regularization=penalty, title=describe("ridge").description, prediction=linear,
                matrix_gradient=partial(least_squares_matrix_gradient, ridge=True)
                if vector else None)


@_entry("lasso", "squared error of the line y = m x + b plus the lasso penalty λ|m|")
def _lasso() -> Loss:
    note = _KINK.format(what="The penalty λ|m|", where="m = 0",
                        used="sign(0) = 0 (the penalty adds no slope at m = 0)")
    return Loss("(y - (m*x + b))**2", ["m", "b"], ["x", "y"], regularization="lam*abs(m)",
                title=describe("lasso").description, prediction="m*x + b", notes=[note])


@_entry("polynomial", "squared error of a polynomial of degree k in x (w_k x^k + ... + w1 x + b)",
        degree=2)
def _polynomial(degree: int) -> Loss:
    _option(degree, "degree", int, least=1)
    prediction = " + ".join([f"w{p}*x**{p}" for p in range(degree, 1, -1)] + ["w1*x", "b"])
    params = [f"w{p}" for p in range(1, degree + 1)] + ["b"]
    return Loss(f"(y - ({prediction}))**2", params, ["x", "y"],
                title=f"squared error of a polynomial of degree {degree} in x",
                prediction=prediction)


@_entry("multiple-regression", "mean squared error of y = w·x + b, x a vector of d features")
def _multiple_regression() -> Loss:
    return Loss("(y - (dot(w, x) + b))**2", ["w", "b"], ["x", "y"],
                title=describe("multiple-regression").description, prediction="dot(w, x) + b",
                matrix_gradient=partial(least_squares_matrix_gradient, ridge=False))


@_entry("logistic", "log-loss of the probability p = σ(w x + b) (σ(w·x + b) with vector=True)",
        vector=False)
def _logistic(vector: bool) -> Loss:
    z = _linear(vector)
    return Loss(f"-y*log(sigmoid({z})) - (1 - y)*log(1 - sigmoid({z}))", ["w", "b"], ["x", "y"],
                title=describe("logistic").description, prediction=f"sigmoid({z})",
                matrix_gradient=logistic_matrix_gradient if vector else None,
                labels={"y": "binary"})


@_entry("softmax", "cross-entropy of k classes, logits z_c = w_c x + b_c, one-hot y_c", k=3)
def _softmax(k: int) -> Loss:
    _option(k, "k", int, least=2)
    logits = [f"(w{c}*x + b{c})" for c in range(1, k + 1)]
    term = (f"log({' + '.join(f'exp{z}' for z in logits)}) - ("
            + " + ".join(f"y{c}*{z}" for c, z in enumerate(logits, 1)) + ")")
    params = [f"w{c}" for c in range(1, k + 1)] + [f"b{c}" for c in range(1, k + 1)]
    data = ["x"] + [f"y{c}" for c in range(1, k + 1)]
    return Loss(term, params, data, title=f"cross-entropy of {k} classes (softmax of the logits)",
                labels={name: "one-hot" for name in data[1:]})


@_entry("hinge", "hinge loss max(0, 1 − y (w x + b)) of a linear classifier, y = ±1",
        vector=False)
def _hinge(vector: bool) -> Loss:
    z = _linear(vector)
    note = _KINK.format(what="max(0, 1 − yᵢ zᵢ)", where="yᵢ zᵢ = 1 (zᵢ the score)",
                        used="0, the slope of the flat piece (the first piece listed)")
    return Loss(f"max(0, 1 - y*({z}))", ["w", "b"], ["x", "y"], title=describe("hinge").description,
                prediction=z, notes=[note], labels={"y": "sign"})


@_entry("poisson", "Poisson regression: negative log-likelihood of the rate exp(w x + b)",
        vector=False)
def _poisson(vector: bool) -> Loss:
    z = _linear(vector)
    return Loss(f"exp({z}) - y*({z})", ["w", "b"], ["x", "y"],
                title=describe("poisson").description, prediction=f"exp({z})",
                labels={"y": "nonnegative"})


@_entry("neuron", "squared error of one neuron, y ≈ σ(w x + b) (or tanh)", activation="sigmoid",
        vector=False)
def _neuron(activation: str, vector: bool) -> Loss:
    _option(activation, "activation", str, choices=("sigmoid", "tanh"))
    prediction = f"{activation}({_linear(vector)})"
    return Loss(f"(y - {prediction})**2", ["w", "b"], ["x", "y"],
                title=describe("neuron").description, prediction=prediction)


@_entry("mlp", "a multi-layer perceptron, layers [d, h, k]: tanh, sigmoid or relu hidden units; "
        "mse, logistic or softmax output", layers=(2, 3, 1), activation="tanh", output="logistic")
def _mlp(layers: tuple, activation: str, output: str) -> Loss:
    return mlp(layers, activation, output)
