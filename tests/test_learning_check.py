"""Checking a learner's work: verdicts, misconceptions, the first wrong step, the check command.

Oracles: every wrong answer below is built by hand from its textbook mistake (with
``sympy.diff`` for the parts done right), never by the package's own wrong-derivation generator;
values at counterexamples are recomputed with SymPy.
"""

from __future__ import annotations

import pytest
import sympy

from calculus_ml import ExpressionError, check_answer, check_steps
from calculus_ml.cli import main
from calculus_ml.learning.misconceptions import CATALOGUE, IDS

x, y, m, b, n = sympy.symbols("x y m b n", real=True)


def _d(expr, var=x):
    return sympy.diff(expr, var)


def _sympy(text: str) -> sympy.Expr:
    """Test data (never user input) read by SymPy, in the real symbols."""
    return sympy.sympify(text.replace("^", "**"), locals={"x": x})


def _outer_only(f, inner):
    """f′(g(x)) with the inner derivative forgotten."""
    u = sympy.Symbol("u", real=True)
    return _d(f(u), u).subs(u, inner)


WRONG = [
    ("chain_inner_forgotten", (3 * x**2 + 10 * x) ** 3, x, _outer_only(lambda u: u**3, 3 * x**2 + 10 * x)),
    ("chain_inner_forgotten", sympy.sin(x**2 + 1), x, sympy.cos(x**2 + 1)),
    ("chain_inner_forgotten", sympy.exp(5 * x), x, sympy.exp(5 * x)),
    ("power_not_lowered", x**5, x, 5 * x**5),
    ("power_not_lowered", 3 * x**4 + x, x, 12 * x**4 + 1),
    ("power_not_multiplied", x**7 - 2 * x, x, x**6 - 2),
    ("product_of_derivatives", x**3 * sympy.exp(x), x, 3 * x**2 * sympy.exp(x)),
    ("product_of_derivatives", x**2 * sympy.cos(x), x, -2 * x * sympy.sin(x)),
    ("quotient_order", x**2 / (x + 3), x, (x**2 * 1 - 2 * x * (x + 3)) / (x + 3) ** 2),
    ("quotient_sign", sympy.sin(x) / x, x, (sympy.cos(x) * x + sympy.sin(x)) / x**2),
    ("sign_lost", (y - (m * x + b)) ** 2, m, 2 * (y - (m * x + b)) * x),
    ("sign_lost", (5 - 2 * x) ** 3, x, 6 * (5 - 2 * x) ** 2),
    ("constant_dropped", 7 * x**3, x, 3 * x**2),
    ("constant_dropped", 4 * sympy.sin(x), x, sympy.cos(x)),
    ("constant_not_zero", x**3 + 5, x, 3 * x**2 + 5),
    ("constant_not_zero", sympy.sin(x) - 2, x, sympy.cos(x) + 1),
    ("exp_misremembered", sympy.exp(x) + x**2, x, x * sympy.exp(x - 1) + 2 * x),
    ("log_misremembered", sympy.log(x) + x, x, 1 / sympy.log(x) + 1),
    ("trig_sign", sympy.cos(x), x, sympy.sin(x)),
    ("trig_sign", sympy.sin(x) + x**2, x, -sympy.cos(x) + 2 * x),
    ("wrong_variable", m * x**2 + b, m, 2 * m * x),
    ("wrong_variable", x**2 * y + y**3, x, x**2 + 3 * y**2),
]


def test_every_misconception_has_a_wrong_answer_below_and_a_unique_id():
    assert {case[0] for case in WRONG} == set(IDS)
    assert len(IDS) == len(set(IDS))


@pytest.mark.slow
@pytest.mark.parametrize("mistake, expr, var, wrong", WRONG,
                         ids=[f"{c[0]}-{k}" for k, c in enumerate(WRONG)])
def test_wrong_answers_are_refuted_and_named(mistake, expr, var, wrong):
    verdict = check_answer(expr, wrong, str(var))
    assert not verdict.correct and verdict.misconception == mistake
    point = verdict.counterexample
    here = {s: point.point[s] for s in point.point}
    assert sympy.N(_d(expr, var).subs(here) - point.expected) == pytest.approx(0, abs=1e-6)
    assert sympy.N(wrong.subs(here) - point.answer) == pytest.approx(0, abs=1e-6)
    assert abs(sympy.N(point.expected - point.answer)) > 1e-9


@pytest.mark.slow
@pytest.mark.parametrize("entry", CATALOGUE, ids=IDS)
def test_the_gallery_examples_are_detected(entry):
    expression, var, wrong = entry.example
    assert check_answer(expression, wrong, var).misconception == entry.id


