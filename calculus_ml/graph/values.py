"""The numbers on a computation graph at one data point: forward values, backward δs,
gradients, every unit edge's local derivative, and the sum over paths.

Every number is a verified expression evaluated: a layer's definition, a δ or gradient claim,
an edge's label, each instantiated at one unit (:func:`calculus_ml.graph.verify.instantiate`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import sympy

from ..errors import DataError
from .backprop import Backpropagation
from .verify import assignments, instantiate

__all__ = ["GraphValues", "Path", "values_at"]


@dataclass(frozen=True)
class Path:
    """One path from a weight to the loss: its unit names, each edge's local derivative, and
    the node (or parameter) each unit belongs to."""

    units: tuple[str, ...]
    factors: tuple[float, ...]
    nodes: tuple[str, ...]

    @property
    def product(self) -> float:
        """The product of the local derivatives along the path."""
        return math.prod(self.factors)


@dataclass
class GraphValues:
    """The numbers at one point: ``forward[node]`` and ``delta[node]`` (one entry per unit),
    ``gradient[param]`` (the parameter's shape), ``local[(from unit, to unit)]`` and
    ``edge[(from unit, to unit)]``, the graph's edge ``(source, target)`` it is a unit of."""

    bp: Backpropagation
    forward: dict[str, np.ndarray] = field(default_factory=dict)
    delta: dict[str, np.ndarray] = field(default_factory=dict)
    gradient: dict[str, np.ndarray] = field(default_factory=dict)
    local: dict[tuple[str, str], float] = field(default_factory=dict)
    edge: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    loss: float = math.nan
    target: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def paths(self, unit: str) -> list[Path]:
        """Every path from ``unit`` (``"W1_1_1"``) to the loss ``ℓ``, with its factors."""
        out = []

        def walk(at: str, units: tuple[str, ...], factors: tuple[float, ...],
                 nodes: tuple[str, ...]) -> None:
            if at == "ℓ":
                out.append(Path(units, factors, nodes))
            for (a, b), value in self.local.items():
                if a == at:
                    source, target = self.edge[(a, b)]
                    walk(b, units + (b,), factors + (value,), (nodes or (source,)) + (target,))

        walk(unit, (unit,), (), ())
        return out


def values_at(bp: Backpropagation, params: Mapping[str, object], x: object,
              y: object) -> GraphValues:
    """The numbers on ``bp``'s graph at parameters ``params`` (``{"W1": (h, d) array, ...}``),
    input ``x`` (``d`` numbers) and target ``y`` (a number, or ``K`` one-hot numbers).

    Raises
    ------
    DataError
        For a missing parameter or a wrong shape.
    """
    net = bp.network
    point: dict[sympy.Basic, float] = {}
    for name in net.params:
        units = net.units(name)
        if name not in params:
            raise DataError(f"no value for the parameter {name!r}")
        flat = np.asarray(params[name], dtype=float).ravel()
        if flat.size != len(units):
            raise DataError(f"{name} needs {len(units)} numbers, not {flat.size}")
        point.update(zip(units, flat.tolist()))
    for name, given in ((net.input, x), (net.target, y)):
        flat = np.asarray(given, dtype=float).ravel()
        units = net.units(name)
        if flat.size != len(units):
            raise DataError(f"{name} needs {len(units)} numbers, not {flat.size}")
        point.update(zip(units, flat.tolist()))
    out = GraphValues(bp)
    for layer in net.layers:
        for unit in net.units(layer.name):
            point[unit] = float(net.definitions[unit].xreplace(point))
        out.forward[layer.name] = np.array([point[u] for u in net.units(layer.name)])
    out.forward[net.input] = np.array([point[u] for u in net.units(net.input)])
    out.loss = float(net.unit_loss().xreplace(point))
    out.target = np.array([point[u] for u in net.units(net.target)])

    def evaluate(expr: sympy.Expr, name: str) -> np.ndarray:
        return np.array([float(instantiate(net, expr, at).xreplace(point))
                         for at in net.index_values(name)])

    for node, claim in bp.deltas.items():
        out.delta[node] = evaluate(claim.result, node)
    for param, claim in bp.gradients.items():
        out.gradient[param] = evaluate(claim.result, param).reshape(_shape(net, param))
    for edge in bp.edges.values():
        source = net.node_at(edge.source)
        head = sympy.Integer(0) if edge.target == "ℓ" else net.at(edge.target)
        for at in assignments(net, sympy.Tuple(edge.result, source, head)):
            start = instantiate(net, source, at).name
            end = "ℓ" if edge.target == "ℓ" else instantiate(net, head, at).name
            out.local[(start, end)] = float(instantiate(net, edge.result, at).xreplace(point))
            out.edge[(start, end)] = (edge.source, edge.target)
    return out


def _shape(net, param: str) -> tuple[int, ...]:
    layer = next(la for la in net.dense if param in (la.weight, la.bias))
    if param == layer.bias:
        return (net.sizes[layer.name],)
    return (net.sizes[layer.name], net.sizes[layer.source])
