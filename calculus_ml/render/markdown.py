"""Markdown output: nested bullets, one per step, with ``$$`` display math."""

from __future__ import annotations

import re

from .latex import latex
from .walk import Chain, Entry, StringWalker

LINE_BREAKS = re.compile(r"[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]+")
"""Whatever ends a line, in any of the forms Markdown readers accept."""

MARKDOWN_SPECIAL = re.compile(r"[\\`*_\[\]#$~<>]|&(?=#?[A-Za-z0-9]+;)")
"""What starts markup in Markdown text (``&`` only where it would start an entity)."""

_ENTITIES = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}


def escape(text: str, special: re.Pattern = MARKDOWN_SPECIAL) -> str:
    """Plain text as Markdown that reads as that text and nothing more: one line, markup
    characters (``special``) backslash-escaped, ``<``, ``>`` and ``&`` of an entity as HTML
    entities (no tag, link, heading or emphasis can start inside it)."""
    return special.sub(lambda m: _ENTITIES.get(m.group()) or "\\" + m.group(),
                       LINE_BREAKS.sub(" ", text))


def display(parts: Chain) -> str:
    """``a = b = c`` as ``$$`` display maths."""
    return "$$" + " = ".join(latex(p) for p in parts) + "$$"


class MarkdownWalker(StringWalker):
    """Markdown: a derivation's steps as bullets nested by depth, a closed form's as a numbered
    list; the facts inline after the sentence, the equations below."""

    words = staticmethod(escape)

    def strong(self, text):
        return f"**{text}**"

    def inline(self, expr):
        return f"${latex(expr)}$"

    def given(self, label, expr):
        return f"{label}\n\n{display((expr,))}"

    def section(self, heading, var, steps, result):
        return f"### {heading} ${latex(var)}$\n\n{steps}\n\n**Result:** {display(result)}"

    def closed_form(self, heading, steps):
        return "\n\n".join([f"### {self.words(heading)}", *steps]) + "\n"

    def _render_Step(self, entry: Entry) -> str:
        pad = "  " * entry.depth
        if entry.brief:
            lhs, rhs = entry.equations[0]
            return f"{pad}- {self.head(entry)} ${latex(lhs)} = {latex(rhs)}$"
        maths = [f"{pad}  {display(c)}" for c in entry.equations]
        return "\n".join([f"{pad}- {self.head(entry)}", *maths])

    def _render_SolutionStep(self, entry: Entry) -> str:
        maths = "\n".join(f"   {display(c)}" for c in entry.equations)
        return f"{entry.number}. {self.head(entry)}\n\n{maths}"


def render(derivation, *, detail=None) -> str:
    """The whole derivation as Markdown, at ``detail`` (default: the derivation's)."""
    return MarkdownWalker().derivation(derivation, detail)


def render_solution(solution) -> str:
    """A closed-form solution (:class:`~calculus_ml.analysis.ClosedForm`) as Markdown."""
    return MarkdownWalker().solution(solution)
