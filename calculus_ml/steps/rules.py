"""Differentiation rules: one class per rule, holding data and computing its result.

A rule's docstring is its formula. Rules never print and never call ``sympy.diff``: each result is
built from the rule's own formula and the results of its substeps, so checking it against
``sympy.diff`` (see :mod:`calculus_ml.steps.verify`) is an independent test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import sympy

from ..symbolic import component


from .leaves import (  # noqa: F401 - re-exported: every rule is reachable from here
    AbsRule, ConstantRule, ErfRule, ExpRule, GeluRule, HyperbolicRule, InverseTrigRule, LogRule,
    PowerRule, SigmoidRule, SiluRule, SoftplusRule, StepFunctionRule, TrigRule, UnknownRule,
    VariableRule,
)
from .step import Fact, Step, _plain_name  # noqa: F401 - Fact and Step re-exported


# -- rules built from substeps -----------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ConstantMultipleRule(Step):
    """d/dx[c f(x)] = c d/dx[f(x)]"""

    constant: sympy.Expr = sympy.Integer(1)
    other: sympy.Expr = sympy.Integer(1)
    substep: Step | None = None

    rule: ClassVar[str] = "constant_multiple"
    title: ClassVar[str] = "constant multiple rule"

    @property
    def substeps(self):
        return (self.substep,)

    def _result(self):
        return self.constant * self.substep.result

    def _explanation(self):
        return (
            f"A factor that does not depend on {self.var_name}{self._held_constant()} "
            "stays in front of the derivative."
        )


@dataclass(frozen=True, eq=False)
class SumRule(Step):
    """d/dx[f + g] = d/dx[f] + d/dx[g]"""

    terms: tuple[Step, ...] = ()

    rule: ClassVar[str] = "sum"
    title: ClassVar[str] = "sum rule"

    @property
    def substeps(self):
        return self.terms

    def _result(self):
        return sympy.Add(*(t.result for t in self.terms))

    def _explanation(self):
        return "The derivative of a sum is the sum of the derivatives of its terms."


@dataclass(frozen=True, eq=False)
class ProductRule(Step):
    """d/dx[f g] = d/dx[f] g + f d/dx[g]"""

    factors: tuple[Step, ...] = ()

    rule: ClassVar[str] = "product"
    title: ClassVar[str] = "product rule"

    @property
    def substeps(self):
        return self.factors

    def _result(self):
        exprs = [f.expr for f in self.factors]
        return sympy.Add(
            *(
                step.result * sympy.Mul(*(e for j, e in enumerate(exprs) if j != k))
                for k, step in enumerate(self.factors)
            )
        )

    def _explanation(self):
        return (
            "Differentiate one factor at a time, keeping the others as they are, "
            "and add the results."
        )


@dataclass(frozen=True, eq=False)
class QuotientRule(Step):
    """d/dx[f / g] = (d/dx[f] g - f d/dx[g]) / g^2"""

    numerator: Step | None = None
    denominator: Step | None = None

    rule: ClassVar[str] = "quotient"
    title: ClassVar[str] = "quotient rule"

    @property
    def substeps(self):
        return (self.numerator, self.denominator)

    def _result(self):
        f, g = self.numerator.expr, self.denominator.expr
        df, dg = self.numerator.result, self.denominator.result
        return (df * g - f * dg) / g**2

    def _explanation(self):
        return (
            "Derivative of the numerator times the denominator, minus the numerator times the "
            "derivative of the denominator, all over the denominator squared."
        )


@dataclass(frozen=True, eq=False)
class ChainRule(Step):
    """d/dx[f(u(x))] = f'(u) d/dx[u(x)]"""

    u: sympy.Symbol | None = None
    inner: sympy.Expr = sympy.Integer(0)
    outer: Step | None = None
    inner_step: Step | None = None

    rule: ClassVar[str] = "chain"
    title: ClassVar[str] = "chain rule"

    @property
    def substeps(self):
        return (self.outer, self.inner_step)

    @property
    def outer_at_inner(self) -> sympy.Expr:
        """f'(u) with u replaced by the inner expression, kept unexpanded."""
        outer = self.outer.result  # evaluated normally before the substitution below
        with sympy.evaluate(False):
            return outer.xreplace({self.u: self.inner})

    def _result(self):
        return self.outer_at_inner * self.inner_step.result

    def _explanation(self):
        return (
            f"Call the inner expression {self.u}: differentiate the outer function with respect "
            f"to {self.u}, then multiply by the derivative of {self.u} with respect to {self.var_name}."
        )


