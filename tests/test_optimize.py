"""Optimizers and the GradientDescent estimator against independent oracles.

Oracles: ``numpy.linalg.lstsq`` for least squares, a Newton/IRLS solver written here for logistic
regression, exact curvature of quadratics for the stable learning rate.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
import sympy

from calculus_ml import GradientDescent
from calculus_ml.errors import ConvergenceWarning, DataError, DivergenceError, ExpressionError
from calculus_ml.functions import dot, sigmoid
from calculus_ml.losses import Loss
from calculus_ml.optimize import (
    adam,
    estimate_stable_rate,
    gradient_descent,
    momentum,
    nesterov,
)
from calculus_ml.optimize.estimator import _Progress

w, x, y, b = sympy.symbols("w x y b", real=True)
z = dot(w, x) + b


def mse() -> Loss:
    return Loss("(y - (m*x + b))**2", ["m", "b"], ["x", "y"], name="mse", prediction="m*x + b")


def multiple_regression() -> Loss:
    return Loss((y - z) ** 2, ["w", "b"], ["x", "y"], name="multiple-regression", prediction=z)


def logistic() -> Loss:
    return Loss(-y * sympy.log(sigmoid(z)) - (1 - y) * sympy.log(1 - sigmoid(z)), ["w", "b"],
                ["x", "y"], name="logistic", prediction=sigmoid(z))


def line_data(n=40, seed=1):
    rng = np.random.default_rng(seed)
    xs = rng.random(n) * 4 - 1
    return xs, 3.0 - 2.0 * xs + rng.normal(0, 0.5, n)


def regression_data(n=200, d=4, seed=2):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) + 0.5
    return X, X @ rng.normal(size=d) + 1.5 + rng.normal(0, 0.3, n)


def lstsq(X, ys):
    A = np.column_stack([X, np.ones(len(ys))])
    return np.linalg.lstsq(A, ys, rcond=None)[0]


def irls(X, ys, iterations=100):
    """Newton's method (iteratively reweighted least squares) for unpenalised logistic loss."""
    A = np.column_stack([X, np.ones(len(ys))])
    beta = np.zeros(A.shape[1])
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-(A @ beta)))
        hessian = A.T @ (A * (p * (1 - p))[:, None])
        step = np.linalg.solve(hessian, A.T @ (p - ys))
        beta -= step
        if np.max(np.abs(step)) < 1e-15:
            break
    return beta


def flat(params: dict) -> np.ndarray:
    return np.concatenate([np.ravel(v) for v in params.values()])


def test_mse_matches_lstsq():
    xs, ys = line_data()
    fit = GradientDescent(mse(), learning_rate=0.2, max_iter=20000, tol=1e-11).fit(x=xs, y=ys)
    assert fit.converged_
    np.testing.assert_allclose(flat(fit.params_), lstsq(xs[:, None], ys), rtol=1e-6)


def test_multiple_regression_matches_lstsq():
    X, ys = regression_data()
    fit = GradientDescent(multiple_regression(), learning_rate=0.1, max_iter=50000,
                          tol=1e-11, method="nesterov").fit(x=X, y=ys)
    assert fit.converged_ and fit.params_["w"].shape == (4,)
    np.testing.assert_allclose(flat(fit.params_), lstsq(X, ys), rtol=1e-6)


def test_logistic_matches_newton():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 3))
    p = 1 / (1 + np.exp(-(X @ np.array([1.0, -2.0, 0.5]) + 0.3)))
    ys = (rng.random(300) < p).astype(float)  # noisy labels: not separable
    fit = GradientDescent(logistic(), learning_rate=2.0, max_iter=20000, tol=1e-10,
                          method="nesterov").fit(x=X, y=ys)
    assert fit.converged_
    np.testing.assert_allclose(flat(fit.params_), irls(X, ys), rtol=1e-5)


@pytest.mark.parametrize("method, rate", [("gd", 0.2), ("momentum", 0.05), ("nesterov", 0.05),
                                          ("adam", 0.05)])
def test_full_batch_methods_reach_lstsq(method, rate):
    xs, ys = line_data()
    fit = GradientDescent(mse(), learning_rate=rate, max_iter=50000, tol=1e-10,
                          method=method).fit(x=xs, y=ys)
    assert fit.converged_
    np.testing.assert_allclose(flat(fit.params_), lstsq(xs[:, None], ys), rtol=1e-6)


@pytest.mark.parametrize("method, batch_size", [("sgd", None), ("minibatch", 8),
                                                ("adam", 8)])
