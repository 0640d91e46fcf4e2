"""The verified step trees of an expression's (partial) derivatives: :class:`Derivation`.

:func:`derivation_of` builds one step tree per variable of a ready-made expression, tidies each
result and checks every step; :func:`~calculus_ml.derivation.derive` is the front door from text.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

import sympy

from ..errors import CalculusMLError, ExpressionError, shortened
from ..steps.answer_key import tidied
from ..steps.engine import build_steps
from ..steps.rewrites import typed_start
from ..steps.rules import RewriteRule, SimplifyRule, Step, SumOverDataRule, SumRule
from ..steps.verify import PROOFS, verify_tree
from ..symbolic import time_budget
from .point import PointValues, Results, name_key, point_of, values_at

__all__ = ["Derivation", "derivation_of", "tidied", "DETAILS", "check_detail"]

DETAILS: tuple[str, ...] = ("standard", "full", "brief")
"""The levels of detail of a derivation's displays, the default first: ``standard`` every rule
with the trivial leaves (a constant's derivative is 0, the variable's is 1) told in their
parent's sentence; ``full`` every step with its sentence and facts; ``brief`` one line per rule
application, ``d/dx[expr] = result``, the trivial leaves folded too."""


class Derivation:
    """The derivatives of one expression, step by step, one tree per variable.

    Parameters
    ----------
    expression : sympy.Expr
        The expression differentiated (for a loss over data, the whole sum).
    steps : dict
        Maps each variable (a SymPy symbol) to the root :class:`~calculus_ml.steps.rules.Step`.
    term : sympy.Expr, optional
        The per-sample term, when ``expression`` is a sum or mean over data.
    shown, shown_term : sympy.Expr, optional
        ``expression`` and ``term`` as the learner typed them (unevaluated), for display.
    read_as : str, optional
        How natural input was read (``"2·x^2 + 3·x"`` for ``2x^2 + 3x``), when that differs
        from the text.
    detail : {"standard", "full", "brief"}
        How much of the trees its displays show (:data:`DETAILS`);
        every step is verified whatever is shown.
    """

    def __init__(
        self,
        expression: sympy.Expr,
        steps: dict[sympy.Symbol, Step],
        *,
        term: sympy.Expr | None = None,
        shown: sympy.Expr | None = None,
        shown_term: sympy.Expr | None = None,
        read_as: str | None = None,
        detail: str = "standard",
    ):
        self.expression = expression
        self.steps = dict(steps)
        self.term = term
        self.shown = expression if shown is None else shown
        self.shown_term = term if shown_term is None else shown_term
        self.read_as = read_as
        self.detail = check_detail(detail)

    @property
    def variables(self) -> tuple[sympy.Symbol, ...]:
        """The variables, in the order they were asked for."""
        return tuple(self.steps)

    @property
    def results(self) -> Results:
        """Each variable's derivative, tidied: a dict keyed by symbol that also takes names
        (``results["x"]``), substitutes values by name (``results.subs(x=2)``) and displays
        itself as equations in Jupyter."""
        return Results({var: step.result for var, step in self.steps.items()},
                       expression=self.shown)

    def at(self, values: Mapping | None = None, /, **named) -> PointValues:
        """The function, its derivatives and the tangent line (plane) at a point given by name:
        ``derive("x^3", "x").at(x=2)`` gives ``f(2) = 8``, ``f′(2) = 12`` and ``y = 12x − 16``.

        Raises
        ------
        ExpressionError
            For a name not in the expression, a missing value, or a point where the function or
            a derivative is not a real number.
        """
        point = point_of(self.expression, values, **named)
        return values_at(self.expression, self.results, point)

    def hints(self, var: str | sympy.Symbol | None = None):
        """The derivation by ``var`` (the only variable if omitted) one step at a time, in the
        order a teacher works: each :class:`~calculus_ml.learning.Hint` names what to look at
        without giving it away, then the step it leads to."""
        from ..learning.hints import hints

        return hints(self, var)

    @property
    def gradient(self) -> tuple[sympy.Expr, ...]:
        """The derivatives in variable order."""
        return tuple(self.results.values())

    def __getitem__(self, var: str | sympy.Symbol) -> Step:
        wanted = name_key(var)
        for symbol, step in self.steps.items():  # a name, or for w[j] also the vector's name w
            if var == symbol or wanted in (str(symbol), str(getattr(symbol, "base", symbol))):
                return step
        raise KeyError(var)

    def __iter__(self) -> Iterator[tuple[sympy.Symbol, Step]]:
        return iter(self.steps.items())

    def __len__(self) -> int:
        return len(self.steps)

    def parts(self, var: str | sympy.Basic) -> tuple[sympy.Expr, sympy.Expr]:
        """``(per-sample derivative, derivative of the rest)`` read from the verified tree.

        For ``J = c Σᵢ ℓ(xᵢ) + rest`` the first is the ``sum_over_data`` step's substep result
        ``∂ℓ(xᵢ)/∂var`` (in the indexed data; 0 without a sum over data), the second the sum of
        the results of the terms outside the sum (a penalty's derivative; without a sum over
        data, the whole derivative).
        """
        step = self[var]
        while isinstance(step, (SimplifyRule, RewriteRule)):  # to the derivation of SymPy's form
            step = step.substep
        terms = step.terms if isinstance(step, SumRule) else (step,)
        sample, rest = [], []
        for term in terms:
            if not term.expr.has(sympy.Sum):
                rest.append(term.result)
                continue
            sums = [s for s in term.walk() if isinstance(s, SumOverDataRule)]
            if not sums and term.result == 0:  # the sum does not involve var
                continue
            if len(sums) != 1:
                raise CalculusMLError(f"the derivative by {var} has no single sum over the data")
            sample.append(sums[0].substep.result)
        return sympy.Add(*sample), sympy.Add(*rest)

    def verify(self, *, symbolic: bool = False) -> dict[str, int]:
        """Check every step of every tree against ``sympy.diff``; return counts by proof kind
        (see :data:`~calculus_ml.steps.verify.PROOFS`)."""
        totals = dict.fromkeys(PROOFS, 0)
        for step in self.steps.values():
            for kind, count in verify_tree(step, symbolic=symbolic).items():
                totals[kind] += count
        return totals

    # -- output -------------------------------------------------------------------------------

    def to_text(self, *, detail: str | None = None, width: int | None = None,
                ascii: bool = False) -> str:
        """Unicode (or ``ascii``) text for a terminal, nesting shown by indentation, at
        ``detail`` (default: :attr:`detail`), ``width`` columns wide (default: the terminal's)."""
        from ..render.text import render

        return render(self, detail=detail, width=width, ascii=ascii)

    def to_latex(self) -> str:
        """LaTeX for a document body: a paragraph and a display per step (amsmath)."""
        from ..render.latex import render

        return render(self)

    def to_markdown(self, *, detail: str | None = None) -> str:
        """Markdown with ``$$`` display math, at ``detail`` (default: :attr:`detail`)."""
        from ..render.markdown import render

        return render(self, detail=detail)

    def to_html(self, *, detail: str | None = None) -> str:
        """An HTML fragment with MathML and its stylesheet, the steps collapsible: no script,
        stylesheet or font from the network."""
        from ..render.html import render

        return render(self, detail=detail, style=True)

    def to_dict(self) -> dict:
        """The stable JSON structure as Python objects."""
        from ..render.json import to_dict

        return to_dict(self)

    def to_json(self, indent: int | None = 2) -> str:
        """The stable JSON document (see :mod:`calculus_ml.render.json`)."""
        from ..render.json import render

        return render(self, indent=indent)

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        from ..render.text import short

        names = ", ".join(str(v) for v in self.variables)
        return f"<Derivation of {short(self.expression)} with respect to {names}>"

    def _repr_latex_(self) -> str:
        from ..render.latex import render_math

        return render_math(self)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, str]:
        return {
            "text/plain": repr(self),
            "text/latex": self._repr_latex_(),
            "text/markdown": self._repr_markdown_(),
            "text/html": self.to_html(),
        }

