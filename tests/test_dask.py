"""Dask data: every result equals the in-memory one (rel. 1e-10), on a two-worker LocalCluster.

The oracle is the package's own in-memory path (itself checked against finite differences,
lstsq and scikit-learn elsewhere) on the same numbers, plus finite differences of the Dask
gradient for the Hessian pass, and a hand-written loop over the same block-by-block order for
the stochastic epochs.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import calculus_ml as cm
from calculus_ml import losses
from calculus_ml.errors import ConvergenceWarning, DataError
from calculus_ml.numeric.finite_difference import hessian as fd_hessian
from calculus_ml.optimize import GradientDescent

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.slow
RTOL = 1e-10


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster:
        with distributed.Client(cluster) as c:
            yield c


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    n, d = 3001, 4
    X = rng.normal(size=(n, d)) * [1, 2, 0.5, 3]
    logits = X @ [0.5, -0.4, 1.0, 0.1] + 0.2
    return {"X": X, "y_real": X @ [1.0, 2.0, -1.0, 0.5] + rng.normal(size=n),
            "y_binary": (rng.random(n) < 1 / (1 + np.exp(-logits))).astype(float),
            "Xd": da.from_array(X, chunks=(700, 3)), "rng": rng}


def _dask(a, rows=800):
    return da.from_array(a, chunks=rows)


def _close(a, b, rtol=RTOL):
    a, b = np.atleast_1d(a), np.atleast_1d(b)
    assert np.abs(a - b).max() <= rtol * max(np.abs(b).max(), 1e-300), (a, b)


CASES = [("mse", {}, "y_real", False), ("ridge", {"lam": 0.3}, "y_real", True),
         ("logistic", {}, "y_binary", True), ("poisson", {}, "y_real", True)]


@pytest.mark.parametrize("name, hyper, target, vector", CASES)
def test_gradient_and_value_equal_in_memory(client, data, name, hyper, target, vector):
    loss = losses.get(name, vector=True) if vector else losses.get(name)
    y = data[target] if name != "poisson" else np.round(np.abs(data[target]))
    x, xd = (data["X"], data["Xd"]) if vector else (data["X"][:, 0], data["Xd"][:, 0])
    compiled = cm.compile_gradient(loss)
    memory, dask = compiled.prepare(x=x, y=y, **hyper), compiled.prepare(x=xd, y=_dask(y), **hyper)
    assert dask.n == memory.n and (dask.statistics is None) == (memory.statistics is None)
    for theta in data["rng"].normal(size=(3, memory.size)) * 0.3:
        J0, g0 = memory.value_and_grad(theta)
        J1, g1 = dask.value_and_grad(theta)
        _close(J1, J0)
        _close(g1, g0)
        _close(dask.grad(theta), g0)
        _close(dask.value(theta), J0)
        _close(compiled.grad(theta, x=xd, y=_dask(y), **hyper), g0)


@pytest.mark.parametrize("name, hyper, target, vector", CASES[1:])
def test_hessian_pass_equals_in_memory_and_finite_differences(client, data, name, hyper, target,
                                                              vector):
    loss = losses.get(name, vector=True)
    y = data[target] if name != "poisson" else np.round(np.abs(data[target]))
    compiled = cm.compile_gradient(loss)
    memory = compiled.prepare(x=data["X"], y=y, **hyper)
    dask = compiled.prepare(x=data["Xd"], y=_dask(y), **hyper)
    theta = data["rng"].normal(size=memory.size) * 0.2
    J, g, H = dask.value_grad_hess(theta)
    J0, g0, H0 = memory.value_grad_hess(theta)
    _close(J, J0)
    _close(g, g0)
    _close(H, H0)
    _close(H, fd_hessian(memory.grad, theta), rtol=1e-6)


def test_sum_reduction_with_a_penalty(client, data):
    loss = cm.Loss("(y - (m*x + b))^2 + exp(m*x)/10", ["m", "b"], ["x", "y"], reduce="sum",
                   regularization="lam*m^2 + b^4")
    compiled = cm.compile_gradient(loss)
    x, y = data["X"][:, 0] / 3, data["y_real"]
    memory = compiled.prepare(x=x, y=y, lam=2.0)
    dask = compiled.prepare(x=_dask(x, 500), y=_dask(y, 500), lam=2.0)
    theta = np.array([0.3, -0.7])
    _close(dask.value_and_grad(theta)[0], memory.value_and_grad(theta)[0])
    _close(dask.grad(theta), memory.grad(theta))
    _close(dask.value_grad_hess(theta)[2], memory.value_grad_hess(theta)[2])


@pytest.mark.parametrize("name, hyper", [("mse", {}), ("ridge", {"lam": 0.1})])
def test_solve_equals_in_memory(client, data, name, hyper):
    loss = losses.get(name, vector=True) if name == "ridge" else losses.get(name)
    x, xd = (data["X"], data["Xd"]) if name == "ridge" else (data["X"][:, 1], data["Xd"][:, 1])
    memory = loss.solve(x=x, y=data["y_real"], **hyper)
    dask = loss.solve(x=xd, y=_dask(data["y_real"]), **hyper)
    for key in memory:
        _close(dask[key], memory[key])


@pytest.mark.parametrize("method, rate, tol", [("newton", 1.0, 1e-8), ("gd", 0.5, 0.0)])
def test_logistic_fit_equals_in_memory(client, data, method, rate, tol):
    loss = losses.get("logistic", vector=True)
    options = dict(method=method, learning_rate=rate, tol=tol, max_iter=30, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cm.ConvergenceWarning)  # gd: 30 steps, compared as such
        memory = GradientDescent(loss, **options).fit(x=data["X"], y=data["y_binary"])
        dask = GradientDescent(loss, **options).fit(x=data["Xd"], y=_dask(data["y_binary"]))
    assert dask.n_iter_ == memory.n_iter_ and dask.converged_ == (method == "newton")
    _close(dask.loss_history_, memory.loss_history_)
    _close(dask.params_["w"], memory.params_["w"])
    _close(dask.params_["b"], memory.params_["b"])
    if method == "newton":  # against scikit-learn's optimum
        sklearn = pytest.importorskip("sklearn.linear_model")
        reference = sklearn.LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(
            data["X"], data["y_binary"])
        assert np.abs(dask.params_["w"] - reference.coef_[0]).max() < 1e-5


def test_bad_blocks_are_data_errors(client, data):
    compiled = cm.compile_gradient(losses.get("logistic", vector=True))
    X = data["X"].copy()
    X[2500, 1] = np.nan
    with pytest.raises(DataError, match="NaN"):
        compiled.prepare(x=da.from_array(X, chunks=(700, 4)), y=_dask(data["y_binary"]))
    y = data["y_binary"].copy()
    y[2999] = 3.0
    with pytest.raises(DataError, match="needs y to be"):
        compiled.prepare(x=data["Xd"], y=_dask(y))
    with pytest.raises(DataError, match="rows"):
        compiled.prepare(x=data["Xd"], y=_dask(data["y_binary"][:-1]))
    with pytest.raises(DataError, match="mini-batches are for sgd and minibatch"):
        GradientDescent(losses.get("logistic", vector=True), method="adam", batch_size=8,
                        max_iter=2, progress=False).fit(x=data["Xd"], y=_dask(data["y_binary"]))
    with pytest.raises(DataError, match="in memory"):
        compiled.predict({"w": np.zeros(4), "b": 0.0}, x=data["Xd"])


@pytest.mark.parametrize("method, batch", [("minibatch", 32), ("sgd", 1)])
def test_stochastic_epochs_go_block_by_block(client, data, method, batch):
    """Each epoch the blocks in the order the seeded generator draws, the rows of each in the
    order it draws next, ``batch`` consecutive rows of that order a step (across blocks): a
    hand-written loop with the mean squared error's gradient; with one block, the in-memory
    fit itself."""
    X, ys = data["X"][:1000], data["y_real"][:1000]
    eta, epochs, seed = 0.01, 2, 3
    options = {"method": method, "learning_rate": eta, "max_iter": epochs, "tol": 0,
               "random_state": seed, "progress": False,
               "batch_size": batch if method == "minibatch" else None}

    def fit(**data):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return GradientDescent(losses.get("multiple-regression"), **options).fit(**data)

    blocks = fit(x=da.from_array(X, chunks=(300, 4)), y=_dask(ys, 300))
    rng, theta = np.random.default_rng(seed), np.zeros(5)
    for _ in range(epochs):
        order = np.concatenate([300 * k + rng.permutation(len(ys[300 * k:300 * k + 300]))
                                for k in rng.permutation(4)])
        for lo in range(0, len(ys), batch):
            rows = order[lo:lo + batch]
            r = X[rows] @ theta[:4] + theta[4] - ys[rows]
            theta = theta - eta * 2 * np.r_[r @ X[rows], r.sum()] / len(rows)
    _close(np.r_[blocks.params_["w"], blocks.params_["b"]], theta, rtol=1e-12)
    assert blocks.n_gev_ == epochs * -(-len(ys) // batch) + epochs + 1
    one_block = fit(x=da.from_array(X, chunks=(1000, 4)), y=_dask(ys, 1000))
    in_memory = fit(x=X, y=ys)
    np.testing.assert_array_equal(one_block.params_history_["w"], in_memory.params_history_["w"])


def test_grad_rows_on_dask_data_is_refused(client, data):
    prepared = cm.compile_gradient(losses.get("logistic", vector=True)).prepare(
        x=data["Xd"], y=_dask(data["y_binary"]))
    with pytest.raises(DataError, match="mini-batches"):
        prepared.grad_rows(np.zeros(prepared.size), 0, 32)


def test_cli_fit_reads_a_glob_of_parquet_or_csv(client, data, tmp_path, capsys):
    pandas = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    from calculus_ml.cli import main

    frame = pandas.DataFrame(data["X"][:, :2], columns=["a", "b"])
    frame["label"] = data["y_binary"].astype(int)
    for k, part in enumerate(np.array_split(np.arange(len(frame)), 3)):
        frame.iloc[part].to_parquet(tmp_path / f"part{k}.parquet")
        frame.iloc[part].to_csv(tmp_path / f"part{k}.csv", index=False)
    frame.to_csv(tmp_path / "all.txt", index=False)
    common = ["fit", "--loss", "logistic", "--x", "a", "b", "--y", "label", "--method", "newton"]
    outputs = []
    for source in (["--csv", str(tmp_path / "all.txt")], ["--data", str(tmp_path / "*.parquet")],
                   ["--data", str(tmp_path / "part*.csv")]):
        assert main(common + source) == 0  # the same fit, up to a gradient norm at rounding
        outputs.append(re.sub(r"gradient norm [0-9.e+-]+", "", capsys.readouterr().out))
    assert outputs[0] == outputs[1] == outputs[2]
    assert main(common + ["--data", str(tmp_path / "none*.csv")]) == 2
    assert "no file matches" in capsys.readouterr().err