@pytest.mark.slow
def test_stochastic_methods_reach_lstsq_loosely(method, batch_size):
    xs, ys = line_data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit = GradientDescent(mse(), learning_rate=0.05, max_iter=400, method=method,
                              batch_size=batch_size, schedule="inverse",
                              random_state=0).fit(x=xs, y=ys)
    np.testing.assert_allclose(flat(fit.params_), lstsq(xs[:, None], ys), rtol=2e-2)
    assert fit.n_iter_ <= 400 and len(fit.loss_history_) == fit.n_iter_ + 1


def test_stochastic_runs_repeat_with_a_seed():
    xs, ys = line_data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        runs = [GradientDescent(mse(), learning_rate=0.05, max_iter=20, method="minibatch",
                                batch_size=8, random_state=7, tol=0).fit(x=xs, y=ys)
                for _ in range(2)]
    assert np.array_equal(runs[0].loss_history_, runs[1].loss_history_)


@pytest.mark.parametrize("method, batch", [("sgd", 1), ("minibatch", 32), ("minibatch", 7)])
def test_stochastic_epochs_equal_a_hand_written_loop_and_the_per_step_path(method, batch):
    """Each epoch, the rows in the order the seeded generator draws, ``batch`` rows a step (the
    last batch shorter), the gradient of the mean squared error written by hand; and the same
    run through the per-step path (heavy-ball momentum with mass 0 is the same update)."""
    X, ys = regression_data(n=100, d=3)
    eta, epochs, seed = 0.01, 3, 4
    options = {"learning_rate": eta, "max_iter": epochs, "tol": 0, "random_state": seed,
               "batch_size": None if method == "sgd" else batch, "progress": False}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit = GradientDescent(multiple_regression(), method=method, **options).fit(x=X, y=ys)
        per_step = GradientDescent(multiple_regression(), method="momentum", momentum=0.0,
                                   **options | {"batch_size": batch}).fit(x=X, y=ys)
    rng, theta = np.random.default_rng(seed), np.zeros(4)
    expected = [theta.copy()]
    for _ in range(epochs):
        order = rng.permutation(len(ys))
        for lo in range(0, len(ys), batch):
            rows = order[lo:lo + batch]
            r = X[rows] @ theta[:3] + theta[3] - ys[rows]
            theta = theta - eta * 2 * np.r_[r @ X[rows], r.sum()] / len(rows)
        expected.append(theta.copy())
    history = np.column_stack([fit.params_history_["w"], fit.params_history_["b"]])
    np.testing.assert_allclose(history, expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(per_step.params_history_["w"], fit.params_history_["w"])
    assert fit.n_gev_ == per_step.n_gev_ == epochs * -(-len(ys) // batch) + epochs + 1


def test_divergence_names_iteration_and_a_rate_that_converges():
    xs, ys = line_data()
    with pytest.raises(DivergenceError, match=r"diverged at iteration \d+") as info:
        GradientDescent(mse(), learning_rate=5.0).fit(x=xs, y=ys)
    error = info.value
    assert "try learning_rate=" in str(error) and error.loss > 0
    rate = error.suggested_learning_rate
    assert 0 < rate < 5.0
    fit = GradientDescent(mse(), learning_rate=rate, max_iter=20000, tol=1e-9).fit(x=xs, y=ys)
    assert fit.converged_
    assert np.all(np.diff(fit.loss_history_) <= 1e-12)  # stable: the loss never goes up


def test_divergence_on_overflow():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(50, 2))
    poisson = Loss(sympy.exp(z) - y * z, ["w", "b"], ["x", "y"])
    ys = rng.poisson(2.0, 50).astype(float)
    with pytest.raises(DivergenceError, match="iteration"):
        GradientDescent(poisson, learning_rate=50.0, max_iter=100).fit(x=X, y=ys)


def test_suggestion_uses_learning_rate_bound_when_the_loss_has_one():
    class Bounded(Loss):
        def learning_rate_bound(self, **data):
            return 0.3  # 2/λ_max, as the catalogue's losses report it

    xs, ys = line_data()
    loss = Bounded("(y - (m*x + b))**2", ["m", "b"], ["x", "y"])
    with pytest.raises(DivergenceError) as info:
        GradientDescent(loss, learning_rate=5.0).fit(x=xs, y=ys)
    assert info.value.suggested_learning_rate == pytest.approx(0.15)


def test_convergence_warning_at_max_iter():
    xs, ys = line_data()
    with pytest.warns(ConvergenceWarning, match="max_iter=5"):
        fit = GradientDescent(mse(), learning_rate=0.01, max_iter=5).fit(x=xs, y=ys)
    assert fit.n_iter_ == 5 and not fit.converged_


def test_histories():
    xs, ys = line_data()
    fit = GradientDescent(mse(), learning_rate=0.1, max_iter=30, tol=0,
                          init={"m": 1.0, "b": -1.0})
    with pytest.warns(ConvergenceWarning):
        fit.fit(x=xs, y=ys)
    assert fit.n_iter_ == 30
    assert fit.loss_history_.shape == fit.grad_norm_history_.shape == (31,)
    assert fit.params_history_["m"].shape == (31,)
    assert fit.params_history_["m"][0] == 1.0 and fit.params_history_["b"][0] == -1.0
    assert fit.params_history_["m"][-1] == fit.params_["m"]
    assert np.all(np.diff(fit.loss_history_) < 0)
    r = fit.params_["m"] * xs + fit.params_["b"] - ys
    assert fit.loss_history_[-1] == pytest.approx(np.mean(r**2), rel=1e-10)
    g = np.array([2 * np.mean(xs * r), 2 * np.mean(r)])
    assert fit.grad_norm_history_[-1] == pytest.approx(np.linalg.norm(g), rel=1e-8)


def test_vector_history_and_prediction():
    X, ys = regression_data(d=3)
    with pytest.warns(ConvergenceWarning):
        fit = GradientDescent(multiple_regression(), learning_rate=0.05, max_iter=10).fit(
            x=X, y=ys)
    assert fit.params_history_["w"].shape == (11, 3)
    assert np.allclose(fit.predict(x=X), X @ fit.params_["w"] + fit.params_["b"])


def test_callback_sees_every_iteration_and_can_stop():
    xs, ys = line_data()
    seen = []

    def callback(params, k, g):
        seen.append((k, params.copy(), g.copy()))
        return k == 7

    fit = GradientDescent(mse(), learning_rate=0.1, callback=callback).fit(x=xs, y=ys)
    assert [k for k, _, _ in seen] == list(range(8)) and fit.n_iter_ == 7
    assert np.allclose(seen[-1][1], flat(fit.params_))


@pytest.mark.parametrize("loss, data", [
    (mse, lambda: dict(zip("xy", line_data()))),
    (multiple_regression, lambda: dict(zip("xy", regression_data()))),
])
def test_standardize_maps_back_exactly(loss, data):
    values = data()
    fit = GradientDescent(loss(), learning_rate=0.3, max_iter=20000, tol=1e-11,
                          standardize=True).fit(**values)
    X = values["x"] if values["x"].ndim == 2 else values["x"][:, None]
    np.testing.assert_allclose(flat(fit.params_), lstsq(X, values["y"]), rtol=1e-6)
    assert fit.n_iter_ < 200  # standardized features: a well-conditioned problem


def test_standardize_logistic_matches_newton():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(300, 2)) * [10.0, 0.1] + [5.0, -1.0]
    ys = (rng.random(300) < 1 / (1 + np.exp(-(X @ np.array([0.2, 8.0]) + 1.0)))).astype(float)
    fit = GradientDescent(logistic(), learning_rate=2.0, max_iter=20000, tol=1e-10,
                          method="nesterov", standardize=True).fit(x=X, y=ys)
    np.testing.assert_allclose(flat(fit.params_), irls(X, ys), rtol=1e-5)


