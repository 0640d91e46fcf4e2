"""Levels of detail: what each shows of the verified step tree, read independently here."""

from __future__ import annotations

import re

import pytest

import calculus_ml as cm
from calculus_ml.errors import ExpressionError
from calculus_ml.render.walk import entries
from calculus_ml.steps import rules as r

CASES = [
    ("4*x^5 - 3*x^4 + 7*x^2 - 9*x + 12", ["x"], {}),
    ("4*x^2*y + 3*x + y", ["x", "y"], {}),
    ("(y - (m*x + b))^2", ["m", "b"], {"data": ["x", "y"]}),
    ("sin(x^2) + cos(x^2)", ["x"], {}),
]


def tree(step: r.Step, depth: int = 0, seen=None):
    """``(step, depth, parent)`` in reading order, from ``Step.substeps`` (a repeated subtree once)."""
    seen = set() if seen is None else seen
    repeated = id(step) in seen
    seen.add(id(step))
    if isinstance(step, r.SimplifyRule):
        yield from tree(step.substep, depth, seen)
        yield step, depth
        return
    yield step, depth
    if not repeated:
        for sub in step.substeps:
            yield from tree(sub, depth + 1, seen)


def trivial(step: r.Step) -> bool:
    return step.rule in ("constant", "variable")


def kept(root: r.Step) -> list[r.Step]:
    """The steps shown below ``full``: every one but a trivial leaf under a parent."""
    return [s for s, depth in tree(root) if depth == 0 or not trivial(s)]


@pytest.fixture(params=CASES, ids=[c[0] for c in CASES], scope="module")
def derivation(request):
    expr, wrt, options = request.param
    return cm.derive(expr, wrt, **options)


@pytest.mark.parametrize("detail", ["standard", "brief"])
def test_trivial_leaves_fold_into_their_parent(derivation, detail):
    for _, root in derivation:
        steps = list(tree(root))
        shown = entries(root, detail)
        assert [e.node for e in shown] == kept(root)
        folded = [s for e in shown for s in e.folded]
        assert sorted(map(id, folded)) == sorted(id(s) for s, d in steps if d and trivial(s))
        for entry in shown:
            assert all(leaf in entry.node.substeps for leaf in entry.folded)


def test_full_shows_every_step(derivation):
    for _, root in derivation:
        assert [e.node for e in entries(root, "full")] == [s for s, _ in tree(root)]
        assert not any(e.folded for e in entries(root, "full"))


def test_brief_is_one_line_per_rule(derivation):
    out = derivation.to_text(detail="brief", width=200)
    bullets = re.findall(r"^ *• (.+)$", out, re.M)
    shown = sum(len(kept(root)) for _, root in derivation)
    assert len(bullets) == shown
    assert all(" = " in line or "derived above" in line for line in bullets)


def test_levels_only_change_the_display(derivation):
    texts = {d: derivation.to_text(detail=d, width=80) for d in ("full", "standard", "brief")}
    lines = {d: len(t.splitlines()) for d, t in texts.items()}
    assert lines["full"] >= lines["standard"] > lines["brief"]
    checked = derivation.verify()  # every node against sympy.diff, whatever is shown
    distinct = {id(s) for _, root in derivation for s in root.walk()}
    assert sum(checked.values()) >= len(distinct) - len(derivation)


def test_standard_is_the_default_and_the_sentence_tells_the_leaf():
    d = cm.derive("x + 12", "x")
    assert d.detail == "standard"
    text = " ".join(d.to_text(width=80).split())
    assert "constant rule" not in text and "variable rule" not in text
    assert "The derivative of the constant 12 is 0." in text
    assert "constant rule" in d.to_text(detail="full", width=80)
    assert "12</mn>" in d.to_html() and "Constant rule" not in d.to_html()


def test_a_bad_level_is_refused():
    with pytest.raises(ExpressionError, match="detail"):
        cm.derive("x^2", "x", detail="terse")


def test_a_handout_spec_names_its_level(tmp_path):
    from calculus_ml.errors import SpecError
    from calculus_ml.handout import spec

    body = '\n[[section]]\nheading = "Slope"\nexpression = "4*x + 15"\nwrt = "x"\n'
    good, bad = tmp_path / "good.toml", tmp_path / "bad.toml"
    good.write_text(f'title = "T"\ndetail = "brief"\n{body}')
    bad.write_text(f'title = "T"\ndetail = "terse"\n{body}')
    assert spec.load(good).detail == "brief"
    with pytest.raises(SpecError, match="detail"):
        spec.load(bad)


def test_the_command_line_level_reaches_latex(capsys):
    from calculus_ml.cli import main

    expr = "3*x^2 + 10*x + 4"
    root = cm.derive(expr, "x", detail="full")["x"]
    steps = {}
    for detail in ("brief", "full"):
        assert main(["derive", expr, "--format", "latex", "--detail", detail]) == 0
        steps[detail] = capsys.readouterr().out.count(r"\par}")
    assert steps == {"brief": len(kept(root)), "full": len(list(tree(root)))}
    assert steps["brief"] < steps["full"]


def test_the_command_line_offers_the_same_levels():
    from calculus_ml.cli import parser
    from calculus_ml.derivation import DETAILS

    assert parser.DETAILS == DETAILS
