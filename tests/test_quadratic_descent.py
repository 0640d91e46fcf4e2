"""Gradient descent on a quadratic loss in closed form, a block of steps at a time.

Oracles: the step-by-step loop (the same fit with a callback, which keeps every step in Python),
and θ ← θ − η(A(θ − θ꜀) + g꜀) iterated with NumPy.
"""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import numpy as np
import pytest

from calculus_ml import GradientDescent, losses
from calculus_ml.errors import ConvergenceWarning, DivergenceError
from calculus_ml.optimize import estimator
from calculus_ml.optimize.quadratic import BLOCK_STEPS, closed_form_steps


def _fit(loss, data, callback=None, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return GradientDescent(loss, method="gd", progress=False, callback=callback,
                               **options).fit(**data)


def _keep_going(x, i, g):
    return False


def _regression(n=300, d=4, seed=0, duplicate=False):
    rng = np.random.default_rng(seed)
    X = rng.normal(1.0, 2.0, (n, d))
    if duplicate:  # a singular A: two equal columns
        X[:, -1] = X[:, 0]
    return {"x": X, "y": X @ rng.normal(size=d) + 0.7 + rng.normal(0, 0.2, n)}


CASES = {
    "multiple-regression": (losses.get("multiple-regression"), _regression(), 0.02),
    "ridge": (losses.get("ridge", vector=True), _regression() | {"lam": 0.5}, 0.02),
    "mse": (losses.get("mse"), {"x": np.linspace(0, 3, 40), "y": np.linspace(1, 7, 40) ** 1.1},
            0.05),
    "singular": (losses.get("multiple-regression"), _regression(duplicate=True), 0.01),
}


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("max_iter, tol", [(2 * BLOCK_STEPS + 37, 0.0), (5000, 1e-6)])
def test_blocks_follow_the_step_by_step_loop(name, max_iter, tol, monkeypatch):
    """The histories, the evaluation counts and where the run stops (max_iter, not a multiple
    of the block, or the first gradient norm below tol) are those of the loop, to rounding."""
    loss, data, rate = CASES[name]
    options = {"learning_rate": rate, "max_iter": max_iter, "tol": tol}
    runs, real = [], estimator.quadratic_descent
    monkeypatch.setattr(estimator, "quadratic_descent",
                        lambda *args: runs.append(args) or real(*args))
    fast = _fit(loss, data, **options)
    loop = _fit(loss, data, callback=_keep_going, **options)
    assert len(runs) == 1  # the fit without a callback, in blocks
    assert fast.compiled_.sufficient_statistics
    assert fast.n_iter_ == loop.n_iter_ and fast.converged_ == loop.converged_
    assert (fast.n_fev_, fast.n_gev_) == (loop.n_fev_, loop.n_gev_) == (
        fast.n_iter_ + 1, fast.n_iter_ + 1)
    for param, history in loop.params_history_.items():
        np.testing.assert_allclose(fast.params_history_[param], history, rtol=1e-9,
                                   atol=1e-12 * np.abs(history).max())
    np.testing.assert_allclose(fast.loss_history_, loop.loss_history_, rtol=1e-10)
    np.testing.assert_allclose(fast.grad_norm_history_, loop.grad_norm_history_, rtol=1e-6,
                               atol=1e-9 * loop.grad_norm_history_[0])
    if tol:
        assert fast.converged_ and fast.grad_norm_ <= tol < fast.grad_norm_history_[-2]


def test_a_diverging_rate_fails_as_in_the_loop():
    loss, data, _ = CASES["multiple-regression"]
    errors = []
    for callback in (None, _keep_going):
        with pytest.raises(DivergenceError) as info:
            _fit(loss, data, callback=callback, learning_rate=1.0, max_iter=1000)
        errors.append(str(info.value))
    assert errors[0] == errors[1] and "diverged at iteration" in errors[0]


@pytest.mark.parametrize("eigenvalues, rate", [
    ([4.0, 1.0, 0.25, 1e-3], 0.3),     # ρ = 1 − ηλ from −0.2 to 0.9997
    ([4.0, 1.0, 1e-17, 0.0], 0.2),     # A singular, g꜀ not zero along its null space
    ([9.0, 6.0, 0.5, 0.1], 0.3),       # ρ ≤ −1: the steps grow
])
def test_closed_form_is_the_iteration(eigenvalues, rate):
    rng = np.random.default_rng(1)
    Q = np.linalg.qr(rng.normal(size=(4, 4)))[0]
    form = SimpleNamespace(A=Q @ np.diag(eigenvalues) @ Q.T, centre=rng.normal(size=4),
                           gc=rng.normal(size=4) * 1e-3, Jc=2.5)
    form.eigen = np.linalg.eigh(form.A)
    x0 = rng.normal(size=4) * 3
    thetas, grads, values = closed_form_steps(form, x0, rate, 40)
    x = x0.copy()
    for k in range(41):
        delta = x - form.centre
        g = form.A @ delta + form.gc
        J = form.Jc + form.gc @ delta + 0.5 * delta @ form.A @ delta
        scale = max(1.0, np.abs(x).max())
        np.testing.assert_allclose(thetas[k], x, rtol=1e-12, atol=1e-12 * scale)
        np.testing.assert_allclose(grads[k], g, rtol=1e-12, atol=1e-12 * scale)
        assert values[k] == pytest.approx(J, rel=1e-12, abs=1e-12 * scale**2)
        x = x - rate * g
