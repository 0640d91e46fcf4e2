"""Higher derivatives, values at a point, hints, worksheets and the verifier's false alarms.

Oracles: ``sympy.diff`` (n-th derivatives at every node, mixed partials, ``sympy.hessian``),
SymPy's own substitution for values at a point, and the rules' own ids for worksheets.
"""

from __future__ import annotations

import math
import time

import pytest
import sympy

import calculus_ml as cm
from calculus_ml import DomainError, ExpressionError, derive
from calculus_ml.learning.practice import RULES, practice

x, y = sympy.symbols("x y", real=True)


def _same(a, b) -> bool:
    """Equal as polynomials, else at three points (the oracle's own evaluation)."""
    difference = a - b
    if sympy.expand(difference) == 0:
        return True
    return all(abs(sympy.N(difference.subs(x, v).subs(y, 0.9))) < 1e-9 for v in (0.3, 0.7, 1.3))


HIGHER = [x**5 - 3 * x**2, x**3 * sympy.sin(x), sympy.exp(2 * x) / (x**2 + 1),
          sympy.log(x**2 + 1), sympy.sqrt(x**2 + 4), sympy.atan(3 * x)]


@pytest.mark.slow
@pytest.mark.parametrize("expr", HIGHER, ids=str)
def test_nth_derivatives_agree_with_sympy_at_every_node(expr):
    d = derive(expr, "x", order=3)
    assert _same(d.result, sympy.diff(expr, x, 3))
    assert _same(d.results["x"], sympy.diff(expr, x, 3))
    for key, stage in d.stages.items():
        assert _same(stage.results[x], sympy.diff(expr, x, len(key)))
        for step in stage[x].walk():
            assert _same(step.result, sympy.diff(step.expr, step.var)), step.rule


def test_a_repeated_variable_is_the_second_derivative():
    d = derive("x^3", ["x", "x"])
    assert d.order == 2 and d.result == sympy.diff(x**3, x, 2)
    with pytest.raises(ExpressionError, match="repeated variable"):
        derive("x^3*y", ["x", "x", "y"])
    with pytest.raises(ExpressionError, match="order"):
        derive("x^3", "x", order=0)


def test_too_many_stages_are_refused_before_any_is_listed():
    start = time.perf_counter()
    with pytest.raises(ExpressionError, match="too many"):  # 1.1e8 stages
        derive("x*y*z*a*b*c*d*h*f*g", list("xyzabcdhfg"), order=8)
    assert time.perf_counter() - start < 0.5
    with pytest.raises(ExpressionError, match="at most 30"):  # 2 + 4 + 8 + 16 = 30, and 32
        derive("x*y", ["x", "y"], order=5)


@pytest.mark.slow
def test_mixed_partials_and_the_hessian_of_any_expression():
    f = x**2 * y**3 + sympy.sin(x * y)
    d = derive(f, ["x", "y"], order=2)
    assert all(_same(a, b) for a, b in zip(d.hessian, sympy.hessian(f, (x, y))))
    assert _same(d.derivative("x", "y"), sympy.diff(f, x, y))
    assert d.schwarz == {((x, y), (y, x)): True}
    assert d.schwarz is d.schwarz  # computed once, not by every render
    assert "∂²f/∂y∂x and ∂²f/∂x∂y agree" in d.to_text()
    assert d.to_dict()["schwarz"][0]["agree"] is True


def test_greek_names_are_read_alike_by_every_lookup():
    lam = sympy.Symbol("lam", real=True)
    f = x * lam**3
    second = derive(f, ["x", "lam"], order=2)
    assert second.derivative("λ", "λ") == second.derivative("lambda", "lam")
    assert second.derivative("λ", "λ") == sympy.diff(f, lam, 2)
    assert second.derivative("x", "λ") == sympy.diff(f, x, lam)
    first = derive("x*λ^3", ["x", "λ"])
    assert first["λ"].result == first["lambda"].result == sympy.diff(f, lam)
    assert first["λ"] is first[lam]


def test_a_constant_has_derivative_zero_and_wrt_may_be_omitted():
    assert derive("10", "x").results["x"] == 0
    assert derive("x^2").results["x"] == 2 * x
    with pytest.raises(ExpressionError, match="say which variable"):
        derive("x*y")


def test_values_at_a_point_and_the_tangent_line():
    d = derive("x^3 - 2*x")
    at = d.at(x=2)
    f = x**3 - 2 * x
    assert at.value == f.subs(x, 2) and at.rows[1][1] == sympy.diff(f, x).subs(x, 2)
    assert sympy.expand(at.tangent - (f.subs(x, 2) + sympy.diff(f, x).subs(x, 2) * (x - 2))) == 0
    assert at.floats == [4.0, 10.0]
    assert "f′(2) = 10" in at.to_text() and "y = 10*x - 16" in at.to_text()
    assert d.at({"x": "1/2"}).value == f.subs(x, sympy.Rational(1, 2))
    assert '"exact": "10"' in at.to_json()
    for shown in (at.to_latex(), at.to_markdown(), at.to_html()):
        assert "10" in shown
    with pytest.raises(ExpressionError):
        d.at(z=1)


def test_results_take_names_and_substitute_by_name():
    d = derive("x^2*y", ["x", "y"])
    assert d.results["x"] == d.results[x] == 2 * x * y
    assert d.results.subs(x=3, y=2) == {x: 12, y: 9}
    assert cm.substitute(d.results["x"], x=3) == 6 * y
    assert d.at(x=1, y=2).tangent == 4 * x + y - 4  # the tangent plane z = ...


@pytest.mark.slow
@pytest.mark.parametrize("text, point", [("relu(x)*log(x - 8)", 20), ("abs(log(x - 6))", 40),
                                         ("max(sqrt(x - 30), 1)", 45)])
