"""The gradient check (calculus_ml.numeric.check): it agrees with a right gradient and catches a
wrong one.
"""

from __future__ import annotations

import numpy as np
import pytest
from numeric_cases import LOSSES, random_data

from calculus_ml.numeric import check_gradient, compile_gradient


@pytest.fixture(scope="module")
def rng():
    return np.random.default_rng(20240604)


def test_check_gradient_reports_agreement_and_mismatch(rng):
    loss = LOSSES["logistic"]()
    data = random_data(loss, rng)
    theta = rng.normal(size=4)
    result = check_gradient(loss, theta, **data)
    assert result.ok and result.relative_error < 1e-7
    assert "ok" in repr(result)
    broken = compile_gradient(loss)
    right = broken._ns["_grad"]
    broken._ns["_grad"] = lambda *args: right(*args) * 1.01
    bad = check_gradient(broken, theta, **data)
    assert not bad.ok and bad.relative_error == pytest.approx(0.01 / 1.01, rel=1e-3)
    assert "MISMATCH" in repr(bad)
