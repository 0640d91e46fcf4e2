"""The one walk over what a derivation or a closed form shows, shared by every output format.

A derivation reads: what is differentiated (and, over data, one data point's term), then for each
variable a heading, its steps in reading order (:func:`~calculus_ml.render.base.views`) and the
result. A closed form reads: a heading and its numbered steps. A step of either kind is an
:class:`Entry`: a title, a sentence, facts and equations at a nesting depth.

:class:`Walker` owns that order; a format subclasses it and says only how to write each piece.
A step is written by the format's method named after the step's class, looked up through the
MRO the way SymPy's printers dispatch (``_render_ChainRule``, else ``_render_Step``; a closed
form's ``_render_SolutionStep``), so a format that shows one rule differently adds one method.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, Generic, Literal, TypeVar

import sympy

from ..derivation import DETAILS, check_detail
from ..steps.rules import ConstantRule, Fact, Step, VariableRule
from .base import by_class, derivative, views

__all__ = ["Entry", "Walker", "StringWalker", "entries", "solution_entries", "upper_first",
           "DERIVED_ABOVE", "DETAILS", "Detail", "folded_sentence"]

Detail = Literal["standard", "full", "brief"]
"""A level of detail (:data:`~calculus_ml.derivation.DETAILS`)."""

TRIVIAL = (ConstantRule, VariableRule)
"""The leaves a ``standard`` or ``brief`` display folds into their parent."""

T = TypeVar("T")

Chain = tuple[sympy.Basic, ...]
"""An equation chain ``a = b = c``; a chain of one part is a single expression."""

DIFFERENTIATE = "Differentiate"
READ_AS = " (your input, read as)"
"""Added to the heading when natural input was read into the strict grammar (``2x`` as 2·x)."""
PER_DATA_POINT = "where each data point contributes"
WITH_RESPECT_TO = "Derivative with respect to"
CLOSED_FORM = "Closed form for"
DERIVED_ABOVE = "(derived above)"
"""The note after the title of a sub-derivation shown in full earlier."""


@dataclass(frozen=True)
class Entry:
    """One step as every format shows it.

    Attributes
    ----------
    node : object
        The step shown (a :class:`~calculus_ml.steps.rules.Step` or a closed form's
        ``SolutionStep``); the format's method is chosen by its class.
    title, sentence : str
        The step's name (as written, lower case) and its explanation.
    facts : tuple of Fact
        Labelled maths the step introduces (none for a repeated step).
    equations : tuple of Chain
        What the step shows, each an equation chain.
    depth : int
        Nesting depth in a derivation (0 in a closed form).
    number : int
        Position in a closed form's numbered list (0 in a derivation).
    repeated : bool
        A sub-derivation shown in full above: only ``d/dx[expr] = result`` is shown again.
    folded : tuple of Step
        Trivial leaves below this step, told in its sentence instead of shown as steps.
    brief : bool
        One line: the title and ``d/dx[expr] = result``, no sentence or facts.
    """

    node: Any
    title: str
    sentence: str
    facts: tuple[Fact, ...]
    equations: tuple[Chain, ...]
    depth: int = 0
    number: int = 0
    repeated: bool = False
    folded: tuple[Step, ...] = ()
    brief: bool = False


def entries(root, detail: Detail = "full") -> list[Entry]:
    """The steps of one derivation tree in reading order, as entries, at a level of detail
    (:data:`~calculus_ml.derivation.DETAILS`): below ``full`` a trivial leaf becomes part of its
    parent's entry."""
    check_detail(detail)
    brief = detail == "brief"
    out: list[Entry] = []
    last_at: dict[int, int] = {}  # depth -> index in ``out`` of the latest entry at that depth
    for view in views(root):
        step = view.step
        parent = last_at.get(view.depth - 1)
        if detail != "full" and isinstance(step, TRIVIAL) and parent is not None:
            out[parent] = replace(out[parent], folded=out[parent].folded + (step,))
            continue
        short = view.repeated or brief
        chain = (view.equation[0], step.result) if short else view.equation
        last_at = {d: k for d, k in last_at.items() if d < view.depth}
        last_at[view.depth] = len(out)
        out.append(Entry(step, step.title, "" if brief else step.explanation,
                         () if brief else view.facts, (chain,), view.depth,
                         repeated=view.repeated, brief=brief))
    return out


def folded_sentence(step: Step) -> tuple[str, sympy.Basic, str]:
    """What a folded trivial leaf says: words before its maths, the maths, words after."""
    if isinstance(step, VariableRule):
        return "The derivative of ", step.expr, " with respect to itself is 1."
    return "The derivative of the constant ", step.expr, " is 0."


def solution_entries(solution) -> list[Entry]:
    """The numbered steps of a closed form (``ClosedForm.steps``), as entries."""
    return [
        Entry(step, step.title, step.explanation, tuple(step.facts),
              tuple((eq,) for eq in step.equations), number=k)
        for k, step in enumerate(solution.steps, 1)
    ]