RIGHT = [
    ("(3*x^2 + 10*x)^3", "3*(3*x^2 + 10*x)^2*(6*x + 10)"),  # as the chain rule gives it
    ("(3*x^2 + 10*x)^3", "162*x^5 + 1350*x^4 + 3600*x^3 + 3000*x^2"),  # expanded
    ("(3*x^2 + 10*x)^3", "162*x^5 + 1350*x^4 + 3600*x^3 + 3000*x"),  # a typo: wrong
    ("(x + 1)^2", "2*x + 2"),  # expanded
    ("x^2 + 2*x + 1", "2*(x + 1)"),  # factored
    ("sin(x)^2", "sin(2*x)"),  # a trig identity
    ("sin(x)*cos(x)", "cos(2*x)"),
    ("log(x^2)", "2/x"),
    ("abs(x)", "sign(x)"),  # a kinked function: agreed away from the kink
]


@pytest.mark.slow
@pytest.mark.parametrize("expr, answer", RIGHT)
def test_equivalent_forms_are_accepted(expr, answer):
    truth = sympy.simplify(_d(_sympy(expr)) - _sympy(answer)) == 0
    verdict = check_answer(expr, answer, "x")
    assert verdict.correct == truth  # the oracle decides, including the deliberately wrong one
    assert verdict.method in ("symbolic", "numeric")


def test_a_right_answer_verdict_renders_everywhere():
    verdict = check_answer("x^2", "2*x", "x")
    assert verdict and verdict.counterexample is None and verdict.misconception is None
    assert verdict.method == "symbolic"
    assert "✓" in verdict.to_text() and verdict.to_dict()["correct"] is True
    for shown in (verdict.to_latex(), verdict.to_markdown(), verdict.to_html(),
                  verdict._repr_mimebundle_()["text/html"]):
        assert "2 x" in shown or "<mn>2</mn>" in shown


@pytest.mark.slow
def test_over_data_the_one_over_n_is_checked():
    mse = "(y - (m*x + b))^2"
    assert check_answer(mse, "-2/n*(y - (m*x + b))*x", "m", data=["x", "y"]).correct
    dropped = check_answer(mse, "-2*(y - (m*x + b))*x", "m", data=["x", "y"])
    assert not dropped.correct and dropped.misconception == "constant_dropped"


@pytest.mark.parametrize("answer", ["3*z", "2*x +", "__import__('os')"])
def test_bad_answers_are_expression_errors(answer):
    with pytest.raises(ExpressionError):
        check_answer("x^2", answer, "x")


# -- the first wrong step -------------------------------------------------------------------

CHAIN = ["3*(3*x^2 + 10*x)^2*(6*x + 10)",
         "(6*x + 10)*(27*x^4 + 180*x^3 + 300*x^2)",
         "162*x^5 + 1350*x^4 + 3600*x^3 + 3000*x^2",
         "6*x^2*(27*x^3 + 225*x^2 + 600*x + 500)"]


def _corrupted(k: int) -> list[str]:
    steps = list(CHAIN)
    steps[k] = f"-({steps[k]})"
    return steps


@pytest.mark.slow
@pytest.mark.parametrize("k", range(len(CHAIN)))
def test_the_first_wrong_step_is_found_at_every_position(k):
    f = (3 * x**2 + 10 * x) ** 3
    for text in CHAIN:  # the oracle: each line of the chain is the derivative
        assert sympy.expand(_sympy(text) - _d(f)) == 0
    report = check_steps("(3*x^2 + 10*x)^3", _corrupted(k), "x")
    assert report.first_wrong == k and not report.correct
    assert [s.correct for s in report.steps] == [j != k for j in range(len(CHAIN))]
    if k == 0:
        assert report.rule is None or report.rule in IDS
    else:
        assert report.rule == "sign_flipped" and report.steps[k].follows is False
        point = report.counterexample
        assert point.answer == -point.expected


@pytest.mark.slow
def test_a_forgotten_inner_derivative_in_the_first_line_is_named():
    report = check_steps("(3*x^2+10*x)^3", ["3*(3*x^2+10*x)^2", "3*(3*x^2+10*x)^2*(6*x+10)"],
                         "x")
    assert report.first_wrong == 0 and report.rule == "chain_inner_forgotten"
    assert report.steps[1].correct and report.steps[1].follows is False


def test_steps_must_be_a_list():
    with pytest.raises(ExpressionError):
        check_steps("x^2", "2*x", "x")


