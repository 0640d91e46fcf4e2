"""Hints, one step at a time: a derivation revealed in the order a teacher works.

Each :class:`Hint` first asks a question that names what to look at without giving the result
("the outer function is u³ with u = 3x² + 10x: which rule?"), then reveals the verified step
(its rule and ``d/dx[expr] = result``). The order is the derivation's own reading order: the
outermost rule first, then the pieces it needs, then the tidy-up.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import sympy

from ..render import html
from ..render.base import derivative
from ..render.line import line
from ..steps import rules as r

__all__ = ["Hint", "hints", "prompt_of"]


def _inline(expr: sympy.Basic) -> str:
    """One-line maths as a learner types it: ``3·x^2 + 10·x``."""
    return sympy.sstr(expr).replace("**", "^").replace("*", "·")


@dataclass(frozen=True)
class Hint:
    """One hint: a question, then the step it leads to.

    Attributes
    ----------
    number : int
        Its position, from 1.
    depth : int
        How deep the step sits in the derivation (0: the whole expression).
    prompt : str
        The question, which does not give the result.
    step : Step
        The verified step revealed after the question.
    """

    number: int
    depth: int
    prompt: str
    step: r.Step

    @property
    def reveal(self) -> str:
        """The step: its rule and ``d/dx[expr] = result`` (``∂`` for a partial), on one line."""
        step = self.step
        return f"{step.title}: {line(derivative(step.expr, step.var))} = {line(step.result)}"

    def to_text(self) -> str:
        """``n. prompt`` then the revealed step, indented by depth."""
        pad = "  " * self.depth
        return f"{pad}{self.number}. {self.prompt}\n{pad}   → {self.reveal}"

    def __str__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        """In Jupyter: the question, and the step folded under it until the learner opens it."""
        step = self.step
        return (f"<details><summary>{self.number}. {html.escape(self.prompt)}</summary>"
                f"<p><b>{html.escape(step.title)}:</b></p>"
                f"{html.equation((derivative(step.expr, step.var), step.result))}</details>")


def prompt_of(step: r.Step) -> str:
    """The question a teacher asks before ``step``: what to look at, not the answer."""
    x, e = step.var, _inline(step.expr)
    if isinstance(step, r.ChainRule):
        return (f"The outer function is {_inline(step.outer.expr)} with {step.u} = "
                f"{_inline(step.inner)}: which rule?")
    if isinstance(step, r.SumRule):
        return f"{e} is a sum of {len(step.terms)} terms: what do you do with each?"
    if isinstance(step, r.ProductRule):
        factors = ", ".join(_inline(f.expr) for f in step.factors)
        return f"{e} is a product of {factors}: which rule?"
    if isinstance(step, r.QuotientRule):
        return (f"{e} is a quotient of {_inline(step.numerator.expr)} by "
                f"{_inline(step.denominator.expr)}: which rule?")
    if isinstance(step, r.ConstantMultipleRule):
        return f"The factor {_inline(step.constant)} does not depend on {x}: what happens to it?"
    if isinstance(step, r.ConstantRule):
        return f"Does {e} depend on {x}?"
    if isinstance(step, r.VariableRule):
        return f"What is the derivative of {x} with respect to itself?"
    if isinstance(step, r.PowerRule):
        return f"{e} is {x} to a constant power: which rule, and what is the new exponent?"
    if isinstance(step, r.SimplifyRule):
        return "Can the result be tidied (collected, factored)?"
    if isinstance(step, r.RewriteRule):
        return f"Rewrite {e} first ({step.identity}): then which rule?"
    if isinstance(step, r.SumOverDataRule):
        return "The expression is a sum over the data points: can you differentiate term by term?"
    if isinstance(step, r.GeneralPowerRule):
        return f"Both the base and the exponent of {e} depend on {x}: write it as exp(…) first?"
    return f"Which standard derivative gives d/d{x} of {e}?"


def hints(derivation, var=None) -> Iterator[Hint]:
    """The hints for ``d/d(var)`` of a derivation (``var`` may be omitted with one variable).

    Yields
    ------
    Hint
        One per step, outermost first; a sub-derivation met twice is hinted once.
    """
    if var is None:
        if len(derivation.variables) != 1:
            names = ", ".join(str(v) for v in derivation.variables)
            raise ValueError(f"say which variable to hint: one of {names}")
        var = derivation.variables[0]
    root = derivation[var]
    seen: set[int] = set()
    number = 0

    def visit(step: r.Step, depth: int) -> Iterator[Hint]:
        nonlocal number
        if id(step) in seen:
            return
        seen.add(id(step))
        number += 1
        yield Hint(number, depth, prompt_of(step), step)
        for sub in step.substeps:
            yield from visit(sub, depth + 1)

    yield from visit(root, 0)