@dataclass(frozen=True, eq=False)
class GeneralPowerRule(Step):
    """d/dx[f^g] = f^g d/dx[g ln f]"""

    base: sympy.Expr = sympy.Integer(1)
    exponent: sympy.Expr = sympy.Integer(1)
    substep: Step | None = None

    rule: ClassVar[str] = "general_power"
    title: ClassVar[str] = "logarithmic differentiation"

    @property
    def substeps(self):
        return (self.substep,)

    def _result(self):
        return self.expr * self.substep.result

    def _explanation(self):
        return (
            f"Both base and exponent depend on {self.var_name}: write the power as exp(g ln f), "
            "so its derivative is the power times the derivative of g ln f."
        )


@dataclass(frozen=True, eq=False)
class RewriteRule(Step):
    """d/dx[f] = d/dx[g] when f = g is an algebraic identity"""

    rewritten: sympy.Expr = sympy.Integer(0)
    identity: str = ""
    substep: Step | None = None

    rule: ClassVar[str] = "rewrite"
    title: ClassVar[str] = "rewrite"

    @property
    def substeps(self):
        return (self.substep,)

    def _result(self):
        return self.substep.result

    def _explanation(self):
        return f"Rewrite the expression first: {self.identity}."


@dataclass(frozen=True, eq=False)
class PiecewiseRule(Step):
    """d/dx[f(x) if c else g(x)] = d/dx[f(x)] if c else d/dx[g(x)], away from the kinks"""

    pieces: tuple[tuple[Step, sympy.Basic], ...] = ()

    rule: ClassVar[str] = "piecewise"
    title: ClassVar[str] = "piecewise rule"

    @property
    def substeps(self):
        return tuple(step for step, _ in self.pieces)

    def _result(self):
        return sympy.Piecewise(*((step.result, cond) for step, cond in self.pieces))

    def _explanation(self):
        return (
            "Differentiate each piece on its own region; where the pieces meet the function "
            "has a kink and the piece listed first is used (a subgradient)."
        )


@dataclass(frozen=True, eq=False)
class DotRule(Step):
    """d/dw_j[w · x] = x_j"""

    rule: ClassVar[str] = "dot"
    title: ClassVar[str] = "inner product rule"

    def _result(self):
        (j,) = self.var.indices
        a, b = self.expr.args
        pairs = ((a, b), (b, a))  # w · w gives both terms: 2 w_j
        return sympy.Add(*(component(other, j) for v, other in pairs if v == self.var.base))

    def _explanation(self):
        a, b = self.expr.args
        (j,) = self.var.indices
        k = sympy.Symbol("k")
        term = " ".join(_plain_name(component(v, k)) for v in (a, b))
        return (
            f"The inner product {_plain_name(a)}·{_plain_name(b)} is the sum over k of {term}; "
            f"only the terms with k = {j} depend on {_plain_name(self.var)}, so the derivative is "
            "the matching component of the other vector."
        )


@dataclass(frozen=True, eq=False)
class SumOverDataRule(Step):
    """d/dθ[Σᵢ f(θ; xᵢ)] = Σᵢ d/dθ[f(θ; xᵢ)]"""

    substep: Step | None = None

    rule: ClassVar[str] = "sum_over_data"
    title: ClassVar[str] = "sum over the data"

    @property
    def substeps(self):
        return (self.substep,)

    def _result(self):
        return sympy.Sum(self.substep.result, *self.expr.limits)

    def _explanation(self):
        return (
            "The derivative of a sum over data points is the sum of the derivatives: "
            f"differentiate one data point's term with respect to {self.var_name}, then add them up."
        )


@dataclass(frozen=True, eq=False)
class SimplifyRule(Step):
    """d/dx[f] = g after tidying the derivative found for f into the equal form g"""

    simplified: sympy.Expr = sympy.Integer(0)
    substep: Step | None = None
    how: str = "collect common factors"

    rule: ClassVar[str] = "simplify"
    title: ClassVar[str] = "simplify"

    @property
    def substeps(self):
        return (self.substep,)

    def _result(self):
        return self.simplified

    def _explanation(self):
        return f"{self.how[:1].upper()}{self.how[1:]}."


RULES: tuple[type[Step], ...] = (
    ConstantRule,
    VariableRule,
    ConstantMultipleRule,
    SumRule,
    PowerRule,
    ProductRule,
    QuotientRule,
    ChainRule,
    ExpRule,
    LogRule,
    TrigRule,
    InverseTrigRule,
    HyperbolicRule,
    AbsRule,
    SigmoidRule,
    SoftplusRule,
    ErfRule,
    GeluRule,
    SiluRule,
    StepFunctionRule,
    PiecewiseRule,
    GeneralPowerRule,
    RewriteRule,
    DotRule,
    SumOverDataRule,
    SimplifyRule,
    UnknownRule,
)
"""Every rule class, in the order the documentation lists them."""
