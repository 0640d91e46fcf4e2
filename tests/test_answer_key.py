"""The answer-key simplify step and the notation: results against sympy.diff and the textbook
forms (compared structurally), plain piecewise conditions against the original ones at points,
∂ and max in the rendered output, and the shortest-form figure on the corpus."""

from __future__ import annotations

import re
import signal

import numpy as np
import pytest
import sympy

from answer_key_corpus import corpus
from calculus_ml import symbolic
from calculus_ml.derivation import derive
from calculus_ml.functions import sigmoid
from calculus_ml.losses import catalogue
from calculus_ml.steps.answer_key import plain_condition
from conftest import assert_every_step_true, numeric_agreement, written_out

x, y, a, s, w, b, m, q, t = sympy.symbols("x y a s w b m q t", real=True)
i, n = sympy.symbols("i n", integer=True, positive=True)
X, Y = sympy.IndexedBase("x", real=True), sympy.IndexedBase("y", real=True)


def equals_diff(d, var) -> bool:
    """The result equals sympy.diff of the expression (sums written out for 4 points) at
    random points where both are real and finite."""
    expected, got = written_out(sympy.diff(d.expression, var)), written_out(d.results[var])
    symbols = sorted(expected.free_symbols | got.free_symbols, key=str)
    f, g = (sympy.lambdify(symbols, e.rewrite(sympy.exp), "numpy") for e in (expected, got))
    rng = np.random.default_rng(11)
    points = rng.uniform(-0.9, 0.9, (len(symbols), 64))
    with np.errstate(all="ignore"):
        u, v = np.broadcast_arrays(f(*points), g(*points))
    real = np.isfinite(u) & np.isfinite(v)
    return real.sum() >= 16 and np.allclose(u[real], v[real])


SLOW = pytest.mark.slow


@pytest.mark.parametrize("text, key", [
    pytest.param("sin(x)/(1 + cos(x))", 1 / (1 + sympy.cos(x)), marks=SLOW),
    pytest.param("atan((1 + x)/(1 - x))", 1 / (1 + x**2), marks=SLOW),
    ("(x^2 - 1)/(x - 1)", sympy.Integer(1)),
    pytest.param("tanh(x)", 1 - sympy.tanh(x) ** 2, marks=SLOW),
    ("sigmoid(x)", sigmoid(x) * (1 - sigmoid(x))),
    pytest.param("log(cos(x))", -sympy.tan(x), marks=SLOW),
])
def test_textbook_answers(text, key):
    d = derive(text, "x")
    assert d.results[x] == key
    assert equals_diff(d, x)


@pytest.mark.slow
def test_abs_over_x_is_piecewise_constant():
    d = derive("abs(x)/x", "x")
    assert d.results[x] == 0
    assert d["x"].rule == "simplify" and "sign" in d["x"].explanation
    for v in np.linspace(-3, 3, 12):  # away from 0, where abs(x)/x jumps
        slope = (abs(v + 1e-6) / (v + 1e-6) - abs(v - 1e-6) / (v - 1e-6)) / 2e-6
        assert float(d.results[x].subs(x, v)) == pytest.approx(slope, abs=1e-6)


@pytest.mark.slow
def test_double_negatives_are_gone():
    d = derive("exp(-(x - a)^2/(2*s^2))/s", ["x", "a"])
    assert d.results[x] == (a - x) * sympy.exp(-(x - a) ** 2 / (2 * s**2)) / s**3
    assert "-(-" not in d.to_text() and "(-" not in d.to_text().split("Result")[-1]
    assert equals_diff(d, x) and equals_diff(d, a)
    d = derive("(x - a)^2/s^2", ["s"])
    assert d.results[s] == -2 * (x - a) ** 2 / s**3
    assert "-2⋅(x - a)" in d.to_text().split("Result")[-1]
    d = derive("(y - tanh(w*x + b))^2", ["b"])
    tanh = sympy.tanh(w * x + b)
    assert d.results[b] == sympy.Mul(2, 1 - tanh**2, tanh - y)
    assert equals_diff(d, b)


LOG_LOSS = "-y*log(sigmoid(w*x + b)) - (1 - y)*log(1 - sigmoid(w*x + b))"


@pytest.mark.slow
def test_per_sample_cross_entropy_is_sigma_minus_y_times_x():
    d = derive(LOG_LOSS, ["w", "b"])
    assert d.results[w] == (sigmoid(w * x + b) - y) * x
    assert d.results[b] == sigmoid(w * x + b) - y
    assert equals_diff(d, w)
    assert "x⋅(σ(b + w⋅x) - y)" in d.to_text()  # the positive term printed first


@pytest.mark.slow
def test_losses_over_data_land_on_the_textbook_forms():
    d = derive(LOG_LOSS, ["w"], data=["x", "y"])
    assert d.results[w] == sympy.Sum((sigmoid(w * X[i] + b) - Y[i]) * X[i], (i, 1, n)) / n
    d = derive("(y - (m*x + b))^2", ["m"], data=["x", "y"])
    assert d.results[m] == 2 * sympy.Sum((m * X[i] + b - Y[i]) * X[i], (i, 1, n)) / n
    assert equals_diff(d, m)


