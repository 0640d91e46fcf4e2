"""Natural input, Greek names and the expression as typed.

Oracles: for natural input, the strict form written out by hand (parsed by the strict grammar,
which reads it unchanged); for the typed display, the order of the names and numbers in the
input text itself; for Greek names, the letters and TeX macros they stand for.
"""

from __future__ import annotations

import re
import tokenize
from io import StringIO

import pytest
import sympy

from calculus_ml import derive
from calculus_ml.errors import ExpressionError
from calculus_ml.parsing import normalized_name, parse, parse_expression
from calculus_ml.steps.rewrites import IDENTITY_NAMES

# natural input -> the same expression written out in the strict grammar, by hand
NATURAL = [
    ("2x", "2*x"),
    ("3x^2", "3*x**2"),
    ("2x^2 + 3x", "2*x**2 + 3*x"),
    ("x y", "x*y"),
    ("2(x+1)", "2*(x+1)"),
    ("(x+1)(x-1)", "(x+1)*(x-1)"),
    ("x(x+1)", "x*(x+1)"),
    ("0.5x + 3", "0.5*x + 3"),
    ("sin x", "sin(x)"),
    ("sin 2x", "sin(2*x)"),
    ("sin x^2", "sin(x**2)"),
    ("sin^2 x", "sin(x)**2"),
    ("sin^2(x)", "sin(x)**2"),
    ("sin²x", "sin(x)**2"),
    ("sin^-1 x", "asin(x)"),
    ("tan⁻¹ x", "atan(x)"),
    ("ln x", "log(x)"),
    ("ln x / 2", "log(x)/2"),
    ("sin x cos x", "sin(x)*cos(x)"),
    ("2x sin x", "2*x*sin(x)"),
    ("sin -x", "sin(-x)"),
    ("e^x", "exp(x)"),
    ("e^-x", "exp(-x)"),
    ("e^(2x)", "exp(2*x)"),
    ("x²", "x**2"),
    ("x³ + x²", "x**3 + x**2"),
    ("x⁻¹", "x**(-1)"),
    ("√x", "sqrt(x)"),
    ("√(x+1)", "sqrt(x+1)"),
    ("2√x", "2*sqrt(x)"),
    ("∛x", "cbrt(x)"),
    ("x·y", "x*y"),
    ("x × y", "x*y"),
    ("x − y", "x - y"),
    ("x ÷ 2", "x/2"),
    ("|x|", "abs(x)"),
    ("|x - 1| + |x|", "abs(x - 1) + abs(x)"),
    ("||x| - 1|", "abs(abs(x) - 1)"),
    ("2|x|", "2*abs(x)"),
    ("y = x^2", "x**2"),
    ("f(x) = 3x + 1", "3*x + 1"),
    ("J(m, b) = (y - (m x + b))^2", "(y - (m*x + b))**2"),
    ("λ m²", "lam*m**2"),
    ("lambda*m^2", "lam*m**2"),
    ("lamda + lam", "2*lam"),
    ("σ(z)", "sigmoid(z)"),
    ("σ z", "sigma*z"),
    ("θ1 x + θ0", "theta1*x + theta0"),
    ("lr w1", "lr*w1"),
    ("theta x", "theta*x"),
    ("0.5x(1 + erf(x/√2))", "0.5*x*(1 + erf(x/sqrt(2)))"),
    ("3(x+1)²", "3*(x+1)**2"),
]


@pytest.mark.parametrize("natural, strict", NATURAL, ids=[n for n, _ in NATURAL])
def test_natural_input_means_its_strict_form(natural: str, strict: str) -> None:
    assert parse(strict).read_as is None  # the oracle is itself in the strict grammar
    assert parse_expression(natural) == parse_expression(strict)


def test_the_reading_is_shown_when_it_differs() -> None:
    assert parse("2x^2 + 3x").read_as == "2·x^2 + 3·x"
    assert parse("sin^2 x").read_as == "sin(x)^2"
    assert parse("y = x^2").read_as == "x^2"
    assert parse("θ x").read_as == "θ·x"  # names as typed
    for strict in ("2*x**2 + 3*x", "x^2", "sin(x)**2", "θ*x", "|x|", "x²", "√x"):
        assert parse(strict).read_as is None, strict