def upper_first(text: str) -> str:
    """``text`` with its first letter upper case and the rest as written."""
    return text[:1].upper() + text[1:]


class Walker(Generic[T]):
    """Walks a derivation or a closed form and asks its subclass to write each piece.

    A format defines :meth:`given`, :meth:`section`, :meth:`nest`, :meth:`document`,
    :meth:`closed_form`, and a ``_render_<Class>`` method per kind of step it shows.
    """

    def derivation(self, derivation, detail: Detail | None = None) -> T:
        """The whole derivation: what is differentiated, then a section per variable, at the
        level of ``detail`` (default: the derivation's own, ``derivation.detail``)."""
        detail = detail or getattr(derivation, "detail", "full")
        read_as = READ_AS if getattr(derivation, "read_as", None) else ""
        parts = [self.given(DIFFERENTIATE + read_as, derivation.shown)]
        if derivation.term is not None:
            parts.append(self.given(PER_DATA_POINT, derivation.shown_term))
        for var, root in derivation:
            result = (derivative(derivation.shown, var), root.result)
            parts.append(self.section(WITH_RESPECT_TO, var, self.steps(root, detail), result))
        return self.document(parts)

    def solution(self, solution) -> T:
        """A closed form (:class:`~calculus_ml.analysis.ClosedForm`): its numbered steps."""
        steps = [self.visit(entry) for entry in solution_entries(solution)]
        return self.closed_form(f"{CLOSED_FORM} {solution.loss.name}", steps)

    def steps(self, root, detail: Detail = "full") -> T:
        """The steps of one derivation tree, nested as the tree nests them."""
        return self.nest([(entry.depth, self.visit(entry)) for entry in entries(root, detail)])

    def visit(self, entry: Entry) -> T:
        """``entry`` written by the method named after the first class of its node's MRO that
        has one."""
        render = by_class(lambda name: getattr(self, name, None), "_render_", entry.node)
        if render is None:
            raise TypeError(f"{type(self).__name__} cannot show a {type(entry.node).__name__}")
        return render(entry)

    # -- what a format defines -------------------------------------------------------------

    def given(self, label: str, expr: sympy.Basic) -> T:
        """A sentence and its display maths: what is differentiated, or a data point's term."""
        raise NotImplementedError

    def section(self, heading: str, var: sympy.Basic, steps: T, result: Chain) -> T:
        """One variable's part: the heading followed by ``var``, the steps, the result."""
        raise NotImplementedError

    def nest(self, steps: list[tuple[int, T]]) -> T:
        """The written steps of one tree, each with its depth, put together."""
        raise NotImplementedError

    def document(self, parts: Iterable[T]) -> T:
        """A derivation's parts put together."""
        raise NotImplementedError

    def closed_form(self, heading: str, steps: list[T]) -> T:
        """A closed form's heading and its written steps put together."""
        raise NotImplementedError


class StringWalker(Walker[str]):
    """A walker writing strings: a tree's steps one after another, line by line, and a
    derivation's parts separated by blank lines. A markup format also says how it writes
    plain words, strong emphasis and inline maths, and gets a step's heading line from them.
    """

    def nest(self, steps: list[tuple[int, str]]) -> str:
        return "\n".join(text for _, text in steps)

    def document(self, parts: Iterable[str]) -> str:
        return "\n\n".join(parts) + "\n"

    def words(self, text: str) -> str:
        """Plain text, escaped as the format needs."""
        return text

    def strong(self, text: str) -> str:
        """Text (already escaped) with strong emphasis."""
        return text

    def inline(self, expr: sympy.Basic) -> str:
        """Inline maths."""
        raise NotImplementedError

    def titled(self, entry: Entry) -> str:
        """``Title. Sentence`` with the title emphasised (and the folded leaves' sentences),
        ``Title (derived above)``, or in a brief entry ``Title:``."""
        title = self.words(upper_first(entry.title))
        if entry.repeated:
            return f"{self.strong(title)} {DERIVED_ABOVE}"
        if entry.brief:
            return self.strong(title + ":")
        folded = "".join(f" {self.folded(step)}" for step in entry.folded)
        return f"{self.strong(title + '.')} {self.words(entry.sentence)}{folded}"

    def folded(self, step: Step) -> str:
        """A folded trivial leaf's sentence (:func:`folded_sentence`)."""
        before, math, after = folded_sentence(step)
        return f"{self.words(before)}{self.inline(math)}{self.words(after)}"

    def fact(self, fact: Fact) -> str:
        """``Label: maths.``"""
        return f"{self.words(upper_first(fact.label))}: {self.inline(fact.math)}."

    def head(self, entry: Entry) -> str:
        """:meth:`titled` followed by the step's facts."""
        return self.titled(entry) + "".join(f" {self.fact(f)}" for f in entry.facts)
