"""Higher derivatives, mixed partials and Hessians, every stage a verified derivation.

A :class:`HigherDerivation` holds one :class:`~calculus_ml.derivation.Derivation` per stage:
the stage ``(x, y)`` differentiates the result of stage ``(x,)`` by ``y``, so ``∂²f/∂y∂x`` is
shown as two ordinary step trees. Where both orders of a mixed partial are taken (a Hessian),
:attr:`HigherDerivation.schwarz` says whether they agree, as Schwarz's theorem says they do
where the second partials are continuous.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from itertools import product

import sympy

from ..errors import ExpressionError
from ..parsing import normalized_name
from .point import (Displayed, PointValues, Results, exact_value, name_key, partial_name,
                    point_of, values_at)
from ..steps.zero import vanishes
from ..steps.real import numeric_verdict

__all__ = ["HigherDerivation", "MAX_ORDER", "MAX_STAGES", "stage_keys", "implied_wrt", "orders_of"]

MAX_ORDER = 8
"""Highest order of derivative ``derive(..., order=)`` explains step by step."""

MAX_STAGES = 30
"""Most stages (derivations) one higher derivative may hold: ``variables ** order`` grows fast."""


def implied_wrt(term: sympy.Expr, wrt, data) -> object:
    """``wrt``, or when it is omitted the expression's one symbol (besides data names)."""
    if wrt is not None:
        return wrt
    names = {normalized_name(str(d)) for d in ([data] if isinstance(data, str) else data or ())}
    free = sorted(s.name for s in term.free_symbols if s.name not in names)
    if len(free) != 1:
        raise ExpressionError(f"say which variable to differentiate by (wrt=): {term} has "
                              f"{'no symbols' if not free else 'the symbols ' + ', '.join(free)}")
    return free[0]


def orders_of(variables: list[sympy.Symbol], order: int) -> tuple[tuple[sympy.Symbol, ...], int]:
    """Distinct variables and the order: one name repeated k times is the k-th derivative."""
    if isinstance(order, bool) or not isinstance(order, int) or not 1 <= order <= MAX_ORDER:
        raise ExpressionError(f"order must be a whole number from 1 to {MAX_ORDER}, not "
                              f"{order!r}")
    distinct = tuple(dict.fromkeys(variables))
    if len(distinct) == len(variables):
        return distinct, order
    if len(distinct) > 1 or order != 1:
        raise ExpressionError("a repeated variable asks for a higher derivative: repeat one name "
                              "(['x', 'x']) or give order=; for mixed partials give the "
                              "variables once with order=2")
    return distinct, len(variables)


def stage_keys(variables: tuple, order: int) -> list[tuple]:
    """Every sequence of at most ``order`` variables, shortest first: the stages to derive."""
    return [key for k in range(1, order + 1) for key in product(variables, repeat=k)]


