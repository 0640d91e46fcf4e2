"""How result objects display themselves in Jupyter (``_repr_html_``, ``_repr_markdown_``,
``_repr_latex_``) and in a REPL (a short ``repr``): a derivation's results or a gradient, a
convexity verdict, a closed form.
"""

from __future__ import annotations

from collections.abc import Iterable

import sympy

from . import html, markdown
from .latex import equation, escape_text, latex
from .text import short

__all__ = ["equations_html", "equations_markdown", "equations_latex", "verdict_html",
           "verdict_markdown", "verdict_latex", "solution_html", "solution_latex", "short"]

Pair = tuple[sympy.Basic, sympy.Basic]


def _styled(body: str) -> str:
    return html.styled(f'<div class="derivation">\n{body}\n</div>')


def equations_html(pairs: Iterable[Pair]) -> str:
    """``lhs = rhs`` per pair, MathML, long ones in rows."""
    return _styled("\n".join(html.equation(pair) for pair in pairs))


def equations_markdown(pairs: Iterable[Pair]) -> str:
    """``lhs = rhs`` per pair, ``$$`` display maths."""
    return "\n\n".join(markdown.display(pair) for pair in pairs)


def equations_latex(pairs: Iterable[Pair]) -> str:
    """``lhs = rhs`` per pair, rows of one ``aligned`` display."""
    rows = " \\\\\n".join(equation(pair) for pair in pairs)
    return f"$$\\begin{{aligned}}\n{rows}\n\\end{{aligned}}$$"


def _eigenvalues(convexity) -> str | None:
    values = convexity.eigenvalues
    if values is None:
        return None
    shown = ", ".join(f"{v:.4g}" for v in list(values)[:8])
    return f"Eigenvalues of the Hessian on the data: {shown}{', …' if len(values) > 8 else ''}."


def verdict_html(convexity) -> str:
    """The verdict in bold, then the reason (and the Hessian's eigenvalues on the data)."""
    more = _eigenvalues(convexity)
    extra = f"<br>{html.escape(more)}" if more else ""
    return (f"<p><strong>{html.escape(convexity.verdict.capitalize())}.</strong> "
            f"{html.escape(convexity.reason)}{extra}</p>")


def verdict_markdown(convexity) -> str:
    """:func:`verdict_html` in Markdown."""
    more = _eigenvalues(convexity)
    return f"**{convexity.verdict.capitalize()}.** {markdown.escape(convexity.reason)}" + (f"\n\n{more}" if more else "")


def verdict_latex(convexity) -> str:
    """:func:`verdict_html` as a display of text."""
    return rf"$$\text{{{escape_text(str(convexity))}}}$$"


def solution_html(solution) -> str:
    """A closed form's numbered steps, with the derivation stylesheet."""
    return _styled(html.render_solution(solution))


def solution_latex(solution) -> str:
    """A closed form's equations, one row each, for a notebook."""
    rows = [eq for step in solution.steps for eq in step.equations]
    body = r" \\ ".join(latex(eq) for eq in rows)
    return rf"$$\begin{{gathered}}{body}\end{{gathered}}$$"
