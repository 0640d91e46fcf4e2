"""The compiled gradient (calculus_ml.numeric.compiled) against independent oracles.

Oracles: central finite differences of the loss value, hand-written NumPy formulas and the
lesson's published numbers.
"""

from __future__ import annotations

import functools

import numpy as np
import sympy
import pytest
from numeric_cases import LOSSES, finite_differences, random_data

import calculus_ml
from calculus_ml import losses as losses_module
from calculus_ml.errors import DataError
from calculus_ml.losses import Loss
from calculus_ml.numeric import (
    CompileError,
    CompiledGradient,
    check_gradient,
    compile_gradient,
)


@pytest.fixture(scope="module")
def rng():
    return np.random.default_rng(20240604)


@functools.cache
def _general_path(name: str):
    """A loss of the test cases and its compiled general (data) path, compiled once."""
    loss = LOSSES[name]()
    return loss, compile_gradient(loss, sufficient_statistics=False)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_gradient_equals_central_differences(name, rng):
    loss, compiled = _general_path(name)
    data = random_data(loss, rng)
    theta = 0.4 * rng.normal(size=compiled.prepare(**data).size)
    grad = compiled.grad(theta, **data)
    assert np.allclose(grad, finite_differences(compiled, theta, data), rtol=1e-6, atol=1e-7)
    value, grad2 = compiled.value_and_grad(theta, **data)
    assert np.allclose(grad, grad2, rtol=1e-12, atol=1e-15)
    assert value == pytest.approx(compiled.value(theta, **data), rel=1e-12)


FAST_BATCH_CASES = {"ridge-vector", "logistic", "hinge"}  # a penalty, a vector σ, a kink


@pytest.mark.parametrize("name", [name if name in FAST_BATCH_CASES else pytest.param(
    name, marks=pytest.mark.slow) for name in sorted(LOSSES)])
def test_a_mini_batch_gradient_is_the_gradient_of_its_rows(name, rng):
    """The mini-batch kernel on rows 5:37 against central differences of the loss on those rows
    alone, and against the chunked kernel on a copy of them."""
    loss, compiled = _general_path(name)
    data = random_data(loss, rng)
    rows = {k: (v[5:37] if isinstance(v, np.ndarray) else v) for k, v in data.items()}
    prepared = compiled.prepare(**data)
    theta = 0.4 * rng.normal(size=prepared.size)
    batch = prepared.grad_rows(theta, 5, 37)
    assert np.allclose(batch, finite_differences(compiled, theta, rows), rtol=1e-6, atol=1e-7)
    assert np.allclose(batch, compiled.grad(theta, **{k: np.copy(v) for k, v in rows.items()}),
                       rtol=1e-12, atol=1e-14)


def test_values_equal_hand_written_numpy(rng):
    n, d = 50, 4
    X, yb = rng.normal(size=(n, d)), (rng.random(n) < 0.5).astype(float)
    wv, bv = rng.normal(size=d), 0.3
    p = 1 / (1 + np.exp(-(X @ wv + bv)))
    logistic = compile_gradient(LOSSES["logistic"]())
    value, grad = logistic.value_and_grad({"w": wv, "b": bv}, x=X, y=yb)
    assert value == pytest.approx(np.mean(-yb * np.log(p) - (1 - yb) * np.log(1 - p)), rel=1e-12)
    assert np.allclose(grad, np.r_[X.T @ (p - yb) / n, np.mean(p - yb)], rtol=1e-12, atol=1e-15)

    xs, ys = rng.normal(size=n), rng.normal(size=n)
    r = 1.5 * xs + 0.5 - ys
    mse = compile_gradient(LOSSES["mse"](), sufficient_statistics=False)
    assert np.allclose(mse.grad([1.5, 0.5], x=xs, y=ys), [2 * np.mean(xs * r), 2 * np.mean(r)])
    assert mse.value([1.5, 0.5], x=xs, y=ys) == pytest.approx(np.mean(r**2), rel=1e-12)


