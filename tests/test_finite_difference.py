"""Finite-difference curvature (calculus_ml.numeric.finite_difference) against exact Hessians.

Oracle: a quadratic ``f(x) = ½ xᵀAx + bᵀx + c`` whose Hessian is ``A`` and gradient ``Ax + b``,
written here; central differences of a quadratic are exact up to rounding.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from calculus_ml.numeric.finite_difference import (
    hessian,
    hessian_vector_product,
    value_derivatives,
)


@pytest.fixture
def quadratic():
    rng = np.random.default_rng(7)
    root = rng.normal(size=(4, 4))
    A = root @ root.T + np.diag([1.0, 2.0, 3.0, 4.0])  # symmetric positive definite
    b, c = rng.normal(size=4), 0.5
    return A, b, c, rng.normal(size=4) * 3


def test_hessian_of_a_quadratic_is_its_matrix(quadratic):
    A, b, _, theta = quadratic
    H = hessian(lambda t: A @ t + b, theta)
    assert H.shape == (4, 4)
    np.testing.assert_allclose(H, A, rtol=1e-7, atol=1e-7)


def test_hessian_steps_scale_with_each_coordinate():
    """A gradient that records where it is asked: steps ±1e-5·max(1, |θₖ|) on one axis each."""
    asked = []

    def grad(t):
        asked.append(t.copy())
        return np.zeros(2)

    hessian(grad, np.array([0.5, -300.0]))
    steps = [a - np.array([0.5, -300.0]) for a in asked]
    np.testing.assert_allclose(steps, [[1e-5, 0], [-1e-5, 0], [0, 3e-3], [0, -3e-3]], atol=1e-15)


def test_hessian_vector_product_of_a_quadratic(quadratic):
    A, b, _, x = quadratic
    v = np.array([1.0, -2.0, 0.5, 0.0])
    np.testing.assert_allclose(hessian_vector_product(lambda t: A @ t + b, x, v, 1e-3), A @ v,
                               rtol=1e-9, atol=1e-9)


def test_value_derivatives_of_a_quadratic(quadratic):
    A, b, c, x = quadratic
    g, H = value_derivatives(lambda t: 0.5 * t @ A @ t + b @ t + c, x)
    np.testing.assert_allclose(g, A @ x + b, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(H, A, rtol=1e-10, atol=1e-10)
    g, H = value_derivatives(lambda t: 0.5 * t @ A @ t + b @ t + c, x, step=0.25)
    np.testing.assert_allclose(H, A, rtol=1e-9, atol=1e-9)


def test_finite_differences_load_no_sympy():
    probe = ("import sys, calculus_ml.numeric.finite_difference; "
             "sys.exit('sympy' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", probe]).returncode == 0
