"""Markdown output: nested bullets, one per step, with ``$$`` display math."""

from __future__ import annotations

from .latex import latex
from .walk import Chain, Entry, StringWalker


def _math(parts: Chain) -> str:
    return "$$" + " = ".join(latex(p) for p in parts) + "$$"


def _escape(text: str) -> str:
    for ch in "\\`*_[]<>|":
        text = text.replace(ch, "\\" + ch)
    return text


class MarkdownWalker(StringWalker):
    """Markdown: a derivation's steps as bullets nested by depth, a closed form's as a numbered
    list; the facts inline after the sentence, the equations below."""

    words = staticmethod(_escape)

    def strong(self, text):
        return f"**{text}**"

    def inline(self, expr):
        return f"${latex(expr)}$"

    def given(self, label, expr):
        return f"{label}\n\n{_math((expr,))}"

    def section(self, heading, var, steps, result):
        return f"### {heading} ${latex(var)}$\n\n{steps}\n\n**Result:** {_math(result)}"

    def closed_form(self, heading, steps):
        return "\n\n".join([f"### {self.words(heading)}", *steps]) + "\n"

    def _render_Step(self, entry: Entry) -> str:
        pad = "  " * entry.depth
        if entry.brief:
            lhs, rhs = entry.equations[0]
            return f"{pad}- {self.head(entry)} ${latex(lhs)} = {latex(rhs)}$"
        maths = [f"{pad}  {_math(c)}" for c in entry.equations]
        return "\n".join([f"{pad}- {self.head(entry)}", *maths])

    def _render_SolutionStep(self, entry: Entry) -> str:
        maths = "\n".join(f"   {_math(c)}" for c in entry.equations)
        return f"{entry.number}. {self.head(entry)}\n\n{maths}"


def render(derivation, *, detail=None) -> str:
    """The whole derivation as Markdown, at ``detail`` (default: the derivation's)."""
    return MarkdownWalker().derivation(derivation, detail)


def render_solution(solution) -> str:
    """A closed-form solution (:class:`~calculus_ml.analysis.ClosedForm`) as Markdown."""
    return MarkdownWalker().solution(solution)
