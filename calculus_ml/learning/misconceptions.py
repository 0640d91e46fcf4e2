"""The catalogue of classic wrong derivations, and the detector that names the one a learner made.

Each :class:`Misconception` is a wrong rule beside the right one. :func:`wrong_derivatives`
differentiates an expression the textbook way with one rule replaced by its wrong version —
everywhere it applies, and at each single place it applies — so a learner's answer can be matched
*exactly* (as a function) against what each mistake produces. The detector
(:func:`misconception_of`) returns the first entry of :data:`CATALOGUE` whose wrong derivation
reproduces the answer.

Correct derivatives here are taken with ``sympy.diff`` only as the rest of a wrong derivation;
what a learner is told is right always comes from the verified derivation.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import sympy

__all__ = ["Misconception", "CATALOGUE", "IDS", "get", "wrong_derivatives", "MAX_SITES"]

MAX_SITES = 8
"""Places (nodes where a rule applies) each mistake is tried at one at a time."""


@dataclass(frozen=True)
class Misconception:
    """A classic wrong derivation.

    Attributes
    ----------
    id : str
        Stable identifier (``Verdict.misconception``).
    name : str
        A short name.
    wrong, right : str
        The wrong rule and the right one, as formulas.
    advice : str
        One sentence for the learner.
    example : tuple of str
        ``(expression, variable, wrong answer)`` the mistake produces (tested, and shown in the
        documentation's gallery).
    """

    id: str
    name: str
    wrong: str
    right: str
    advice: str
    example: tuple[str, str, str]


CATALOGUE: tuple[Misconception, ...] = (
    Misconception("chain_inner_forgotten", "inner derivative forgotten (chain rule)",
                  "d/dx f(g(x)) = f′(g(x))", "d/dx f(g(x)) = f′(g(x)) · g′(x)",
                  "multiply by the derivative of the inner expression (the chain rule)",
                  ("(3*x^2 + 10*x)^3", "x", "3*(3*x^2 + 10*x)^2")),
    Misconception("power_not_lowered", "exponent not lowered (power rule)",
                  "d/dx xⁿ = n xⁿ", "d/dx xⁿ = n xⁿ⁻¹",
                  "the power rule lowers the exponent by one", ("x^4", "x", "4*x^4")),
    Misconception("power_not_multiplied", "exponent not brought down (power rule)",
                  "d/dx xⁿ = xⁿ⁻¹", "d/dx xⁿ = n xⁿ⁻¹",
                  "the power rule brings the exponent down as a factor", ("x^4", "x", "x^3")),
    Misconception("product_of_derivatives", "product rule as a product of derivatives",
                  "d/dx [f g] = f′ g′", "d/dx [f g] = f′ g + f g′",
                  "the derivative of a product is f′g + fg′, not f′g′",
                  ("x^2*sin(x)", "x", "2*x*cos(x)")),
    Misconception("quotient_order", "quotient rule, numerator in the wrong order",
                  "d/dx [f/g] = (f g′ − f′ g)/g²", "d/dx [f/g] = (f′ g − f g′)/g²",
                  "the quotient rule's numerator is f′g − fg′: the derivative of the top first",
                  ("x/(x + 1)", "x", "(x - (x + 1))/(x + 1)^2")),
    Misconception("quotient_sign", "quotient rule with a plus sign",
                  "d/dx [f/g] = (f′ g + f g′)/g²", "d/dx [f/g] = (f′ g − f g′)/g²",
                  "the quotient rule subtracts: (f′g − fg′)/g²",
                  ("x/(x + 1)", "x", "(x + 1 + x)/(x + 1)^2")),
    Misconception("sign_lost", "sign lost from a − inside",
                  "d/dm [−m x] = x", "d/dm [−m x] = −x",
                  "a minus sign in front of a term stays in front of its derivative",
                  ("(y - (m*x + b))^2", "m", "2*(y - (m*x + b))*x")),
    Misconception("constant_dropped", "constant factor (or 1/n) dropped",
                  "d/dx [c f] = f′", "d/dx [c f] = c f′",
                  "a constant factor, such as 1/n of a mean, stays in front of the derivative",
                  ("5*x^2", "x", "2*x")),
    Misconception("constant_not_zero", "derivative of a constant not 0",
                  "d/dx c = c  (or 1)", "d/dx c = 0",
                  "a term that does not depend on the variable has derivative 0",
                  ("x^2 + 7", "x", "2*x + 7")),
    Misconception("exp_misremembered", "eˣ differentiated like a power",
                  "d/dx eˣ = x eˣ⁻¹", "d/dx eˣ = eˣ",
                  "eˣ is its own derivative; the power rule is for a variable base",
                  ("exp(x)", "x", "x*exp(x - 1)")),
    Misconception("log_misremembered", "ln x misremembered",
                  "d/dx ln x = ln x  (or 1/ln x)", "d/dx ln x = 1/x",
                  "the derivative of ln x is 1/x", ("log(x)", "x", "1/log(x)")),
    Misconception("trig_sign", "trigonometric sign",
                  "d/dx cos x = sin x", "d/dx cos x = −sin x",
                  "the derivative of cos x is −sin x (and of sin x is +cos x)",
                  ("cos(x)", "x", "sin(x)")),
    Misconception("wrong_variable", "differentiated by the wrong variable",
                  "∂/∂m f computed as ∂/∂x f", "∂/∂m f, every other name held constant",
                  "differentiate by the variable asked for and hold the others constant",
                  ("m*x^2 + b", "m", "2*m*x")),
)
"""Every misconception, in the order the detector tries them."""

IDS: tuple[str, ...] = tuple(m.id for m in CATALOGUE)


def get(misconception_id: str) -> Misconception:
    """The catalogue entry with this id."""
    return next(m for m in CATALOGUE if m.id == misconception_id)


_TRIG = (sympy.sin, sympy.cos, sympy.tan, sympy.sec, sympy.csc, sympy.cot)

_VARIANTS = {
    "constant_not_zero": (lambda c: c, lambda c: sympy.Integer(1)),
    "exp_misremembered": (lambda u: u * sympy.exp(u - 1), lambda u: u * sympy.exp(u)),
    "log_misremembered": (lambda u: 1 / sympy.log(u), sympy.log, sympy.exp),
}
"""Mistakes with more than one common wrong form: each variant maps the argument (or the
constant) to the wrong derivative of the outer function."""


class _Wrong:
    """The textbook derivative of an expression with one mistake, at one site or all."""

    def __init__(self, var: sympy.Symbol, mistake: str, site: int | None, variant: int = 0):
        self.var, self.mistake, self.site = var, mistake, site
        self.variant = _VARIANTS.get(mistake, (None,))[variant]
        self.sites = 0

    def here(self, mistake: str) -> bool:
        """Whether ``mistake`` is made at this (applicable) site."""
        if mistake != self.mistake:
            return False
        self.sites += 1
        return self.site is None or self.site == self.sites - 1

    def d(self, e: sympy.Expr) -> sympy.Expr:
        x = self.var
        if not e.has(x):
            return self.variant(e) if e != 0 and self.here("constant_not_zero") else sympy.S.Zero
        if e == x:
            return sympy.S.One
        if e.is_Add:
            return sympy.Add(*(self.d(t) for t in e.args))
        if e.is_Mul:
            return self._product(e)
        if e.is_Pow:
            return self._power(*e.args)
        if isinstance(e, sympy.Function) and len(e.args) == 1:
            return self._function(e)
        return sympy.diff(e, x)

    def _product(self, e: sympy.Expr) -> sympy.Expr:
        c, rest = e.as_independent(self.var, as_Add=False)
        if c != 1:
            if c.could_extract_minus_sign() and self.here("sign_lost"):
                c = -c
            elif abs(c) != 1 and self.here("constant_dropped"):
                c = sympy.sign(c) if c.is_number else sympy.S.One
            return c * self.d(rest)
        factors = sympy.Mul.make_args(rest)
        top = [f for f in factors if not (f.is_Pow and f.exp.is_number and f.exp.is_negative)]
        bottom = [1 / f for f in factors if f not in top]
        if top and bottom:
            f, g = sympy.Mul(*top), sympy.Mul(*bottom)
            df, dg = self.d(f), self.d(g)
            if self.here("quotient_order"):
                return (f * dg - df * g) / g**2
            if self.here("quotient_sign"):
                return (df * g + f * dg) / g**2
            return (df * g - f * dg) / g**2
        derivatives = [self.d(f) for f in factors]
        if self.here("product_of_derivatives"):
            return sympy.Mul(*derivatives)
        return sympy.Add(*(d * sympy.Mul(*factors[:k], *factors[k + 1:])
                           for k, d in enumerate(derivatives)))

    def _power(self, base: sympy.Expr, exponent: sympy.Expr) -> sympy.Expr:
        x = self.var
        if not exponent.has(x):
            inner = self.d(base)
            outer = exponent * base ** (exponent - 1)
            if self.here("power_not_lowered"):
                outer = exponent * base**exponent
            elif self.here("power_not_multiplied"):
                outer = base ** (exponent - 1)
            if base != x and self.here("chain_inner_forgotten"):
                return outer
            return outer * inner
        if not base.has(x):
            return self._outer(base**exponent, exponent, base**exponent * sympy.log(base))
        return sympy.diff(base**exponent, x)

    def _function(self, e: sympy.Function) -> sympy.Expr:
        (u,) = e.args
        t = sympy.Dummy("t", real=True)
        outer = sympy.diff(e.func(t), t).subs(t, u)
        if e.func in _TRIG and self.here("trig_sign"):
            outer = -outer
        elif e.func is sympy.log and self.here("log_misremembered"):
            outer = self.variant(u)
        return self._outer(e, u, outer)

    def _outer(self, e: sympy.Expr, u: sympy.Expr, outer: sympy.Expr) -> sympy.Expr:
        """``outer · u′`` for ``e = f(u)``, with the exponential and chain-rule mistakes."""
        if isinstance(e, sympy.exp) or (e.is_Pow and e.base == sympy.E):
            if self.here("exp_misremembered"):
                outer = self.variant(u)
        inner = self.d(u)
        if u != self.var and self.here("chain_inner_forgotten"):
            return outer
        return outer * inner


def wrong_derivatives(expr: sympy.Expr, var: sympy.Symbol,
                      others: tuple[sympy.Symbol, ...] = ()) -> Iterator[tuple[str, sympy.Expr]]:
    """``(misconception id, wrong derivative)`` for each way of making each mistake of
    :data:`CATALOGUE` on ``d expr / d var``: everywhere it applies, then at each single place
    (up to :data:`MAX_SITES`). ``others`` are the variables the learner might have
    differentiated by instead (``wrong_variable``)."""
    for m in CATALOGUE:
        if m.id == "wrong_variable":
            for other in others:
                yield m.id, sympy.diff(expr, other)
            continue
        for variant in range(len(_VARIANTS.get(m.id, (None,)))):
            counter = _Wrong(var, m.id, None, variant)
            everywhere = counter.d(expr)
            if not counter.sites:
                break
            yield m.id, everywhere
            if counter.sites > 1:
                for site in range(min(counter.sites, MAX_SITES)):
                    yield m.id, _Wrong(var, m.id, site, variant).d(expr)

