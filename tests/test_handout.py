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
import tomllib
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import setuptools

from calculus_ml import handout
from calculus_ml.cli import main
from calculus_ml.datasets import lesson_data
from calculus_ml.errors import SpecError
from calculus_ml.handout import writers
from calculus_ml.handout.output import SUFFIX

GOLDEN = Path(__file__).with_name("golden")
GOLDEN_HANDOUTS = ("03-chain-rule", "06-step-sizes")
REGEN = os.environ.get("CALCULUS_ML_REGEN_GOLDEN") == "1"
PDFLATEX = shutil.which("pdflatex")
NO_PDFLATEX = "pdflatex is not installed (apt-get install texlive-latex-base)"
PDFTOTEXT = shutil.which("pdftotext")
NO_PDFTOTEXT = "pdftotext is not installed (apt-get install poppler-utils)"
PAGE = re.compile(r'width="([\d.]+)" height="([\d.]+)"')
WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">'
                  r"(.*?)</word>", re.DOTALL)
POINTS = {"cm": 72 / 2.54, "mm": 72 / 25.4, "in": 72.0, "pt": 72 / 72.27, "bp": 1.0}
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
    assert numbered == [f"{k:02d}" for k in range(1, 12)]
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
    if not PDFTOTEXT:
        pytest.skip(f"PDF margins not checked: {NO_PDFTOTEXT}")
    margin = text_margin(tmp_path / f"{name}.tex")
    outside = words_outside(tmp_path / f"{name}.pdf", margin)
    assert not outside, f"{len(outside)} words cross the {margin:.1f}pt margins: {outside[:5]}"


def text_margin(tex: Path) -> float:
    """The margin of the text block in PostScript points, read from the geometry package's
    options in the document's preamble."""
    match = re.search(r"\\usepackage\[margin=([\d.]+)(cm|mm|in|pt|bp)\]\{geometry\}",
                      tex.read_text(encoding="utf-8"))
    assert match, "the preamble sets no margin"
    return float(match.group(1)) * POINTS[match.group(2)]


def words_outside(pdf: Path, margin: float) -> list[tuple[int, str, float, float]]:
    """Every word of ``pdf`` (``pdftotext -bbox``) whose box is not inside the text block's
    width, a margin of ``margin`` points from each side of its page, or not on the paper (the
    page number sits below the text block, in the bottom margin): (page, word, x min, x max).
    Half a point of slack for rounding."""
    run = subprocess.run([PDFTOTEXT, "-bbox", str(pdf), "-"], capture_output=True, timeout=60,
                         check=True)
    out = []
    # not read as XML: a word may hold control characters pdftotext does not escape
    pages = run.stdout.decode("utf-8", "replace").split("<page ")[1:]
    assert pages, f"{pdf.name} has no pages"
    for number, page in enumerate(pages, 1):
        width, height = (float(v) for v in PAGE.match(page).groups())
        words = WORD.findall(page)
        assert words, f"page {number} has no words"
        for x0, y0, x1, y1, text in words:
            x0, y0, x1, y1 = float(x0), float(y0), float(x1), float(y1)
            if x0 < margin - 0.5 or x1 > width - margin + 0.5 or y0 < 0 or y1 > height:
                out.append((number, text, x0, x1))
    return out


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


def test_step_sizes_walks_the_lessons_own_numbers():
    """The step-sizes handout quotes the lesson's slopes, update and forward difference; NumPy
    recomputes each from ``lesson_data()`` and J(b) = Σ(y − (43x + b))²."""
    handout_ = built("06-step-sizes")
    data = lesson_data()
    x, y = data["x"], data["y"]
    ctx = next(c for c in handout_.contexts if c.section.walk)
    assert np.array_equal(ctx.data["x"], x) and np.array_equal(ctx.data["y"], y)  # the CSV

    def cost(b):
        return np.sum((y - (43 * x + b)) ** 2)

    def slope(b):
        return -2 * np.sum(y - (43 * x + b))

    delta, n = 0.001, len(x)
    forward = (cost(3 + delta) - cost(3)) / delta
    assert np.isclose(forward - slope(3), n * delta, atol=1e-6)  # the bias is n·δ, exactly
    text = writers.write_markdown(handout_.document)
    assert f"at $b = 3$ the slope is {slope(3):.2f}" in text and f"{slope(3):.2f}" == "-232.76"
    assert f"at $b = 6$ it is {slope(6):.2f}" in text and f"{slope(6):.2f}" == "-52.76"
    assert f"to {3 - 0.01 * slope(3):.2f}." in text and f"{3 - 0.01 * slope(3):.2f}" == "5.33"
    assert f"It printed {forward:.2f}, not {slope(3):.2f}" in text and f"{forward:.2f}" == "-232.73"
    assert f"too large by {n * delta:.2f} for these {n} points" in text
    b = [row[1] for row in ctx.walk]  # each step shrinks the gap to the minimum by 1 − 2nη
    bottom = np.mean(y - 43 * x)
    assert np.allclose(np.diff(bottom - np.array(b)) / (bottom - np.array(b[:-1])), -2 * n * 0.01)


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


@pytest.mark.slow
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


# -- the index page ------------------------------------------------------------------------------


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self._href = None

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._href, self.text = dict(attrs)["href"], ""

    def handle_data(self, data):
        if self._href is not None:
            self.text += data

    def handle_endtag(self, tag):
        if tag == "a":
            self.links.append((self.text, self._href))
            self._href = None


def spec_title(name: str) -> str:
    with open(ROOT / "derivations" / f"{name}.toml", "rb") as spec:
        return tomllib.load(spec)["title"]


def check_index(folder: Path, names: list[str], formats: tuple[str, ...]) -> None:
    """``index.html`` links every handout by the title its spec gives it, to each format's
    file; ``index.md`` to its Markdown file."""
    parser = _Links()
    parser.feed((folder / "index.html").read_text(encoding="utf-8"))
    assert all((folder / href).is_file() for _, href in parser.links)
    links = iter(parser.links)
    for name in names:
        assert next(links) == (spec_title(name), f"{name}{SUFFIX[formats[0]]}")
        assert [next(links)[1] for _ in formats[1:]] == [f"{name}{SUFFIX[f]}" for f in formats[1:]]
    if (folder / "index.md").exists():
        md = re.findall(r"^- \[(.*?)\]\((.*?)\)$", (folder / "index.md").read_text(), re.M)
        assert md == [(spec_title(n), f"{n}.md") for n in names]


def test_index_links_every_handout_by_its_title(tmp_path):
    """Handouts with their titles and no content: only the index is under test."""
    from calculus_ml.handout.document import Document

    names = ["01-derivative-as-slope", "08-logistic-regression", "demo"]
    stand_ins = [SimpleNamespace(name=n, document=Document(spec_title(n), ()), figures=[])
                 for n in names]
    written = handout.write(stand_ins, tmp_path, ["markdown", "html", "latex"], index=True)
    assert {p.name for p in written} >= {"index.md", "index.html"}
    check_index(tmp_path, names, ("html", "latex"))
    with pytest.raises(handout.HandoutError, match="index"):
        handout.write([SimpleNamespace(name="index", document=Document("T", ()), figures=[])],
                      tmp_path / "x", "html", index=True)


@pytest.mark.slow
def test_cli_all_writes_the_index(tmp_path):
    assert main(["handout", "--all", "--format", "html", "--out", str(tmp_path)]) == 0
    check_index(tmp_path, handout.names(), ("html",))
