"""Result objects display themselves: a short ``repr``, and HTML (MathML), Markdown and LaTeX
for Jupyter; and in a real notebook run by ``nbconvert`` (slow)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sympy

import calculus_ml as cm
from calculus_ml import losses

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def mse():
    return losses.get("mse")


def shows_itself(obj, *needles: str) -> None:
    assert "\n" not in repr(obj) and len(repr(obj)) < 200
    markup, md, tex = obj._repr_html_(), obj._repr_markdown_(), obj._repr_latex_()
    assert ("<math" in markup or "<strong>" in markup) and "<script" not in markup
    assert tex.startswith("$$") and tex.endswith("$$")
    for needle in needles:
        assert needle in markup and needle in md


def test_results_are_the_dict_of_derivatives_and_display_as_equations():
    d = cm.derive("4*x^2*y + 3*x + y", ["x", "y"])
    x, y = d.variables
    assert d.results == {v: sympy.diff(d.expression, v) for v in (x, y)}
    shows_itself(d.results)
    assert d.results._repr_html_().count("<math") == 2
    assert r"\frac{\partial}{\partial x}" in d.results._repr_latex_()


@pytest.mark.slow
def test_a_gradient_displays_itself(mse):
    gradient = mse.gradient()
    assert set(gradient) == set(mse.variables)
    shows_itself(gradient)


@pytest.mark.slow
def test_the_closed_form_and_convexity_display_themselves(mse):
    solution = mse.closed_form()
    shows_itself(solution)
    assert repr(solution).startswith("<ClosedForm of mse")
    verdict = mse.convexity()
    assert verdict.verdict == "convex" and repr(verdict).startswith("<Convexity: convex")
    assert verdict._repr_html_().startswith("<p><strong>Convex.</strong>")
    assert verdict._repr_markdown_().startswith("**Convex.**")


def test_a_derivation_bundle_has_every_format():
    d = cm.derive("(3*x^2 + 10*x)^3", "x")
    bundle = d._repr_mimebundle_()
    assert "<details" in bundle["text/html"] and "<style>" in bundle["text/html"]
    assert len(bundle["text/plain"]) < 200


NOTEBOOK = [
    "import sys; sys.path.insert(0, {root!r})\nimport calculus_ml as cm\nfrom calculus_ml import losses",
    'cm.derive("(3*x^2 + 10*x)^3", "x")',
    'L = losses.get("mse"); L.closed_form()',
    "L.convexity()",
    "L.gradient()",
    'cm.derive("4*x^2*y + 3*x + y", ["x", "y"]).results',
]


@pytest.mark.slow
def test_a_notebook_shows_maths_not_raw_reprs(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("nbconvert")
    pytest.importorskip("ipykernel")
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import ExecutePreprocessor

    try:
        KernelSpecManager().get_kernel_spec("python3")
    except NoSuchKernel:
        pytest.skip("no python3 Jupyter kernel")
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(code.format(root=str(ROOT))) for code in NOTEBOOK]
    ExecutePreprocessor(timeout=300, kernel_name="python3").preprocess(
        notebook, {"metadata": {"path": str(tmp_path)}})
    results = [out for cell in notebook.cells[1:] for out in cell.outputs
               if out.output_type == "execute_result"]
    assert len(results) == len(NOTEBOOK) - 1
    for out in results:
        shown = out.data["text/html"]
        assert "<math" in shown or "<strong>" in shown
        assert len(out.data["text/plain"]) < 200
        assert not re.search(r"SolutionStep\(|Convexity\(verdict=|Fact\(label=", shown)
    assert "<details" in results[0].data["text/html"]
    page, _ = HTMLExporter().from_notebook_node(notebook)
    assert page.count("<details") >= 1 and "Closed form for mse" in page
