"""Markdown output: nested bullets, one per step, with ``$$`` display math."""

from __future__ import annotations

import sympy

from .base import StepView, derivative, views
from .latex import latex


def _math(parts: tuple[sympy.Basic, ...]) -> str:
    return "$$" + " = ".join(latex(p) for p in parts) + "$$"


def _escape(text: str) -> str:
    for ch in "\\`*_[]<>|":
        text = text.replace(ch, "\\" + ch)
    return text


def render_view(view: StepView) -> str:
    """One bullet: rule name, sentence, facts, then the equation."""
    pad = "  " * view.depth
    step = view.step
    if view.repeated:
        head = f"{pad}- **{_escape(step.title.capitalize())}** (derived above)"
        return f"{head}\n{pad}  {_math((view.equation[0], step.result))}"
    facts = "".join(f" {_escape(f.label.capitalize())}: ${latex(f.math)}$." for f in view.facts)
    head = f"{pad}- **{_escape(step.title.capitalize())}.** {_escape(step.explanation)}{facts}"
    return f"{head}\n{pad}  {_math(view.equation)}"


def render(derivation) -> str:
    """The whole derivation as Markdown."""
    parts = [f"Differentiate\n\n$${latex(derivation.expression)}$$"]
    if derivation.term is not None:
        parts.append(f"where each data point contributes\n\n$${latex(derivation.term)}$$")
    for var, root in derivation:
        body = "\n".join(render_view(v) for v in views(root))
        result = _math((derivative(derivation.expression, var), root.result))
        parts.append(f"### Derivative with respect to ${latex(var)}$\n\n{body}\n\n**Result:** {result}")
    return "\n\n".join(parts) + "\n"



def render_solution(solution) -> str:
    """A closed-form solution (:class:`~calculus_ml.second_order.ClosedForm`) as Markdown."""
    parts = [f"### Closed form for {_escape(solution.loss.name)}"]
    for k, step in enumerate(solution.steps, 1):
        facts = "".join(f" {_escape(f.label[:1].upper() + f.label[1:])}: ${latex(f.math)}$."
                        for f in step.facts)
        body = "\n".join(f"   $${latex(eq)}$$" for eq in step.equations)
        parts.append(f"{k}. **{_escape(step.title[:1].upper() + step.title[1:])}.** "
                     f"{_escape(step.explanation)}{facts}\n\n{body}")
    return "\n\n".join(parts) + "\n"
