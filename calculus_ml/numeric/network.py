"""A network's gradient compiled from its backpropagation: NumPy matrix code, no loop over
samples or units.

The printed pieces are the verified ones: each elementwise layer's local derivative (an edge's
label, ``1 − tanh²(z1)``) and the output's error signal ``δ`` (``a2 − y``), printed by the
package's NumPy printer; the structure is the backward pass of
:mod:`calculus_ml.graph.backprop`: ``δ_a = δ_z W`` through a dense layer, ``δ_z = δ_a ⊙ f′(z)``
through an elementwise one, ``∂J/∂W = δᵀ a / n`` and ``∂J/∂b = Σᵢ δᵢ / n``. Every node is an
``(n, units)`` array, so the code is the same for 4 hidden units or 64.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy

from ..errors import DataError
from ..graph import Backpropagation
from .codegen import _compile_source, _Printer
from .validation import _check_finite

__all__ = ["CompiledNetwork", "compile_network"]


class CompiledNetwork:
    """A network's loss compiled: ``grad(theta, x, y)``, ``value``, ``predict``.

    ``theta`` is flat, in :attr:`param_names` order (the :class:`~calculus_ml.losses.network.
    NetworkLoss` parameters: ``W1`` row by row, then ``b1``, ...); ``x`` is ``(n, d)``, ``y``
    ``(n,)`` or ``(n, K)`` one-hot.
    """

    def __init__(self, bp: Backpropagation, source: str, shapes: dict[str, tuple[int, ...]]):
        self.backpropagation, self.source, self.shapes = bp, source, shapes
        namespace = _compile_source(source)
        self._grad, self._value = namespace["grad"], namespace["value"]
        self._forward = namespace["forward"]

    @property
    def size(self) -> int:
        """The number of parameters."""
        return sum(int(np.prod(s)) for s in self.shapes.values())

    def unpack(self, theta: np.ndarray) -> dict[str, np.ndarray]:
        """``{parameter: array}`` from the flat ``theta``."""
        out, start = {}, 0
        for name, shape in self.shapes.items():
            size = int(np.prod(shape))
            out[name] = np.asarray(theta[start:start + size], dtype=float).reshape(shape)
            start += size
        return out

    def initial(self, seed: int = 0) -> np.ndarray:
        """Random starting weights ``N(0, 1/fan_in)`` and zero biases, flat."""
        rng = np.random.default_rng(seed)
        parts = [rng.normal(0, 1 / np.sqrt(s[1]), s).ravel() if len(s) == 2 else np.zeros(s)
                 for s in self.shapes.values()]
        return np.concatenate(parts)

    def _arrays(self, theta: Any, x: Any, y: Any = None) -> tuple:
        theta = np.asarray(theta, dtype=float)
        if theta.shape != (self.size,):
            raise DataError(f"theta must have {self.size} entries, not shape {theta.shape}")
        x = np.atleast_2d(np.asarray(x, dtype=float))
        if y is None:
            return theta, x
        y = np.asarray(y, dtype=float)
        y = y.reshape(len(y), -1)
        if len(y) != len(x):
            raise DataError("x and y must have the same number of rows")
        _check_finite("x", x)
        _check_finite("y", y)
        return theta, x, y

    def grad(self, theta: Any, x: Any, y: Any) -> np.ndarray:
        """The gradient ∇J (mean over the rows), flat."""
        return self._grad(*self._arrays(theta, x, y))

    def value(self, theta: Any, x: Any, y: Any) -> float:
        """The loss J, the mean over the rows."""
        return float(self._value(*self._arrays(theta, x, y)))

    def predict(self, theta: Any, x: Any) -> np.ndarray:
        """The last layer's values, ``(n, units)``: ``a2 = σ(z2)`` for a logistic output, the
        logits ``z`` for softmax, ``z2`` for mse."""
        return self._forward(*self._arrays(theta, x))[-1]


def compile_network(bp: Backpropagation) -> CompiledNetwork:
    """Compile the gradient of ``bp``'s network (see the module docstring)."""
    net = bp.network
    names = [net.input] + [la.name for la in net.layers]
    ident = {sympy.Symbol(n, real=True): f"v_{k}" for k, n in enumerate(names)}
    ident[sympy.Symbol(net.target, real=True)] = "y"
    shapes = {}
    for layer in net.dense:
        shapes[layer.weight] = (net.sizes[layer.name], net.sizes[layer.source])
        shapes[layer.bias] = (net.sizes[layer.name],)
    params = {p: f"p_{k}" for k, p in enumerate(shapes)}
    printer = _Printer(ident, frozenset(ident))
    node = {n: ident[sympy.Symbol(n, real=True)] for n in names}

    unpack, start = [], 0
    for name, shape in shapes.items():
        size = int(np.prod(shape))
        unpack.append(f"{params[name]} = theta[{start}:{start + size}].reshape({shape})")
        start += size
    forward = [f"{node[net.input]} = x"]
    for layer in net.layers:
        if layer.kind == "dense":
            forward.append(f"{node[layer.name]} = {node[layer.source]} @ {params[layer.weight]}.T"
                           f" + {params[layer.bias]}")
        else:
            forward.append(f"{node[layer.name]} = {printer.doprint(layer.expr)}")
    backward = _backward(bp, printer, node, params)
    body = lambda lines: "".join(f"    {line}\n" for line in lines)  # noqa: E731
    returned = ", ".join(node[n] for n in names)
    source = (
        "def forward(theta, x):\n" + body(unpack + forward + [f"return {returned}"])
        + "\n\ndef grad(theta, x, y):\n" + body(unpack + forward + ["n = x.shape[0]"] + backward)
        + "\n\ndef value(theta, x, y):\n" + body(unpack + forward + [_value(bp, printer, node)])
    )
    return CompiledNetwork(bp, source, shapes)


