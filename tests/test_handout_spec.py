"""Handout specs: a mistake names the file, the key and the problem; a good spec builds."""

from __future__ import annotations

import pytest

from calculus_ml import handout
from calculus_ml.errors import SpecError
from calculus_ml.handout import writers
from calculus_ml.handout.spec import load

GOOD = """
title = "T"
[data]
x = [1, 2, 3]
y = [2, 4, 7]
[[section]]
heading = "H"
loss = "mse"
text = "Best slope {solve:m}."
"""


@pytest.mark.parametrize("old, new, key, problem", [
    ('heading = "H"', 'heading = "H"\ncolour = "red"', "section[1].colour", "unknown key"),
    ('loss = "mse"', 'expression = "__import__(\'os\').system(\'echo pwned\')"',
     "section[1].expression", "bad expression"),
    ('loss = "mse"', 'expression = "x**"', "section[1].expression", "bad expression"),
    ("x = [1, 2, 3]\n", "", "data", "missing x"),
    ('loss = "mse"', 'loss = "msee"', "section[1].loss", "unknown loss"),
    ("{solve:m}", "{solve:q}", "section[1].text", "name one of m, b"),
    ("{solve:m}", "{fit:m}", "section[1].text", "needs fit"),
    ("{solve:m}", "{wobble}", "section[1].text", "unknown placeholder"),
    ("{solve:m}", "{solve:m", "section[1].text", "unmatched"),
    ("{solve:m}", "{math:1 +}", "section[1].text", "bad expression"),
    ("{solve:m}", "{value:m=1}", "section[1].text", "must give b, m"),
    ("y = [2, 4, 7]", "y = [2, 4]", "data", "different lengths"),
    ("y = [2, 4, 7]", 'y = [2, 4, "a"]', "data.y[3]", "finite number"),
    ('title = "T"', "", "title", "missing"),
    ('loss = "mse"', 'loss = "mse"\nshow = "everything"', "section[1].show", "must be one of"),
    ("{solve:m}.\"", '{solve:m}."\n[[section.plot]]\nkind = "pie"', "section[1].plot[1].kind",
     "must be one of"),
    ("{solve:m}.\"", '{solve:m}."\n[[section.plot]]\nkind = "loss_history"', "section[1].plot[1]",
     "give fit"),
    ('loss = "mse"', 'loss = "mse"\nfit = { learnin_rate = 0.1 }', "section[1].fit.learnin_rate",
     "unknown key"),
    ("{solve:m}.\"", '{solve:m}."\n[[section.plot]]\nkind = "cost_curve"\nxlim = [5, 1]',
     "section[1].plot[1].xlim", "must be [low, high]"),
    ("{solve:m}.\"", '{solve:m}."\n[[section.plot]]\nkind = "tangent"\nat = 1',
     "section[1].plot[1].kind", "needs an expression"),
    ("x = [1, 2, 3]\ny = [2, 4, 7]", 'csv = "../secret.csv"', "data.csv", "inside the spec's folder"),
    ("x = [1, 2, 3]\ny = [2, 4, 7]", 'csv = "nothere.csv"', "data.csv", "cannot read"),
    ('loss = "mse"', 'loss = "ridge"', "section[1].set", "give a value for lam"),
])
def test_invalid_spec_names_file_key_and_problem(tmp_path, old, new, key, problem):
    assert old in GOOD
    spec = tmp_path / "bad.toml"
    spec.write_text(GOOD.replace(old, new, 1))
    with pytest.raises(SpecError) as caught:
        handout.build(spec)
    message = str(caught.value)
    assert message.startswith(f"{spec}: {key}:") and problem in message, message


def test_invalid_toml_and_failing_fit(tmp_path):
    spec = tmp_path / "bad.toml"
    spec.write_text("title = \n")
    with pytest.raises(SpecError, match="bad.toml: not valid TOML"):
        load(spec)
    spec.write_text(GOOD.replace('text = "Best slope {solve:m}."',
                                 "fit = { learning_rate = 10.0, max_iter = 50 }"))
    with pytest.raises(SpecError, match=r"bad.toml: section\[1\]\.fit: .*diverged"):
        handout.build(spec)


def test_the_good_spec_builds(tmp_path):
    spec = tmp_path / "good.toml"
    spec.write_text(GOOD)
    text = writers.write_markdown(handout.build(spec).document)
    assert "Best slope 2.5." in text