def _agree(condition, plain, symbols) -> bool:
    """The two conditions hold at the same random points (on a grid of sevenths, so the
    boundaries are met too), evaluated by NumPy."""
    rng = np.random.default_rng(7)
    points = rng.integers(-40, 40, (len(symbols), 400)) / 7
    f, g = (sympy.lambdify(symbols, c, "numpy") for c in (condition, plain))
    with np.errstate(all="ignore"):
        return np.array_equal(f(*points), g(*points))


@pytest.mark.parametrize("condition, expected", [
    (x >= x / 100, x >= 0),
    (q * (y - t) >= (q - 1) * (y - t), y >= t),
    (x / 5 - 2 < 3 * x, x > -sympy.Rational(5, 7)),
    (1 - y * (w * x + b) <= 0, y * (w * x + b) >= 1),
    (sympy.And(x > 0, 2 * x <= 2 * y), sympy.And(x > 0, x <= y)),
    (x / y >= 1, x / y >= 1),  # dividing by y could reverse it: left alone
])
def test_plain_conditions_are_equivalent(condition, expected):
    plain = plain_condition(condition)
    assert plain == expected
    assert _agree(condition, plain, sorted(condition.free_symbols, key=str))


@pytest.mark.slow
def test_leaky_relu_and_pinball_conditions_in_the_derivation():
    d = derive("max(x, x/100)", "x")
    assert d.results[x] == sympy.Piecewise((1, x >= 0), (sympy.Rational(1, 100), True))
    d = derive("max(q*(y - t), (q - 1)*(y - t))", "t")
    assert d.results[t] == sympy.Piecewise((-q, y >= t), (1 - q, True))


def test_partial_derivatives_use_the_partial_sign_throughout():
    several = derive("x^2*y + x", "x", detail="full")
    assert r"\frac{d}{d x}" not in several.to_latex()
    assert "∂x" in several.to_text() and not re.search(r"(?<![∂\w])dx\b", several.to_text())
    assert ">d<" not in several.to_html()
    chain = derive("(x*y + 1)^2", "x").to_latex()
    assert r"\frac{d}{d u}" in chain and r"\frac{d}{d x}" not in chain  # the outer u is one
    single = derive("x^3 + 2*x", "x").to_latex()
    assert r"\partial" not in single


def test_max_and_min_print_as_functions_and_the_exponent_is_not_n():
    d = derive("max(0, x) + min(x, 3)", "x")
    for text in (d.to_text(), d.to_latex(), d.to_html()):
        assert "Max" not in text and "Min" not in text
    assert "max(0, x)" in d.to_text() and "min(3, x)" in d.to_text()
    text = derive("(x - 1)^2", "x").to_text()
    assert "exponent: 2" in text and "n = 2" not in text
    brief = d.to_text(detail="brief", width=80)
    assert "Max" not in brief and "Piecewise" not in brief
    assert "{0 if x <= 0; 1 otherwise}" in brief


def _timed(form, expr, seconds=3):
    """``form(expr)``, or None past ``seconds`` (SymPy's simplify can run for minutes)."""
    def stop(*_):
        raise TimeoutError

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        return form(expr)
    except TimeoutError:
        return None
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.slow
def test_few_answers_are_longer_than_sympys_shortest(monkeypatch):
    """At most 2% of the corpus's results (and the catalogue's) have more than 1.5 times the
    operations of the shortest of SymPy's simplify, factor, cancel and trigsimp of
    sympy.diff; every step of every tree checked."""
    monkeypatch.setattr(symbolic, "TIME_LIMIT", None)  # a loaded machine is not a budget test
    derivations = [derive(text, list(wrt), data=list(data) if data else None)
                   for text, wrt, data in corpus()]
    derivations += [catalogue.get(name).derivation for name in catalogue.names()]
    long, total = [], 0
    for d in derivations:
        d.verify()
        for var, result in d.results.items():
            expected = sympy.diff(d.expression, var)
            forms = [_timed(f, expected)
                     for f in (sympy.simplify, sympy.factor, sympy.cancel, sympy.trigsimp)]
            shortest = min(sympy.count_ops(f) for f in [expected, *forms] if f is not None)
            total += 1
            if sympy.count_ops(result) > 1.5 * shortest:
                long.append((d.expression, var, result))
    assert total >= 250
    assert len(long) <= 0.02 * total, long


@pytest.mark.slow
@pytest.mark.parametrize("text, wrt, data", [
    ("sin(x)/(1 + cos(x))", ["x"], None), ("atan((1 + x)/(1 - x))", ["x"], None),
    ("abs(x)/x", ["x"], None), ("x*abs(x)", ["x"], None), ("log(cosh(x))", ["x"], None),
    ("exp(-(x - a)^2/(2*s^2))/s", ["x", "a"], None), ("max(x, x/100)", ["x"], None),
    ("-y*log(sigmoid(w*x + b)) - (1 - y)*log(1 - sigmoid(w*x + b))", ["w", "b"], None),
    ("(y - (m*x + b))^2", ["m", "b"], ["x", "y"]),
])
def test_simplified_trees_hold_every_step(text, wrt, data):
    """Every node of the trees, the simplify step included, against sympy.diff at points and
    symbolically where SymPy can (the shared oracle of the step tests)."""
    for _, root in derive(text, wrt, data=data):
        assert_every_step_true(root)
        assert min(numeric_agreement(*root.walk())) >= 3