def test_lesson_numbers():
    """The lesson's published slopes of RSS(b) for the line y = 43x + b, and one update."""
    state = np.random.get_state()
    try:
        np.random.seed(225)
        xs = np.random.rand(30)
        ys = 3 + 50 * xs + np.random.normal(0, 3, 30)
    finally:
        np.random.set_state(state)
    rss = Loss("(y - (43*x + b))**2", ["b"], ["x", "y"], reduce="sum")
    compiled = compile_gradient(rss)
    slope_3 = compiled.grad({"b": 3.0}, x=xs, y=ys)[0]
    slope_6 = compiled.grad({"b": 6.0}, x=xs, y=ys)[0]
    assert round(slope_3, 2) == -232.76
    assert round(slope_6, 2) == -52.76
    assert round(3.0 - 0.01 * slope_3, 2) == 5.33
    general = compile_gradient(rss, sufficient_statistics=False)
    assert general.grad([3.0], x=xs, y=ys)[0] == pytest.approx(slope_3, rel=1e-12)


def test_chunk_boundaries_do_not_matter(rng, monkeypatch):
    import calculus_ml.numeric as numeric

    loss = LOSSES["logistic"]()
    compiled = compile_gradient(loss)
    data = random_data(loss, rng, n=1001)
    theta = rng.normal(size=compiled.prepare(**data).size)
    whole = compiled.prepare(**data).value_and_grad(theta)
    monkeypatch.setattr(numeric, "CHUNK_BYTES", 1)  # 64-row chunks, the last one partial
    pieces = compiled.prepare(**data).value_and_grad(theta)
    assert pieces[0] == pytest.approx(whole[0], rel=1e-12)
    assert np.allclose(pieces[1], whole[1], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("cores", [1, 2, 3])
def test_statistics_split_between_threads_equal_the_data(cores, rng, monkeypatch):
    """The statistics pass on 1, 2 or 3 threads (each part at least 16 chunks of 64 rows) gives
    the sums NumPy computes from the whole data: n, Σy², XᵀX, Σy, Xᵀy, Xᵀ1."""
    import calculus_ml.numeric as numeric
    from calculus_ml.numeric import threads

    monkeypatch.setattr(numeric, "CHUNK_BYTES", 1)  # 64-row chunks
    monkeypatch.setattr(threads, "cores", lambda: cores)
    compiled = compile_gradient(losses_module.get("multiple-regression"))
    calls = []
    kernel = compiled._ns["_stats"]
    monkeypatch.setitem(compiled._ns, "_stats", lambda D, d, chunk: calls.append(len(D[0])) or
                        kernel(D, d, chunk))
    X, y = rng.normal(2, 3, (3 * 16 * 64 + 5, 4)), rng.normal(size=3 * 16 * 64 + 5)
    n, *sums = compiled.prepare(x=X, y=y).statistics
    assert n == len(y) and sum(calls) == len(y) and len(calls) == cores
    expected = [len(y), y @ y, X.T @ X, y.sum(), y @ X, X.sum(axis=0)]
    for got, want in zip(sums, expected):
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_sums_past_float64_keep_the_data_path():
    """Σx² of x ~ 1e160 overflows where the gradient itself does not: the statistics are
    refused (quietly) and the data path answers, as the compiled general path does."""
    import warnings

    x, y = np.array([1e160, 2e160, 3e160]), np.array([1.0, 2.0, 3.0])
    compiled = compile_gradient(LOSSES["mse"]())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        prepared = compiled.prepare(x=x, y=y)
        g = prepared.grad(np.zeros(2))
    assert compiled.sufficient_statistics and prepared.statistics is None
    by_hand = [2 * np.mean(x * (0 - y)), 2 * np.mean(0 - y)]
    np.testing.assert_allclose(g, by_hand, rtol=1e-15)
    with pytest.raises(DataError, match="NaN or infinite"):
        compiled.prepare(x=np.array([1.0, np.inf, 2.0]), y=y)


def test_params_as_dict_or_array(rng):
    loss = LOSSES["multiple-regression"]()
    compiled = compile_gradient(loss, sufficient_statistics=False)
    data = random_data(loss, rng, d=3)
    wv = np.array([0.1, -0.2, 0.3])
    g_dict = compiled.grad({"w": wv, "b": 0.5}, **data)
    g_flat = compiled.grad(np.r_[wv, 0.5], **data)
    assert np.array_equal(g_dict, g_flat) and g_flat.shape == (4,)
    assert compiled.param_names == ("w", "b")
    with pytest.raises(DataError, match="missing b"):
        compiled.grad({"w": wv}, **data)
    with pytest.raises(DataError, match="shape"):
        compiled.grad({"w": wv[:2], "b": 0.5}, **data)
    with pytest.raises(DataError, match="4 numbers"):
        compiled.grad(np.zeros(3), **data)


def test_hyperparameters_are_keywords(rng):
    loss = LOSSES["ridge"]()
    compiled = compile_gradient(loss)
    data = random_data(loss, rng)
    data.pop("lam")
    g0 = compiled.grad([1.0, 2.0], lam=0.0, **data)
    g1 = compiled.grad([1.0, 2.0], lam=0.5, **data)
    assert g1[0] - g0[0] == pytest.approx(2 * 0.5 * 1.0)  # ∂(lam m²)/∂m = 2 lam m
    assert g1[1] == pytest.approx(g0[1])
    with pytest.raises(DataError, match="missing hyperparameter 'lam'"):
        compiled.grad([1.0, 2.0], **data)
    with pytest.raises(DataError, match="lam must be finite"):
        compiled.grad([1.0, 2.0], lam=np.inf, **data)


def test_repeated_calls_reuse_the_prepared_data(rng, monkeypatch):
    loss = LOSSES["mse"]()
    compiled = compile_gradient(loss)
    data = random_data(loss, rng)
    compiled.grad([0.0, 0.0], **data)
    calls = []
    original = compiled.prepare
    monkeypatch.setattr(compiled, "prepare", lambda **d: calls.append(1) or original(**d))
    compiled.grad([1.0, 1.0], **data)
    assert calls == []  # same arrays: statistics reused
    compiled.grad([1.0, 1.0], x=data["x"].copy(), y=data["y"])
    assert calls == [1]  # a new array: prepared again


def test_repr_names_params_and_path():
    text = repr(compile_gradient(LOSSES["mse"]()))
    assert "params (m, b)" in text and "sufficient statistics" in text
    text = repr(compile_gradient(LOSSES["logistic"]()))
    assert "chunked NumPy" in text


def test_prediction(rng):
    compiled = compile_gradient(LOSSES["logistic"]())
    X = rng.normal(size=(7, 3))
    wv = np.array([0.5, -1.0, 2.0])
    p = compiled.predict({"w": wv, "b": 0.25}, x=X)
    assert np.allclose(p, 1 / (1 + np.exp(-(X @ wv + 0.25))))
    with pytest.raises(CompileError, match="no prediction"):
        compile_gradient(LOSSES["ridge"]()).predict([1.0, 2.0], x=np.zeros(3))


def test_public_exports():
    assert calculus_ml.compile_gradient is compile_gradient
    assert calculus_ml.check_gradient is check_gradient
    assert isinstance(compile_gradient(LOSSES["mse"]()), CompiledGradient)


def _catalogue_variants() -> list[tuple[str, dict]]:
    """Every catalogue loss with its default options, plus its vector and other variants."""
    if not hasattr(losses_module, "names"):
        return []
    extra = {"vector": True, "activation": "tanh", "degree": 3, "k": 4}
    out = []
    for name in losses_module.names():
        out.append((name, {}))
        for option in losses_module.describe(name).options:
            if option in extra:
                out.append((name, {option: extra[option]}))
    return out


CATALOGUE = _catalogue_variants()
POLYNOMIAL_IN_PARAMS = {"mse", "rss", "ridge", "lasso", "polynomial", "multiple-regression"}
"""Losses whose per-sample term is a polynomial in the parameters (the penalty may be anything)."""


@pytest.mark.slow
@pytest.mark.skipif(not CATALOGUE, reason="the loss catalogue (losses.names) is not there yet")
@pytest.mark.parametrize("name, options", CATALOGUE or [("none", {})],
                         ids=lambda v: v if isinstance(v, str) else ",".join(
                             f"{k}={o}" for k, o in v.items()))
def test_every_catalogue_loss_matches_finite_differences(name, options, rng):
    loss = losses_module.get(name, **options)
    try:
        compiled = compile_gradient(loss, sufficient_statistics=False)
    except CompileError as error:
        pytest.xfail(f"{name}: {error}")
    data = random_data(loss, rng)
    theta = 0.4 * rng.normal(size=compiled.prepare(**data).size)
    grad = compiled.grad(theta, **data)
    assert np.allclose(grad, finite_differences(compiled, theta, data), rtol=1e-5, atol=1e-6)
    auto = compile_gradient(loss)
    assert auto.sufficient_statistics == (name in POLYNOMIAL_IN_PARAMS)
    if auto.sufficient_statistics:  # and the sums give the same answer as the data
        value, fast = auto.value_and_grad(theta, **data)
        assert np.allclose(fast, grad, rtol=1e-9, atol=1e-10)
        assert value == pytest.approx(compiled.value(theta, **data), rel=1e-9)


# -- a quadratic J on sufficient statistics: one matrix product per step ---------------------


@pytest.mark.parametrize("name, data", [
    ("mse", lambda rng: {"x": rng.normal(1e4, 100, 400), "y": rng.normal(1e5, 10, 400)}),
    pytest.param("ridge", lambda rng: {"x": rng.normal(size=400), "y": rng.normal(size=400),
                                       "lam": 0.3}, marks=pytest.mark.slow),
    pytest.param("rss", lambda rng: {"x": rng.normal(size=400), "y": rng.normal(size=400)},
                 marks=pytest.mark.slow),
    ("multiple-regression", lambda rng: {"x": rng.normal(5, [1, 10, 100], (400, 3)),
                                         "y": rng.normal(size=400)}),
])
def test_quadratic_statistics_agree_with_the_data(name, data, rng):
    """The affine gradient read from the statistics against the data path, and its matrix
    against the Hessian 2AᵀA/n (+ 2λ) written out by hand."""
    loss = losses_module.get(name)
    values = data(rng)
    fast = compile_gradient(loss).prepare(**values)
    general = compile_gradient(loss, sufficient_statistics=False).prepare(**values)
    assert fast.hessian_matrix is not None
    for _ in range(3):
        theta = rng.normal(size=fast.size) * 3
        J, g = fast.value_and_grad(theta)
        J_data, g_data = general.value_and_grad(theta)
        assert J == pytest.approx(J_data, rel=1e-12)
        np.testing.assert_allclose(g, g_data, rtol=1e-11, atol=1e-11 * np.abs(g_data).max())
    x = values["x"] if values["x"].ndim == 2 else values["x"][:, None]
    design = np.column_stack([x, np.ones(len(x))])
    by_hand = 2 * design.T @ design / (1 if name == "rss" else len(x))
    by_hand[:-1, :-1] += 2 * values.get("lam", 0.0) * np.eye(x.shape[1])
    np.testing.assert_allclose(fast.hessian_matrix, by_hand, rtol=1e-12)


def test_quadratic_statistics_are_exact_at_the_minimum():
    """Far-from-zero data: at the least-squares solution the gradient is as small as the data
    path's and the statistics evaluation's (nothing large cancels), not the rounding of ∇J(0)."""
    rng = np.random.default_rng(0)
    x = rng.normal(1e4, 100, 2000)
    y = 3 * x + 1e5 + rng.normal(size=2000)
    slope, intercept = np.linalg.lstsq(np.column_stack([x, np.ones_like(x)]), y, rcond=None)[0]
    fast = compile_gradient(LOSSES["mse"]()).prepare(x=x, y=y)
    general = compile_gradient(LOSSES["mse"](), sufficient_statistics=False).prepare(x=x, y=y)
    theta = fast.flatten({"m": slope, "b": intercept})
    J, g = fast.value_and_grad(theta)
    J_data, g_data = general.value_and_grad(theta)
    _, g_sums = fast.compiled._ns["_stat_eval"](theta, (), fast.statistics, 0)
    assert abs(J - J_data) <= 1e-5 * J_data
    assert np.abs(g).max() <= 2 * max(np.abs(g_data).max(), np.abs(g_sums).max())


@pytest.mark.slow
def test_only_quadratic_losses_take_the_affine_form():
    m, b, x, y = (sympy.Symbol(s, real=True) for s in "mbxy")
    quartic = Loss((m * x + b - y) ** 4, ["m", "b"], ["x", "y"])
    product = Loss((m * m * x + b - y) ** 2, ["m", "b"], ["x", "y"])
    for loss in (quartic, product):
        compiled = compile_gradient(loss)
        assert compiled.sufficient_statistics and not compiled._affine
    assert not compile_gradient(losses_module.get("lasso"))._affine
