"""``GradientDescent(method="sgd", backend="numba")``: each epoch one compiled loop over the samples.

Oracles: the NumPy path (``backend="numpy"``, one call of the mini-batch kernel per step) on the
same data and seed, step for step to rounding; a hand-written NumPy SGD loop with
the gradient of the mean squared error written by hand, on the same permutations; the exact
coefficients of a noise-free linear problem.
"""

from __future__ import annotations

import functools
import sys
import warnings

import numpy as np
import pytest

from calculus_ml import GradientDescent, losses
from calculus_ml.cli import main
from calculus_ml.errors import ConvergenceWarning
from calculus_ml.numeric import fused as fused_backend

RTOL = 1e-12


@functools.cache
def _loss(name):
    """One loss object per name, so that its compiled loops are reused between the tests."""
    vector = name in ("logistic", "ridge", "hinge")
    return losses.get(name, vector=True) if vector else losses.get(name)


def _problem(name, n=240, d=4):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(n, d))
    y = X @ rng.normal(size=d) + 0.5 + rng.normal(0, 0.1, n)
    labels = {"logistic": (y > 0.5) * 1.0, "hinge": 2.0 * (y > 0.5) - 1}
    data = {"x": X[:, 0] if name == "rss" else X, "y": labels.get(name, y)}
    return _loss(name), data | ({"lam": 0.3} if name == "ridge" else {})


def _fit(loss, data, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return GradientDescent(loss, **{"method": "sgd", **options}, tol=0, random_state=5,
                               progress=False).fit(**data)


@pytest.fixture
def epochs(monkeypatch):
    """The prepared gradients the compiled epoch loop was built for, fit by fit."""
    built, real = [], fused_backend.sgd_epoch
    monkeypatch.setattr(fused_backend, "sgd_epoch", lambda prepared, batch: built.append(
        prepared) or real(prepared, batch))
    return built


def _assert_same_trajectory(a, b):
    for name, history in a.params_history_.items():
        scale = np.abs(history).max()
        assert np.abs(b.params_history_[name] - history).max() <= RTOL * scale, name
    assert np.allclose(b.loss_history_, a.loss_history_, rtol=RTOL, atol=0)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["multiple-regression", "logistic", "ridge", "rss", "hinge"])
def test_compiled_epochs_follow_the_numpy_path_step_for_step(name, epochs):
    """Same rows in the same order, the same per-sample gradient with the penalty's, for a mean
    and for a sum, smooth or with a kink; the history, recorded once per epoch, is the same to
    rounding."""
    pytest.importorskip("numba")
    loss, data = _problem(name)
    rate = 0.0005 if name == "rss" else 0.01
    reference = _fit(loss, data, learning_rate=rate, max_iter=3)
    assert not epochs
    fused = _fit(loss, data, learning_rate=rate, max_iter=3, backend="numba")
    assert len(epochs) == 1 and fused.compiled_.backend == "numba"
    _assert_same_trajectory(reference, fused)
    assert fused.n_iter_ == reference.n_iter_ == 3
    assert fused.n_gev_ == reference.n_gev_ == 3 * 240 + 4  # the samples, and J's once an epoch


@pytest.mark.slow
@pytest.mark.parametrize("name", ["multiple-regression", "logistic", "ridge", "rss"])
def test_compiled_mini_batch_epochs_follow_the_numpy_path(name, epochs):
    """Batches of 32 (the last one of 240 rows holding 16): each step the mean (or sum) of its
    rows' gradients plus the penalty's, as the NumPy path's mini-batch kernel takes it."""
    pytest.importorskip("numba")
    loss, data = _problem(name)
    rate = 0.0005 if name == "rss" else 0.05
    options = {"learning_rate": rate, "max_iter": 3, "batch_size": 32, "method": "minibatch"}
    reference = _fit(loss, data, **options)
    fused = _fit(loss, data, **options, backend="numba")
    assert len(epochs) == 1
    _assert_same_trajectory(reference, fused)
    assert fused.n_gev_ == reference.n_gev_ == 3 * 8 + 4  # ⌈240/32⌉ steps an epoch, J's


