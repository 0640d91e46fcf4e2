"""The step walk: every format shows the same steps in the same order as the step tree reads."""

from __future__ import annotations

import re

import pytest

import calculus_ml as cm
from calculus_ml.losses import get
from calculus_ml.render import html, latex, markdown, text
from calculus_ml.render.walk import Walker, upper_first
from calculus_ml.steps import rules as r

docutils = pytest.importorskip("docutils")
from docutils import nodes  # noqa: E402

from calculus_ml import sphinxext  # noqa: E402

CASES = [
    ("(3*x^2 + 10*x)^3", ["x"], {}),
    ("sin(x^2) + cos(x^2)", ["x"], {}),  # a repeated sub-derivation and a tidying step
    ("x^x + sqrt(x) + max(x, 0)", ["x"], {}),
    ("(y - (m*x + b))^2", ["m", "b"], {"data": ["x", "y"]}),
    ("-y*log(sigmoid(w*x + b)) - (1 - y)*log(1 - sigmoid(w*x + b))", ["w"], {"data": ["x", "y"]}),
]


@pytest.fixture(params=CASES, ids=[c[0] for c in CASES])
def derivation(request):
    expr, wrt, options = request.param
    return cm.derive(expr, wrt, **options)


def reading_order(step: r.Step, depth: int = 0, seen: set | None = None):
    """``(step, depth, repeated)`` in reading order, walked here over ``Step.substeps``: a step
    before its substeps, a tidying step after the derivation it tidies, and a step met before
    without its substeps."""
    seen = set() if seen is None else seen
    repeated = id(step) in seen
    seen.add(id(step))
    if isinstance(step, r.SimplifyRule):
        yield from reading_order(step.substeps[0], depth, seen)
        yield step, depth, repeated
        return
    yield step, depth, repeated
    if not repeated:
        for sub in step.substeps:
            yield from reading_order(sub, depth + 1, seen)


def expected(derivation) -> list[tuple[str, int]]:
    return [(upper_first(s.title), depth) for _, root in derivation
            for s, depth, _ in reading_order(root)]


# How each format marks a step's title and depth.
def _text_steps(out: str):
    return [(upper_first(t), len(pad) // 4)
            for pad, t in re.findall(r"^( *)• (.+?)(?:: | \(derived above\))", out, re.M)]


def _markdown_steps(out: str):
    return [(t, len(pad) // 2) for pad, t in re.findall(r"^( *)- \*\*(.+?)\.?\*\*", out, re.M)]


def _html_steps(out: str):
    found = re.findall(r'<div class="step"(?: style="margin-left: ([\d.]+)em")?>\n'
                       r"<p><strong>(.+?)\.?</strong>", out)
    return [(t, round(float(em or 0) / 1.5)) for em, t in found]


def _latex_steps(out: str):
    found = re.findall(r"^\{(?:\\leftskip=([\d.]+)em )?\\textbf\{(.+?)\.?\}", out, re.M)
    return [(t, round(float(em or 0) / 1.5)) for em, t in found]


def _sphinx_steps(out: list[nodes.Node]):
    shown = []
    for top in out:
        for item in top.findall(nodes.list_item):
            if isinstance(item[0], nodes.paragraph):
                depth = sum(isinstance(a, nodes.bullet_list) for a in _ancestors(item)) - 1
                shown.append((item[0][0].astext().removesuffix("."), depth))
    return shown


def _ancestors(node: nodes.Node):
    while node.parent is not None:
        node = node.parent
        yield node


FORMATS = {
    "text": (text.render, _text_steps),
    "markdown": (markdown.render, _markdown_steps),
    "html": (html.render, _html_steps),
    "latex": (latex.render, _latex_steps),
    "sphinx": (lambda d: sphinxext.render_nodes(d, "steps"), _sphinx_steps),
}


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_visits_the_steps_in_reading_order(derivation, fmt, monkeypatch):
    visited = []
    visit = Walker.visit

    def record(self, entry):
        visited.append((entry.node, entry.depth, entry.repeated))
        return visit(self, entry)

    monkeypatch.setattr(Walker, "visit", record)
    render, _ = FORMATS[fmt]
    render(derivation)
    walked = [(id(s), d, rep) for _, root in derivation for s, d, rep in reading_order(root)]
    assert [(id(s), d, rep) for s, d, rep in visited] == walked


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_shows_each_step_at_its_depth(derivation, fmt):
    render, shown = FORMATS[fmt]
    assert shown(render(derivation)) == expected(derivation)


def test_jupyter_latex_has_a_text_row_per_step(derivation):
    rows = re.findall(r"&(?:\\hspace\{[\d.]+em\})?\\text\{\\textbf\{(.+?)\.?\}",
                      latex.render_math(derivation))
    assert rows == [title for title, _ in expected(derivation)]


@pytest.mark.slow
@pytest.mark.parametrize("render", [text.render_solution, latex.render_solution,
                                    markdown.render_solution, html.render_solution])
def test_closed_form_steps_are_visited_in_order(render, monkeypatch):
    solution = get("mse").closed_form()
    visited = []
    visit = Walker.visit

    def record(self, entry):
        visited.append((entry.node, entry.number))
        return visit(self, entry)

    monkeypatch.setattr(Walker, "visit", record)
    out = render(solution)
    assert visited == [(s, k) for k, s in enumerate(solution.steps, 1)]
    position = 0
    for step in solution.steps:  # each title shown, after the one before
        position = out.lower().find(step.title, position)
        assert position != -1, step.title


def test_a_rule_of_its_own_is_dispatched_by_class_name():
    class Marked(text.TextWalker):
        def _render_ChainRule(self, entry):
            return "CHAIN " * (entry.depth + 1)

    d = cm.derive("(3*x^2 + 10*x)^3", "x")
    out = Marked().derivation(d)
    chains = sum(isinstance(s, r.ChainRule) for s in d["x"].walk())
    assert out.count("CHAIN") == chains and "• power rule" in out
