"""Compiled gradients (calculus_ml.numeric) against independent oracles.

Oracles: central finite differences of the loss value, hand-written NumPy formulas, the lesson's
published numbers, and the general (data) path for the sufficient-statistics path.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import sympy
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import calculus_ml
from calculus_ml import losses as losses_module
from calculus_ml.errors import CalculusMLError, DataError, ExpressionError
from calculus_ml.functions import dot, sigmoid
from calculus_ml.losses import Loss
from calculus_ml.numeric import codegen
from calculus_ml.numeric import (
    CompileError,
    CompiledGradient,
    check_gradient,
    compile_gradient,
    compiled_for,
)

w, v, x, y, b, lam = sympy.symbols("w v x y b lam", real=True)
z = dot(w, x) + b

LOSSES = {
    "mse": lambda: Loss("(y - (m*x + b))**2", ["m", "b"], ["x", "y"], prediction="m*x + b"),
    "rss": lambda: Loss("(y - (m*x + b))**2", ["m", "b"], ["x", "y"], reduce="sum"),
    "ridge": lambda: Loss("(y - (m*x + b))**2", ["m", "b"], ["x", "y"],
                          regularization="lam*m**2"),
    "mae": lambda: Loss("abs(y - (m*x + b))", ["m", "b"], ["x", "y"]),
    "polynomial": lambda: Loss("(y - (a*x**3 + c*x**2 + m*x + b))**2", ["a", "c", "m", "b"],
                               ["x", "y"]),
    "logistic-1d": lambda: Loss("-y*log(sigmoid(w*x + b)) - (1 - y)*log(1 - sigmoid(w*x + b))",
                                ["w", "b"], ["x", "y"]),
    "logistic": lambda: Loss(-y * sympy.log(sigmoid(z)) - (1 - y) * sympy.log(1 - sigmoid(z)),
                             ["w", "b"], ["x", "y"], prediction=sigmoid(z)),
    "multiple-regression": lambda: Loss((y - z) ** 2, ["w", "b"], ["x", "y"], prediction=z),
    "ridge-vector": lambda: Loss((y - z) ** 2, ["w", "b"], ["x", "y"],
                                 regularization=lam * dot(w, w)),
    "poisson": lambda: Loss(sympy.exp(z) - y * z, ["w", "b"], ["x", "y"]),
    "neuron": lambda: Loss((y - sigmoid(z)) ** 2, ["w", "b"], ["x", "y"]),
    "hinge": lambda: Loss(sympy.Max(0, 1 - y * z), ["w", "b"], ["x", "y"]),
    "huber": lambda: _huber(),
    "penalty-only-vector": lambda: Loss((y - b - dot(v, x)) ** 2, ["v", "w", "b"], ["x", "y"],
                                        regularization=lam * dot(w, w) + lam * dot(v, w)),
}


def _huber() -> Loss:
    m, delta = sympy.Symbol("m", real=True), sympy.Symbol("delta", positive=True)
    r = y - (m * x + b)
    term = sympy.Piecewise((r**2 / 2, sympy.Abs(r) <= delta),
                           (delta * (sympy.Abs(r) - delta / 2), True))
    return Loss(term, ["m", "b"], ["x", "y"])


def random_data(loss, rng, n=64, d=3) -> dict:
    """Random data for every data name (``(n, d)`` for vectors) and 0.7 per hyperparameter."""
    data = {}
    for s in loss.data:
        data[s.name] = rng.normal(size=(n, d)) if s in loss.vectors else rng.normal(size=n)
    data.update((h.name, 0.7) for h in loss.hyperparameters)
    return data


def finite_differences(compiled, theta, data, h=1e-6):
    """Central differences of the compiled loss value, one coordinate at a time."""
    out = np.empty_like(theta)
    for k in range(theta.size):
        e = np.zeros_like(theta)
        e[k] = h * max(1.0, abs(theta[k]))
        up = compiled.value(theta + e, **data)
        down = compiled.value(theta - e, **data)
        out[k] = (up - down) / (2 * e[k])
    return out


@pytest.fixture(scope="module")
def rng():
    return np.random.default_rng(20240604)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_gradient_equals_central_differences(name, rng):
    loss = LOSSES[name]()
    compiled = compile_gradient(loss, sufficient_statistics=False)
    data = random_data(loss, rng)
    theta = 0.4 * rng.normal(size=compiled.prepare(**data).size)
    grad = compiled.grad(theta, **data)
    assert np.allclose(grad, finite_differences(compiled, theta, data), rtol=1e-6, atol=1e-7)
    value, grad2 = compiled.value_and_grad(theta, **data)
    assert np.allclose(grad, grad2, rtol=1e-12, atol=1e-15)
    assert value == pytest.approx(compiled.value(theta, **data), rel=1e-12)


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


def test_auto_picks_the_path():
    assert compile_gradient(LOSSES["mse"]()).sufficient_statistics
    assert not compile_gradient(LOSSES["logistic"]()).sufficient_statistics
    with pytest.raises(CompileError, match="not a polynomial"):
        compile_gradient(LOSSES["logistic"](), sufficient_statistics=True)
    with pytest.raises(ValueError, match="backend"):
        compile_gradient(LOSSES["mse"](), backend="torch")


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
    monkeypatch.setattr(codegen, "_THREADS", 3)  # the chunks shared out between threads
    monkeypatch.setattr(codegen, "MIN_CHUNKS_PER_THREAD", 1)
    threaded = compiled.prepare(**data).value_and_grad(theta)
    assert threaded[0] == pytest.approx(whole[0], rel=1e-12)
    assert np.allclose(threaded[1], whole[1], rtol=1e-12, atol=1e-15)


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


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.pop("y"), "missing data 'y'"),
        (lambda d: d.update(z=np.zeros(5)), "unknown name 'z'"),
        (lambda d: d.update(y=d["y"][:-1]), "y has 63 rows but x has 64"),
        (lambda d: d["y"].__setitem__(3, np.nan),
         r"y contains NaN or infinite values \(first at row 3\)"),
        (lambda d: d["x"].__setitem__((5, 1), np.inf), "x contains NaN or infinite"),
        (lambda d: d.update(x=np.zeros((0, 3)), y=np.zeros(0)), "x is empty"),
        (lambda d: d.update(y=np.zeros((64, 2))), "y must be a 1-D array"),
        (lambda d: d.update(x=np.zeros((64, 3, 2))), "x must be a 2-D array"),
        (lambda d: d.update(y=np.array(["a"] * 64)), "y must be an array of real numbers"),
    ],
)
def test_bad_data_raise_data_error(change, message, rng):
    loss = LOSSES["logistic"]()
    compiled = compiled_for(loss, sufficient_statistics=False)
    data = random_data(loss, rng)
    change(data)
    with pytest.raises(DataError, match=message) as info:
        compiled.grad(np.zeros(4), **data)
    assert isinstance(info.value, ValueError) and isinstance(info.value, CalculusMLError)


def test_caller_arrays_are_not_modified(rng):
    for name in ("logistic", "mse", "huber"):
        loss = LOSSES[name]()
        compiled = compile_gradient(loss)
        data = random_data(loss, rng)
        data["x"] = np.asfortranarray(data["x"]) if data["x"].ndim == 2 else data["x"]
        before = {k: np.array(v, copy=True) for k, v in data.items()}
        theta = rng.normal(size=compiled.prepare(**data).size)
        compiled.value_and_grad(theta, **data)
        compiled.grad(theta, **data)
        check_gradient(loss, theta, **data)
        for k, v in data.items():
            assert np.array_equal(v, before[k]), k


def test_lists_and_integer_arrays_are_accepted():
    compiled = compile_gradient(LOSSES["mse"]())
    g_list = compiled.grad([1, 0], x=[1, 2, 3], y=[2, 4, 6])
    g_arr = compiled.grad([1.0, 0.0], x=np.array([1.0, 2.0, 3.0]), y=np.array([2.0, 4.0, 6.0]))
    assert np.array_equal(g_list, g_arr)


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


def test_generated_source_is_printer_output_only():
    odd = Loss("(target - (slope*feature + offset))**2", ["slope", "offset"],
               ["feature", "target"])
    compiled = compile_gradient(odd)
    header, body = compiled.source.split("\n", 1)
    assert header.startswith("# generated by calculus_ml.numeric")
    for name in ("slope", "offset", "feature", "target"):
        assert name in header and name not in body
    compile(compiled.source, "<test>", "exec")  # it is plain Python
    assert "def _grad(" in body and "numpy.dot(" in body and "out=" in body


def test_one_compile_call_in_numeric():
    from pathlib import Path

    import calculus_ml.numeric as numeric

    text = "".join(path.read_text(encoding="utf-8")  # every module of the package
                   for path in sorted(Path(numeric.__file__).parent.glob("*.py")))
    assert text.count("compile(source") == 1 and text.count("exec(") == 1
    assert not re.search(r"\b(sympify|parse_expr|eval)\(", text)


def test_general_path_reduces_with_dot_products():
    source = compile_gradient(LOSSES["logistic"]()).source
    grad = source.split("def _grad(")[1].split("\ndef ")[0]
    assert "numpy.dot(d_0, p_0, out=" in grad  # X @ w into a chunk buffer
    assert "numpy.dot(t_" in grad and ", d_0)" in grad  # r @ X, not mean(x*r)
    assert "numpy.mean" not in grad and "for _lo in range(_start, _stop, chunk)" in grad
    assert "= _split(_pass, n, chunk)" in grad  # the rows shared out between cores


@pytest.mark.parametrize("n, chunk", [(1, 4), (31, 4), (64, 8), (1000, 7), (4096, 16)])
def test_split_covers_every_row_once_on_chunk_boundaries(n, chunk, monkeypatch):
    monkeypatch.setattr(codegen, "_THREADS", 3)
    monkeypatch.setattr(codegen, "MIN_CHUNKS_PER_THREAD", 1)
    seen = []

    def one_pass(start, stop):
        assert start % chunk == 0 and (stop % chunk == 0 or stop == n)
        seen.extend(range(start, stop))
        return (float(stop - start), np.arange(start, stop, dtype=float).sum())

    count, total = codegen._split(one_pass, n, chunk)
    assert sorted(seen) == list(range(n)) and count == n and total == n * (n - 1) / 2


def test_repr_names_params_and_path():
    text = repr(compile_gradient(LOSSES["mse"]()))
    assert "params (m, b)" in text and "sufficient statistics" in text
    text = repr(compile_gradient(LOSSES["logistic"]()))
    assert "chunked NumPy" in text


def test_unsupported_forms_raise_compile_error():
    f = sympy.Function("f")
    loss = Loss(f(x) * b, ["b"], ["x"])
    with pytest.raises(CompileError, match="cannot compile"):
        compile_gradient(loss)
    with pytest.raises((CompileError, ExpressionError)):  # refused by Loss or by the compiler
        compile_gradient(Loss(dot(w, x) * w, ["w"], ["x"]))


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


# -- the in-place emitter against SymPy's own evaluation, on random expressions -------------

m_, b_ = sympy.symbols("m b", real=True)
_LEAVES = st.sampled_from([x, y, m_, b_, sympy.Integer(2), sympy.Rational(1, 3)])


def _grow(children):
    unary = [lambda e: -e, lambda e: e**2, lambda e: sympy.exp(sympy.tanh(e)),
             lambda e: sympy.log(1 + e**2), sigmoid, sympy.Abs, lambda e: 1 / (2 + e**2)]
    binary = [lambda a, c: a + c, lambda a, c: a * c, lambda a, c: a - 3 * c,
              lambda a, c: sympy.Max(a, c)]
    return st.one_of(
        st.tuples(st.sampled_from(unary), children).map(lambda t: t[0](t[1])),
        st.tuples(st.sampled_from(binary), children, children).map(lambda t: t[0](t[1], t[2])),
    )


_JOIN = [lambda a, c: a + c, lambda a, c: a * c, lambda a, c: sympy.Max(a, c),
         lambda a, c: sigmoid(a) * c**2]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(core=st.recursive(_LEAVES, _grow, max_leaves=8), join=st.sampled_from(_JOIN),
       seed=st.integers(0, 2**16))
def test_generated_code_evaluates_like_sympy(core, join, seed):
    term = join(core, m_ * x + b_ - y)  # a random expression, with data and parameters in it
    assume(term.free_symbols >= {m_, b_, x, y})
    params = [s.name for s in (m_, b_) if s in term.free_symbols]
    data = [s.name for s in (x, y) if s in term.free_symbols]
    loss = Loss(term, params, data)
    compiled = compile_gradient(loss, sufficient_statistics=False)
    rng = np.random.default_rng(seed)
    values = {name: rng.normal(size=5) for name in data}
    theta = rng.normal(size=len(params))
    symbols = {s.name: s for s in term.free_symbols}
    rows = [{symbols[n]: float(values[n][i]) for n in data} for i in range(5)]
    point = {symbols[n]: float(t) for n, t in zip(params, theta)}

    def mean_of(expr):
        return np.mean([float(expr.subs({**point, **row}).evalf()) for row in rows])

    value, grad = compiled.value_and_grad(theta, **values)
    assert value == pytest.approx(mean_of(term), rel=1e-9, abs=1e-12)
    expected = [mean_of(sympy.diff(term, symbols[n])) for n in params]
    assert np.allclose(grad, expected, rtol=1e-9, atol=1e-12)
