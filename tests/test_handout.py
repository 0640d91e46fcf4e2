"""Handouts: every spec in every format, golden files, pdflatex, finding specs, the CLI.

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

import pytest
import setuptools

from calculus_ml import handout
from calculus_ml.cli import main
from calculus_ml.errors import SpecError
from calculus_ml.handout import writers
from calculus_ml.handout.output import SUFFIX

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
    numbered = [n[:2] for n in names if n[:2].isdigit()]
    assert len(set(numbered)) == len(numbered)  # one spec per lesson number
    assert {f"{k:02d}" for k in range(1, 10)} <= set(numbered) and "11" in numbered
    assert "demo" in names
    assert {p.stem for p in (ROOT / "derivations").glob("*.toml")} == set(names)


@pytest.mark.slow
@pytest.mark.parametrize("name", handout.names())
def test_spec_builds_in_every_format(name, tmp_path):
    formats = ["markdown", "latex", "html"] + (["pdf"] if PDFLATEX else [])
    h = built(name)
    written = handout.write(h, tmp_path, formats)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in written)
    for fmt in formats:
        assert (tmp_path / f"{name}{SUFFIX[fmt]}").is_file()
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


@pytest.mark.parametrize("name", GOLDEN_HANDOUTS)
@pytest.mark.parametrize("fmt", ["markdown", "latex"])
def test_golden(name, fmt):
    writer = {"markdown": writers.write_markdown, "latex": writers.write_latex}[fmt]
    text = writer(built(name).document)
    path = GOLDEN / f"{name}{SUFFIX[fmt]}"
    if REGEN:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        pytest.skip(f"regenerated {path.name}")
    assert path.is_file(), f"no golden file {path}: run with CALCULUS_ML_REGEN_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8"), (
        f"{path.name} changed; if intended: CALCULUS_ML_REGEN_GOLDEN=1 python -m pytest "
        "tests/test_handout.py -k golden")


@pytest.mark.slow
@pytest.mark.skipif(PDFLATEX is None, reason=NO_PDFLATEX)
@pytest.mark.parametrize("name", GOLDEN_HANDOUTS)
def test_latex_compiles_with_pdflatex(name, tmp_path):
    handout.write(built(name), tmp_path, "latex")
    run = subprocess.run([PDFLATEX, "-interaction=nonstopmode", "-halt-on-error",
                          f"{name}.tex"], cwd=tmp_path, capture_output=True, timeout=120)
    assert run.returncode == 0, run.stdout.decode(errors="replace")[-3000:]
    assert (tmp_path / f"{name}.pdf").read_bytes()[:5] == b"%PDF-"


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


# -- the command line ------------------------------------------------------------------------------


def test_cli_handout_and_errors(tmp_path, capsys):
    assert main(["handout", "chain-rule", "--format", "markdown", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "03-chain-rule.md").is_file()
    assert main(["handout", "--list"]) == 0 and "09-regularization" in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text('title = "T"\n[[section]]\nheading = "H"\nexpression = "x**"\n')
    assert main(["handout", str(bad), "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bad.toml: section[1].expression: bad expression" in err
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
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
