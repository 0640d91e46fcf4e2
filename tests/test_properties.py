"""Property test: for random expressions of the learner's grammar, every step is true."""

from __future__ import annotations

import pytest
import sympy
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from calculus_ml.derivation import derive
from calculus_ml.errors import DomainError
from calculus_ml.functions import sigmoid, softplus, to_elementary
from calculus_ml.steps.verify import check_step
from conftest import distinct_steps, numeric_agreement

x, y = sympy.symbols("x y", real=True)

UNARY = (
    sympy.exp, sympy.log, sympy.sin, sympy.cos, sympy.tan, sympy.atan, sympy.sinh, sympy.tanh,
    sympy.sqrt, sympy.Abs, sigmoid, softplus,
)  # fmt: skip

leaves = st.one_of(st.sampled_from([x, y]), st.integers(-3, 3).map(sympy.Integer))


def _apply(f, *args) -> sympy.Expr:
    try:
        return f(*args)
    except (ValueError, TypeError):  # e.g. max(nan, x): rejected below, as nan
        return sympy.nan


def _grow(children: st.SearchStrategy) -> st.SearchStrategy:
    binary = [sympy.Add, lambda a, b: a - b, sympy.Mul, lambda a, b: a / b, sympy.Max, sympy.Min]
    return st.one_of(
        st.tuples(st.sampled_from(binary), children, children).map(lambda p: _apply(*p)),
        st.tuples(children, st.integers(-3, 4)).map(lambda p: _apply(sympy.Pow, *p)),
        st.tuples(st.sampled_from(UNARY), children).map(lambda p: _apply(*p)),
    )


expressions = st.recursive(leaves, _grow, max_leaves=7)


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(expr=expressions, prefer_y=st.booleans())
def test_every_step_of_a_random_expression_is_true(expr, prefer_y):
    var = y if prefer_y and expr.has(y) or not expr.has(x) else x
    infinite = (sympy.nan, sympy.zoo, sympy.oo, sympy.AccumBounds)
    # sigmoid(I*pi) stays a call, but its exp/log form is 1/0
    assume(expr.has(var) and not expr.has(*infinite) and not to_elementary(expr).has(*infinite))
    expected = sympy.diff(expr, var)
    assume(not expected.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo, sympy.Derivative))
    try:
        derivation = derive(expr, var.name, verify=False)
    except DomainError:  # refused as real nowhere (x + iπ): it is not real where we look either
        for v in (-2.5, 0.5, 3):
            assert expr.subs({x: v, y: v + 0.5}).evalf().is_real is not True
        return
    root = derivation[var.name]
    steps = list(distinct_steps(root))
    counts = numeric_agreement(*steps)  # raises where a step is false
    assume(counts[0] >= 3)  # the expression is defined (real, finite) somewhere we look
    derivation.verify()  # what derive(verify=True) does
    for step in steps:
        check_step(step)