# -- the command line ---------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("argv, status", [
    (["check", "x^3", "--wrt", "x", "--answer", "3*x^2"], 0),
    (["check", "cos(x)", "--answer", "sin(x)"], 1),
    (["check", "x^3", "--steps", "3*x^2", "3*x*x"], 0),
    (["check", "x^3", "--steps", "3*x^2", "3*x"], 1),
    (["check", "x^3", "--answer", "3*x^", "--wrt", "x"], 2),
    (["check", "x^3", "--answer", "3*q"], 2),
    (["check", "x^3"], 2),
    (["check", "x*y", "--answer", "y"], 2),
])
def test_check_exit_status(capsys, argv, status):
    assert main(argv) == status
    out, err = capsys.readouterr()
    if status == 2:
        assert not out and len(err.strip().splitlines()) == 1
    else:
        assert ("✓" if status == 0 else "✗") in out


def test_derive_hints_prints_every_step_when_not_on_a_terminal(capsys):
    assert main(["derive", "sin(x^2)", "--hints"]) == 0
    out = capsys.readouterr().out
    assert "1. The outer function is sin(u) with u = x^2: which rule?" in out
    assert "→ chain rule: d/dx[sin(x²)] = 2⋅x⋅cos(x²)" in out


def test_a_partial_hint_reveals_a_partial_derivative(capsys):
    assert main(["derive", "x^2*y", "--wrt", "x", "--hints"]) == 0
    assert "→ constant multiple rule: ∂/∂x[x²⋅y] = 2⋅x⋅y" in capsys.readouterr().out


@pytest.mark.slow
def test_a_handout_section_can_be_a_worksheet(tmp_path):
    from calculus_ml import handout
    from calculus_ml.errors import SpecError
    from calculus_ml.handout import document as doc

    built = handout.build("11-check-your-work")
    blocks = built.document.blocks
    titles = [b.text[0].text for b in blocks if isinstance(b, doc.Heading)]
    assert titles.index("Questions") < titles.index("Answer key")
    kinds = [type(b).__name__ for b in blocks]
    key = next(k for k, b in enumerate(blocks) if isinstance(b, doc.Heading)
               and b.text[0].text == "Answer key")
    assert kinds[key - 1] == "PageBreak" and kinds.count("PageBreak") == 2
    from calculus_ml.handout.writers import write_html, write_latex

    assert write_latex(built.document).count("\\clearpage") == 2
    assert write_html(built.document).count("break-before: page") == 2
    assert sum(isinstance(b, doc.Steps) for b in blocks) == 1 + 4  # the example and the key
    spec = tmp_path / "bad.toml"
    spec.write_text('title = "t"\n[[section]]\nheading = "h"\n'
                    'worksheet = { rule = "chain", level = 9 }\n', encoding="utf-8")
    with pytest.raises(SpecError, match="worksheet.level"):
        handout.build(spec)
    many = 'worksheet = { rule = "power", n = 20 }\n'
    spec.write_text('title = "t"\n' + ('[[section]]\nheading = "h"\n' + many) * 2,
                    encoding="utf-8")
    with pytest.raises(SpecError, match="40 exercises in all"):
        handout.build(spec)


def test_hints_on_a_terminal_wait_for_enter_before_each_step(monkeypatch, capsys):
    from calculus_ml import derive
    from calculus_ml.cli.learning import run_hints

    presses = []
    monkeypatch.setattr("builtins.input", lambda *a: presses.append(capsys.readouterr().out))
    rest = run_hints(derive("sin(x^2)"), interactive=True)
    assert len(presses) == 3  # one Enter per step
    assert "which rule?" in presses[0] and "→" not in presses[0]  # the question, not the step
    assert "→ chain rule" in presses[1] and "→ power rule" in rest


def test_a_bare_variable_as_an_answer_is_refuted_at_an_exact_point():
    verdict = check_answer("x^2", "x", "x")
    assert verdict.counterexample.point == {x: 2} and verdict.counterexample.answer == 2
    assert verdict.counterexample.expected == 4 and repr(verdict) == "<Verdict: wrong (symbolic)>"


def test_a_shown_value_is_never_parsed_from_text():
    import numpy as np

    from calculus_ml.learning.compare import shown_value

    assert shown_value(sympy.Rational(1, 2)) == "1/2"
    assert shown_value(np.int64(3)) == "3"
    assert shown_value(sympy.sqrt(2)) == "1.41421"
    assert float(shown_value(np.float64(2) / 3)) == pytest.approx(2 / 3, rel=1e-14)
    with pytest.raises(TypeError):
        shown_value("__import__('os').system('true')")
