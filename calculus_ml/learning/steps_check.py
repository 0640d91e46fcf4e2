"""Find the first wrong step of a learner's working.

The learner writes a chain of equalities: the first entry is their derivative, and each later one
is claimed equal to the one before (``["3(3x^2+10x)^2 (6x+10)", "(54x^2 + 180x)(...)"]``).
:func:`check_steps` says, for each entry, whether it is the derivative and whether it follows from
the entry before; the first entry that is not the derivative is the first wrong step. For it the
report names the rule that was misapplied — a classic wrong derivation
(:mod:`.misconceptions`) that reproduces it, or an algebra slip (:data:`ALGEBRA_SLIPS`) — and a
point where it differs from what it was claimed equal to.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

import sympy

from ..errors import ExpressionError
from ..derivation.point import Displayed
from ..render.latex import latex
from ..render.line import line
from ..symbolic import time_budget
from .check import Verdict, judge, problem
from .compare import Counterexample, counterexample, same_function, shown_value
from .misconceptions import get
from .render import TEXT_WIDTH

__all__ = ["StepVerdict", "StepsReport", "check_steps", "ALGEBRA_SLIPS", "MAX_STEPS"]

MAX_STEPS = 20
"""Most entries one chain may have."""

ALGEBRA_SLIPS = {
    "sign_flipped": "the sign of the whole expression changed",
    "factor_changed": "a constant factor changed",
    "term_dropped": "a term was dropped or added",
    "algebra": "the two sides are not equal (an algebra slip)",
}
"""What a wrong step between two entries can be when no wrong derivation explains it."""


@dataclass(frozen=True)
class StepVerdict:
    """One entry of a learner's chain.

    Attributes
    ----------
    index : int
        Its position (0: the learner's derivative).
    expr : sympy.Expr
        The entry as read.
    correct : bool
        Whether it equals the derivative.
    follows : bool or None
        Whether it equals the entry before (None for the first).
    """

    index: int
    expr: sympy.Expr
    correct: bool
    follows: bool | None


@dataclass(frozen=True, repr=False)
class StepsReport(Displayed):
    """The verdict on a learner's chain of steps.

    Attributes
    ----------
    first_wrong : int or None
        Index of the first entry that is not the derivative.
    steps : list of StepVerdict
        A verdict per entry.
    rule : str or None
        For the first wrong entry: a misconception id of
        :data:`~calculus_ml.learning.misconceptions.CATALOGUE` or a key of
        :data:`ALGEBRA_SLIPS`.
    counterexample : Counterexample or None
        Where the first wrong entry differs from the derivative (entry 0) or from the entry
        before it.
    verdict : Verdict
        The verdict on the first entry as an answer (its worked derivation is ``.expected``).
    message : str
        One plain sentence for the learner.
    """

    first_wrong: int | None
    steps: list[StepVerdict]
    rule: str | None
    counterexample: Counterexample | None
    verdict: Verdict
    message: str

    @property
    def correct(self) -> bool:
        """Whether every entry is right."""
        return self.first_wrong is None

    def __bool__(self) -> bool:
        return self.correct

    def __repr__(self) -> str:
        where = "all right" if self.correct else f"first wrong step {self.first_wrong + 1}"
        return f"<StepsReport: {len(self.steps)} steps, {where}>"

    def to_dict(self) -> dict:
        """JSON-ready: each step's verdict, the first wrong one, its rule and counterexample."""
        return {
            "correct": self.correct,
            "first_wrong": self.first_wrong,
            "rule": self.rule,
            "message": self.message,
            "steps": [{"index": s.index, "expr": sympy.sstr(s.expr), "correct": s.correct,
                       "follows": s.follows} for s in self.steps],
            "counterexample": self.counterexample and self.counterexample.to_dict(),
            "derivative": sympy.sstr(self.verdict.derivative),
        }

    def to_text(self) -> str:
        """One line per entry (✓ right, ✗ wrong, ← the first wrong), then the message."""
        out = [textwrap.fill(("✓ " if self.correct else "✗ ") + self.message, TEXT_WIDTH,
                             subsequent_indent="  "), ""]
        for s in self.steps:
            mark = "✓" if s.correct else "✗"
            relation = "" if s.follows is None else ("  (= the line before)" if s.follows
                                                     else "  (≠ the line before)")
            arrow = "  ← first wrong step" if s.index == self.first_wrong else ""
            out.append(f"{mark} {s.index + 1}. {line(s.expr)}{relation}{arrow}")
        return "\n".join(out) + "\n"

    def to_markdown(self) -> str:
        """A numbered Markdown list of the entries with their verdicts."""
        out = [f"**{'✓' if self.correct else '✗'} {self.message}**", ""]
        for s in self.steps:
            note = " — **first wrong step**" if s.index == self.first_wrong else ""
            out.append(f"{s.index + 1}. ${latex(s.expr)}$ "
                       f"{'✓' if s.correct else '✗'}{note}")
        return "\n".join(out) + "\n"


def check_steps(expression: str | sympy.Expr, steps: Sequence[str | sympy.Expr], wrt=None,
                data=None, reduce=None) -> StepsReport:
    """Check a learner's chain of steps for the derivative of ``expression``.

    Parameters
    ----------
    expression : str or sympy.Expr
        The function differentiated.
    steps : list of str
        The learner's derivative, then each rewriting of it they claim is equal.
    wrt, data, reduce
        As for :func:`~calculus_ml.learning.check_answer`.

    Returns
    -------
    StepsReport

    Raises
    ------
    ExpressionError
        For no steps, too many, or a step that is not a safe, well-formed expression in the
        problem's names.
    """
    if isinstance(steps, (str, sympy.Basic)) or not 1 <= len(steps) <= MAX_STEPS:
        raise ExpressionError(f"give the steps as a list of 1 to {MAX_STEPS} expressions")
    with time_budget():
        return _report(problem(expression, wrt, data, reduce), steps)


def _report(task, steps) -> StepsReport:
    exprs = [task.read(text, f"step {k + 1}") for k, text in enumerate(steps)]
    first = judge(task, exprs[0])
    verdicts = [StepVerdict(0, exprs[0], first.correct, None)]
    for k in range(1, len(exprs)):
        correct = bool(same_function(exprs[k], task.derivative)[0])
        follows = bool(same_function(exprs[k], exprs[k - 1])[0])
        verdicts.append(StepVerdict(k, exprs[k], correct, follows))
    wrong = next((v.index for v in verdicts if not v.correct), None)
    if wrong is None:
        return StepsReport(None, verdicts, None, None, first,
                           f"Right: every step is the derivative ({len(exprs)} checked).")
    if wrong == 0:
        return StepsReport(0, verdicts, first.misconception, first.counterexample, first,
                           "Step 1 is already wrong. " + first.message)
    rule = task.mistake(exprs[wrong]) or _slip(exprs[wrong - 1], exprs[wrong])
    point = counterexample(exprs[wrong - 1], exprs[wrong])
    return StepsReport(wrong, verdicts, rule, point, first, _message(wrong, rule, point))


def _slip(before: sympy.Expr, after: sympy.Expr) -> str:
    """The algebra slip from ``before`` to ``after`` (a key of :data:`ALGEBRA_SLIPS`)."""
    if same_function(after, -before, thorough=False)[0]:
        return "sign_flipped"
    ratio = sympy.cancel(after / before) if before != 0 else sympy.nan
    if ratio.is_number and ratio.is_finite and ratio != 0:
        return "factor_changed"
    difference = before - after
    terms = set(sympy.Add.make_args(sympy.expand(before))) | set(sympy.Add.make_args(before))
    if any(same_function(difference, t, thorough=False)[0] for t in terms):
        return "term_dropped"
    return "algebra"


def _message(index: int, rule: str, point: Counterexample | None) -> str:
    why = get(rule).name if rule not in ALGEBRA_SLIPS else ALGEBRA_SLIPS[rule]
    where = "" if point is None else (f" at {point.shown()} step {index} is "
                                      f"{shown_value(point.expected)} but step {index + 1} is "
                                      f"{shown_value(point.answer)}")
    return f"Step {index + 1} is the first wrong step: {why}{';' if where else '.'}{where}" + (
        "." if where else "")