@pytest.mark.parametrize("text, message", [
    ("foo(x)", "unknown function 'foo'"),
    ("y = x = 1", "only 'y = ...'"),
    ("x + 1 = y", "only 'y = ...'"),
    ("y =", "nothing to differentiate"),
    ("x | y", "operator '|'"),
    ("sin + 1", "'sin' is a function"),
    ("2 3", "syntax error"),
    ("x^1001", "exponent too large"),
    ("2^101", "exponent too large"),
    ("sin " * 450 + "x", "nested deeper"),
    ("sin x**-", "syntax error"),
])
def test_natural_input_keeps_refusing(text: str, message: str) -> None:
    with pytest.raises(ExpressionError) as info:
        parse_expression(text)
    assert message in str(info.value).splitlines()[0]


def test_powers_of_a_variable_are_not_huge_constants() -> None:
    x = sympy.Symbol("x", real=True)
    assert parse_expression("x^150") == x**150
    assert parse_expression("(x + 1)^1000") == (x + 1) ** 1000


def test_greek_names_mean_one_symbol_however_typed() -> None:
    assert {normalized_name(n) for n in ("λ", "lam", "lamda", "lambda")} == {"lam"}
    assert normalized_name("θ") == normalized_name("theta") == "theta"
    assert normalized_name("θ_1") == "theta_1"
    assert normalized_name("Δx") == "Δx"  # a name of its own, not Delta*x


@pytest.mark.parametrize("name, unicode, tex", [
    ("lam", "λ", r"\lambda"), ("lambda", "λ", r"\lambda"), ("alpha", "α", r"\alpha"),
    ("eta", "η", r"\eta"), ("theta", "θ", r"\theta"), ("sigma", "σ", r"\sigma"),
    ("mu", "μ", r"\mu"), ("beta", "β", r"\beta"), ("epsilon", "ε", r"\epsilon"),
])
def test_greek_names_print_as_greek_everywhere(name: str, unicode: str, tex: str) -> None:
    expr = parse_expression(f"{name}*m^2")
    assert sympy.pretty(expr).count(unicode) == 1 and name not in sympy.pretty(expr)
    assert tex in sympy.latex(expr)
    assert unicode in sympy.mathml(expr, printer="presentation").replace(
        f"&#{ord(unicode)};", unicode)


def test_a_derivation_by_a_greek_name() -> None:
    d = derive("lambda*m^2 + λ*m", "λ")
    (var,) = d.variables
    assert var.name == "lam"
    assert "λ⋅m" in d.to_text() and r"\lambda m^{2}" in d.to_latex()
    assert "λ" in d.to_html() or "&#955;" in d.to_html()


# -- the expression as typed ----------------------------------------------------------------

TYPED = [
    "(y - (m*x + b))^2", "3 + x^2", "1 + 2*x + 3*x^2", "x^3 - 2*x + 7", "b + m*x",
    "y - m*x - b", "(3 + x)^2", "5 - x", "10 - 3*x + x^2", "c + a*x^2 + b*x",
    "log(x) + x", "exp(x) + x^2", "z + y + x", "sin(x) + cos(x) + x", "w*x + b",
    "1/(1 + x^2)", "(a - x)^2 + (b - y)^2", "y*log(p) + (1 - y)*log(1 - p)", "t + s*x",
    "0.5*x + 3", "0.044715*x^3 + x", "q - 0.25*x", "sqrt(x^2 + 1) + x", "x/2 + 1/4",
    "(1 + x)*(2 + x)", "k*(x - a)^2 + c", "4 + 3*x + 2*x^2 + x^3", "(x - 1)/(x + 1)",
    "e^x + 2", "2 + sigmoid(w*x + b)", "abs(x - 3) + 1", "softplus(1 - x*y) + c*w^2",
    "y - sigmoid(z)", "c - x", "(y - w*x)^2 + a*w^2", "1 - x^2", "r + p*x + q*x^2",
    "tanh(x) + 1", "7 + x", "u^2 + 1 + u", "2*x + 3*y + 4*z + 5",
]


def _typed_order(text: str) -> list[str]:
    """Names and numbers of ``text`` in the order typed (pi and calls left out)."""
    toks = [t for t in tokenize.generate_tokens(StringIO(text.replace("^", "**")).readline)
            if t.type in (tokenize.NAME, tokenize.NUMBER)]
    out = []
    for k, tok in enumerate(toks):
        following = text.replace("^", "**")[tok.end[1]:tok.end[1] + 1]
        if tok.string == "exp" and following == "(":
            out.append("e")  # exp(u) is shown as e^u
        elif tok.string != "pi" and following != "(":
            out.append(tok.string)
    return out


