"""Computation graphs (calculus_ml.graph) against independent oracles.

Oracles: ``sympy.diff`` of the network written out unit by unit in the test itself, central
finite differences of the loss, and the compiled gradient (a second implementation of the same
numbers) for the values on the graph.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pytest
import sympy

from calculus_ml import losses
from calculus_ml.errors import DomainError, ExpressionError, VerificationError
from calculus_ml.graph import Claim, Network, backpropagate
from calculus_ml.graph.values import values_at
from calculus_ml.graph.verify import agree, instantiate

LAYERS = ["z1 = dot(W1, x) + b1", "a1 = tanh(z1)", "z2 = dot(W2, a1) + b2"]


@functools.lru_cache(maxsize=None)
def mlp(h: int, activation: str, output: str = "logistic") -> losses.NetworkLoss:
    k = 2 if output == "softmax" else 1
    return losses.get("mlp", layers=[2, h, k], activation=activation, output=output)


# -- the network model (fast) ------------------------------------------------------------------


def test_a_network_knows_its_nodes_edges_and_indices():
    net = Network(LAYERS, "(y - z2)^2", {"x": 2, "z1": 4, "z2": 1})
    assert [la.kind for la in net.layers] == ["dense", "elementwise", "dense"]
    assert net.params == ["W1", "b1", "W2", "b2"]
    assert [(la.source, la.weight, la.bias) for la in net.layers] == [
        ("x", "W1", "b1"), ("z1", None, None), ("a1", "W2", "b2")]
    assert str(net.param_at("W1")) == "W1[j, k]" and str(net.param_at("W2")) == "W2[j]"
    assert str(net.at("a1")) == "a1[j]" and net.at("z2") == sympy.Symbol("z2", real=True)
    assert len(net.units("W1")) == 8 and len(net.units("b2")) == 1


@pytest.mark.parametrize("layers, loss, sizes, message", [
    (["z1 = W1*x + b1"], "(y - z1)^2", {"x": 1, "z1": 1}, "write a dense layer"),
    (["z1 = dot(W1, x) + b1", "z1 = tanh(z1)"], "(y - z1)^2", {"x": 2, "z1": 1},
     "defined twice"),
    (["a1 = tanh(x)"], "(y - a1)^2", {"x": 1}, "first layer must be dense"),
    (LAYERS, "(y - z2)^2", {"x": 2, "z1": 0, "z2": 1}, "size of 'z1' must be an integer"),
    (LAYERS, "(y - z1)^2", {"x": 2, "z1": 3, "z2": 1}, "the loss may use only 'z2'"),
    (LAYERS, "softmax", {"x": 2, "z1": 3, "z2": 1}, "softmax output needs at least 2"),
    (["z1 = dot(W1, x) + b1", "a1 = __import__(z1)"], "(y - a1)^2", {"x": 2, "z1": 1}, "__import__"),
])
def test_bad_networks_are_refused(layers, loss, sizes, message):
    with pytest.raises(ExpressionError, match=message):
        Network(layers, loss, sizes)


@pytest.mark.parametrize("options, message", [
    ({"layers": [2, 3]}, "layers must be a list of 3 to 5 sizes"),
    ({"activation": "softsign"}, "activation must be one of tanh, sigmoid, relu"),
    ({"output": "hinge"}, "output one of mse, logistic, softmax"),
    ({"layers": [2, 3, 2], "output": "logistic"}, "the loss may use only"),
])
def test_bad_mlp_options(options, message):
    with pytest.raises(ExpressionError, match=message):
        losses.get("mlp", **options)


# -- every claim, unit by unit (slow) ----------------------------------------------------------


def _written_out(net: Network) -> sympy.Expr:
    """The per-sample loss written out by hand from the layer sizes: the test's own oracle."""
    d, h = net.sizes["x"], net.sizes["z1"]
    x = [sympy.Symbol(f"x_{k}", real=True) for k in range(1, d + 1)]
    z1 = sympy.Symbol("z1", real=True)
    act = lambda z: net.layer("a1").expr.xreplace({z1: z})  # noqa: E731
    a = [act(sum(sympy.Symbol(f"W1_{j}_{k}", real=True) * x[k - 1] for k in range(1, d + 1))
             + sympy.Symbol(f"b1_{j}", real=True)) for j in range(1, h + 1)]
    z2 = sum(sympy.Symbol(f"W2_{j}", real=True) * a[j - 1] for j in range(1, h + 1))
    z2 += sympy.Symbol("b2", real=True)
    return net.loss.xreplace({sympy.Symbol("z2", real=True): z2,
                              sympy.Symbol("y", real=True): sympy.Symbol("y", real=True)})


