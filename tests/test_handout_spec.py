"""Handout specs: a mistake names the file, the key and the problem; a good spec builds."""

from __future__ import annotations

import os

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
    ('loss = "mse"', 'loss = { params = ["m"], data = ["x"] }', "section[1].loss.expression",
     "missing"),
    ('heading = "H"', 'heading = "H\\n# Title"', "section[1].heading", "must be one line"),
    ('loss = "mse"', 'loss = "mse"\nfit = { random_state = "abc" }', "section[1].fit.random_state",
     "must be a whole number from 0 to"),
    ('loss = "mse"', 'loss = "mse"\nfit = { max_iter = 30000 }', "section[1].fit.max_iter",
     "from 1 to 20,000"),
    ("{solve:m}", "{slope:m@m=1e999,b=0}", "section[1].text", "not a finite number"),
    ("{solve:m}", "{value:m=1e10,b=0}", "section[1].text", "m must be between"),
    ("{solve:m}", "{math:D(J, pi)}", "section[1].text", "pi is not a variable"),
    ("{solve:m}", "{forward:m+0@m=1,b=0}", "section[1].text", "other than 0"),
    ("{solve:m}", "{forward:m@m=1,b=0}", "section[1].text", "a step and a point"),
    ("{solve:m}", "{forward_bias:q+1@m=1,b=0}", "section[1].text", "gives no value of q"),
    ("{solve:m}", "{forward:m+1e12@m=1,b=0}", "section[1].text", "the step must be at most"),
    ("{solve:m}", "{forward:m+1e999@m=1,b=0}", "section[1].text", "other than 0"),
    ("{solve:m}", "{forward:m+1e-999@m=1,b=0}", "section[1].text", "other than 0"),
    ("y = [2, 4, 7]", "y = [2, 4, 7]\nw = [" + "1, " * 10_001 + "]", "data.w", "at most 10,000"),
    ("x = [1, 2, 3]\ny = [2, 4, 7]", r'csv = "..\\data\\x.csv"', "data.csv",
     "inside the spec's folder"),
    ("x = [1, 2, 3]\ny = [2, 4, 7]", 'csv = "C:/x.csv"', "data.csv", "inside the spec's folder"),
    ('loss = "mse"', 'loss = "logistic"', "data",
     "logistic needs y to be 0 or 1; found y = 2, 4, 7"),
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


def test_bound_of_a_loss_that_is_not_quadratic(tmp_path):
    spec = tmp_path / "bound.toml"
    spec.write_text(GOOD.replace('loss = "mse"', 'loss = "mae"').replace("{solve:m}", "{bound}"))
    with pytest.raises(SpecError, match=r"section\[1\]: \{bound\}: this loss has no largest"):
        handout.build(spec)


@pytest.mark.parametrize("link, problem", [
    ("/etc/passwd", "leads outside the spec's folder"),
    ("/dev/zero", "leads outside the spec's folder"),
    ("loop.csv", "cannot read"),
])
def test_csv_links_may_not_leave_the_folder(tmp_path, link, problem):
    (tmp_path / "loop.csv").symlink_to("data.csv") if link == "loop.csv" else None
    (tmp_path / "data.csv").symlink_to(link)
    spec = tmp_path / "s.toml"
    spec.write_text(GOOD.replace("x = [1, 2, 3]\ny = [2, 4, 7]", 'csv = "data.csv"'))
    with pytest.raises(SpecError, match=problem) as caught:
        load(spec)
    assert "root:" not in str(caught.value)


def test_csv_inside_the_folder_must_be_a_regular_file(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "real.csv").write_text("x,y\n1,2\n2,4\n3,7\n")
    (tmp_path / "data" / "link.csv").symlink_to("real.csv")  # a link inside is fine
    os.mkfifo(tmp_path / "data" / "fifo.csv")
    spec = tmp_path / "s.toml"
    for name, problem in (("data/link.csv", None), ("data/fifo.csv", "not a regular file"),
                          ("data", "not a regular file")):
        spec.write_text(GOOD.replace("x = [1, 2, 3]\ny = [2, 4, 7]", f'csv = "{name}"'))
        if problem is None:
            assert list(load(spec).data["y"]) == [2, 4, 7]
        else:
            with pytest.raises(SpecError, match=f"data.csv: '{name}' is {problem}"):
                load(spec)


def test_names_and_messages_are_bounded(tmp_path):
    spec = tmp_path / "x}\\typeout{INJECTED}.toml"
    spec.write_text(GOOD)
    with pytest.raises(SpecError, match="is not a handout name"):
        load(spec)
    spec = tmp_path / "long.toml"
    spec.write_text(GOOD.replace('loss = "mse"', f'expression = "x"\nwrt = "{"q" * 2000}"'))
    with pytest.raises(SpecError) as caught:
        load(spec)
    assert len(str(caught.value)) <= 300 and "…" in str(caught.value)