class HigherDerivation(Displayed):
    """Derivatives of order 2 and up, stage by stage.

    Parameters
    ----------
    expression : sympy.Expr
        The function differentiated.
    variables : tuple of sympy.Symbol
        The variables (distinct), in the order asked for.
    order : int
        The order of the derivatives.
    stages : dict
        Maps each sequence of variables (differentiated first to last) to the
        :class:`~calculus_ml.derivation.Derivation` of its last differentiation.
    """

    def __init__(self, expression: sympy.Expr, variables: tuple, order: int, stages: dict):
        self.expression = expression
        self.variables = tuple(variables)
        self.order = order
        self.stages = dict(stages)

    @property
    def results(self) -> Results:
        """Each derivative of the full order, keyed by its sequence of variables (for one
        variable also by the variable: ``results["x"]``)."""
        out = Results(expression=self.expression)
        for key, stage in self.stages.items():
            if len(key) == self.order:
                out[key if len(self.variables) > 1 else key[0]] = stage.results[key[-1]]
        return out

    @property
    def result(self) -> sympy.Expr:
        """The derivative, when there is one variable."""
        if len(self.variables) != 1:
            raise ValueError("several variables: see .results or .hessian")
        return next(iter(self.results.values()))

    @property
    def hessian(self) -> sympy.Matrix:
        """The matrix of second partial derivatives (order 2 only)."""
        if self.order != 2:
            raise ValueError("the Hessian is the matrix of second derivatives: order=2")
        v = self.variables
        return sympy.Matrix(len(v), len(v), lambda i, j: self.derivative(v[i], v[j]))

    def derivative(self, *variables) -> sympy.Expr:
        """The derivative by ``variables`` (names or symbols, differentiated first to last)."""
        wanted = name_key(variables)
        for key, stage in self.stages.items():
            if name_key(key) == wanted:
                return stage.results[key[-1]]
        raise KeyError(variables)

    @cached_property
    def schwarz(self) -> dict[tuple, bool]:
        """For each mixed partial taken in both orders, whether the two agree (proved, or at
        random real points)."""
        out = {}
        for key in self.stages:
            swapped = key[:-2] + key[-1:] + key[-2:-1] if len(key) >= 2 else key
            if swapped != key and swapped in self.stages and (swapped, key) not in out:
                a, b = self.stages[key].results[key[-1]], self.stages[swapped].results[swapped[-1]]
                out[key, swapped] = bool(vanishes(a - b) or numeric_verdict(a, b, points=20))
        return out

    def notation(self, key: tuple) -> sympy.Derivative:
        """``∂ⁿf/∂…`` of a stage, unevaluated, for display."""
        return sympy.Derivative(sympy.Function("f")(*self.variables), *key)

    def at(self, values: Mapping | None = None, /, **named) -> PointValues:
        """``f`` and every derivative up to this order at a point given by name:
        ``d.at(x=2)``."""
        point = point_of(self.expression, values, **named)
        first = {key[0]: stage.results[key[0]] for key, stage in self.stages.items()
                 if len(key) == 1}
        out = values_at(self.expression, first, point)
        for key, stage in self.stages.items():
            if len(key) > 1:
                out.rows.append((key, exact_value(stage.results[key[-1]], point)))
        return out

    # -- output -------------------------------------------------------------------------------

    def _parts(self):
        for key, stage in self.stages.items():
            yield self.notation(key), stage.results[key[-1]], stage

    def _agreement(self, show=None) -> list[str]:
        """One sentence per mixed partial taken in both orders: do they agree?"""
        name = partial_name if show is None else (lambda key: show(self.notation(key)))
        return [f"{name(a)} and {name(b)} "
                f"{'agree' if same else 'do not agree'} (Schwarz's theorem)."
                for (a, b), same in self.schwarz.items()]

    def to_text(self, *, detail: str | None = None, width: int | None = None,
                ascii: bool = False) -> str:
        """Each stage's steps under its heading ``dⁿf/dxⁿ = …``; the Schwarz checks last
        (``detail``, ``width`` and ``ascii`` as for :meth:`Derivation.to_text`)."""
        out = []
        for notation, result, stage in self._parts():
            head = sympy.pretty(sympy.Eq(notation, result, evaluate=False), use_unicode=not ascii)
            out.append(f"{head}\n\n{stage.to_text(detail=detail, width=width, ascii=ascii)}")
        return "\n".join(out + self._agreement()) + "\n"

    def to_latex(self) -> str:
        """LaTeX: each stage's ``align*`` under its equation."""
        return "\n".join(rf"\[{sympy.latex(sympy.Eq(n, r, evaluate=False))}\]" + "\n"
                         + s.to_latex() for n, r, s in self._parts()) + "\n".join(
                             ["", *self._agreement(lambda e: f"${sympy.latex(e)}$")])

    def to_markdown(self, *, detail: str | None = None) -> str:
        """Markdown: a heading per stage."""
        agreement = self._agreement(lambda e: f"${sympy.latex(e)}$")
        return "\n".join(f"## ${sympy.latex(sympy.Eq(n, r, evaluate=False))}$\n\n"
                         + s.to_markdown(detail=detail) for n, r, s in self._parts()) + "\n".join(
                             ["", *(f"- {a}" for a in agreement)]) + "\n"

    def to_html(self, *, detail: str | None = None) -> str:
        """HTML: a heading (MathML) per stage."""
        head = '<h2><math xmlns="http://www.w3.org/1998/Math/MathML">{}</math></h2>\n'
        return "".join(head.format(sympy.mathml(sympy.Eq(n, r, evaluate=False),
                                                printer="presentation")) + s.to_html(detail=detail)
                       for n, r, s in self._parts())

    def to_dict(self) -> dict:
        """JSON-ready: each stage's variables and its derivation's document."""
        return {
            "expression": sympy.sstr(self.expression),
            "order": self.order,
            "stages": [{"wrt": [str(v) for v in key], **stage.to_dict()}
                       for key, stage in self.stages.items()],
            "schwarz": [{"orders": [[str(v) for v in a], [str(v) for v in b]], "agree": same}
                        for (a, b), same in self.schwarz.items()],
        }

    def verify(self, *, symbolic: bool = False) -> dict[str, int]:
        """Check every step of every stage; counts by proof kind."""
        totals: dict[str, int] = {}
        for stage in self.stages.values():
            for kind, count in stage.verify(symbolic=symbolic).items():
                totals[kind] = totals.get(kind, 0) + count
        return totals

    def __repr__(self) -> str:
        names = ", ".join(str(v) for v in self.variables)
        return (f"<HigherDerivation of order {self.order} of {sympy.sstr(self.expression)} "
                f"with respect to {names}>")