def _plain(expr: sympy.Expr) -> sympy.Expr:
    """Index notation dropped: ``z1[j]`` is the whole array ``z1``."""
    return expr.xreplace({a: sympy.Symbol(a.base.label.name, real=True)
                          for a in expr.atoms(sympy.Indexed)})


def _printed(printer: _Printer, expr: sympy.Expr, lines: list[str]) -> str:
    """``expr`` printed; each sum over units becomes a row sum computed first."""
    sums = {}
    for k, total in enumerate(expr.atoms(sympy.Sum)):
        name = sympy.Symbol(f"s_{k}")
        printer.ident[name] = f"s_{k}"
        lines.append(f"s_{k} = numpy.sum({printer.doprint(_plain(total.function))}, "
                     f"axis=1, keepdims=True)")
        sums[total] = name
    return printer.doprint(_plain(expr.xreplace(sums)))


def _backward(bp: Backpropagation, printer: _Printer, node: dict, params: dict) -> list[str]:
    net = bp.network
    lines: list[str] = []
    delta = {n: f"e_{k}" for k, n in enumerate(node)}
    out = net.output
    lines.append(f"{delta[out]} = {_printed(printer, bp.deltas[out].result, lines)}")
    grads = {}
    for layer in reversed(net.layers):
        d = delta[layer.name]
        if layer.kind == "dense":
            grads[layer.weight] = f"({d}.T @ {node[layer.source]} / n).ravel()"
            grads[layer.bias] = f"{d}.sum(axis=0) / n"
            if layer.source != net.input:
                lines.append(f"{delta[layer.source]} = {d} @ {params[layer.weight]}")
        else:
            local = _printed(printer, bp.edge(layer.source, layer.name).result, lines)
            lines.append(f"{delta[layer.source]} = {d} * ({local})")
    order = ", ".join(grads[p] for p in params)
    lines.append(f"return numpy.concatenate([{order}])")
    return lines


def _value(bp: Backpropagation, printer: _Printer, node: dict) -> str:
    net = bp.network
    z = node[net.output]
    if net.softmax:
        top = f"{z}.max(axis=1, keepdims=True)"
        return (f"return numpy.mean(numpy.log(numpy.sum(numpy.exp({z} - {top}), axis=1)) "
                f"+ {top}[:, 0] - numpy.sum(y * {z}, axis=1))")
    return f"return numpy.mean({printer.doprint(net.loss)})"