@pytest.mark.slow
def test_compiled_epochs_with_a_schedule_a_stopping_callback_and_standardize(epochs):
    """The rate is the schedule's per epoch; a callback stops both paths at the same epoch;
    ``standardize`` (in units no data array holds) keeps the per-sample path and its result."""
    pytest.importorskip("numba")
    loss, data = _problem("multiple-regression")

    def stop(x, k, g):
        return k == 2

    options = {"learning_rate": 0.02, "max_iter": 4, "schedule": "inverse", "callback": stop}
    _assert_same_trajectory(_fit(loss, data, **options), _fit(loss, data, **options,
                                                              backend="numba"))
    loss, data = _problem("multiple-regression", n=30)  # a Python call per sample, here
    options = {"learning_rate": 0.02, "max_iter": 2, "standardize": True}
    _assert_same_trajectory(_fit(loss, data, **options), _fit(loss, data, **options,
                                                              backend="numba"))
    assert len(epochs) == 1  # the schedule's fit; standardize kept the per-sample path


@pytest.mark.slow
def test_compiled_epochs_equal_a_hand_written_loop():
    """Per-sample SGD on J = mean (m x + b − y)², gradient 2(m x + b − y)(x, 1) written by hand,
    over the permutations the estimator's generator draws, one per epoch."""
    pytest.importorskip("numba")
    rng = np.random.default_rng(8)
    x = rng.uniform(0, 10, 150)
    y = 3 * x - 2 + rng.normal(0, 1, 150)
    eta, epochs, seed = 0.002, 3, 11
    fit = GradientDescent("mse", method="sgd", learning_rate=eta, max_iter=epochs, tol=0,
                          random_state=seed, backend="numba", progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit.fit(x=x, y=y)
    order_rng, m, b = np.random.default_rng(seed), 0.0, 0.0
    expected = [(m, b)]
    for _ in range(epochs):
        for i in order_rng.permutation(len(x)):
            r = m * x[i] + b - y[i]
            m, b = m - eta * 2 * r * x[i], b - eta * 2 * r
        expected.append((m, b))
    expected = np.array(expected)
    assert np.abs(fit.params_history_["m"] - expected[:, 0]).max() <= RTOL * abs(expected).max()
    assert np.abs(fit.params_history_["b"] - expected[:, 1]).max() <= RTOL * abs(expected).max()


@pytest.mark.slow
def test_compiled_sgd_fits_a_noise_free_line():
    pytest.importorskip("numba")
    rng = np.random.default_rng(2)
    X = rng.normal(size=(400, 5))
    w = np.array([1.5, -2.0, 0.5, 3.0, -1.0])
    fit = GradientDescent(_loss("multiple-regression"), method="sgd", learning_rate=0.01,
                          max_iter=200, tol=1e-9, random_state=0, backend="numba", progress=False)
    fit.fit(x=X, y=X @ w + 0.25)
    assert fit.converged_ and fit.n_iter_ < 200
    assert np.abs(fit.params_["w"] - w).max() < 1e-8 and abs(fit.params_["b"] - 0.25) < 1e-8


@pytest.mark.slow
def test_cli_fit_with_the_numba_backend(tmp_path, capsys):
    pytest.importorskip("numba")
    path = tmp_path / "line.csv"
    path.write_text("hours,score\n" + "".join(f"{h},{3 * h + 1}\n" for h in range(10)))
    status = main(["fit", "--loss", "mse", "--csv", str(path), "--x", "hours", "--y", "score",
                   "--method", "sgd", "--lr", "0.005", "--max-iter", "2000", "--backend", "numba"])
    out = capsys.readouterr().out
    assert status == 0 and "method: sgd" in out
    fitted = dict(line.split()[:2] for line in out.splitlines() if line.startswith(("m ", "b ")))
    assert abs(float(fitted["m"]) - 3) < 1e-4 and abs(float(fitted["b"]) - 1) < 1e-4


def test_backend_is_validated():
    x, y = np.arange(5.0), np.arange(5.0)
    with pytest.raises(ValueError, match="backend must be 'numpy' or 'numba', not 'jax'"):
        GradientDescent("mse", method="sgd", backend="jax").fit(x=x, y=y)


def test_cli_fit_backend_without_numba_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)  # then ``import numba`` raises ImportError
    path = tmp_path / "line.csv"
    path.write_text("hours,score\n1,2\n2,4\n3,6.5\n")
    status = main(["fit", "--loss", "mse", "--csv", str(path), "--x", "hours", "--y", "score",
                   "--method", "sgd", "--lr", "0.01", "--backend", "numba"])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1
    assert 'pip install "calculus_ml[fast]"' in err
