"""Differentiation rules: one class per rule, holding data and computing its result.

A rule's docstring is its formula. Rules never print and never call ``sympy.diff``: each result is
built from the rule's own formula and the results of its substeps, so checking it against
``sympy.diff`` (see :mod:`calculus_ml.steps.verify`) is an independent test.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar, Iterator

import sympy

from ..functions import sigmoid, softplus
from ..symbolic import check_time, component


@dataclass(frozen=True)
class Fact:
    """A labelled piece of maths shown under a step, e.g. ``("where", Eq(u, 3x + 1))``."""

    label: str
    math: sympy.Basic


@dataclass(frozen=True, eq=False)
class Step:
    """One node of a derivation: ``d/d(var)[expr] = result``, with the rule that justifies it."""

    expr: sympy.Expr
    var: sympy.Symbol

    rule: ClassVar[str] = ""
    title: ClassVar[str] = ""

    @property
    def substeps(self) -> tuple[Step, ...]:
        """The steps this one is assembled from, in reading order."""
        return ()

    @cached_property
    def result(self) -> sympy.Expr:
        """The derivative, computed from this rule's formula and its substeps' results."""
        check_time()  # a safe point of the work budget: results are computed on first use
        return self._result()

    def _result(self) -> sympy.Expr:
        raise NotImplementedError

    @cached_property
    def explanation(self) -> str:
        """One plain sentence saying why the step holds."""
        return self._explanation()

    def _explanation(self) -> str:
        return ""

    @property
    def formula(self) -> str:
        """The rule's formula, taken from the class docstring."""
        return (type(self).__doc__ or "").strip().splitlines()[0]

    def walk(self) -> Iterator[Step]:
        """Yield this step and every step below it, depth first."""
        yield self
        for sub in self.substeps:
            yield from sub.walk()

    def _held_constant(self) -> str:
        vector = self.var.base.label if isinstance(self.var, sympy.Indexed) else self.var
        others = sorted(  # for w_j the vector w is not held constant either
            _plain_name(s) for s in _quantities(self.expr) if s not in (self.var, vector)
        )
        if not others:
            return ""
        names = ", ".join(others)
        verb = "is" if len(others) == 1 else "are"
        return f" ({names} {verb} held constant)"


def _quantities(expr: sympy.Expr) -> set[sympy.Basic]:
    """The real symbols and indexed data of ``expr``: no indices, counts or array labels.

    Built from ``atoms`` rather than ``free_symbols``, which is slow on sums over data.
    """
    indexed = expr.atoms(sympy.Indexed)
    labels = {ix.base.label for ix in indexed}
    return {s for s in expr.atoms(sympy.Symbol) if not s.is_integer} - labels | indexed


def _plain_name(quantity: sympy.Basic) -> str:
    if isinstance(quantity, sympy.Indexed):
        return f"{quantity.base.label}_" + "".join(str(i) for i in quantity.indices)
    return str(quantity)


# -- leaves ------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ConstantRule(Step):
    """d/dx[c] = 0"""

    rule: ClassVar[str] = "constant"
    title: ClassVar[str] = "constant rule"

    def _result(self):
        return sympy.Integer(0)

    def _explanation(self):
        held = self._held_constant()
        return f"This term does not depend on {self.var}{held}, so its derivative is 0."


@dataclass(frozen=True, eq=False)
class VariableRule(Step):
    """d/dx[x] = 1"""

    rule: ClassVar[str] = "variable"
    title: ClassVar[str] = "variable rule"

    def _result(self):
        return sympy.Integer(1)

    def _explanation(self):
        return f"The derivative of {self.var} with respect to itself is 1."


@dataclass(frozen=True, eq=False)
class PowerRule(Step):
    """d/dx[x^n] = n x^(n-1)"""

    exponent: sympy.Expr = sympy.Integer(1)

    rule: ClassVar[str] = "power"
    title: ClassVar[str] = "power rule"

    def _result(self):
        return self.exponent * self.var ** (self.exponent - 1)

    def _explanation(self):
        return "Bring the exponent down as a factor and lower the exponent by one."


@dataclass(frozen=True, eq=False)
class ExpRule(Step):
    """d/dx[a^x] = a^x ln(a), so d/dx[e^x] = e^x"""

    base: sympy.Expr = sympy.E

    rule: ClassVar[str] = "exp"
    title: ClassVar[str] = "exponential rule"

    def _result(self):
        if self.base == sympy.E:
            return sympy.exp(self.var)
        return self.base**self.var * sympy.log(self.base)

    def _explanation(self):
        if self.base == sympy.E:
            return "The exponential function is its own derivative."
        return "An exponential with a constant base is itself times the natural log of the base."


class _TableRule(Step):
    """Base of the rules for one-argument functions, each with a table of derivatives."""

    derivatives: ClassVar[dict] = {}
    sentence: ClassVar[str] = ""

    def _result(self):
        return self.derivatives[self.expr.func](self.var)

    def _explanation(self):
        return self.sentence.format(f=self.expr.func.__name__, x=self.var)


@dataclass(frozen=True, eq=False)
class LogRule(_TableRule):
    """d/dx[ln x] = 1/x"""

    rule: ClassVar[str] = "log"
    title: ClassVar[str] = "logarithm rule"
    derivatives: ClassVar[dict] = {sympy.log: lambda x: 1 / x}
    sentence: ClassVar[str] = "The derivative of the natural logarithm of {x} is 1 over {x}."


