"""Long LaTeX equations broken across lines (``render.latex_lines``); the typeset check is the
PDF margin test in ``test_handout.py``."""

from __future__ import annotations

import re

import pytest

from calculus_ml.parsing import parse_expression
from calculus_ml.render.latex import latex
from calculus_ml.render.latex_lines import break_chain, lines, pieces, width

LEFT, RIGHT = re.compile(r"\\left(?![a-z])"), re.compile(r"\\right(?![a-z])")


@pytest.fixture(scope="module")
def logistic():
    """One student's log-loss and a long derivative-like product: nested brackets, sigmoids."""
    term = "-y*log(sigmoid(w*x + b)) - (1 - y)*log(1 - sigmoid(w*x + b))"
    product = ("(sigmoid(w*x + b) - y)*x*(1 - sigmoid(w*x + b)) + (1 - y)*sigmoid(w*x + b)*x"
               " - y*(1 - sigmoid(w*x + b))*x + log(1 + exp(w*x + b)) - w*x*y")
    return latex(parse_expression(term)), latex(parse_expression(product))


def balanced(row: str) -> bool:
    depth = 0
    for match in re.finditer(r"\\left(?![a-z])|\\right(?![a-z])", row):
        depth += 1 if match.group() == r"\left" else -1
        if depth < 0:
            return False
    return depth == 0 and row.count("{") - row.count(r"\{") == row.count("}") - row.count(r"\}")


def test_pieces_join_to_the_expression_and_cut_only_between_terms(logistic):
    tex, _ = logistic
    assert "".join(pieces(tex, 1000)) == tex  # wide enough: cut at top-level terms only
    cut = pieces(tex, 1000)
    assert len(cut) == 2 and cut[1].lstrip().startswith("-")
    assert pieces("- a - b + c", 1000) == ["- a ", "- b ", "+ c"]  # a leading sign is not a cut
    assert pieces(r"x^{- 1} + e^{- z}", 1000) == ["x^{- 1} ", "+ e^{- z}"]


def test_lines_fit_and_every_row_balances(logistic):
    for tex in logistic:
        for limit in (12, 20, 30):
            rows = lines(tex, limit)
            assert all(balanced(row) for row in rows)
            stripped = [re.sub(r"\\left\. |\\right\.| \\right\.", "", r) for r in rows]
            assert re.sub(r"\s", "", "".join(stripped)) == re.sub(r"\s", "", tex)
            assert all(width(r) <= limit + 1e-9 for r in rows if len(pieces(r, limit)) > 1)


def test_width_orders_what_it_measures():
    assert width("x") < width("x + y") < width("x + y + z")
    assert width(r"\frac{a + b + c}{2}") < width("a + b + c + 2")  # stacked, not side by side
    assert width(r"\sum_{i=1}^{n} x_i") < width(r"\sum i=1 n x i")  # limits stacked


def test_break_chain_keeps_a_short_chain_on_one_aligned_row():
    assert break_chain(["a", "b", "c"]) == "a &= b \\\\\n  &= c"


def test_break_chain_puts_a_long_left_side_on_its_own_rows(logistic):
    tex, grad = logistic
    rows = break_chain([rf"\frac{{d}}{{dw}}\left[{tex}\right]", grad], 30).split(" \\\\\n  ")
    assert len(rows) > 2 and all(r.startswith("&") for r in rows)
    assert any(r.startswith(r"&\quad = ") for r in rows)
    assert all(balanced(r) for r in rows)
