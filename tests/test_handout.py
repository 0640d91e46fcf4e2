"""Handouts: every spec in every format, golden files, pdflatex, spec errors, atomic writing.

Golden files live in ``tests/golden/``. After an intended change to the output, regenerate them
and review the diff::

    CALCULUS_ML_REGEN_GOLDEN=1 python -m pytest tests/test_handout.py -k golden
"""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import setuptools

from calculus_ml import handout
from calculus_ml.cli import main
from calculus_ml.errors import SpecError
from calculus_ml.handout_spec import load
from calculus_ml.render import document

GOLDEN = Path(__file__).with_name("golden")
GOLDEN_HANDOUTS = ("03-chain-rule", "06-step-sizes")
REGEN = os.environ.get("CALCULUS_ML_REGEN_GOLDEN") == "1"
PDFLATEX = shutil.which("pdflatex")
NO_PDFLATEX = "pdflatex is not installed (apt-get install texlive-latex-base)"
ROOT = Path(__file__).resolve().parents[1]

_BUILT: dict[str, handout.Handout] = {}


def built(name: str) -> handout.Handout:
    """Each handout is built once per test session."""
    if name not in _BUILT:
        _BUILT[name] = handout.build(name)
    return _BUILT[name]


def is_png(path: Path) -> bool:
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def is_svg(path: Path) -> bool:
    return ET.parse(path).getroot().tag == "{http://www.w3.org/2000/svg}svg"


def test_every_lesson_has_a_spec():
    names = handout.names()
    assert [n[:2] for n in names if n[:2].isdigit()] == [f"{k:02d}" for k in range(1, 10)]
    assert "demo" in names
    assert {p.stem for p in (ROOT / "derivations").glob("*.toml")} == set(names)


@pytest.mark.parametrize("name", handout.names())
def test_spec_builds_in_every_format(name, tmp_path):
    formats = ["markdown", "latex", "html"] + (["pdf"] if PDFLATEX else [])
    h = built(name)
    written = handout.write(h, tmp_path, formats)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in written)
    for fmt in formats:
        assert (tmp_path / f"{name}{handout_suffix(fmt)}").is_file()
    for stem, _ in h.figures:
        assert is_png(tmp_path / f"{stem}.png") and is_svg(tmp_path / f"{stem}.svg")
    if PDFLATEX:
        assert (tmp_path / f"{name}.pdf").read_bytes()[:5] == b"%PDF-"
    text = (tmp_path / f"{name}.md").read_text()
    assert not re.search(r"\{(?:(?:math|result|value|slope|fit|solve|walk):|expr\}|bound\})", text)
    for stem, _ in h.figures:  # every figure is linked
        assert f"{stem}.png" in text and f"{stem}.svg" in (tmp_path / f"{name}.html").read_text()
    if not PDFLATEX:
        pytest.skip(f"PDF not built: {NO_PDFLATEX}")


def handout_suffix(fmt: str) -> str:
    from calculus_ml.render.output import SUFFIX

    return SUFFIX[fmt]


@pytest.mark.parametrize("name", GOLDEN_HANDOUTS)
@pytest.mark.parametrize("fmt", ["markdown", "latex"])
def test_golden(name, fmt):
    writer = {"markdown": document.write_markdown, "latex": document.write_latex}[fmt]
    text = writer(built(name).document)
    path = GOLDEN / f"{name}{handout_suffix(fmt)}"
    if REGEN:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        pytest.skip(f"regenerated {path.name}")
    assert path.is_file(), f"no golden file {path}: run with CALCULUS_ML_REGEN_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8"), (
        f"{path.name} changed; if intended: CALCULUS_ML_REGEN_GOLDEN=1 python -m pytest "
        "tests/test_handout.py -k golden")


@pytest.mark.skipif(PDFLATEX is None, reason=NO_PDFLATEX)
@pytest.mark.parametrize("name", GOLDEN_HANDOUTS)
def test_latex_compiles_with_pdflatex(name, tmp_path):
    handout.write(built(name), tmp_path, "latex")
    run = subprocess.run([PDFLATEX, "-interaction=nonstopmode", "-halt-on-error",
                          f"{name}.tex"], cwd=tmp_path, capture_output=True, timeout=120)
    assert run.returncode == 0, run.stdout.decode(errors="replace")[-3000:]
    assert (tmp_path / f"{name}.pdf").read_bytes()[:5] == b"%PDF-"


# -- computed numbers ----------------------------------------------------------------------------


SLOPE_SPEC = """
title = "Slopes"
[[section]]
heading = "A parabola"
text = "At 3 the slope of {{math:f(x) = 3*x^2 - 11}} is {{slope:x={at}}} and the value {{value:x={at}}}."
expression = "3*x^2 - 11"
"""


