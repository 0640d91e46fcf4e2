"""The fused backend's elementary functions (``numeric/vector_math.py``) as Numba compiles them.

Oracles: mpmath at 40 digits for single values, NumPy's ``exp`` and ``log1p`` for dense sweeps;
both functions must stay within 2 units in the last place where the result is a normal number,
propagate NaN, and compile to vector instructions inside a loop.
"""

from __future__ import annotations

import math
import re

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

numba = pytest.importorskip("numba")
pytestmark = pytest.mark.slow  # Numba compiles each loop

from calculus_ml.numeric.vector_math import compiled_vector_math  # noqa: E402

ULP = 2.0**-52
TINY = 2.0**-1021  # below it results may be subnormal, with fewer significant bits

KERNELS = compiled_vector_math()
decay, log1p_unit = KERNELS["decay"], KERNELS["log1p_unit"]


@numba.njit
def _decay_all(u, out):
    for i in range(u.size):
        out[i] = decay(u[i])


@numba.njit
def _log1p_all(e, out):
    for i in range(e.size):
        out[i] = log1p_unit(e[i])


def _ulps(got, want):
    return np.abs(got - want) / (np.abs(want) * ULP)


def test_decay_sweep_against_numpy():
    rng = np.random.default_rng(0)
    u = np.r_[np.linspace(-708, 708, 200_001), rng.normal(0, 5, 200_000),
              rng.uniform(-1e-6, 1e-6, 50_000), [0.0, -0.0, 5e-324, 1e-300]]
    out = np.empty_like(u)
    _decay_all(u, out)
    assert _ulps(out, np.exp(-np.abs(u))).max() <= 2.0


def test_log1p_unit_sweep_against_numpy():
    rng = np.random.default_rng(1)
    e = np.r_[rng.random(200_000), np.geomspace(TINY, 1.0, 100_000),
              np.nextafter(1.0, 0.0) - np.arange(1000) * ULP / 2,
              np.sqrt(2) - 1 + np.arange(-500, 500) * ULP, [1.0]]
    out = np.empty_like(e)
    _log1p_all(e, out)
    assert _ulps(out, np.log1p(e)).max() <= 2.0


@settings(max_examples=300, deadline=None)
@given(st.floats(min_value=-708.0, max_value=708.0))
def test_decay_against_mpmath(u):
    want = mpmath.exp(-abs(mpmath.mpf(u)))
    assert abs(mpmath.mpf(decay(u)) - want) <= 2 * ULP * want


@settings(max_examples=300, deadline=None)
@given(st.floats(min_value=TINY, max_value=1.0))
def test_log1p_unit_against_mpmath(e):
    want = mpmath.log1p(mpmath.mpf(e))
    assert abs(mpmath.mpf(log1p_unit(e)) - want) <= 2 * ULP * want


def test_edges():
    assert decay(0.0) == decay(-0.0) == 1.0
    assert decay(708.5) == decay(-1e300) == decay(math.inf) == decay(-math.inf) == 0.0
    assert 0 < decay(708.0) < 1e-307
    assert math.isnan(decay(math.nan)) and math.isnan(log1p_unit(math.nan))
    assert log1p_unit(0.0) == 0.0
    assert log1p_unit(1.0) == math.log(2.0)


@pytest.mark.parametrize("loop", [_decay_all, _log1p_all], ids=["decay", "log1p_unit"])
def test_a_loop_of_them_is_vectorised(loop):
    """The reason they exist: a library call (or a division with Python's zero check) in the
    loop would leave it scalar."""
    x = np.linspace(0.0, 1.0, 64)
    loop(x, np.empty_like(x))
    ir = loop.inspect_llvm(loop.signatures[0])
    assert re.search(r"(fmul|fadd|fma)[^\n]*<\d+ x double>", ir)  # arithmetic on vectors
    assert not re.search(r"call[^\n]*@(llvm\.)?(exp|log)", ir)
