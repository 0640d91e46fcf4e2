"""LaTeX output: a display per step for documents, one ``aligned`` for notebooks; long
equations broken across lines (:mod:`~calculus_ml.render.latex_lines`)."""

from __future__ import annotations

import re

import sympy
from sympy.printing.latex import LatexPrinter

from .base import SubexpressionCache, cached_printer, is_partial, keep_order
from .latex_lines import LINE_WIDTH, break_chain, fits
from .walk import Entry, StringWalker

_TEXT_ESCAPES = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "Σ": r"$\Sigma$",
    "σ": r"$\sigma$",
    "θ": r"$\theta$",
}
_ESCAPE_RE = re.compile("|".join(re.escape(k) for k in _TEXT_ESCAPES))


def escape_text(text: str) -> str:
    """Escape plain text for LaTeX text mode."""
    return _ESCAPE_RE.sub(lambda m: _TEXT_ESCAPES[m.group()], text)


class _Printer(SubexpressionCache, LatexPrinter):
    """SymPy's LaTeX printer, writing every derivative with brackets: ``d/dx[f]``.

    Without them ``\\frac{d}{dm} m x_i`` could be read as the derivative of ``m x_i``. A rule's
    sum of derivatives keeps the order of the terms it came from.
    """

    def _print_Add(self, expr, order=None):
        return super()._print_Add(expr, order=keep_order(expr, order))

    def _print_Derivative(self, expr):
        d = r"\partial" if is_partial(expr) else "d"
        tex = self._print(expr.expr)
        for var, count in reversed(expr.variable_count):
            power = "" if count == 1 else f"^{{{count}}}"
            tex = rf"\frac{{{d}{power}}}{{{d} {self._print(var)}{power}}}\left[{tex}\right]"
        return tex


@cached_printer
def latex(expr: sympy.Basic) -> str:
    """LaTeX of ``expr`` through SymPy's printer (derivatives bracketed)."""
    return _Printer().doprint(expr)


def equation(parts: tuple[sympy.Basic, ...], width: float = LINE_WIDTH) -> str:
    """``a &= b \\ &= c`` rows aligned on the equals signs, broken into more rows (at the
    top-level terms, :func:`~calculus_ml.render.latex_lines.break_chain`) when wider than
    ``width`` ems."""
    return break_chain([latex(p) for p in parts], width)


def display(parts: tuple[sympy.Basic, ...], width: float = LINE_WIDTH) -> str:
    """Display maths for a document body: ``\\[ a = b \\]`` when it fits on one line of
    ``width`` ems, else an ``align*`` of the rows of :func:`equation`."""
    tex = [latex(p) for p in parts]
    if fits(tex, width):
        return r"\[ " + " = ".join(tex) + r" \]"
    return "\\begin{align*}\n" + break_chain(tex, width) + "\n\\end{align*}"


class LatexWalker(StringWalker):
    """LaTeX: a derivation's steps, each a sentence and its equations broken to fit the line;
    a closed form's steps as paragraphs, facts after their equations.

    ``document`` chooses a paragraph per step, indented by its depth, and its own display
    (a document body: displays may break across pages) or one ``aligned`` with ``\\text``
    rows (display maths for a notebook).
    """

    words = staticmethod(escape_text)

    def __init__(self, *, document: bool = True):
        self.document_body = document

    def strong(self, text):
        return rf"\textbf{{{text}}}"

    def inline(self, expr):
        return f"${latex(expr)}$"

    def given(self, label, expr):
        return f"{label}\n{display((expr,))}"

    def section(self, heading, var, steps, result):
        return "\n\n".join([rf"\subsubsection*{{{heading} ${latex(var)}$}}", steps,
                            display(result)])

    def nest(self, steps):
        if self.document_body:
            return "\n\n".join(text for _, text in steps)
        rows = "\n".join(text for _, text in steps).removesuffix(r" \\")
        return f"\\begin{{aligned}}\n{rows}\n\\end{{aligned}}"

    def closed_form(self, heading, steps):
        return "\n\n".join([rf"\paragraph{{{self.words(heading)}.}}", *steps]) + "\n"

    def _render_Step(self, entry: Entry) -> str:
        indent = 1.5 * entry.depth
        head = self.head(entry)
        if self.document_body:
            skip = rf"\leftskip={indent:g}em " if indent else ""
            return "\n".join([rf"{{{skip}{head}\par}}"] + [display(c) for c in entry.equations])
        space = rf"\hspace{{{indent:g}em}}" if indent else ""  # MathJax has no \hspace*
        return "\n".join([rf"&{space}\text{{{head}}} \\"]
                         + [rf"{equation(c)} \\" for c in entry.equations])

    def _render_SolutionStep(self, entry: Entry) -> str:
        rows = [self.titled(entry)] + [display(c) for c in entry.equations]
        return "\n".join(rows + [self.fact(f) for f in entry.facts])


def render(derivation) -> str:
    """LaTeX for a document body (needs ``amsmath``): what is differentiated, then per variable
    a heading and its steps, each a paragraph and its display maths, at the derivation's level
    of detail."""
    return LatexWalker().derivation(derivation)


def render_math(derivation) -> str:
    """Display math for Jupyter: ``$$\\begin{aligned}...\\end{aligned}$$``, at the
    derivation's level of detail."""
    walker = LatexWalker(document=False)
    detail = getattr(derivation, "detail", "full")
    return "$$" + r" \\[1em] ".join(walker.steps(root, detail) for _, root in derivation) + "$$"


def render_solution(solution) -> str:
    """A closed-form solution (:class:`~calculus_ml.analysis.ClosedForm`) for a document
    body: each step's sentence, its equations in display math, then its symbols' meaning."""
    return LatexWalker().solution(solution)