@pytest.mark.slow
def test_standardize_refuses_what_it_cannot_map():
    xs, ys = line_data()
    ridge = Loss("(y - (m*x + b))**2", ["m", "b"], ["x", "y"], regularization="lam*m**2",
                 prediction="m*x + b")
    with pytest.raises(ValueError, match="penalty"):
        GradientDescent(ridge, standardize=True).fit(x=xs, y=ys, lam=0.1)
    with pytest.raises(ValueError, match="prediction"):
        GradientDescent(Loss("(y - (m*x + b))**2", ["m", "b"], ["x", "y"]),
                        standardize=True).fit(x=xs, y=ys)
    quadratic = Loss("(y - (a*x**2 + b))**2", ["a", "b"], ["x", "y"], prediction="a*x**2 + b")
    with pytest.raises(ValueError, match="linear in its features"):
        GradientDescent(quadratic, standardize=True).fit(x=xs, y=ys)


@pytest.mark.parametrize("option, value", [
    ("learning_rate", 0), ("learning_rate", -1.0), ("learning_rate", float("nan")),
    ("max_iter", 0), ("max_iter", 2.5), ("tol", -1.0), ("method", "bfgs"),
    ("batch_size", 0), ("schedule", "cosine"), ("momentum", 1.0), ("standardize", "yes"),
    ("callback", 3), ("progress", "sometimes"), ("random_state", "abc"), ("random_state", -1),
    ("random_state", True),
])
def test_bad_hyperparameters_raise_value_error(option, value):
    xs, ys = line_data()
    with pytest.raises(ValueError, match=option):
        GradientDescent(mse(), **{option: value}).fit(x=xs, y=ys)


