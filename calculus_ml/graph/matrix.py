"""Backpropagation in matrix form, checked against the index form.

For one sample, with every node a column: through a dense layer ``z = W a + b``,
``∂ℓ/∂W = δ_z aᵀ``, ``∂ℓ/∂b = δ_z`` and ``δ_a = Wᵀ δ_z``; through an elementwise layer
``a = f(z)``, ``δ_z = δ_a ⊙ f′(z)``. So ``δ1 = (W2ᵀ δ2) ⊙ tanh′(z1)`` and ``∂ℓ/∂W1 = δ1 xᵀ``.

:func:`matrix_forms` writes each δ and gradient so, and checks it: the matrix expression is
computed with explicit SymPy matrices at the network's concrete size, entries the index-form
δ of the layer above, and compared entry by entry with the index-form claim.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy

from .backprop import Backpropagation, delta_name
from .network import Network
from .verify import agree, instantiate

__all__ = ["MatrixClaim", "matrix_forms"]


@dataclass(frozen=True)
class MatrixClaim:
    """``lhs = form`` (in the δ of the layer above) ``= expanded`` (in the output's δ), and
    how its agreement with the index form was established (``proof``; ``"elementwise"`` for
    the output's δ, which is its index form applied to every unit)."""

    key: str
    lhs: sympy.Basic
    form: sympy.Basic
    expanded: sympy.Basic
    proof: str


def _column(net: Network, name: str, label: str | None = None) -> sympy.MatrixSymbol:
    return sympy.MatrixSymbol(label or name, net.size_symbol(name), 1)


def matrix_forms(bp: Backpropagation) -> dict[str, MatrixClaim]:
    """The δs and gradients of ``bp`` in matrix form, keyed like its index-form claims
    (``"delta:z1"``, ``"grad:W1"``), each checked at every entry against the index form.

    Raises
    ------
    VerificationError
        If an entry of a matrix form differs from the index form.
    """
    net = bp.network
    out: dict[str, MatrixClaim] = {}
    forms: dict[str, sympy.Basic] = {}
    top = net.dense[-1].name
    deltas = {n: _column(net, n, delta_name(n)) for n in bp.deltas}
    if net.softmax:
        output = _column(net, top, f"softmax({top})") - _column(net, top, net.target)
    else:  # elementwise in the output units: the index form without its index
        result = bp.deltas[top].result
        output = result.xreplace({a: sympy.Symbol(a.base.label.name, real=True)
                                  for a in result.atoms(sympy.Indexed)})
    out[f"delta:{top}"] = MatrixClaim(f"delta:{top}", deltas[top], output, output,
                                      "elementwise")
    forms[top] = deltas[top]
    below = [la for la in net.layers[:net.layers.index(net.layer(top)) + 1]]
    for layer in reversed(below):
        d = deltas[layer.name]
        if layer.kind == "dense":
            weight = sympy.MatrixSymbol(layer.weight, net.size_symbol(layer.name),
                                        net.size_symbol(layer.source))
            source = _column(net, layer.source)
            for param, form in ((layer.weight, d * source.T), (layer.bias, d)):
                expanded = form.xreplace({d: forms[layer.name]})
                check = _explicit(bp, layer.name, param)
                out[f"grad:{param}"] = MatrixClaim(
                    f"grad:{param}", sympy.Symbol(f"∂ℓ/∂{param}"), form, expanded,
                    _check(bp, f"grad:{param}", check))
            if layer.source == net.input:
                continue
            form = weight.T * d
        else:
            name = "relu" if isinstance(layer.expr, sympy.Max) else sympy.sstr(layer.expr.func)
            local = _column(net, layer.source, f"{name}′({layer.source})")
            form = sympy.HadamardProduct(d, local)
        forms[layer.source] = form.xreplace({d: forms[layer.name]})
        out[f"delta:{layer.source}"] = MatrixClaim(
            f"delta:{layer.source}", deltas[layer.source], form, forms[layer.source],
            _check(bp, f"delta:{layer.source}", _explicit(bp, layer.name, layer.source)))
    return out


def _delta_column(bp: Backpropagation, node: str) -> sympy.Matrix:
    net = bp.network
    claim = bp.deltas[node]
    return sympy.Matrix([instantiate(net, claim.result, at) for at in net.index_values(node)])


def _explicit(bp: Backpropagation, layer_name: str, what: str) -> sympy.Matrix:
    """The matrix form of ``∂ℓ/∂what`` computed with explicit matrices, from the index-form δ
    of ``layer_name`` (the layer ``what`` feeds)."""
    net = bp.network
    layer = net.layer(layer_name)
    d = _delta_column(bp, layer_name)
    if layer.kind == "elementwise":
        edge = bp.edge(layer.source, layer.name)
        local = [instantiate(net, edge.result, at) for at in net.index_values(layer.source)]
        return d.multiply_elementwise(sympy.Matrix(local))
    source = sympy.Matrix(net.units(layer.source))
    weight = sympy.Matrix(net.sizes[layer.name], net.sizes[layer.source], net.units(layer.weight))
    return {layer.weight: d * source.T, layer.bias: d}.get(what, weight.T * d)


def _check(bp: Backpropagation, key: str, explicit: sympy.Matrix) -> str:
    net = bp.network
    kind, name = key.split(":")
    claim = (bp.deltas if kind == "delta" else bp.gradients)[name]
    proofs = []
    for entry, at in zip(explicit, net.index_values(name)):
        index_form = instantiate(net, claim.result, at)
        proofs.append(agree(net.down_to(entry), net.down_to(index_form),
                            f"matrix form of {key} at {at}"))
    return "numeric" if "numeric" in proofs else "symbolic"