@pytest.mark.slow
@pytest.mark.parametrize("h, activation", list(itertools.product([2, 3], ["tanh", "sigmoid", "relu"])))
def test_every_claim_equals_sympy_diff_at_every_unit(h, activation):
    net = Network(["z1 = dot(W1, x) + b1", f"a1 = {activation}(z1)", "z2 = dot(W2, a1) + b2"],
                  "(y - z2)^2", {"x": 2, "z1": h, "z2": 1})
    bp = backpropagate(net)
    assert all(c.proof in ("symbolic", "numeric") for c in bp.claims)
    forms = bp.matrix_forms  # each entry checked against the index form
    assert {"grad:W1", "grad:W2", "delta:z1", "delta:a1"} <= set(forms)
    assert str(forms["grad:W1"].form) == "δ1*x.T" and str(forms["delta:a1"].form) == "W2.T*δ2"
    oracle = _written_out(net)
    rng = np.random.default_rng(h)
    point = {s: rng.normal() for s in oracle.free_symbols}
    point.update({s: v for s, v in zip(net.units("x"), rng.normal(size=2))})
    for param in net.params:
        claim = bp.gradients[param]
        for at, unit in zip(_assignments(net, param), net.units(param)):
            mine = net.down_to(instantiate(net, claim.result, at))
            expected = sympy.diff(oracle, unit)
            assert float(mine.xreplace(point)) == pytest.approx(
                float(expected.xreplace(point)), rel=1e-10, abs=1e-12)


def _assignments(net: Network, param: str) -> list[dict]:
    at = net.param_at(param)
    indices = at.indices if isinstance(at, sympy.Indexed) else ()
    return [dict(zip(indices, [p for p in position if p])) for position in net.positions(param)]


@pytest.mark.slow
def test_a_wrong_claim_is_caught():
    bp = backpropagate(Network(LAYERS, "(y - z2)^2", {"x": 2, "z1": 2, "z2": 1}))
    claim = bp.gradients["W1"]
    bp.gradients["W1"] = Claim(claim.key, claim.lhs, claim.formula, 2 * claim.result,
                               claim.explanation)
    with pytest.raises(VerificationError, match="W1"):
        bp.verify()


@pytest.mark.slow
def test_index_form_is_derived_once_whatever_the_size():
    small = backpropagate(Network(LAYERS, "(y - z2)^2", {"x": 2, "z1": 2, "z2": 1}),
                          verify=False)
    large = backpropagate(Network(LAYERS, "(y - z2)^2", {"x": 3, "z1": 16, "z2": 1}),
                          verify=False)
    assert [c.result for c in small.claims] == [c.result for c in large.claims]


# -- numbers on the graph (slow) ---------------------------------------------------------------


@pytest.mark.slow
def test_values_on_the_graph_and_the_sum_over_paths():
    loss = mlp(3, "tanh", "softmax")
    bp, compiled = loss.backpropagation(), loss.compiled()
    rng = np.random.default_rng(4)
    theta = rng.normal(size=compiled.size)
    x, y = np.array([[0.3, -1.2]]), np.array([[0.0, 1.0]])
    values = values_at(bp, compiled.unpack(theta), x[0], y[0])
    flat = np.concatenate([values.gradient[p].ravel() for p in compiled.shapes])
    np.testing.assert_allclose(flat, compiled.grad(theta, x, y), rtol=1e-10, atol=1e-12)
    paths = values.paths("W1_1_1")
    assert len(paths) == 2  # through z2_1 and z2_2
    assert sum(p.product for p in paths) == pytest.approx(values.gradient["W1"][0, 0], rel=1e-12)
    step = 1e-6 * np.eye(compiled.size)[0]
    fd = (compiled.value(theta + step, x, y) - compiled.value(theta - step, x, y)) / 2e-6
    assert fd == pytest.approx(values.gradient["W1"][0, 0], rel=1e-6)


def test_agree_refuses_a_claim_real_nowhere_as_a_domain_error() -> None:
    """No real point to compare at is not a disagreement: as in the step verifier, an
    expression real nowhere is refused with DomainError; a real disagreement still raises."""
    x = sympy.Symbol("x", real=True)
    nowhere = sympy.sqrt(-1 - x**2)
    with pytest.raises(DomainError):
        agree(nowhere, 2 * nowhere, "test")
    with pytest.raises(VerificationError, match="disagrees"):
        agree(x**2, x**3, "test")
    proof = agree(sympy.diff(sympy.sin(x) ** 2, x), sympy.sin(2 * x), "test")
    assert proof in ("symbolic", "numeric")
