"""LaTeX output: ``align*`` environments for documents, ``aligned`` for notebooks."""

from __future__ import annotations

import re

import sympy
from sympy.printing.latex import LatexPrinter

from .base import (
    StepView,
    SubexpressionCache,
    derivative,
    is_partial,
    keep_order,
    memoized_printer,
    views,
)

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
        d = r"\partial" if is_partial(expr.expr) else "d"
        tex = self._print(expr.expr)
        for var, count in reversed(expr.variable_count):
            power = "" if count == 1 else f"^{{{count}}}"
            tex = rf"\frac{{{d}{power}}}{{{d} {self._print(var)}{power}}}\left[{tex}\right]"
        return tex


@memoized_printer
def latex(expr: sympy.Basic) -> str:
    """LaTeX of ``expr`` through SymPy's printer (derivatives bracketed)."""
    return _Printer().doprint(expr)


def equation(parts: tuple[sympy.Basic, ...]) -> str:
    """``a &= b \\ &= c`` rows aligned on the equals signs."""
    first, *rest = (latex(p) for p in parts)
    return first + "".join(f" &= {p}" if k == 0 else f" \\\\\n  &= {p}" for k, p in enumerate(rest))


def _step_rows(view: StepView, *, document: bool) -> list[str]:
    step = view.step
    indent = rf"\hspace*{{{1.5 * view.depth:g}em}}" if view.depth else ""
    if view.repeated:
        label = rf"\textbf{{{escape_text(step.title.capitalize())}}} (derived above)"
        body = equation((view.equation[0], step.result))
    else:
        label = rf"\textbf{{{escape_text(step.title.capitalize())}.}} {escape_text(step.explanation)}"
        label += "".join(
            rf" {escape_text(f.label.capitalize())}: ${latex(f.math)}$." for f in view.facts
        )
        body = equation(view.equation)
    text_row = rf"\intertext{{{indent}{label}}}" if document else rf"&{indent}\text{{{label}}} \\"
    return [text_row, rf"{indent}{body} \\"]


def _environment(root, name: str, *, document: bool) -> str:
    rows = [row for view in views(root) for row in _step_rows(view, document=document)]
    rows[-1] = rows[-1].removesuffix(r" \\")
    return f"\\begin{{{name}}}\n" + "\n".join(rows) + f"\n\\end{{{name}}}"


def render(derivation) -> str:
    """LaTeX for a document body (needs ``amsmath``): a heading line and an ``align*`` per variable."""
    parts = [rf"Differentiate \[ {latex(derivation.expression)} \]"]
    if derivation.term is not None:
        parts.append(rf"where each data point contributes \[ {latex(derivation.term)} \]")
    for var, root in derivation:
        parts.append(rf"\paragraph{{Derivative with respect to ${latex(var)}$.}}")
        parts.append(_environment(root, "align*", document=True))
        parts.append(rf"\[ {latex(derivative(derivation.expression, var))} = {latex(root.result)} \]")
    return "\n\n".join(parts) + "\n"


def render_math(derivation) -> str:
    """Display math for Jupyter: ``$$\\begin{aligned}...\\end{aligned}$$``."""
    blocks = [_environment(root, "aligned", document=False) for _, root in derivation]
    return "$$" + r" \\[1em] ".join(blocks) + "$$"


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def render_solution(solution) -> str:
    """A closed-form solution (:class:`~calculus_ml.second_order.ClosedForm`) for a document
    body: each step's sentence, its equations in display math, then its symbols' meaning."""
    parts = [rf"\paragraph{{Closed form for {escape_text(solution.loss.name)}.}}"]
    for step in solution.steps:
        rows = [rf"\textbf{{{escape_text(_upper_first(step.title))}.}} {escape_text(step.explanation)}"]
        rows += [rf"\[ {latex(eq)} \]" for eq in step.equations]
        rows += [rf"{escape_text(_upper_first(f.label))}: ${latex(f.math)}$." for f in step.facts]
        parts.append("\n".join(rows))
    return "\n\n".join(parts) + "\n"