def _shown_order(tex: str) -> list[str]:
    """Names and numbers of the first display of a LaTeX derivation, in reading order."""
    shown = re.search(r"\\\[(.*?)\\\]", tex, re.S).group(1)
    shown = re.sub(r"\\operatorname\{\w+\}", " ", shown)
    shown = re.sub(r"\\(?!frac)[A-Za-z]+", " ", shown)  # commands other than \frac
    shown = re.sub(r"\\frac", " ", shown)
    return re.findall(r"[A-Za-z]\w*|\d+(?:\.\d+)?", shown)


def test_the_terms_as_typed_are_tried_on_many_expressions() -> None:
    assert len(TYPED) >= 40


@pytest.mark.slow
@pytest.mark.parametrize("text", TYPED)
def test_the_derivation_shows_the_terms_as_typed(text: str) -> None:
    d = derive(text, sorted(s.name for s in parse_expression(text).free_symbols)[0])
    assert _shown_order(d.to_latex()) == _typed_order(text)


@pytest.mark.slow
def test_the_mse_term_is_shown_as_typed() -> None:
    d = derive("(y - (m*x + b))^2", ["m"], data=["x", "y"])
    header = d.to_text().split("Derivative with respect to")[0]
    assert "yᵢ - (m⋅xᵢ + b)" in header and "y - (m⋅x + b)" in header
    assert "-b - m" not in header


# -- rewrites from what was typed ----------------------------------------------------------

REWRITES = [
    ("sqrt(x^2)", ["the square root of a square is an absolute value, sqrt(u^2) = |u|"]),
    ("log(exp(x)) + x^2", ["the logarithm undoes the exponential, ln(e^u) = u"]),
    ("exp(2*log(x))", ["e to a multiple of a logarithm is a power, e^(k ln u) = u^k"]),
    ("log(x, 2)", ["change of base, log_b(u) = ln(u)/ln(b)"]),
    ("log2(x) + sin(pi/6)*x", ["a function of a constant has an exact value",
                              "change of base, log_b(u) = ln(u)/ln(b)"]),
    ("0.044715*x^3 + x", ["a decimal is an exact fraction"]),
    ("y - (m*x + b)", ["multiply out the minus sign in front of the brackets"]),
]


def _rewrites(root):
    out = []
    while root.rule == "rewrite" and root.identity in IDENTITY_NAMES:
        out.append(root)
        root = root.substep
    return out, root


@pytest.mark.slow
@pytest.mark.parametrize("text, names", REWRITES, ids=[t for t, _ in REWRITES])
def test_parse_time_simplifications_are_named_verified_steps(text, names) -> None:
    from conftest import assert_every_step_true

    d = derive(text, "x")
    rewrites, below = _rewrites(d["x"])
    assert [step.identity for step in rewrites] == names
    assert rewrites[0].expr is d.shown and below.expr == d.expression
    for before, after in zip(rewrites, rewrites[1:]):
        assert before.rewritten is after.expr
    x, m, b, y = sympy.symbols("x m b y", real=True)
    for step in rewrites:  # each rewrite is an identity: equal at points
        for value in (0.7, 2.3):
            point = {x: value, m: 0.3, b: -1.1, y: 0.9}
            assert abs(complex((step.expr - step.rewritten).subs(point).evalf())) < 1e-12
    assert_every_step_true(d["x"])


@pytest.mark.slow
def test_decimals_print_as_typed() -> None:
    d = derive("0.5*x*(1 + tanh(sqrt(2/pi)*(x + 0.044715*x^3)))", "x")
    header = d.to_text().split("Derivative with respect to")[0]
    assert "0.044715" in header and "0.5" in header and "8943" not in header
    assert "0.044715" in d.to_latex().split(r"\paragraph")[0]
    step = d["x"]
    assert step.identity == "a decimal is an exact fraction"
    assert sympy.Rational(8943, 200000) in step.rewritten.atoms(sympy.Rational)


@pytest.mark.slow
def test_typed_brackets_survive_every_printer() -> None:
    from calculus_ml.render.html import mathml

    typed = parse("y - (m*x + b)").typed
    tags = re.sub(r"<[^>]+>", "", mathml(typed))
    assert tags.replace("\u2062", "") == "y-(mx+b)"  # MathML: a negative term keeps its brackets
    assert sympy.sstr(typed, order="none") == "y - (m*x + b)"


@pytest.mark.slow
def test_a_greek_hyperparameter_is_passed_by_its_name() -> None:
    from calculus_ml import Loss

    loss = Loss("(y - (m x + b))^2", ["m", "b"], ["x", "y"], regularization="λ m²")
    lam, m = sympy.symbols("lam m", real=True)
    assert loss.gradient()[m].has(lam)
