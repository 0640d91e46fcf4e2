"""Values on grids (calculus_ml.numeric.grid) against hand-written NumPy.

Oracles: the losses written out in NumPy here, ``numpy.linalg.lstsq`` for the minimum of mse, and
the compiled gradient for the gradient.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy

from calculus_ml.errors import DataError, ExpressionError
from calculus_ml.functions import dot, sigmoid, softplus
from calculus_ml.losses import Loss
from calculus_ml.numeric import compile_gradient
from calculus_ml.numeric.grid import GridCost, curve, grid_function

x, y, u = sympy.symbols("x y u", real=True)
rng = np.random.default_rng(5)
DATA = {"x": rng.normal(size=40) * 3, "y": rng.normal(size=40)}


def _mse() -> Loss:
    return Loss("(y - (m*x + b))**2", ["m", "b"], ["x", "y"], prediction="m*x + b")


def test_grid_function_broadcasts_like_numpy():
    f = grid_function(sympy.sin(x) * y + sympy.Max(x, 2 * y) + sympy.pi, [x, y])
    X, Y = np.meshgrid(np.linspace(-2, 2, 5), np.linspace(-1, 1, 3))
    np.testing.assert_allclose(f(X, Y), np.sin(X) * Y + np.maximum(X, 2 * Y) + np.pi,
                               rtol=1e-15)
    assert grid_function(sympy.Integer(3), [x])(np.zeros(4)) == 3  # a constant stays a number


def test_logs_of_sigmoid_are_stable_and_sigmoid_does_not_overflow():
    f = grid_function(-sympy.log(sigmoid(u)) - sympy.log(1 - sigmoid(u)), [u])
    t = np.array([-800.0, -1.0, 0.0, 2.0, 800.0])
    with np.errstate(over="raise", divide="raise", invalid="raise"):  # no log(0), no inf
        np.testing.assert_allclose(f(t), np.logaddexp(0, -t) + np.logaddexp(0, t), rtol=1e-14)
        s = grid_function(sigmoid(u) + softplus(u), [u])(t)
    np.testing.assert_allclose(s, 0.5 * (1 + np.tanh(t / 2)) + np.logaddexp(0, t), rtol=1e-14)


def test_grid_function_refuses_symbols_without_values():
    with pytest.raises(ExpressionError, match="y has no value"):
        grid_function(x * y, [x])


def test_curve_is_float_in_the_grid_shape():
    grid = np.linspace(0.5, 3, 7)
    np.testing.assert_allclose(curve(sympy.log(x) * x, x, grid), np.log(grid) * grid)
    assert curve(sympy.Integer(2), x, grid).shape == (7,)


def test_cost_equals_hand_written_mse_on_a_grid_and_from_sums():
    cost = GridCost(_mse(), DATA, {"b": 0.5})
    M, B = np.meshgrid(np.linspace(-1, 2, 30), np.linspace(-3, 3, 20))
    expected = ((DATA["y"] - (M[..., None] * DATA["x"] + B[..., None])) ** 2).mean(axis=-1)
    np.testing.assert_allclose(cost(m=M, b=B), expected, rtol=1e-12)
    np.testing.assert_array_equal(cost(m=M[0]), cost(m=M[0], b=0.5))  # b at its fixed value
    many = {"x": np.repeat(DATA["x"], 300), "y": np.repeat(DATA["y"], 300)}  # 12 000 samples
    from_sums = GridCost(_mse(), many, None)(m=M, b=B)  # enough grid × samples for the sums
    np.testing.assert_allclose(from_sums, expected, rtol=1e-9)


def test_cost_with_hyperparameters_penalty_and_sum():
    ridge = Loss("(y - (m*x + b))**2", ["m", "b"], ["x", "y"], regularization="lam*m**2",
                 reduce="sum")
    cost = GridCost(ridge, {**DATA, "lam": 2.0}, {"b": 1.0})
    m = np.linspace(-1, 1, 9)
    expected = ((DATA["y"] - (m[:, None] * DATA["x"] + 1.0)) ** 2).sum(axis=1) + 2.0 * m**2
    np.testing.assert_allclose(cost(m=m), expected, rtol=1e-12)


def test_minimum_near_is_the_least_squares_line():
    cost = GridCost(_mse(), DATA, None)
    slope, intercept = np.linalg.lstsq(np.c_[DATA["x"], np.ones(40)], DATA["y"], rcond=None)[0]
    np.testing.assert_allclose(cost.minimum_near(["m", "b"]), [slope, intercept], rtol=1e-8)
    concave = Loss("-(y - m*x)**2", ["m"], ["x", "y"])
    assert GridCost(concave, DATA, {"m": 0.25}).minimum_near(["m"]) == [0.25]  # no minimum


def test_gradient_is_the_compiled_one():
    cost = GridCost(_mse(), DATA, {"m": 0.3, "b": -1.0})
    expected = compile_gradient(_mse()).grad({"m": 0.3, "b": 2.0}, **DATA)
    np.testing.assert_allclose(cost.gradient(b=2.0), expected, rtol=1e-14)


def test_cost_checks_through_the_one_validator():
    with pytest.raises(DataError, match="missing data 'y'"):
        GridCost(_mse(), {"x": DATA["x"]}, None)
    with pytest.raises(DataError, match=r"x contains NaN or infinite values \(first at row 1\)"):
        GridCost(_mse(), {"x": [1.0, np.nan], "y": [1.0, 2.0]}, None)
    with pytest.raises(DataError, match="fixed must name parameters among m, b"):
        GridCost(_mse(), DATA, {"w": 1.0})
    with pytest.raises(ExpressionError, match="not a parameter"):
        GridCost(_mse(), DATA, None).parameter("w")
    w = sympy.Symbol("w", real=True)
    vector = Loss((y - dot(w, x)) ** 2, ["w"], ["x", "y"])
    with pytest.raises(ExpressionError, match="vectors"):
        GridCost(vector, DATA, None)
