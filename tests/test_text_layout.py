"""Text that fits: equations broken into rows at the terminal's width, an ASCII form for a
stream that cannot encode Unicode, and every handout's derivations within 80 columns."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sympy

import calculus_ml as cm
from calculus_ml.render import text
from calculus_ml.render.rows import Bracket, layout
from calculus_ml.render.text import equation_width

ROOT = Path(__file__).resolve().parents[1]
x, y = sympy.symbols("x y", real=True)
POLY = sum(k * x**k for k in range(1, 30)) - 7 * y
CHAINS = [
    (sympy.Derivative(POLY, x), sympy.Add(*(sympy.Derivative(t, x) for t in POLY.args),
                                          evaluate=False), POLY.diff(x)),
    (sympy.Symbol("J"), POLY),
    (sympy.exp(x) * sympy.sin(x) / (1 + x**2), sympy.Integer(0)),
]


def signed(row_pieces):
    """Rebuild each side of the chain from its rows: ``(operator, piece)`` in order."""
    sides, current = [], None
    for operator, piece in row_pieces:
        expr = piece.derivative if isinstance(piece, Bracket) else piece
        if operator in ("", "="):
            current = [expr]
            sides.append(current)
        else:
            current.append(-expr if operator == "-" else expr)
    return [sympy.Add(*terms) for terms in sides]


@pytest.mark.parametrize("width", [30, 50, 80, 2000])
@pytest.mark.parametrize("chain", CHAINS, ids=["sum rule", "long sum", "short"])
def test_rows_rebuild_the_equation_and_fit(chain, width):
    rows = layout(chain, equation_width, width)
    pieces = [p for row in rows.rows for p in row]
    assert [sympy.simplify(a - b) for a, b in zip(signed(pieces), chain)] == [0] * len(chain)
    widest_atom = max(equation_width(p.derivative if isinstance(p, Bracket) else p)
                      for _, p in pieces if not isinstance(p, Bracket))
    printed = text.equation(chain, width).split("\n")
    assert all(len(line) <= max(width, widest_atom + 6) for line in printed)
    if width >= 2000:
        assert len(rows.rows) == 1


def test_sides_keep_a_shared_baseline_in_every_row():
    printed = text.equation((sympy.Symbol("J"), POLY / 3 + x / (1 + y)), 40).split("\n")
    assert max(map(len, printed)) <= 40
    assert sum("=" in line for line in printed) == 1


def test_ascii_text_is_ascii_and_keeps_the_maths():
    d = cm.derive("sigmoid(w*x)^2 + sqrt(x)", ["w"])
    out = d.to_text(ascii=True, width=80)
    out.encode("ascii")
    assert "sigma" in out or "sigmoid" in out
    assert max(map(len, out.splitlines())) <= 80


def test_the_terminal_width_is_the_default(monkeypatch):
    monkeypatch.setenv("COLUMNS", "50")
    d = cm.derive("4*x^5 - 3*x^4 + 7*x^2 - 9*x + 12", "x")
    assert text.terminal_width() == 50
    assert max(map(len, d.to_text().splitlines())) <= 50


def handout_derivations():
    from calculus_ml.handout import spec

    for path in sorted((ROOT / "derivations").glob("*.toml")):
        for section in spec.load(path).sections:
            if section.loss is not None and section.show in ("steps", "result", "matrix"):
                yield f"{path.stem}:{section.key}", section.loss.derive()
            elif section.expression is not None:
                yield f"{path.stem}:{section.key}", cm.derive(section.expression, list(section.wrt))


@pytest.mark.slow
@pytest.mark.parametrize("detail", ["full", "standard", "brief"])
def test_every_handout_derivation_fits_80_columns(detail):
    seen = 0
    for name, derivation in handout_derivations():
        wide = [line for line in derivation.to_text(detail=detail, width=80).splitlines()
                if len(line) > 80]
        assert not wide, (name, wide[:2])
        seen += 1
    assert seen >= 10


def run(*args: str, encoding: str = "utf-8", cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONIOENCODING": encoding, "COLUMNS": "80",
           "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "calculus_ml", *args], capture_output=True,
                          env=env, cwd=cwd, timeout=300)


@pytest.mark.slow
def test_the_demo_fits_80_columns(tmp_path):
    done = run("demo", "--out", "demo", cwd=tmp_path)
    assert done.returncode == 0, done.stderr.decode()[-1500:]
    shown = done.stdout.decode().splitlines()
    assert len(shown) > 100 and max(map(len, shown)) <= 80


def test_derive_prints_each_level_and_an_html_page(capsys):
    from calculus_ml.cli import main

    counts = {}
    for detail in ("full", "standard", "brief"):
        assert main(["derive", "3*x^2 + 10*x + 4", "--wrt", "x", "--detail", detail]) == 0
        counts[detail] = len(capsys.readouterr().out.splitlines())
    assert counts["full"] > counts["standard"] > counts["brief"]
    assert main(["derive", "3*x^2 + 10*x + 4", "--wrt", "x", "--format", "html"]) == 0
    page = capsys.readouterr().out
    assert page.startswith("<!DOCTYPE html>") and "<details" in page and "<math" in page


@pytest.mark.slow
@pytest.mark.parametrize("args, spelled", [
    (("derive", "(y - (m*x + b))^2", "--wrt", "m", "b", "--data", "x", "y"), ["/__,", "dm"]),
    (("derive", "--loss", "logistic", "--convexity"), ["d/dw[Sum(", "grad u grad u^T"]),
    (("losses",), ["y ~= sigma(w x + b)"]),
])
def test_a_cp1252_stream_gets_ascii_maths(args, spelled):
    done = run(*args, encoding="cp1252")
    assert done.returncode == 0, done.stderr.decode()[-1500:]
    shown = done.stdout.decode("cp1252")
    unicode = run(*args)
    assert unicode.returncode == 0
    assert len(shown.splitlines()) >= len(unicode.stdout.decode().splitlines()) // 2
    assert "?" not in shown  # every symbol spelled out: none left to the encoder's "?"
    for ascii_form in spelled:
        assert ascii_form in shown
