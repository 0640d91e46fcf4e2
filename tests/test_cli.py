"""The command line: output formats, the demo, and one-line errors with exit status 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import sympy

from calculus_ml.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_derive_json_result_is_the_derivative(capsys):
    code, out, err = run(capsys, "derive", "(3*x^2 + 10*x)^3", "--wrt", "x", "--format", "json")
    assert code == 0 and err == ""
    doc = json.loads(out)
    x = sympy.Symbol("x", real=True)
    result = sympy.sympify(doc["derivatives"][0]["result_srepr"])
    assert sympy.expand(result - sympy.diff((3 * x**2 + 10 * x) ** 3, x)) == 0


def test_derive_partial_derivatives_and_data(capsys):
    code, out, _ = run(
        capsys, "derive", "(y - (m*x + b))^2", "--wrt", "m", "b", "--data", "x", "y",
        "--reduce", "sum", "--format", "json",
    )
    assert code == 0
    doc = json.loads(out)
    assert [d["wrt"] for d in doc["derivatives"]] == ["m", "b"]
    assert doc["derivatives"][0]["steps"]["rule"] in {"rewrite", "simplify", "sum_over_data"}
    assert "sum_over_data" in out


@pytest.mark.parametrize("fmt, marker", [
    ("text", "chain rule"), ("latex", r"\textbf{Chain rule.}"), ("markdown", "**Chain rule.**"),
])
def test_formats(capsys, fmt, marker):
    code, out, _ = run(capsys, "derive", "(0.5*x + 3)^2", "--wrt", "x", "--format", fmt)
    assert code == 0 and marker in out


@pytest.mark.slow
def test_demo_derives_the_mse(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "demo")
    assert code == 0
    assert "sum over the data" in out and "Derivative with respect to m" in out


@pytest.mark.parametrize("argv", [
    ["derive", "__import__('os').system('echo pwned')", "--wrt", "x"],
    ["derive", "x**2", "--wrt", "z"],
    ["derive", "x + y", "--wrt", "x", "--data", "x"],
    ["derive", "9**9**9 * x", "--wrt", "x"],
    ["derive", "", "--wrt", "x"],
    ["derive", "x*y"],  # two names: say which (with one, --wrt may be omitted)
    ["derive", "x^2", "--wrt", "x", "--format", "pdf"],
    ["frobnicate"],
])
def test_user_errors_are_one_line_and_exit_2(capsys, argv):
    code = None
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    assert code == 2
    assert out == "" and "pwned" not in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_python_dash_m_help_shows_examples():
    proc = subprocess.run(
        [sys.executable, "-m", "calculus_ml", "derive", "--help"],
        capture_output=True, text=True, check=True,
    )
    assert "examples:" in proc.stdout and "--wrt" in proc.stdout


@pytest.mark.slow
def test_bad_input_in_a_real_process_has_no_traceback():
    proc = subprocess.run(
        [sys.executable, "-m", "calculus_ml", "derive", "x.__class__", "--wrt", "x"],
        capture_output=True, text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
