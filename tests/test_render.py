"""Renderers: every format shows every step, and the JSON rebuilds the exact expressions."""

from __future__ import annotations

import json
import re

import pytest
import sympy

import calculus_ml as cm
from calculus_ml.functions import to_elementary
from calculus_ml.render.base import views
from calculus_ml.steps.verify import concretize_sums, equal_numerically

CASES = [
    ("(3*x^2 + 10*x)^3", ["x"], {}),
    ("4*x^2*y + 3*x + y", ["x", "y"], {}),
    ("sin(x^2) + cos(x^2)", ["x"], {}),
    ("x^x + sqrt(x) + max(x, 0)", ["x"], {}),
    ("(y - (m*x + b))^2", ["m", "b"], {"data": ["x", "y"]}),
]


@pytest.fixture(params=CASES, ids=[c[0] for c in CASES])
def derivation(request):
    expr, wrt, options = request.param
    return cm.derive(expr, wrt, **options)


def _rebuild(srepr: str) -> sympy.Expr:
    # srepr is our own output, made of SymPy class names only
    return sympy.sympify(srepr)


def _walk_json(step: dict):
    yield step
    for sub in step["substeps"]:
        yield from _walk_json(sub)


def test_json_rebuilds_true_steps(derivation):
    doc = json.loads(derivation.to_json())
    assert _rebuild(doc["expression_srepr"]) == derivation.expression
    assert [d["wrt"] for d in doc["derivatives"]] == [v.name for v in derivation.variables]
    for entry in doc["derivatives"]:
        var = sympy.Symbol(entry["wrt"], real=True)
        assert _rebuild(entry["result_srepr"]) == derivation.results[var]
        for node in _walk_json(entry["steps"]):
            expr, result = _rebuild(node["expr_srepr"]), _rebuild(node["result_srepr"])
            node_var = next(s for s in expr.free_symbols | {var} if s.name == node["var"])
            oracle = concretize_sums(sympy.diff(to_elementary(expr), node_var))
            assert equal_numerically(concretize_sums(to_elementary(result)), oracle), node["rule"]
            assert node["explanation"] and node["latex"]
            assert set(node) >= {
                "rule", "var", "expr", "expr_srepr", "result", "result_srepr",
                "explanation", "latex", "substeps",
            }


def test_json_tree_matches_step_tree(derivation):
    doc = json.loads(derivation.to_json())
    for (var, root), entry in zip(derivation, doc["derivatives"]):
        assert [n["rule"] for n in _walk_json(entry["steps"])] == [s.rule for s in root.walk()]


def test_text_shows_each_step_once_indented_by_depth(derivation):
    text = str(derivation)
    for _, root in derivation:
        for view in views(root):
            marker = "    " * view.depth + "• " + view.step.title
            assert marker in text
    assert "Traceback" not in text


def test_markdown_has_a_bullet_per_step_at_its_depth(derivation):
    md = derivation.to_markdown()
    bullets = re.findall(r"^( *)- \*\*", md, flags=re.M)
    expected = [v.depth for _, root in derivation for v in views(root)]
    assert [len(b) // 2 for b in bullets] == expected
    assert md.count("$$") % 2 == 0


def test_latex_is_balanced_with_a_paragraph_per_step(derivation):
    tex = derivation.to_latex()
    assert tex.count(r"\begin{align*}") == tex.count(r"\end{align*}")
    assert tex.count(r"\[") == tex.count(r"\]")
    assert len(re.findall(r"\\left(?![a-z])", tex)) == len(re.findall(r"\\right(?![a-z])", tex))
    depth = 0
    for ch in re.sub(r"\\[{}]", "", tex):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0
    assert depth == 0
    rows = tex.count(r"\par}")
    assert rows == sum(len(views(root)) for _, root in derivation)


def test_repeated_subderivation_is_shown_once():
    d = cm.derive("sin(x^2) + cos(x^2)", "x")
    all_views = views(d["x"])
    repeated = [v for v in all_views if v.repeated]
    assert repeated and all(v.step.expr == sympy.Symbol("x", real=True) ** 2 for v in repeated)
    assert "derived above" in str(d) and "derived above" in d.to_markdown()


def test_jupyter_protocol():
    d = cm.derive("(0.5*x + 3)^2", "x")
    bundle = d._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/latex", "text/markdown", "text/html"}
    assert bundle["text/latex"].startswith("$$\\begin{aligned}")
    assert bundle["text/latex"].endswith("\\end{aligned}$$")
    assert "\n" not in repr(d) and len(repr(d)) < 200
    assert d._repr_markdown_() == d.to_markdown()


def test_latex_escapes_text():
    from calculus_ml.render.latex import escape_text

    assert escape_text("a_b & 50% {x}") == r"a\_b \& 50\% \{x\}"
