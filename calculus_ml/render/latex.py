"""LaTeX output: ``align*`` environments for documents, ``aligned`` for notebooks."""

from __future__ import annotations

import re

import sympy
from sympy.printing.latex import LatexPrinter

from .base import SubexpressionCache, cached_printer, is_partial, keep_order
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


def equation(parts: tuple[sympy.Basic, ...]) -> str:
    """``a &= b \\ &= c`` rows aligned on the equals signs."""
    first, *rest = (latex(p) for p in parts)
    return first + "".join(f" &= {p}" if k == 0 else f" \\\\\n  &= {p}" for k, p in enumerate(rest))


class LatexWalker(StringWalker):
    """LaTeX: a derivation's steps as rows of an alignment, a sentence row above each
    equation; a closed form's steps as paragraphs, facts after their equations.

    ``document`` chooses ``align*`` with ``\\intertext`` (a document body) or ``aligned`` with
    ``\\text`` (display maths for a notebook).
    """

    words = staticmethod(escape_text)

    def __init__(self, *, document: bool = True):
        self.environment = "align*" if document else "aligned"
        self.intertext = document

    def strong(self, text):
        return rf"\textbf{{{text}}}"

    def inline(self, expr):
        return f"${latex(expr)}$"

    def given(self, label, expr):
        return rf"{label} \[ {latex(expr)} \]"

    def section(self, heading, var, steps, result):
        return "\n\n".join([
            rf"\paragraph{{{heading} ${latex(var)}$.}}",
            steps,
            r"\[ " + " = ".join(latex(p) for p in result) + r" \]",
        ])

    def nest(self, steps):
        rows = "\n".join(text for _, text in steps).removesuffix(r" \\")
        return f"\\begin{{{self.environment}}}\n{rows}\n\\end{{{self.environment}}}"

    def closed_form(self, heading, steps):
        return "\n\n".join([rf"\paragraph{{{self.words(heading)}.}}", *steps]) + "\n"

    def _render_Step(self, entry: Entry) -> str:
        indent = rf"\hspace*{{{1.5 * entry.depth:g}em}}" if entry.depth else ""
        head = self.head(entry)
        if self.intertext:
            text = rf"\intertext{{{indent}{head}}}"
        else:
            text = rf"&{indent}\text{{{head}}} \\"
        return "\n".join([text] + [rf"{indent}{equation(c)} \\" for c in entry.equations])

    def _render_SolutionStep(self, entry: Entry) -> str:
        rows = [self.titled(entry)] + [rf"\[ {equation(c)} \]" for c in entry.equations]
        return "\n".join(rows + [self.fact(f) for f in entry.facts])


def render(derivation) -> str:
    """LaTeX for a document body (needs ``amsmath``): a heading line and an ``align*`` per variable."""
    return LatexWalker().derivation(derivation)


def render_math(derivation) -> str:
    """Display math for Jupyter: ``$$\\begin{aligned}...\\end{aligned}$$``."""
    walker = LatexWalker(document=False)
    return "$$" + r" \\[1em] ".join(walker.steps(root) for _, root in derivation) + "$$"


def render_solution(solution) -> str:
    """A closed-form solution (:class:`~calculus_ml.analysis.ClosedForm`) for a document
    body: each step's sentence, its equations in display math, then its symbols' meaning."""
    return LatexWalker().solution(solution)