def test_a_loss_by_its_catalogue_name():
    xs, ys = line_data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit = GradientDescent("mse", learning_rate=0.1, max_iter=50).fit(x=xs, y=ys)
    assert fit.loss.name == "mse" and repr(fit).startswith("GradientDescent(mse,")
    with pytest.raises(ExpressionError, match="unknown loss 'msee'"):
        GradientDescent("msee")
    with pytest.raises(TypeError, match="loss must be a calculus_ml.losses.Loss or the name"):
        GradientDescent(5)


def test_labels_outside_the_loss_domain_are_refused():
    xs, _ = line_data()
    labels = np.arange(xs.size) % 3.0  # 0, 1, 2: not a yes/no outcome
    with pytest.raises(DataError, match=r"logistic needs y to be 0 or 1; found y = 2 \(13 of 40"):
        GradientDescent("logistic").fit(x=xs, y=labels)
    with pytest.raises(DataError, match="logistic needs y"):
        GradientDescent("logistic", standardize=True).fit(x=xs, y=labels)


def test_sgd_with_a_batch_size_is_refused():
    with pytest.raises(ValueError, match="minibatch"):
        GradientDescent(mse(), method="sgd", batch_size=4).fit(**dict(zip("xy", line_data())))


@pytest.mark.parametrize("standardize", [False, True])
def test_bad_data_and_untouched_arrays(standardize):
    xs, ys = line_data()
    fit = GradientDescent(mse(), learning_rate=0.1, max_iter=50, standardize=standardize)
    with pytest.raises(DataError, match="y has 39 rows but x has 40"):
        fit.fit(x=xs, y=ys[:-1])
    with pytest.raises(DataError, match="missing data 'y'"):
        fit.fit(x=xs)
    bad = xs.copy()
    bad[2] = np.nan
    with pytest.raises(DataError, match="x contains NaN"):
        fit.fit(x=bad, y=ys)
    before = xs.copy(), ys.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit.fit(x=xs, y=ys)
    assert np.array_equal(xs, before[0]) and np.array_equal(ys, before[1])


def test_predict_needs_a_fit():
    with pytest.raises(ValueError, match="not fitted"):
        GradientDescent(mse()).predict(x=np.zeros(3))


def test_repr_shows_changed_options():
    text = repr(GradientDescent(mse(), learning_rate=0.5, method="adam"))
    assert text == "GradientDescent(mse, learning_rate=0.5, method='adam')"


def test_plain_optimizers_take_any_gradient_callable():
    target = np.array([3.0, -1.0])

    def grad(v, i):
        return 2 * (v - target)  # J = |v - target|², no SymPy anywhere

    for optimizer in (gradient_descent, momentum, nesterov):
        assert np.allclose(optimizer(grad, np.zeros(2), 0.1, 500), target)
    assert np.allclose(adam(grad, np.zeros(2), 0.1, 2000), target, atol=1e-4)
    calls = []
    gradient_descent(grad, np.zeros(2), 0.1, 10, callback=lambda v, i, g: calls.append(i))
    assert calls == list(range(10))


def test_stable_rate_is_one_over_the_largest_curvature():
    curvature = np.diag([1.0, 4.0, 10.0])
    rate = estimate_stable_rate(lambda v: curvature @ v, np.ones(3))
    assert rate == pytest.approx(0.1, rel=1e-5)


def test_progress_bar_only_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    quiet = _Progress("auto", 10, stream=io.StringIO())
    quiet.update(5, 1.0)
    assert not quiet.enabled
    shown = Terminal()
    bar = _Progress(True, 10, stream=shown)
    bar.update(5, 1.25)
    bar.close()
    assert "5/10" in shown.getvalue() and "loss 1.25" in shown.getvalue()
    hidden = Terminal()
    off = _Progress(False, 10, stream=hidden)
    off.update(5, 1.0)
    assert hidden.getvalue() == ""


def test_no_progress_output_when_not_a_terminal(capsys):
    xs, ys = line_data()
    GradientDescent(mse(), learning_rate=0.2, max_iter=5000, progress=True).fit(x=xs, y=ys)
    assert capsys.readouterr().err == ""