def check_detail(detail: str) -> str:
    """``detail`` if it is one of :data:`DETAILS`, else an
    :class:`~calculus_ml.errors.ExpressionError`."""
    if detail not in DETAILS:
        raise ExpressionError(f"detail must be one of {', '.join(DETAILS)}, not {detail!r}")
    return detail

def derivation_of(
    expression: sympy.Expr,
    variables: Iterable[sympy.Symbol],
    *,
    term: sympy.Expr | None = None,
    verify: bool = True,
    time_limit: float | None = None,
    shown: sympy.Expr | None = None,
) -> Derivation:
    """Differentiate a ready-made expression (already validated) with respect to each variable.

    Parameters
    ----------
    expression : sympy.Expr
        The expression, e.g. a loss built with :func:`~calculus_ml.symbolic.over_data`.
    variables : iterable of sympy.Symbol
        The variables, in the order the derivation lists them.
    term : sympy.Expr, optional
        The per-sample term, when ``expression`` is a sum or mean over data.
    verify : bool
        Check every step against ``sympy.diff``.
    time_limit : float, optional
        Seconds the derivation may take (default :data:`calculus_ml.symbolic.TIME_LIMIT`).
    shown : sympy.Expr, optional
        ``expression`` as typed (unevaluated): each tree starts from it with the rewrite steps
        to ``expression`` (:func:`~calculus_ml.steps.rewrites.typed_start`).

    Returns
    -------
    Derivation

    Raises
    ------
    ExpressionError
        When SymPy itself cannot work with the expression (its evaluation of some nested
        pieces never ends), or it is not real at any point tried.
    BudgetError
        For an expression too large to explain step by step, or past ``time_limit``.
    """
    try:
        with time_budget(time_limit):
            steps = {var: tidied(build_steps(expression, var)) for var in variables}
            if shown is not None:
                steps = {var: typed_start(shown, expression, root) for var, root in steps.items()}
            derivation = Derivation(expression, steps, term=term, shown=shown)
            if verify:
                derivation.verify()
    except RecursionError:
        shown = shortened(sympy.sstr(expression), 80)
        raise ExpressionError(f"SymPy cannot differentiate {shown} step by step: its pieces "
                              "(max, min, abs) nest too deeply; write them out") from None
    return derivation
