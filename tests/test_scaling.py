"""Standardization (calculus_ml.numeric.scaling): the linear form of a loss, the feature statistics
and the exact map of parameters between standardized and original units.

Oracles: ``numpy.linalg.lstsq`` on the original and on the standardized features (a direct fit
in each unit), and the statistics written out with NumPy here.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy

from calculus_ml.functions import dot, sigmoid
from calculus_ml.losses import Loss
from calculus_ml.numeric.scaling import (
    LinearForm,
    Standardization,
    feature_statistics,
    linear_form,
    rescaled,
)

w, x, y, b, lam = sympy.symbols("w x y b lam", real=True)


def _line() -> Loss:
    return Loss("(y - (m*x + b))**2", ["m", "b"], ["x", "y"], prediction="m*x + b")


def test_linear_form_names_slopes_features_and_intercept():
    assert linear_form(_line()) == LinearForm((("m", "x"),), "b")
    vector = Loss((y - dot(w, x) - b) ** 2, ["w", "b"], ["x", "y"], prediction=dot(w, x) + b)
    assert linear_form(vector) == LinearForm((("w", "x"),), "b")
    p = sigmoid(w * x + b)
    logistic = Loss(-y * sympy.log(p) - (1 - y) * sympy.log(1 - p), ["w", "b"], ["x", "y"],
                    prediction=p)
    assert linear_form(logistic) == LinearForm((("w", "x"),), "b")  # through the link σ


@pytest.mark.parametrize("loss, message", [
    (Loss("(y - m*x**2)**2", ["m"], ["x", "y"], prediction="m*x**2"), "linear in its features"),
    (Loss("(y - m*x)**2", ["m"], ["x", "y"]), "needs a loss with a prediction"),
    (Loss("(y - (m*x + b))**2", ["m", "b"], ["x", "y"], prediction="m*x + b",
          regularization="lam*m**2"), "penalty"),
    (Loss("(y - (m*x + b))**2 + x", ["m", "b"], ["x", "y"], prediction="m*x + b"),
     "beyond its prediction"),
])
def test_linear_form_refuses_what_rescaling_would_change(loss, message):
    with pytest.raises(ValueError, match=message):
        linear_form(loss)


def test_feature_statistics_and_rescaled_data():
    data = {"x": np.array([1.0, 2.0, 4.0, 9.0]), "c": np.full(4, 3.0), "y": np.arange(4.0)}
    mean, scale = feature_statistics(data, ["x", "c"])
    assert mean["x"] == pytest.approx(4.0) and scale["x"] == pytest.approx(np.std(data["x"]))
    assert mean["c"] == 3.0 and scale["c"] == 1.0  # a constant feature is only centred
    out = rescaled(data, mean, scale)
    np.testing.assert_allclose(out["x"], (data["x"] - 4.0) / np.std(data["x"]))
    assert out["y"] is data["y"] and data["x"][0] == 1.0  # others passed through, input kept
    mean, _ = feature_statistics(data, ["x"], center=False)
    assert mean["x"] == 0.0


def test_parameter_map_round_trip_against_direct_fits():
    rng = np.random.default_rng(11)
    X = rng.normal(loc=[5.0, -20.0, 300.0], scale=[1.0, 4.0, 50.0], size=(60, 3))
    Y = X @ np.array([2.0, -0.5, 0.01]) + 7.0 + rng.normal(scale=0.1, size=60)
    form, spans = LinearForm((("w", "x"),), "b"), {"w": slice(0, 3), "b": slice(3, 4)}
    scaling = Standardization.fit(form, {"x": X, "y": Y})
    Z = scaling.transform({"x": X, "y": Y})["x"]
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=0), 1)
    direct = np.linalg.lstsq(np.c_[X, np.ones(60)], Y, rcond=None)[0]
    standardized = np.linalg.lstsq(np.c_[Z, np.ones(60)], Y, rcond=None)[0]
    back = scaling.to_original(standardized[None, :], spans)[0]
    np.testing.assert_allclose(back, direct, rtol=1e-9)
    np.testing.assert_allclose(scaling.to_standardized(direct, spans), standardized, rtol=1e-9)


def test_without_intercept_features_are_only_scaled():
    X = np.array([[1.0], [2.0], [4.0]])
    scaling = Standardization.fit(LinearForm((("m", "x"),), None), {"x": X})
    np.testing.assert_allclose(scaling.transform({"x": X})["x"], X / X.std(axis=0))
    theta = np.array([[3.0]])
    np.testing.assert_allclose(scaling.to_original(theta, {"m": slice(0, 1)}), theta / X.std())
