"""The functions added to the vocabulary: each parses, has a named rule, and every node of its
derivation equals ``sympy.diff`` (symbolically where SymPy can, and at random points); the
derivative of a step function, which SymPy leaves unevaluated, is checked against central
finite differences away from the jumps."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy

from calculus_ml import derive
from calculus_ml.functions import ceil, floor, gelu, heaviside, silu, to_elementary
from calculus_ml.parsing import parse_expression
from conftest import assert_every_step_true

x = sympy.Symbol("x", real=True)

# text, the rule named, a point inside the real domain
NEW = [
    ("acot(x)", "inverse_trig", 0.7), ("asec(x)", "inverse_trig", 1.7),
    ("asec(-x)", "inverse_trig", 2.5), ("acsc(x)", "inverse_trig", -1.9),
    ("sech(x)", "hyperbolic", 0.4), ("csch(x)", "hyperbolic", 0.8),
    ("coth(x)", "hyperbolic", 1.3), ("asech(x)", "hyperbolic", 0.6),
    ("acsch(x)", "hyperbolic", -0.9), ("acoth(x)", "hyperbolic", 1.8),
    ("erf(x)", "erf", 0.3), ("erfc(x)", "erf", -0.4), ("gelu(x)", "gelu", 0.9),
    ("silu(x)", "silu", -1.2), ("swish(x)", "silu", 0.5),
]


@pytest.mark.slow
@pytest.mark.parametrize("text, rule, point", NEW, ids=[t for t, _, _ in NEW])
def test_every_node_equals_sympy_diff(text: str, rule: str, point: float) -> None:
    inner = "(1/(x^2 + 2))" if text.startswith("asech") else "(x^2 + 1)"  # inside the domain
    for composed in (text, text.replace("(x)", inner).replace("(-x)", "(-x^2 - 1)")):
        d = derive(composed, "x")
        assert rule in {step.rule for step in d["x"].walk()}
        assert_every_step_true(d["x"], symbolic=False)
    d = derive(text, "x")
    f = sympy.lambdify(x, to_elementary(parse_expression(text)), modules=["mpmath"])
    slope = sympy.lambdify(x, to_elementary(d.results[x]), modules=["mpmath"])
    h = 1e-6  # the central difference, a second oracle
    assert float(slope(point)) == pytest.approx(float((f(point + h) - f(point - h)) / (2 * h)),
                                                rel=1e-6, abs=1e-8)


@pytest.mark.slow
def test_gelu_exact_form_and_named_function_agree() -> None:
    typed = parse_expression("0.5x(1 + erf(x/√2))")
    assert sympy.simplify(typed - gelu(x).rewrite(sympy.exp)) == 0
    assert sympy.simplify(sympy.diff(typed, x) - sympy.diff(gelu(x), x)) == 0
    assert sympy.simplify(silu(x).rewrite(sympy.exp) - x / (1 + sympy.exp(-x))) == 0


@pytest.mark.parametrize("text, func", [("heaviside(x)", heaviside), ("floor(x)", floor),
                                        ("ceil(x)", ceil)])
def test_step_functions_have_slope_zero_between_jumps(text: str, func) -> None:
    d = derive(f"x + {text}", "x")
    steps = [s for s in d["x"].walk() if s.rule == "step_function"]
    assert len(steps) == 1 and "0 almost everywhere" in steps[0].explanation
    assert d.results[x] == 1
    step = {heaviside: lambda v: float(v > 0), floor: math.floor, ceil: math.ceil}[func]
    for v in np.random.default_rng(1).uniform(-5, 5, 20):  # finite differences off the jumps
        if min(abs(v - round(v)), abs(v)) > 1e-3:
            slope = ((v + 1e-6 + step(v + 1e-6)) - (v - 1e-6 + step(v - 1e-6))) / 2e-6
            assert float(d.results[x].subs(x, v)) == pytest.approx(slope, abs=1e-6)


def test_leaky_relu_and_relu() -> None:
    d = derive("leaky_relu(x) + leaky_relu(x, 0.2)", "x")
    assert d.results[x].subs(x, 2) == 2 and d.results[x].subs(x, -2) == sympy.Rational(21, 100)


def test_functions_print_by_their_names() -> None:
    assert sympy.latex(gelu(x)) == r"\operatorname{GELU}\left(x\right)"
    assert sympy.pretty(silu(x)) == "SiLU(x)" and sympy.pretty(heaviside(x)) == "H(x)"
    assert sympy.latex(parse_expression("log(x, 2)")) == r"\frac{\log{\left(x \right)}}{\log{\left(2 \right)}}"
