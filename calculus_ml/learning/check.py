"""Check a learner's derivative against the verified derivation, and name the mistake.

:func:`check_answer` returns a :class:`Verdict`: right or wrong, how that was decided, a point
where a wrong answer differs (with both values), the misconception that reproduces it (see
:mod:`.misconceptions`) and one sentence for the learner. The derivative it compares with is the
result of :func:`~calculus_ml.derive`, every step of which is checked against ``sympy.diff``.

Over data (``data=``), the learner writes the derivative of one data point's contribution — the
summand of ``Σᵢ`` — with ``n`` for the number of points: for the mean squared error
``(y - (m*x + b))^2`` by ``m``, ``-2/n*(y - (m*x + b))*x``. Leaving out the ``1/n`` is the
``constant_dropped`` misconception.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sympy

from ..derivation import Derivation, derive
from ..errors import ExpressionError
from ..derivation.point import Displayed
from ..symbolic import Reduce, check_time, data_index, time_budget
from . import render as _render
from .compare import (Counterexample, Method, counterexample, learner_expression, same_function,
                      shown_value)
from .misconceptions import get, wrong_derivatives

__all__ = ["Verdict", "Problem", "check_answer", "problem"]


@dataclass(frozen=True)
class Problem:
    """What a learner is asked to differentiate, in the form their answer is written in.

    Attributes
    ----------
    derivation : Derivation
        The verified derivation.
    var : sympy.Symbol
        The variable.
    function : sympy.Expr
        What the answer is the derivative of: the expression, or over data one point's
        contribution ``c·ℓ`` (``c = 1/n`` for a mean).
    derivative : sympy.Expr
        Its derivative, read from the verified derivation.
    names : dict
        Every name an answer may use.
    """

    derivation: Derivation
    var: sympy.Symbol
    function: sympy.Expr
    derivative: sympy.Expr
    names: dict

    def read(self, text: str | sympy.Expr, what: str = "answer") -> sympy.Expr:
        """A learner's text as an expression in this problem's symbols."""
        return learner_expression(text, self.names, what)

    def mistake(self, answer: sympy.Expr) -> str | None:
        """The id of the first misconception whose wrong derivation is ``answer``."""
        others = tuple(sorted((s for s in self.function.free_symbols if s != self.var
                               and s.name != "n"), key=sympy.default_sort_key))
        for misconception, wrong in wrong_derivatives(self.function, self.var, others):
            check_time()
            if same_function(wrong, self.derivative, thorough=False)[0]:
                continue  # this mistake changes nothing here
            if same_function(wrong, answer, thorough=False)[0]:
                return misconception
        return None


def problem(expression: str | sympy.Expr, wrt=None, data: Iterable[str] | None = None,
            reduce: Reduce | None = None) -> Problem:
    """Derive ``expression`` (verified) and state it as a :class:`Problem`."""
    if wrt is not None and not isinstance(wrt, (str, sympy.Symbol)):
        raise ExpressionError("check one variable at a time: wrt is one name")
    d = derive(expression, wrt, data=data, reduce=reduce)
    symbol = d.variables[0]
    if data is None:
        names = {s.name: s for s in d.expression.free_symbols} | {symbol.name: symbol}
        return Problem(d, symbol, d.expression, d.results[symbol], names)
    _, n = data_index(d.expression)
    plain = {ix: sympy.Symbol(ix.base.label.name, real=True)
             for ix in d.expression.atoms(sympy.Indexed)}
    scale = d.expression / next(iter(d.expression.atoms(sympy.Sum)))  # 1/n for a mean
    sample, _ = d.parts(symbol)
    names = {s.name: s for s in d.term.free_symbols} | {n.name: n, symbol.name: symbol}
    return Problem(d, symbol, scale * d.term, scale * sample.xreplace(plain), names)


@dataclass(frozen=True, repr=False)
class Verdict(Displayed):
    """The verdict on a learner's derivative.

    Attributes
    ----------
    correct : bool
        Whether the answer is the derivative.
    expected : Derivation
        The verified derivation (its steps are the worked answer).
    derivative : sympy.Expr
        The derivative the answer was compared with.
    answer : sympy.Expr
        The learner's answer, as read.
    counterexample : Counterexample or None
        For a wrong answer, a point where it differs, with both values.
    misconception : str or None
        The id of the wrong derivation that reproduces the answer exactly
        (:data:`~calculus_ml.learning.misconceptions.CATALOGUE`), if any.
    message : str
        One plain sentence for the learner.
    method : {"symbolic", "numeric"}
        How the verdict was reached: a proof (an identity, or an exact counterexample), or
        agreement at many random real points.
    """

    correct: bool
    expected: Derivation
    derivative: sympy.Expr
    answer: sympy.Expr
    var: sympy.Symbol
    counterexample: Counterexample | None
    misconception: str | None
    message: str
    method: Method

    def __bool__(self) -> bool:
        return self.correct

    def __repr__(self) -> str:
        return f"<Verdict: {'right' if self.correct else 'wrong'} ({self.method})>"

    def to_text(self) -> str:
        """Unicode text: the verdict, the values at the counterexample, the worked answer."""
        return _render.text(self)

    def to_latex(self) -> str:
        """LaTeX: the verdict and the worked answer."""
        return _render.latex(self)

    def to_markdown(self) -> str:
        """Markdown with ``$`` maths."""
        return _render.markdown(self)

    def to_html(self) -> str:
        """An HTML fragment with MathML."""
        return _render.html(self)

    def to_dict(self) -> dict:
        """JSON-ready: every field, expressions as text, the derivation as its document."""
        return {
            "correct": self.correct,
            "method": self.method,
            "message": self.message,
            "misconception": self.misconception,
            "answer": sympy.sstr(self.answer),
            "derivative": sympy.sstr(self.derivative),
            "counterexample": self.counterexample and self.counterexample.to_dict(),
            "expected": self.expected.to_dict(),
        }

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, str]:
        return {"text/plain": repr(self), "text/markdown": self.to_markdown(),
                "text/html": self.to_html()}


def check_answer(expression: str | sympy.Expr, answer: str | sympy.Expr, wrt=None, data=None,
                 reduce: Reduce | None = None) -> Verdict:
    """Check a learner's derivative of ``expression``.

    Parameters
    ----------
    expression : str or sympy.Expr
        The function (with ``data``, one data point's term).
    answer : str or sympy.Expr
        The learner's derivative; any equivalent form is right (expanded, factored, a trig
        identity). Over data, the summand of ``Σᵢ`` with ``n`` for the number of points.
    wrt : str, optional
        The variable (may be omitted when the expression has one symbol).
    data, reduce
        As for :func:`~calculus_ml.derive`.

    Returns
    -------
    Verdict

    Raises
    ------
    ExpressionError
        For malformed or unsafe text, or an answer using a name the expression does not have.
    BudgetError
        When the check takes longer than :data:`calculus_ml.symbolic.TIME_LIMIT`.

    Examples
    --------
    >>> v = check_answer("(3*x^2 + 10*x)^3", "3*(3*x^2 + 10*x)^2", "x")
    >>> v.correct, v.misconception
    (False, 'chain_inner_forgotten')
    """
    with time_budget():
        task = problem(expression, wrt, data, reduce)
        return judge(task, task.read(answer))


def judge(task: Problem, learner: sympy.Expr) -> Verdict:
    """The :class:`Verdict` on ``learner`` as the derivative of ``task``."""
    same, method = same_function(learner, task.derivative)
    if same:
        how = "proved equal" if method == "symbolic" else "equal at every point tried"
        return Verdict(True, task.derivation, task.derivative, learner, task.var, None, None,
                       f"Right: your answer is the derivative ({how}).", method)
    point = counterexample(task.derivative, learner)
    if same is None and point is None:
        raise ExpressionError("the answer is not a real number where the derivative is: it "
                              "cannot be compared")
    mistake = task.mistake(learner)
    method = "symbolic" if point is not None and point.exact else "numeric"
    return Verdict(False, task.derivation, task.derivative, learner, task.var, point, mistake,
                   wrong_message(point, mistake), method)


def wrong_message(point: Counterexample | None, mistake: str | None) -> str:
    """One sentence: where the answer differs, and the mistake that explains it."""
    where = ("Not quite" if point is None else f"Not quite: at {point.shown()} your answer is "
             f"{shown_value(point.answer)} but the derivative is {shown_value(point.expected)}")
    if mistake is None:
        return where + "."
    m = get(mistake)
    return f"{where}. That is exactly the answer of a classic mistake, {m.name}: {m.advice}."

