"""The softmax loss compiled from its index form, against independent oracles.

Oracles: a hand-written NumPy softmax (max-shifted log-sum-exp, ``(P − Y)ᵀF/n``, the Hessian
summed sample by sample as ``FᵢFᵢᵀ ⊗ (diag pᵢ − pᵢpᵢᵀ)``), central finite differences, and the
verified step-by-step derivation (``loss.sample_gradient()``).
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy

from calculus_ml import losses
from calculus_ml.losses.matrix import softmax_classes, verified_softmax_index_form
from calculus_ml.numeric import compile_gradient


def numpy_softmax(theta, x, Y):
    k, n = Y.shape[1], len(x)
    Z = x[:, None] * theta[:k] + theta[k:]
    top = Z.max(axis=1, keepdims=True)
    E = np.exp(Z - top)
    total = E.sum(axis=1, keepdims=True)
    P = E / total
    J = np.mean(top[:, 0] + np.log(total[:, 0]) - (Y * Z).sum(axis=1))
    G = np.concatenate([x @ (P - Y), (P - Y).sum(axis=0)]) / n
    H = np.zeros((2 * k, 2 * k))
    for f, p in zip(np.column_stack([x, np.ones(n)]), P):
        H += np.kron(np.outer(f, f), np.diag(p) - np.outer(p, p))
    return J, G, H / n


def softmax_data(k, n=200, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n) * 3
    Y = np.eye(k)[rng.integers(0, k, n)]
    return x, Y, {"x": x, **{f"y{c + 1}": Y[:, c] for c in range(k)}}


def central(f, theta, h=1e-5):
    return np.array([(f(theta + h * e) - f(theta - h * e)) / (2 * h) for e in np.eye(theta.size)])


@pytest.mark.slow
@pytest.mark.parametrize("k", [2, 3, 7])
def test_compiled_softmax_matches_numpy_and_finite_differences(k):
    x, Y, data = softmax_data(k)
    prepared = compile_gradient(losses.get("softmax", k=k)).prepare(**data)
    theta = np.random.default_rng(k).normal(size=2 * k)
    J, g, H = prepared.value_grad_hess(theta)
    J0, g0, H0 = numpy_softmax(theta, x, Y)
    assert J == pytest.approx(J0, rel=1e-10)
    assert prepared.value(theta) == pytest.approx(J0, rel=1e-10)
    np.testing.assert_allclose(g, g0, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(prepared.grad(theta), g0, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(H, H0, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(g, central(prepared.value, theta), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(H, central(lambda t: numpy_softmax(t, x, Y)[1], theta),
                               rtol=1e-6, atol=1e-8)


@pytest.mark.slow
def test_large_logits_do_not_overflow():
    x, Y, data = softmax_data(3, n=50)
    theta = np.array([400.0, -300.0, 10.0, 5.0, 0.0, -5.0])
    J, g, H = compile_gradient(losses.get("softmax")).prepare(**data).value_grad_hess(theta)
    J0, g0, H0 = numpy_softmax(theta, x, Y)
    assert np.isfinite(J) and J == pytest.approx(J0, rel=1e-10)
    np.testing.assert_allclose(g, g0, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(H, H0, rtol=1e-10, atol=1e-12)


@pytest.mark.slow
def test_the_program_is_the_same_for_every_number_of_classes():
    compiled = {k: compile_gradient(losses.get("softmax", k=k)) for k in (3, 10)}
    assert compiled[3].source == compiled[10].source
    for k, c in compiled.items():
        c.hessian(np.zeros(2 * k), **softmax_data(k, n=20)[2])
    assert compiled[3]._hess[1] == compiled[10]._hess[1]
    assert "numpy.subtract(q_p, q_y, out=q_e)" in compiled[3].source  # ∂ℓ/∂z_c = p_c − y_c


def test_only_the_catalogue_softmax_takes_the_index_form():
    assert softmax_classes(losses.get("softmax", k=4)) == 4
    changed = losses.Loss("log(exp(w1*x + b1) + exp(w2*x + b2)) - y1*(w1*x + b1) - y2*(w2*x)",
                          ["w1", "w2", "b1", "b2"], ["x", "y1", "y2"])
    assert softmax_classes(changed) is None
    assert softmax_classes(losses.get("logistic")) is None
    penalised = losses.Loss(losses.get("softmax", k=2).term, ["w1", "w2", "b1", "b2"],
                            ["x", "y1", "y2"], regularization="lam*w1**2")
    assert softmax_classes(penalised) is None


@pytest.mark.slow
@pytest.mark.parametrize("k", [2, 3])
def test_index_form_agrees_with_the_verified_derivation(k):
    form = verified_softmax_index_form()
    loss = losses.get("softmax", k=k)
    x, ws, bs, ys = loss.data[0], loss.params[:k], loss.params[k:], loss.data[1:]
    logits = [w * x + b for w, b in zip(ws, bs)]
    total = sympy.Add(*map(sympy.exp, logits))
    derived = loss.sample_gradient()
    for c in range(k):
        error = form["grad"].subs(form["c"], c + 1).xreplace(
            {form["P"][c + 1]: sympy.exp(logits[c]) / total, form["y"][c + 1]: ys[c]})
        chain = {"w": form["chain"]["w"].xreplace({form["x"]: x}), "b": form["chain"]["b"]}
        for kind, theta in (("w", ws[c]), ("b", bs[c])):
            assert sympy.simplify(derived[theta] - error * chain[kind]) == 0