@dataclass(frozen=True, eq=False)
class TrigRule(_TableRule):
    """d/dx[sin x] = cos x, d/dx[cos x] = -sin x, d/dx[tan x] = sec^2 x, ..."""

    rule: ClassVar[str] = "trig"
    title: ClassVar[str] = "trigonometric rule"
    derivatives: ClassVar[dict] = {
        sympy.sin: lambda x: sympy.cos(x),
        sympy.cos: lambda x: -sympy.sin(x),
        sympy.tan: lambda x: sympy.sec(x) ** 2,
        sympy.sec: lambda x: sympy.sec(x) * sympy.tan(x),
        sympy.csc: lambda x: -sympy.csc(x) * sympy.cot(x),
        sympy.cot: lambda x: -sympy.csc(x) ** 2,
    }
    sentence: ClassVar[str] = "Use the standard derivative of {f}."


@dataclass(frozen=True, eq=False)
class InverseTrigRule(_TableRule):
    """d/dx[asin x] = 1/sqrt(1 - x^2), d/dx[acos x] = -1/sqrt(1 - x^2), d/dx[atan x] = 1/(1+x^2)"""

    rule: ClassVar[str] = "inverse_trig"
    title: ClassVar[str] = "inverse trigonometric rule"
    derivatives: ClassVar[dict] = {
        sympy.asin: lambda x: 1 / sympy.sqrt(1 - x**2),
        sympy.acos: lambda x: -1 / sympy.sqrt(1 - x**2),
        sympy.atan: lambda x: 1 / (1 + x**2),
        sympy.acot: lambda x: -1 / (1 + x**2),
    }
    sentence: ClassVar[str] = "Use the standard derivative of the inverse function {f}."


@dataclass(frozen=True, eq=False)
class HyperbolicRule(_TableRule):
    """d/dx[sinh x] = cosh x, d/dx[cosh x] = sinh x, d/dx[tanh x] = 1 - tanh^2 x, and inverses"""

    rule: ClassVar[str] = "hyperbolic"
    title: ClassVar[str] = "hyperbolic rule"
    derivatives: ClassVar[dict] = {
        sympy.sinh: lambda x: sympy.cosh(x),
        sympy.cosh: lambda x: sympy.sinh(x),
        sympy.tanh: lambda x: 1 - sympy.tanh(x) ** 2,
        sympy.asinh: lambda x: 1 / sympy.sqrt(x**2 + 1),
        sympy.acosh: lambda x: 1 / (sympy.sqrt(x - 1) * sympy.sqrt(x + 1)),  # 1/sqrt(x²-1), x > 1
        sympy.atanh: lambda x: 1 / (1 - x**2),
    }
    sentence: ClassVar[str] = "Use the standard derivative of the hyperbolic function {f}."


@dataclass(frozen=True, eq=False)
class AbsRule(_TableRule):
    """d/dx[|x|] = sign(x), for x != 0"""

    rule: ClassVar[str] = "abs"
    title: ClassVar[str] = "absolute value rule"
    derivatives: ClassVar[dict] = {sympy.Abs: lambda x: sympy.sign(x)}
    sentence: ClassVar[str] = (
        "The absolute value has slope -1 left of 0 and +1 right of it (the sign of {x}); "
        "at 0 there is no derivative and the subgradient 0 is used."
    )


@dataclass(frozen=True, eq=False)
class SigmoidRule(_TableRule):
    """d/dx[sigma(x)] = sigma(x) (1 - sigma(x))"""

    rule: ClassVar[str] = "sigmoid"
    title: ClassVar[str] = "sigmoid rule"
    derivatives: ClassVar[dict] = {sigmoid: lambda x: sigmoid(x) * (1 - sigmoid(x))}
    sentence: ClassVar[str] = (
        "The logistic sigmoid 1/(1 + exp(-{x})) has derivative sigmoid times one minus sigmoid."
    )


@dataclass(frozen=True, eq=False)
class SoftplusRule(_TableRule):
    """d/dx[softplus(x)] = sigma(x)"""

    rule: ClassVar[str] = "softplus"
    title: ClassVar[str] = "softplus rule"
    derivatives: ClassVar[dict] = {softplus: lambda x: sigmoid(x)}
    sentence: ClassVar[str] = "Softplus ln(1 + exp({x})) has the sigmoid as its derivative."


@dataclass(frozen=True, eq=False)
class UnknownRule(Step):
    """d/dx[f(x)] as SymPy computes it, for functions outside the rule vocabulary"""

    rule: ClassVar[str] = "unknown"
    title: ClassVar[str] = "no named rule"

    def _result(self):
        return sympy.diff(self.expr, self.var)

    def _explanation(self):
        return "No named rule covers this function; SymPy's derivative is used."


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
            f"A factor that does not depend on {self.var}{self._held_constant()} "
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
            f"to {self.u}, then multiply by the derivative of {self.u} with respect to {self.var}."
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
            f"Both base and exponent depend on {self.var}: write the power as exp(g ln f), "
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
            f"differentiate one data point's term with respect to {self.var}, then add them up."
        )


@dataclass(frozen=True, eq=False)
class SimplifyRule(Step):
    """d/dx[f] = g after tidying the derivative found for f into the equal form g"""

    simplified: sympy.Expr = sympy.Integer(0)
    substep: Step | None = None

    rule: ClassVar[str] = "simplify"
    title: ClassVar[str] = "simplify"

    @property
    def substeps(self):
        return (self.substep,)

    def _result(self):
        return self.simplified

    def _explanation(self):
        return "Tidy the result: collect and factor common terms."


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
    PiecewiseRule,
    GeneralPowerRule,
    RewriteRule,
    DotRule,
    SumOverDataRule,
    SimplifyRule,
    UnknownRule,
)
"""Every rule class, in the order the documentation lists them."""
