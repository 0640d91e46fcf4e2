"""The narrative's markup: paragraphs, bullets, emphasis, placeholders, points and maths."""

from __future__ import annotations

import pytest
import sympy

from calculus_ml.handout.document import Run
from calculus_ml.handout.refs import (
    MarkupError,
    Ref,
    inline,
    lines,
    narrative,
    parse_difference,
    parse_math,
    parse_point,
)


def test_paragraphs_bullets_emphasis_and_placeholders():
    blocks = narrative("The **slope** is {slope:x=3|.2f}, `code` {{literal}}.\n\n- one\n- *two*")
    assert blocks == (
        ("p", (Run("The "), Run("slope", frozenset({"bold"})), Run(" is "),
               Ref("slope", "x=3", ".2f"), Run(", "), Run("code", frozenset({"code"})),
               Run(" "), Run("{"), Run("literal"), Run("}"), Run("."))),
        ("ul", ((Run("one"),), (Run("two", frozenset({"italic"})),))),
    )
    assert list(lines(blocks)) == [blocks[0][1], *blocks[1][1]]


@pytest.mark.parametrize("text, problem", [
    ("{wobble}", "unknown placeholder {wobble}"),
    ("{solve:m", "unmatched '{'"),
    ("{fit:m|q}", "bad format spec 'q'"),
    ("**bold", "unclosed bold marker"),
    ("{value:x=2|>400000000}", "widths and precisions above 99"),
    ("{value:x=2|.1000f}", "widths and precisions above 99"),
])
def test_malformed_text_is_a_markup_error(text, problem):
    with pytest.raises(MarkupError, match=problem):
        inline(text)


def test_points_are_exact_decimals():
    assert parse_point("m=1.5, b=0") == {"m": sympy.Rational(3, 2), "b": 0}
    with pytest.raises(ValueError, match="is not a point"):
        parse_point("m=1,m=2")
    for text in ("x=1e9999", "x=-inf", "x=nan"):
        with pytest.raises(ValueError, match="is not a finite number"):
            parse_point(text)


def test_math_parses_definitions_derivatives_and_decimals():
    assert str(parse_math("f(x) = x^2")) == "Eq(f(x), x**2)"
    assert str(parse_math("D(J, b)")) == "Derivative(J, b)"
    assert str(parse_math("0.05*x")) == "0.05*x"
    for arg, problem in [("", "must be one expression"), ("a = b = c", "must be one expression"),
                         ("1 +", "bad expression in {math:1 [+]}"),
                         ("D(J, pi)", "pi is not a variable")]:
        with pytest.raises(MarkupError, match=problem):
            parse_math(arg)


def test_difference_steps_and_applied_functions():
    assert parse_difference("b+0.001@m=43,b=3") == ("b", sympy.Rational(1, 1000),
                                                    {"m": 43, "b": 3})
    assert parse_difference(" x - 2 @x=1")[:2] == ("x", -2)
    for bad in ("b@b=1", "b+0@b=1", "b+1", "b*2@b=1", "b+1@m=1"):
        with pytest.raises(ValueError):
            parse_difference(bad)
    b, delta = sympy.symbols("b delta", real=True)
    J = sympy.Function("J")
    quotient = parse_math("(J(b + delta) - J(b))/delta")
    assert sympy.simplify(quotient - (J(b + delta) - J(b)) / delta) == 0


def test_greek_function_names_print_as_letters_in_every_format():
    """``{math:sigma(z)}`` is σ(z) in HTML (MathML) as in LaTeX, not the word sigma."""
    from calculus_ml.render.html import mathml
    from calculus_ml.render.latex import latex

    expr = parse_math("sigma(z) = 1/(1 + exp(-z))")
    assert "σ" in mathml(expr) and "sigma" not in mathml(expr)
    assert latex(expr).startswith("σ") or latex(expr).startswith(r"\sigma")
