"""Newton's method, L-BFGS and the automatic learning rate against independent oracles.

Oracles: central finite differences of the compiled gradient (the compiled Hessian pass); the
closed form 2AᵀA/n (+ 2λ) for least squares on sufficient statistics;
``numpy.linalg.lstsq`` (least squares), scikit-learn's ``newton-cholesky`` logistic regression and
a hand-written IRLS (logistic), scikit-learn's multinomial regression (softmax), on data sets that
ship with scikit-learn.
"""

from __future__ import annotations

import numpy as np
import pytest

from calculus_ml import GradientDescent, losses
from calculus_ml.errors import ConvergenceWarning, DivergenceError
from calculus_ml.numeric import CompileError, compile_gradient
from calculus_ml.optimize.line_search import backtrack
from calculus_ml.optimize.second_order import newton, newton_direction

from test_optimize import irls, line_data, logistic, mse, multiple_regression, regression_data


def coefficients(fit) -> np.ndarray:
    return np.concatenate([np.ravel(v) for v in fit.params_.values()])


def numeric_hessian(prepared, theta, h=1e-5):
    columns = [(prepared.grad(theta + h * e) - prepared.grad(theta - h * e)) / (2 * h)
               for e in np.eye(theta.size)]
    return np.array(columns).T


def classification_data(n=400, d=3, seed=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    p = 1 / (1 + np.exp(-(X @ rng.normal(size=d) + 0.3)))
    return X, (rng.random(n) < p).astype(float)


@pytest.mark.slow
@pytest.mark.parametrize("loss", [logistic(), losses.get("poisson", vector=True),
                                  losses.get("ridge", vector=True), losses.get("softmax")])
def test_compiled_hessian_matches_finite_differences(loss):
    rng = np.random.default_rng(0)
    X, ys = classification_data(60)
    data = {"x": X if loss.vectors else X[:, 0], "y": ys}
    if loss.name == "softmax":
        labels = rng.integers(0, 3, 60)
        data = {"x": X[:, 0], **{f"y{c + 1}": (labels == c) * 1.0 for c in range(3)}}
    data.update({h.name: 0.3 for h in loss.hyperparameters})
    prepared = compile_gradient(loss, sufficient_statistics=False).prepare(**data)
    theta = rng.normal(size=prepared.size) * 0.3
    J, g, H = prepared.value_grad_hess(theta)
    assert J == pytest.approx(prepared.value(theta), rel=1e-12)
    np.testing.assert_allclose(g, prepared.grad(theta), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(H, numeric_hessian(prepared, theta), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("cores", [1, 2, 3])
def test_hessian_pass_split_between_threads_is_the_hand_written_one(cores, monkeypatch):
    """The Hessian pass on 1, 2 or 3 threads, over rows that end mid-chunk: J, ∇J and
    ∇²J = Aᵀ diag(σ(1 − σ)) A / n of logistic regression, written out with NumPy."""
    from calculus_ml.numeric import prepared as prepared_module, threads

    monkeypatch.setattr(threads, "cores", lambda: cores)
    monkeypatch.setattr(threads, "PART_CHUNKS", 1)
    X, ys = classification_data(3 * prepared_module._HESSIAN_CHUNK_ROWS + 17, d=3)
    prepared = compile_gradient(logistic()).prepare(x=X, y=ys)
    theta = np.array([0.4, -0.3, 0.2, 0.1])
    J, g, H = prepared.value_grad_hess(theta)
    A = np.column_stack([X, np.ones(len(ys))])
    z = A @ theta
    s = 1 / (1 + np.exp(-z))
    assert J == pytest.approx(np.mean(np.logaddexp(0, z) - ys * z), rel=1e-12)
    np.testing.assert_allclose(g, A.T @ (s - ys) / len(ys), rtol=1e-11, atol=1e-15)
    np.testing.assert_allclose(H, A.T @ (A * (s * (1 - s))[:, None]) / len(ys), rtol=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("loss", [losses.get("ridge", vector=True), mse()])
def test_statistics_hessian_is_the_closed_form(loss):
    """Least squares, (1/n)Σ(y − aᵢ·θ)² + λ‖w‖²: the Hessian is 2AᵀA/n + 2λ on w's diagonal."""
    rng = np.random.default_rng(0)
    X, ys = classification_data(60)
    x = X if loss.vectors else X[:, 0]
    data = {"x": x, "y": ys, **{h.name: 0.3 for h in loss.hyperparameters}}
    prepared = compile_gradient(loss, sufficient_statistics=True).prepare(**data)
    assert prepared.statistics is not None
    theta = rng.normal(size=prepared.size) * 0.3
    J, g, H = prepared.value_grad_hess(theta)
    A = np.column_stack([x, np.ones(len(ys))])  # the columns of w (or m), then b
    penalty = np.diag([2 * 0.3] * (A.shape[1] - 1) + [0.0]) if loss.hyperparameters else 0.0
    np.testing.assert_allclose(H, 2 * A.T @ A / len(ys) + penalty, rtol=1e-7, atol=1e-9)
    assert J == pytest.approx(prepared.value(theta), rel=1e-12)
    np.testing.assert_allclose(g, prepared.grad(theta), rtol=1e-12, atol=1e-14)


@pytest.mark.slow
def test_a_kink_has_no_compiled_hessian_and_auto_falls_back_to_gd():
    xs, ys = line_data()
    with pytest.raises(CompileError, match="kink"):
        compile_gradient(losses.get("mae")).hessian({"m": 1.0, "b": 0.0}, x=xs, y=ys)
    with pytest.warns(ConvergenceWarning):
        fit = GradientDescent("mae", max_iter=50).fit(x=xs, y=ys)
    assert fit.method_ == "gd" and fit.n_hev_ == 0


@pytest.mark.slow
def test_newton_is_the_default_and_matches_irls():
    X, ys = classification_data()
    fit = GradientDescent(logistic()).fit(x=X, y=ys)
    assert fit.method_ == "newton" and fit.converged_ and fit.n_iter_ <= 12
    assert np.max(np.abs(coefficients(fit) - irls(X, ys))) <= 1e-9
    assert fit.n_hev_ >= fit.n_iter_ and fit.n_fev_ >= fit.n_hev_
    assert fit.grad_norm_ == fit.grad_norm_history_[-1] <= 1e-9


def test_a_learning_rate_keeps_gradient_descent():
    xs, ys = line_data()
    with pytest.warns(ConvergenceWarning):
        fit = GradientDescent(mse(), learning_rate=0.1, max_iter=20).fit(x=xs, y=ys)
    assert fit.method_ == "gd" and fit.learning_rate_ == 0.1 and fit.n_iter_ == 20


@pytest.mark.slow
def test_newton_solves_least_squares_in_one_step():
    X, ys = regression_data()
    fit = GradientDescent(multiple_regression()).fit(x=X, y=ys)
    A = np.column_stack([X, np.ones(len(ys))])
    assert fit.n_iter_ <= 2
    assert np.max(np.abs(coefficients(fit) - np.linalg.lstsq(A, ys, rcond=None)[0])) <= 1e-9


@pytest.mark.slow
def test_lbfgs_matches_irls():
    pytest.importorskip("scipy")
    X, ys = classification_data()
    fit = GradientDescent(logistic(), method="lbfgs", tol=1e-10, max_iter=500).fit(x=X, y=ys)
    assert fit.converged_ and fit.n_hev_ == 0
    assert np.max(np.abs(coefficients(fit) - irls(X, ys))) <= 1e-6


@pytest.mark.parametrize("callback", [None, lambda x, i, g: False])
def test_lbfgs_evaluates_the_start_once(callback):
    pytest.importorskip("scipy")
    from calculus_ml.optimize.lbfgs import lbfgs

    A = np.diag([1.0, 4.0, 9.0])
    x0 = np.array([1.0, -2.0, 0.5])
    starts = []

    def value_and_grad(x):
        starts.append(np.array_equal(x, x0))
        return 0.5 * x @ A @ x, A @ x

    x, converged = lbfgs(value_and_grad, x0, tol=1e-10, callback=callback)
    assert converged and np.abs(x).max() < 1e-8  # the minimum of ½xᵀAx is 0
    assert sum(starts) == 1 and len(starts) > 1


@pytest.mark.slow
def test_auto_rate_descends_without_a_learning_rate():
    X, ys = classification_data(200)
    fit = GradientDescent(logistic(), method="gd", tol=1e-7, max_iter=5000).fit(x=X, y=ys)
    assert fit.converged_ and fit.learning_rate_ > 0
    assert np.all(np.diff(fit.loss_history_) <= 0)  # Armijo: J never rises
    assert np.max(np.abs(coefficients(fit) - irls(X, ys))) <= 1e-5


def test_auto_rate_of_momentum_comes_from_the_curvature():
    xs, ys = line_data()
    fit = GradientDescent(mse(), method="momentum", max_iter=3000, tol=1e-8).fit(x=xs, y=ys)
    assert fit.converged_ and 0 < fit.learning_rate_ < 1


@pytest.mark.slow
def test_oscillation_is_detected_and_the_suggested_rate_works():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(1000, 1))
    X = 0.9 * base + 0.3 * rng.normal(size=(1000, 4))
    ys = (rng.random(1000) < 1 / (1 + np.exp(-(X @ np.array([1.0, -2.0, 0.5, 1.0]))))) * 1.0
    with pytest.raises(DivergenceError, match="oscillates") as info:
        GradientDescent(logistic(), learning_rate=4.0, method="gd", standardize=True,
                        max_iter=5000).fit(x=X, y=ys)
    rate = info.value.suggested_learning_rate
    assert 0 < rate < 4
    fit = GradientDescent(logistic(), learning_rate=rate, method="gd", standardize=True,
                          max_iter=5000, tol=1e-6).fit(x=X, y=ys)
    assert fit.converged_


def test_newton_direction_damps_an_indefinite_hessian():
    H, g = np.array([[1.0, 0.0], [0.0, -2.0]]), np.array([1.0, 1.0])
    p = newton_direction(H, g)
    assert g @ p < 0  # still downhill


def test_newton_never_diverges_where_the_full_step_would():
    # J = sqrt(1 + x²): Newton's full step x ← −x³ diverges from |x| > 1
    def vgh(x):
        r = np.sqrt(1 + x @ x)
        return r, x / r, np.array([[1 / r ** 3]])

    x, converged = newton(vgh, np.array([3.0]), max_iter=100, tol=1e-10)
    assert converged and abs(x[0]) < 1e-9


def test_backtrack_halves_until_armijo():
    # J(t) = (1 − 4t)², J(0) = 1, J'(0) = −8: t = 1 and ½ raise or keep J, ¼ reaches 0
    assert backtrack(1.0, -8.0, lambda t: ((1 - 4 * t) ** 2, t)) == (0.25, 0.0, 0.25, 3)
    assert backtrack(0.0, -1.0, lambda t: (1.0, None)) is None


def test_self_stepping_methods_refuse_a_batch_size():
    with pytest.raises(ValueError, match="batch_size"):
        GradientDescent(mse(), method="newton", batch_size=4).fit(x=[1.0, 2.0], y=[1.0, 2.0])


# --------------------------------------------------------------------------- scikit-learn data


def _sklearn():
    """scikit-learn's ``datasets`` and ``linear_model`` (the test is skipped without them)."""
    return pytest.importorskip("sklearn.datasets"), pytest.importorskip("sklearn.linear_model")


@pytest.mark.slow
@pytest.mark.parametrize("method", ["newton", "lbfgs"])
def test_breast_cancer_matches_scikit_learn(method):
    datasets, linear_model = _sklearn()
    X, ys = datasets.load_breast_cancer(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    # all 30 features separate the classes (no finite optimum); radius, perimeter and area are
    # nearly collinear: ten features without them
    X = X[:, [1, 4, 5, 8, 9, 11, 14, 15, 18, 19]]
    reference = linear_model.LogisticRegression(C=np.inf, solver="newton-cholesky",
                                                tol=1e-12, max_iter=1000).fit(X, ys)
    expected = np.r_[reference.coef_[0], reference.intercept_]
    np.testing.assert_allclose(expected, irls(X, ys), atol=1e-8)
    fit = GradientDescent(logistic(), method=method, tol=1e-10, max_iter=2000).fit(
        x=X, y=ys.astype(float))
    assert np.max(np.abs(coefficients(fit) - expected)) <= 1e-6


@pytest.mark.slow
@pytest.mark.parametrize("method", ["auto", "lbfgs"])
def test_diabetes_matches_lstsq(method):
    X, ys = _sklearn()[0].load_diabetes(return_X_y=True)
    fit = GradientDescent(multiple_regression(), method=method, tol=1e-10, max_iter=5000).fit(
        x=X, y=ys)
    A = np.column_stack([X, np.ones(len(ys))])
    expected = np.linalg.lstsq(A, ys, rcond=None)[0]
    assert np.max(np.abs(coefficients(fit) - expected)) <= 1e-6 * max(1, np.abs(expected).max())


@pytest.mark.slow
@pytest.mark.parametrize("method", ["newton", "lbfgs"])
def test_iris_softmax_matches_scikit_learn(method):
    datasets, linear_model = _sklearn()
    X, labels = datasets.load_iris(return_X_y=True)
    xs = X[:, 1]  # sepal width: the classes overlap, so the optimum is finite
    reference = linear_model.LogisticRegression(C=np.inf, tol=1e-12, max_iter=10000).fit(
        xs[:, None], labels)
    data = {"x": xs, **{f"y{c + 1}": (labels == c) * 1.0 for c in range(3)}}
    fit = GradientDescent(losses.get("softmax"), method=method, tol=1e-10, max_iter=2000).fit(
        **data)
    w = np.array([fit.params_[f"w{c}"] for c in (1, 2, 3)])
    b = np.array([fit.params_[f"b{c}"] for c in (1, 2, 3)])
    # logits are defined up to a common shift: compare differences between classes
    np.testing.assert_allclose(w - w[0], reference.coef_[:, 0] - reference.coef_[0, 0],
                               atol=1e-6)
    np.testing.assert_allclose(b - b[0], reference.intercept_ - reference.intercept_[0],
                               atol=1e-6)


@pytest.mark.slow
def test_contour_compares_newton_with_gradient_descent():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from calculus_ml import plotting

    xs, ys = line_data()
    gd = GradientDescent(mse(), learning_rate=0.2, max_iter=200, tol=1e-6).fit(x=xs, y=ys)
    step = GradientDescent(mse()).fit(x=xs, y=ys)
    ax = plotting.contour(mse(), data={"x": xs, "y": ys}, path=gd, label="gradient descent",
                          compare={"Newton": step})
    lines = {line.get_gid(): line for line in ax.get_lines()}
    np.testing.assert_array_equal(lines["path1"].get_xdata(), step.params_history_["m"])
    assert lines["path1"].get_label() == "Newton" and lines["path"].get_label() == (
        "gradient descent")
    matplotlib.pyplot.close(ax.figure)


# --------------------------------------------------------------------------- the kernels fits run on


def central_gradient(value, theta, h=1e-6):
    return np.array([(value(theta + h * e) - value(theta - h * e)) / (2 * h)
                     for e in np.eye(theta.size)])


@pytest.mark.slow
def test_fused_value_and_grad_equals_value_and_finite_differences():
    X, ys = classification_data(300)
    prepared = compile_gradient(logistic()).prepare(x=X, y=ys)
    theta = np.array([0.4, -0.3, 0.2, 0.1])
    J, g = prepared.value_and_grad(theta)
    assert J == pytest.approx(prepared.value(theta), rel=1e-13)
    np.testing.assert_allclose(g, prepared.grad(theta), rtol=1e-13)
    np.testing.assert_allclose(g, central_gradient(prepared.value, theta), rtol=1e-6, atol=1e-9)


@pytest.mark.slow
def test_softplus_and_sigmoid_stay_finite_at_large_logits():
    X, ys = classification_data(50)
    prepared = compile_gradient(logistic()).prepare(x=X, y=ys)
    with np.errstate(over="raise", divide="raise", invalid="raise"):  # no overflow, no log(0)
        for scale in (1000.0, -1000.0):
            theta = np.array([scale, 0.0, 0.0, 0.0])
            J, g, H = prepared.value_grad_hess(theta)
            z = X[:, 0] * scale
            expected = np.mean(np.maximum(z, 0) - ys * z + np.log1p(np.exp(-np.abs(z))))
            assert np.isfinite(g).all() and np.isfinite(H).all()
            assert J == pytest.approx(expected, rel=1e-12)


@pytest.mark.slow
def test_huber_gradient_is_a_clip():
    xs, ys = line_data(200)
    prepared = compile_gradient(losses.get("huber"), sufficient_statistics=False).prepare(
        x=xs, y=ys, delta=0.7)
    assert "numpy.where" not in prepared.compiled.source.split("def _grad")[1].split("def ")[0]
    theta = np.array([-1.0, 2.5])
    r = theta[0] * xs + theta[1] - ys
    assert 0 < np.mean(np.abs(r) > 0.7) < 1  # both branches are used
    clipped = np.clip(r, -0.7, 0.7)
    np.testing.assert_allclose(prepared.grad(theta), [np.mean(clipped * xs), np.mean(clipped)],
                               rtol=1e-12)
    np.testing.assert_allclose(prepared.grad(theta), central_gradient(prepared.value, theta),
                               rtol=1e-6)
