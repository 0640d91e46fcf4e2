"""The fused Numba backend against the NumPy kernels (rel. 1e-12), and float32 data.

Oracles: the NumPy backend's gradient (itself checked against finite differences and the
verified derivation elsewhere) on the same data; for float32, the float64 gradient of the
float32-rounded data, and the float64 gradient of the original data within the documented
tolerance.
"""

from __future__ import annotations

import builtins

import numpy as np
import pytest

import calculus_ml as cm
from calculus_ml import losses
from calculus_ml.numeric import CompileError

RTOL = 1e-12


def _data(loss, rng, n=400, d=3):
    X = rng.normal(size=(n, d))
    out = {}
    for sym in loss.data:
        if sym in loss.vectors:
            out[sym.name] = X
        elif sym.name == "x":
            out[sym.name] = X[:, 0]
    k = rng.integers(0, 3, n)
    labels = {"logistic": (k == 0) * 1.0, "neuron": (k == 0) * 1.0, "hinge": 2.0 * (k == 0) - 1,
              "poisson": k * 1.0}
    out.setdefault("y", labels.get(loss.name, X @ np.arange(1, d + 1)))
    if loss.name == "softmax":
        out.update(y1=(k == 0) * 1.0, y2=(k == 1) * 1.0, y3=(k == 2) * 1.0)
        out.pop("y")
    out.update((h.name, 0.7) for h in loss.hyperparameters)
    return out


def _loss(name):
    try:
        return losses.get(name, vector=True)
    except cm.ExpressionError:
        return losses.get(name)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["mse", "huber", "ridge", "logistic", "softmax", "hinge",
                                  "poisson", "neuron"])
def test_numba_gradient_equals_numpy(name):
    pytest.importorskip("numba")
    loss = _loss(name)
    rng = np.random.default_rng(3)
    data = _data(loss, rng)
    numpy_version = cm.compile_gradient(loss, sufficient_statistics=False)
    fused = cm.compile_gradient(loss, backend="numba", sufficient_statistics=False)
    assert fused.backend == "numba" and "prange" in fused.source
    prepared, reference = fused.prepare(**data), numpy_version.prepare(**data)
    for theta in rng.normal(size=(3, reference.size)) * 0.5:
        J0, g0 = reference.value_and_grad(theta)
        J1, g1 = prepared.value_and_grad(theta)
        assert abs(J1 - J0) <= RTOL * abs(J0)
        assert np.abs(g1 - g0).max() <= RTOL * np.abs(g0).max()
        assert np.abs(prepared.grad(theta) - g0).max() <= RTOL * np.abs(g0).max()
        assert abs(prepared.value(theta) - J0) <= RTOL * abs(J0)
    for rows in (1, 3, 66, 131):  # partial blocks, and rows left over from groups of four
        part = {k: v[:rows] if isinstance(v, np.ndarray) else v for k, v in data.items()}
        J0, g0 = numpy_version.prepare(**part).value_and_grad(theta)
        J1, g1 = fused.prepare(**part).value_and_grad(theta)
        assert abs(J1 - J0) <= RTOL * abs(J0)
        assert np.abs(g1 - g0).max() <= RTOL * np.abs(g0).max()


@pytest.mark.slow
def test_one_fused_loss_serves_every_width():
    """The loops are compiled once per number of columns, with that number fixed."""
    pytest.importorskip("numba")
    loss = losses.get("logistic", vector=True)
    fused = cm.compile_gradient(loss, backend="numba", sufficient_statistics=False)
    numpy_version = cm.compile_gradient(loss, sufficient_statistics=False)
    rng = np.random.default_rng(4)
    for d in (2, 7, 2):
        data = _data(loss, rng, n=300, d=d)
        theta = rng.normal(size=d + 1)
        g0, g1 = numpy_version.grad(theta, **data), fused.grad(theta, **data)
        assert np.abs(g1 - g0).max() <= RTOL * np.abs(g0).max()


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_float32_data_within_the_documented_tolerance(backend):
    if backend == "numba":
        pytest.importorskip("numba")
    loss = losses.get("logistic", vector=True)
    rng = np.random.default_rng(5)
    X = rng.normal(size=(20_000, 6))
    y = (rng.random(20_000) < 1 / (1 + np.exp(-X @ np.linspace(-1, 1, 6)))).astype(float)
    compiled = cm.compile_gradient(loss, backend=backend)
    X32, y32 = X.astype(np.float32), y.astype(np.float32)
    prepared = compiled.prepare(x=X32, y=y32)
    assert prepared.arrays[0].dtype == np.float32  # read as float32: half the traffic
    for theta in rng.normal(size=(3, 7)) * 0.5:
        g32 = prepared.grad(theta)
        rounded = compiled.grad(theta, x=X32.astype(np.float64), y=y32.astype(np.float64))
        exact = compiled.grad(theta, x=X, y=y)
        scale = np.abs(exact).max()
        assert np.abs(g32 - rounded).max() <= 1e-12 * scale  # float64 arithmetic throughout
        assert np.abs(g32 - exact).max() <= 1e-6 * scale  # the documented float32 tolerance


@pytest.mark.slow
def test_numba_backend_without_numba_is_a_clear_error(monkeypatch):
    real_import = builtins.__import__

    def no_numba(name, *args, **kwargs):
        if name == "numba":
            raise ImportError("no numba")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_numba)
    with pytest.raises(CompileError, match=r'pip install "calculus_ml\[fast\]"'):
        cm.compile_gradient(losses.get("mse"), backend="numba")
    with pytest.raises(ValueError, match="'numpy' or 'numba'"):
        cm.compile_gradient(losses.get("mse"), backend="jax")
