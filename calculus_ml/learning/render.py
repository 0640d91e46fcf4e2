"""How verdicts read in each format: text, LaTeX, Markdown and HTML (maths through SymPy's own
printers; the worked answer is the derivation's own rendering)."""

from __future__ import annotations

import textwrap
from html import escape

import sympy

from ..render.html import mathml
from ..render.latex import escape_text
from ..render.latex import latex as tex
from ..render.line import line
from ..render.markdown import escape as md_escape
from .compare import shown_value
from .misconceptions import get

__all__ = ["text", "latex", "markdown", "html", "lines", "TEXT_WIDTH"]

TEXT_WIDTH = 80
"""Columns the verdict's sentence is wrapped to in text (a terminal)."""


def lines(verdict) -> list[tuple[str, sympy.Basic | str]]:
    """``(label, maths or words)`` rows every format shows of a verdict, in order."""
    rows: list[tuple[str, sympy.Basic | str]] = [
        ("Verdict", ("right" if verdict.correct else "wrong") + f" (decided {verdict.method}ally)"),
        ("Your answer", verdict.answer),
        ("Derivative", verdict.derivative),
    ]
    point = verdict.counterexample
    if point is not None:
        rows.append((f"At {point.shown()}", f"your answer is {shown_value(point.answer)}, the "
                     f"derivative is {shown_value(point.expected)}"
                     + ("" if point.exact else " (rounded)")))
    if verdict.misconception:
        m = get(verdict.misconception)
        rows.append(("Misconception", f"{m.name} [{m.id}]: {m.wrong}, but {m.right}"))
    return rows


def text(verdict) -> str:
    """The verdict as Unicode text, then the worked answer."""
    out = [textwrap.fill(("✓ " if verdict.correct else "✗ ") + verdict.message, TEXT_WIDTH,
                         subsequent_indent="  "), ""]
    for label, value in lines(verdict)[1:]:
        shown = value if isinstance(value, str) else line(value)
        out.append(textwrap.fill(f"{label}: {shown}", TEXT_WIDTH, subsequent_indent="  ",
                                 break_on_hyphens=False))
    return "\n".join(out) + "\n\nWorked answer\n\n" + verdict.expected.to_text()


def latex(verdict) -> str:
    """The verdict as LaTeX paragraphs, then the derivation's ``align*``."""
    out = [rf"\paragraph{{{escape_text(verdict.message)}}}"]
    for label, value in lines(verdict)[1:]:
        shown = escape_text(value) if isinstance(value, str) else f"${tex(value)}$"
        out.append(rf"\textbf{{{escape_text(label)}:}} {shown}\\")
    return "\n".join(out) + "\n\n" + verdict.expected.to_latex()


def markdown(verdict) -> str:
    """The verdict as Markdown bullets, then the worked answer."""
    out = [f"**{'✓' if verdict.correct else '✗'} {md_escape(verdict.message)}**", ""]
    for label, value in lines(verdict)[1:]:
        shown = md_escape(value) if isinstance(value, str) else f"${tex(value)}$"
        out.append(f"- {label}: {shown}")
    return "\n".join(out) + "\n\n#### Worked answer\n\n" + verdict.expected.to_markdown()


def html(verdict) -> str:
    """The verdict as an HTML fragment (MathML), then the worked answer."""
    kind = "right" if verdict.correct else "wrong"
    items = []
    for label, value in lines(verdict)[1:]:
        shown = escape(value) if isinstance(value, str) else mathml(value)
        items.append(f"<li>{escape(label)}: {shown}</li>")
    return (f'<div class="verdict {kind}">\n<p><strong>{escape(verdict.message)}</strong></p>\n'
            f"<ul>\n" + "\n".join(items) + "\n</ul>\n</div>\n" + verdict.expected.to_html())
