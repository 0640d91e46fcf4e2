"""Backpropagation derived step by step in index notation: the chain rule once per edge of the
computation graph, each node's error signal δ derived once and reused.

:func:`backpropagate` builds a :class:`Backpropagation`:

* one :class:`Edge` per edge of the graph, its local derivative a verified derivation of the
  layer's equation (``∂z1/∂W1[k] = x[k]`` by the rule of inner products, ``∂a1/∂z1 = 1 −
  tanh²(z1)``), written in index notation;
* one :class:`Claim` per error signal, ``δ1[j] = ∂ℓ/∂z1[j] = (Σ_c δ2[c] W2[c, j]) ·
  tanh′(z1[j])``, from the δ of the layer above (reused, not derived again);
* one claim per parameter, ``∂ℓ/∂W1[j, k] = δ1[j] x[k]``, and its mean over data,
  ``∂J/∂W1[j, k] = (1/n) Σᵢ δ1[i, j] x[i, k]``.

Nothing here depends on the number of units: the index form is derived once. Each claim is then
checked (:meth:`Backpropagation.verify`) at every unit of the network's concrete size against
``sympy.diff`` of the network written out unit by unit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

import sympy

from ..derivation import Derivation, derivation_of
from ..functions import dot
from ..steps.step import Step
from ..symbolic import smallest, vector
from .network import Network

__all__ = ["Edge", "Claim", "Backpropagation", "backpropagate", "delta_name"]


@dataclass(frozen=True)
class Edge:
    """An edge ``source → target`` of the graph and its local derivative ``∂target/∂source``.

    ``step`` is the root of its verified derivation (in the layer's own unit names);
    ``result`` is that step's result in index notation, the edge's label.
    """

    source: str
    target: str
    step: Step
    result: sympy.Expr

    @property
    def key(self) -> str:
        """``"z1<-W1"``: how claims and pages name this edge."""
        return f"{self.target}<-{self.source}"


@dataclass
class Claim:
    """A derived fact ``lhs = formula = result``.

    ``formula`` uses earlier δ symbols (reuse); ``result`` has them substituted, in node
    values; ``proof`` is set by
    :meth:`Backpropagation.verify` ("symbolic" or "numeric").
    """

    key: str
    lhs: sympy.Expr
    formula: sympy.Expr
    result: sympy.Expr
    explanation: str
    proof: str | None = field(default=None, compare=False)


def delta_name(node: str) -> str:
    """The name of ``node``'s error signal: ``δ1`` for ``z1``, ``δ_a1`` otherwise."""
    match = re.fullmatch(r"z(\d+)", node)
    return f"δ{match.group(1)}" if match else f"δ_{node}"


class Backpropagation:
    """The gradient of a network's loss by backpropagation, in index notation.

    Built by :func:`backpropagate`; ``edges``, ``deltas`` (one claim per node, output first),
    ``gradients`` and ``means`` (one claim per parameter each) in reading order.
    """

    def __init__(self, network: Network):
        self.network = network
        self.edges: dict[str, Edge] = {}
        self.deltas: dict[str, Claim] = {}
        self.gradients: dict[str, Claim] = {}
        self.means: dict[str, Claim] = {}

    @property
    def claims(self) -> list[Claim]:
        """Every claim: the δs, the per-sample gradients, the means over data."""
        return [*self.deltas.values(), *self.gradients.values(), *self.means.values()]

    def delta(self, node: str) -> sympy.Expr:
        """The δ symbol of ``node`` in index notation: ``δ1[j]``, or ``δ2`` for one unit."""
        at = self.network.at(node)
        name = delta_name(node)
        if isinstance(at, sympy.Indexed):
            return sympy.IndexedBase(name, real=True)[at.indices]
        return sympy.Symbol(name, real=True)

    def edge(self, source: str, target: str) -> Edge:
        """The edge ``source → target``."""
        return self.edges[f"{target}<-{source}"]

    def verify(self) -> dict[str, int]:
        """Check every edge and claim at every unit of the network's size against
        ``sympy.diff`` of the network written out unit by unit; return how many were proved
        each way. See :mod:`calculus_ml.graph.verify`."""
        from .verify import verify_backpropagation

        return verify_backpropagation(self)

    def graph(self, **kw):
        """The computation graph drawn with matplotlib; see
        :func:`calculus_ml.plotting.graph.draw_graph`."""
        from ..plotting.graph import draw_graph

        return draw_graph(self, **kw)

    def to_dot(self, values=None) -> str:
        """Graphviz DOT text of the graph; see :func:`calculus_ml.plotting.graph.to_dot`."""
        from ..plotting.graph import to_dot

        return to_dot(self, values)

    def to_svg(self, values=None) -> str:
        """The graph as SVG laid out by Graphviz (the ``graph`` extra); see
        :func:`calculus_ml.plotting.graph.to_svg`."""
        from ..plotting.graph import to_svg

        return to_svg(self, values)

    @cached_property
    def matrix_forms(self):
        """The δs and gradients in matrix form, each checked against the index form; see
        :func:`calculus_ml.graph.matrix.matrix_forms`."""
        from .matrix import matrix_forms

        return matrix_forms(self)

    def __repr__(self) -> str:
        return (f"<Backpropagation of {self.network!r}: {len(self.edges)} edges, "
                f"{len(self.deltas)} error signals, {len(self.gradients)} gradients>")


def backpropagate(network: Network, *, verify: bool = True) -> Backpropagation:
    """Derive the gradient of ``network``'s loss by backpropagation, step by step.

    Every local derivative is a derivation of the layer's equation, each of its steps checked
    against ``sympy.diff``; with ``verify`` (the default) every δ and gradient claim is also
    checked at every unit (:meth:`Backpropagation.verify`).

    Raises
    ------
    VerificationError
        If a step or a claim is false.
    """
    bp = Backpropagation(network)
    for edge in _edges(network):
        bp.edges[edge.key] = edge
    _backward(bp)
    if verify:
        bp.verify()
    return bp


# -- local derivatives -----------------------------------------------------------------------


def _sym(name: str) -> sympy.Symbol:
    return sympy.Symbol(name, real=True)


def _edges(network: Network) -> list[Edge]:
    out = []
    for layer in network.layers:
        if layer.kind == "dense":
            k = sympy.Symbol("k_", integer=True, positive=True)
            weight, source = vector(_sym(layer.weight)), vector(_sym(layer.source))
            expr = dot(weight, source) + _sym(layer.bias)
            d = derivation_of(expr, [weight[k], source[k], _sym(layer.bias)])
            into = network.at(layer.source)
            to_index = {source[k]: into, weight[k]: network.param_at(layer.weight)}
            out.append(_edge(layer.weight, layer.name, d[weight[k]], to_index))
            out.append(_edge(layer.source, layer.name, d[source[k]], to_index))
            out.append(_edge(layer.bias, layer.name, d[_sym(layer.bias)], {}))
        else:
            d = derivation_of(layer.expr, [_sym(layer.source)])
            out.append(_edge(layer.source, layer.name, d.steps[_sym(layer.source)],
                             {_sym(layer.source): network.at(layer.source)}))
    out.append(_loss_edge(network))
    return out


def _edge(source: str, target: str, step: Step, to_index: dict) -> Edge:
    return Edge(source, target, step, step.result.xreplace(to_index))


def _loss_edge(network: Network) -> Edge:
    """``∂ℓ/∂(output)``: the loss differentiated by its (first) output unit; for softmax, the
    index form ``exp(z[c]) / Σ exp(z[c']) − y[c]`` whose every unit the check compares with
    the derivation of the written-out loss."""
    out = network.output
    if not network.softmax:
        d: Derivation = derivation_of(network.loss, [_sym(out)])
        return Edge(out, "ℓ", d.steps[_sym(out)], d.steps[_sym(out)].result)
    first = network.units(out)[0]
    d = derivation_of(network.unit_loss(), [first])
    c = network.indices[out]
    other = sympy.Symbol(f"{c.name}'", integer=True, positive=True)
    z = sympy.IndexedBase(out, real=True)
    total = sympy.Sum(sympy.exp(z[other]), (other, 1, network.size_symbol(out)))
    result = sympy.exp(network.at(out)) / total - network.at(network.target)
    return Edge(out, "ℓ", d.steps[first], result)


# -- the backward pass -------------------------------------------------------------------------


def _in_nodes(network: Network, expr: sympy.Expr) -> sympy.Expr:
    """``expr`` with each elementwise layer's value named: ``tanh(z1[j])`` becomes ``a1[j]``,
    then put in its shortest form."""
    names = {}
    for layer in network.layers:
        if layer.kind == "elementwise":
            arg = _sym(layer.source)
            names[layer.expr.xreplace({arg: network.at(layer.source)})] = network.at(layer.name)
    named = expr.xreplace(names)
    return smallest(named, sympy.cancel(named), sympy.factor_terms(named))


def _partial(of: str, wrt: sympy.Expr) -> sympy.Derivative:
    return sympy.Derivative(sympy.Symbol(of, real=True), wrt)


def _backward(bp: Backpropagation) -> None:
    net = bp.network
    results: dict[sympy.Basic, sympy.Expr] = {}

    def claim_delta(node: str, formula: sympy.Expr, why: str) -> None:
        symbol = bp.delta(node)
        results[symbol] = _in_nodes(net, formula.xreplace(results))
        bp.deltas[node] = Claim(f"delta:{node}", symbol, formula, results[symbol], why)

    loss_edge = bp.edge(net.output, "ℓ")
    claim_delta(net.output, loss_edge.result,
                f"the loss differentiated by its input {net.output}")
    for layer in reversed(net.layers):
        above = bp.delta(layer.name)
        if layer.kind == "dense":
            for param in (layer.weight, layer.bias):
                edge = bp.edge(param, layer.name)
                formula = above * edge.result
                bp.gradients[param] = Claim(
                    f"grad:{param}", _partial("ℓ", net.param_at(param)), formula,
                    _in_nodes(net, formula.xreplace(results)),
                    f"{delta_name(layer.name)}, derived once, times the local derivative "
                    f"∂{layer.name}/∂{param}")
            if layer.source == net.input:
                continue
            edge = bp.edge(layer.source, layer.name)
            formula = above * edge.result
            index = net.indices[layer.name]
            if index is not None:
                formula = sympy.Sum(formula, (index, 1, net.size_symbol(layer.name)))
            why = (f"one path through each unit of {layer.name}: the sum of "
                   f"{delta_name(layer.name)} times the weight of the edge")
        else:
            edge = bp.edge(layer.source, layer.name)
            formula = above * edge.result
            why = f"{delta_name(layer.name)} times the local derivative of {layer.expr}"
        claim_delta(layer.source, formula, why)
    for param, claim in bp.gradients.items():
        bp.means[param] = _mean(net, param, claim)


def _mean(net: Network, param: str, claim: Claim) -> Claim:
    """``∂J/∂θ = (1/n) Σᵢ ∂ℓᵢ/∂θ``: every node and datum gains the data index ``i``."""
    i = sympy.Symbol("i", integer=True, positive=True)
    n = sympy.Symbol("n", integer=True, positive=True)
    params = set(net.params)

    def per_sample(expr: sympy.Expr) -> sympy.Expr:
        swap = {}
        for atom in expr.atoms(sympy.Indexed):
            if atom.base.label.name not in params:
                swap[atom] = atom.base[(i, *atom.indices)]
        for atom in expr.atoms(sympy.Symbol):
            if atom.name not in params and not atom.is_integer:
                swap[atom] = sympy.IndexedBase(atom.name, real=True)[i]
        return expr.xreplace(swap)

    formula = sympy.Sum(per_sample(claim.formula), (i, 1, n)) / n
    result = sympy.Sum(per_sample(claim.result), (i, 1, n)) / n
    return Claim(f"mean:{param}", _partial("J", net.param_at(param)), formula, result,
                 "the derivative of a mean over data is the mean of the "
                 "per-sample derivatives (the sum_over_data rule)")