@pytest.mark.parametrize("at, slope, value", [(3, "18", "16"), (4, "24", "37"), (0.5, "3", "-10.25")])
def test_narrative_numbers_are_computed(tmp_path, at, slope, value):
    spec = tmp_path / "slopes.toml"
    spec.write_text(SLOPE_SPEC.format(at=at))
    text = document.write_markdown(handout.build(spec).document)
    assert f"is {slope} and the value {value}." in text
    assert "$f{\\left(x \\right)} = 3 x^{2} - 11$" in text


def test_fit_and_walk_numbers_match_numpy():
    ctx = next(c for c in built("demo").contexts if c.s.fit is not None)
    x, y = ctx.data["x"], ctx.data["y"]
    slope, intercept = np.polyfit(x, y, 1)
    assert np.isclose(ctx.fit.params_["m"], slope, rtol=1e-6)
    assert np.isclose(ctx.solved["b"], intercept, rtol=1e-9)
    walk = next(c for c in built("06-step-sizes").contexts if c.s.walk).walk
    b = [row[1] for row in walk]
    assert b[0] == 0 and all(b[k] < b[k + 1] < 87.5 for k in range(len(b) - 1))  # halves the gap
    assert np.isclose(87.5 - b[1], (87.5 - b[0]) / 2)


def test_number_format():
    assert [handout.number(v) for v in (18, -875.0, 43.75, 1.4410377, 0.000264, 57656.25, 2e-7)] \
        == ["18", "-875", "43.75", "1.441", "0.000264", "57656", "2.000e-07"]
    assert handout.number(1.4410377, ".2f") == "1.44" and handout.number(3.7, "d") == "4"


# -- finding specs -------------------------------------------------------------------------------


def test_find_by_name_short_name_and_path():
    path = handout.find("03-chain-rule")
    assert handout.find("chain-rule") == path and handout.find(str(path)) == path
    with pytest.raises(SpecError, match="no such handout .*03-chain-rule"):
        handout.find("nope")


def test_setup_cfg_ships_every_package_and_the_specs():
    """``packages`` is a list (so ``derivations/`` can ship as ``calculus_ml._derivations``):
    it must name every package on disk."""
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    listed = cfg["options"]["packages"].split()
    found = setuptools.find_packages(str(ROOT), include=["calculus_ml*"])
    assert sorted(listed) == sorted(found + ["calculus_ml._derivations"])
    assert "calculus_ml._derivations = derivations" in cfg["options"]["package_dir"]
    assert "*.toml" in cfg["options.package_data"]["calculus_ml._derivations"]


# -- invalid specs ---------------------------------------------------------------------------------

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


def test_a_value_that_is_not_real(tmp_path):
    spec = tmp_path / "root.toml"
    spec.write_text('title = "T"\n[[section]]\nheading = "H"\nexpression = "sqrt(x)"\n'
                    'text = "{value:x=-1}"\n')
    with pytest.raises(SpecError, match=r"root.toml: section\[1\]: f has no real value"):
        handout.build(spec)


def test_the_good_spec_builds(tmp_path):
    spec = tmp_path / "good.toml"
    spec.write_text(GOOD)
    text = document.write_markdown(handout.build(spec).document)
    assert "Best slope 2.5." in text


# -- writing ---------------------------------------------------------------------------------------


def test_failed_write_changes_nothing(tmp_path, monkeypatch):
    out = tmp_path / "out"
    first = handout.write(built("02-derivative-rules"), out, "html")
    good = first[0].read_text()

    def broken(doc):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(document, "write_markdown", broken)
    with pytest.raises(RuntimeError, match="disk on fire"):
        handout.write([built("02-derivative-rules"), built("03-chain-rule")], out,
                      ["html", "markdown"])
    assert [p.name for p in out.iterdir()] == ["02-derivative-rules.html"]  # no temp dir left
    assert first[0].read_text() == good


def test_pdf_without_pdflatex_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(handout.HandoutError, match="pdflatex.*texlive-latex-base"):
        handout.write(built("02-derivative-rules"), tmp_path / "out", "pdf")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


# -- the command line ------------------------------------------------------------------------------


def test_cli_handout_and_errors(tmp_path, capsys):
    assert main(["handout", "chain-rule", "--format", "markdown", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "03-chain-rule.md").is_file()
    assert main(["handout", "--list"]) == 0 and "09-regularization" in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text(GOOD.replace('loss = "mse"', 'expression = "x**"'))
    assert main(["handout", str(bad), "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bad.toml: section[1].expression: bad expression" in err
    assert not (tmp_path / "x").exists()


def test_demo_fits_prints_and_writes(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "Derivative with respect to m" in out
    assert "gradient descent:            y = 1.441 x + 102.5" in out
    assert "closed form (normal eqns.):  y = 1.441 x + 102.5" in out
    folder = tmp_path / "calculus_ml_demo"
    assert {"demo.html", "demo.md", "demo-fig1.png", "demo-fig1.svg"} <= {
        p.name for p in folder.iterdir()}
