"""The lowered loss (calculus_ml.numeric.model): what compiles, and which path evaluates it.

When ℓ is a polynomial in the parameters, the sufficient statistics (calculus_ml.numeric.statistics)
must give what the general path over the data gives.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy
from numeric_cases import LOSSES, b, random_data, w, x

from calculus_ml.errors import ExpressionError
from calculus_ml.functions import dot
from calculus_ml.losses import Loss
from calculus_ml.numeric import CompileError, compile_gradient


@pytest.fixture(scope="module")
def rng():
    return np.random.default_rng(20240604)


def test_auto_picks_the_path():
    assert compile_gradient(LOSSES["mse"]()).sufficient_statistics
    assert not compile_gradient(LOSSES["logistic"]()).sufficient_statistics
    with pytest.raises(CompileError, match="not a polynomial"):
        compile_gradient(LOSSES["logistic"](), sufficient_statistics=True)
    with pytest.raises(ValueError, match="backend"):
        compile_gradient(LOSSES["mse"](), backend="torch")


def test_unsupported_forms_raise_compile_error():
    f = sympy.Function("f")
    loss = Loss(f(x) * b, ["b"], ["x"])
    with pytest.raises(CompileError, match="cannot compile"):
        compile_gradient(loss)
    with pytest.raises((CompileError, ExpressionError)):  # refused by Loss or by the compiler
        compile_gradient(Loss(dot(w, x) * w, ["w"], ["x"]))


@pytest.mark.parametrize("name", ["mse", "rss", "ridge", "polynomial", "multiple-regression",
                                  "ridge-vector", "penalty-only-vector"])
def test_sufficient_statistics_equal_general_path(name, rng):
    loss = LOSSES[name]()
    fast = compile_gradient(loss, sufficient_statistics=True)
    slow = compile_gradient(loss, sufficient_statistics=False)
    assert fast.sufficient_statistics and not slow.sufficient_statistics
    data = random_data(loss, rng, n=200)
    theta = rng.normal(size=fast.prepare(**data).size)
    v1, g1 = fast.value_and_grad(theta, **data)
    v2, g2 = slow.value_and_grad(theta, **data)
    assert v1 == pytest.approx(v2, rel=1e-10)
    assert np.allclose(g1, g2, rtol=1e-10, atol=1e-10)


def test_statistics_alone_drive_the_evaluation(rng):
    loss = LOSSES["multiple-regression"]()
    compiled = compile_gradient(loss)
    data = random_data(loss, rng, n=100)
    prepared = compiled.prepare(**data)
    theta = rng.normal(size=prepared.size)
    expected = prepared.grad(theta)
    prepared.arrays = None  # the data are gone: only the sums remain
    assert np.allclose(prepared.grad(theta), expected, rtol=1e-12, atol=1e-14)
    assert "Σxxᵀ" in compiled.statistics and "Σy·x" in compiled.statistics
    assert "n" in compiled.statistics