def test_no_false_alarm_far_from_the_origin(text, point):
    d = derive(text, "x")
    expr = cm.parse_expression(text)
    value = d.results["x"].subs(x, point)
    assert float(value) == pytest.approx(float(sympy.diff(expr, x).subs(x, point)))


@pytest.mark.parametrize("text", ["sqrt(-1 - x^2)", "log(-x^2 - 1)", "asin(x^2 + 2)"])
def test_an_expression_real_nowhere_is_refused_once_and_clearly(text):
    with pytest.raises(DomainError, match="not real at any point"):
        derive(text, "x")
    with pytest.raises(DomainError):
        cm.check_answer(text, "x", "x")


def test_hints_ask_before_they_tell():
    d = derive("(3*x^2 + 10*x)^3")
    given = list(d.hints())
    steps = {id(s) for s in d["x"].walk()}
    assert [h.number for h in given] == list(range(1, len(given) + 1))
    assert {id(h.step) for h in given} == steps  # every step once
    assert given[0].prompt.startswith("The outer function is u^3") and given[0].step.rule == "chain"
    for hint in given:
        if not hint.step.result.is_number:  # d/dx[10x] = 10 names its factor 10 anyway
            shown = sympy.sstr(hint.step.result).replace("**", "^").replace("*", "·")
            assert shown not in hint.prompt
        assert hint.step.title in hint.reveal


@pytest.mark.slow
@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("level", [1, 2, 3])
def test_worksheets_need_their_rule_and_are_reproducible(rule, level):
    sheet = practice(rule, level, n=3, seed=7)
    assert len(sheet.exercises) == 3
    assert [e.expression for e in practice(rule, level, n=3, seed=7).exercises] == \
        [e.expression for e in sheet.exercises]
    for e in sheet.exercises:
        assert any(step.rule == rule for step in e.derivation[x].walk())
        assert _same(e.answer, sympy.diff(e.expression, x))


def test_worksheet_arguments_are_checked():
    for bad in ({"rule": "magic"}, {"level": 4}, {"n": 0}, {"n": True}):
        with pytest.raises(ExpressionError):
            practice(**bad)


@pytest.mark.slow
def test_a_worksheet_renders_questions_then_the_key():
    sheet = practice("chain", 1, n=2, seed=0)
    text, md, tex, html = sheet.to_text(), sheet.to_markdown(), sheet.to_latex(), sheet.to_html()
    assert text.index("1. d/dx") < text.index("Answer key")
    assert md.index("## Answer key") > md.index("1. $")
    assert "\\newpage" in tex and "page-break-before" in html
    assert len(sheet.to_dict()["exercises"]) == 2
    assert math.isclose(len(cm.practice("chain", 1, n=2, seed=1).exercises), 2)


@pytest.mark.slow
def test_the_learning_page_slower_examples_hold():
    """The page's ``pycon`` examples (too slow for the fast docs test) are run here."""
    import doctest
    import re
    from pathlib import Path

    page = Path(__file__).resolve().parents[1] / "docs" / "learning.md"
    blocks = re.findall(r"^```pycon\n(.*?)^```", page.read_text(encoding="utf-8"),
                        re.MULTILINE | re.DOTALL)
    assert len(blocks) == 3
    test = doctest.DocTestParser().get_doctest("\n".join(blocks), {"cm": cm}, page.name,
                                               str(page), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.failures == 0


@pytest.mark.slow
@pytest.mark.parametrize("text", ["relu(x)*log(x - 8)", "max(x, x^2)", "sign(x)*x^2",
                                  "abs(x^2 - 2)*x"])
def test_kinked_steps_of_one_variable_are_proved_piece_by_piece(text):
    counts = derive(text, "x").verify(symbolic=True)
    assert counts["numeric"] == counts["numeric_too_large"] == 0 and counts["symbolic"] > 0


def test_a_wrong_kinked_derivative_is_not_proved():
    from calculus_ml.steps.zero import vanishes_almost_everywhere

    assert vanishes_almost_everywhere(sympy.Piecewise((0, x <= 0), (1, True)) - sympy.Heaviside(x))
    assert not vanishes_almost_everywhere(sympy.Piecewise((0, x <= 0), (2, True))
                                          - sympy.Heaviside(x))
    wrong_on_an_interval = sympy.Piecewise((x, x < 1), (0, x < 2), (x, True)) - sympy.Max(0, x)
    assert not vanishes_almost_everywhere(wrong_on_an_interval)


@pytest.mark.slow
def test_the_command_line_takes_an_order(capsys):
    from calculus_ml.cli import main

    x = sympy.Symbol("x", real=True)
    assert main(["derive", "sin(x)*x^2", "--order", "3", "--format", "json"]) == 0
    stages = __import__("json").loads(capsys.readouterr().out)["stages"]
    assert [len(s["wrt"]) for s in stages] == [1, 2, 3]
    third = sympy.sympify(stages[-1]["derivatives"][0]["result_srepr"])  # the test's own text
    assert sympy.simplify(third - sympy.diff(sympy.sin(x) * x**2, x, 3)) == 0
    assert main(["derive", "x^3", "--order", "2", "--hints"]) == 2
    assert "drop --order" in capsys.readouterr().err


def test_a_hint_in_jupyter_folds_its_step_under_the_question():
    from calculus_ml.render import html

    x = sympy.Symbol("x", real=True)
    first = next(iter(derive("sin(x^2)").hints()))
    page = first._repr_html_()
    assert page.startswith("<details><summary>1. ") and html.escape(first.prompt) in page
    answer = html.equation((sympy.Derivative(sympy.sin(x**2), x),
                            sympy.diff(sympy.sin(x**2), x)))
    assert page.endswith(answer + "</details>")
