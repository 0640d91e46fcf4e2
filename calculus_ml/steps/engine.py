"""Build the step tree of a derivative by dispatching on the expression's type.

The handlers choose a rule and derive its sub-expressions; every rule computes its own result.
A variable is a symbol or a component ``w[j]`` of a vector ``w``; an expression depends on
``w[j]`` when it holds ``w`` (inside an inner product ``dot(w, x)``).
Within one tree, a sub-derivation met twice is built once and shared.
"""

from __future__ import annotations

from typing import Callable

import sympy
from sympy.core.mul import _unevaluated_Mul

from ..errors import ExpressionError
from ..symbolic import check_time, fold_size, fresh_symbol, too_large
from . import rules as r
from .answer_key import plain_condition, positive_first

_FUNCTION_RULES: dict[type, type[r.Step]] = {
    func: rule
    for rule in (
        r.LogRule,
        r.TrigRule,
        r.InverseTrigRule,
        r.HyperbolicRule,
        r.AbsRule,
        r.SigmoidRule,
        r.SoftplusRule,
        r.ErfRule,
        r.GeluRule,
        r.SiluRule,
        r.StepFunctionRule,
    )
    for func in rule.derivatives
}

_CHAIN_NAMES = ("u", "v", "w", "t", "s", "q")

MAX_PIECES = 5
"""Most arguments of a ``max`` or ``min`` differentiated: its derivative's regions are
conditions on every pair of arguments, which SymPy combines at a cost growing about fivefold
with each argument (a quarter of a second for five, a second for six)."""

MAX_FOLD = 500
"""Largest :func:`~calculus_ml.symbolic.fold_size` of a per-sample derivative summed over data
(about a second of SymPy's work per 250: 243 for five ``relu`` of one parameter)."""


class _Builder:
    """Derives one expression with respect to one variable, sharing repeated sub-derivations."""

    def __init__(self, var: sympy.Symbol, taken: set[str]):
        self.var = var
        self.taken = set(taken)
        self.cache: dict[tuple[sympy.Basic, sympy.Symbol], r.Step] = {}
        self.chain_symbols: set[sympy.Symbol] = set()

    def step(self, expr: sympy.Expr, var: sympy.Symbol | None = None) -> r.Step:
        var = self.var if var is None else var
        key = (expr, var)
        if key not in self.cache:
            check_time()
            self.cache[key] = self._dispatch(expr, var)
        return self.cache[key]

    def _dispatch(self, expr: sympy.Expr, var: sympy.Symbol) -> r.Step:
        if not expr.has(_marker(var)):
            return r.ConstantRule(expr, var)
        if expr == var:
            return r.VariableRule(expr, var)
        for cls in type(expr).__mro__:
            handler: Callable | None = getattr(self, f"_{cls.__name__}", None)
            if handler is not None:
                return handler(expr, var)
        return r.UnknownRule(expr, var)

    # -- handlers, one per expression type ---------------------------------------------------

    def _Add(self, expr, var):
        terms = positive_first(expr.as_ordered_terms())  # the order they are printed in
        return r.SumRule(expr, var, terms=tuple(self.step(t, var) for t in terms))

    def _Mul(self, expr, var):
        constant, rest = _split_constant(expr, _marker(var))
        if constant != 1:
            return r.ConstantMultipleRule(
                expr, var, constant=constant, other=rest, substep=self.step(rest, var)
            )
        numerator, denominator = [], []
        for factor in expr.args:
            if factor.is_Pow and factor.exp.is_number and factor.exp.is_negative:
                denominator.append(factor.base ** (-factor.exp))
            else:
                numerator.append(factor)
        if numerator and denominator:
            return r.QuotientRule(
                expr,
                var,
                numerator=self.step(sympy.Mul(*numerator), var),
                denominator=self.step(sympy.Mul(*denominator), var),
            )
        return r.ProductRule(expr, var, factors=tuple(self.step(f, var) for f in expr.args))

    def _Pow(self, expr, var):
        base, exponent = expr.args
        if not exponent.has(_marker(var)):
            if base == var:
                step = r.PowerRule(expr, var, exponent=exponent)
            else:
                step = self._chain(expr, var, base, lambda u: u**exponent)
            if exponent.is_Rational and not exponent.is_Integer and var not in self.chain_symbols:
                return r.RewriteRule(
                    expr, var, rewritten=expr, identity="a root is a fractional power", substep=step
                )
            return step
        if not base.has(_marker(var)):
            if exponent == var:
                return r.ExpRule(expr, var, base=base)
            return self._chain(expr, var, exponent, lambda u: base**u)
        return r.GeneralPowerRule(
            expr,
            var,
            base=base,
            exponent=exponent,
            substep=self.step(exponent * sympy.log(base), var),
        )

    def _exp(self, expr, var):
        (arg,) = expr.args
        if arg == var:
            return r.ExpRule(expr, var)
        return self._chain(expr, var, arg, sympy.exp)

    def _Function(self, expr, var):
        if len(expr.args) != 1:
            return r.UnknownRule(expr, var)
        (arg,) = expr.args
        if arg != var:
            return self._chain(expr, var, arg, expr.func)
        return _FUNCTION_RULES.get(expr.func, r.UnknownRule)(expr, var)

    def _MinMaxBase(self, expr, var):
        name = "max" if isinstance(expr, sympy.Max) else "min"
        if len(expr.args) > MAX_PIECES:
            raise too_large(f"{name} of {len(expr.args)} arguments (SymPy merges nested ones) "
                            "has too many regions to differentiate",
                            f"at most {MAX_PIECES} arguments in one {name}")
        pieces = expr.rewrite(sympy.Piecewise, deep=False)  # inner kinks get their own step
        pieces = sympy.Piecewise(*((e, plain_condition(c)) for e, c in pieces.args))
        return self._pieces(expr, var, pieces, f"{name} picks one argument on each region")

    def _sign(self, expr, var):
        (arg,) = expr.args  # SymPy rewrites sign only for arguments it knows to be real
        try:
            pieces = sympy.Piecewise((1, arg > 0), (-1, arg < 0), (0, True))
        except TypeError:  # SymPy knows arg is not real: it refuses the comparisons
            raise ExpressionError(f"{expr} takes the sign of {arg}, which is not real") from None
        return self._pieces(expr, var, pieces, "sign is 1, -1 or 0 on each region")

    def _pieces(self, expr, var, pieces: sympy.Piecewise, identity: str) -> r.RewriteRule:
        return r.RewriteRule(
            expr, var, rewritten=pieces, identity=identity, substep=self.step(pieces, var)
        )

    def _Piecewise(self, expr, var):
        return r.PiecewiseRule(
            expr, var, pieces=tuple((self.step(e, var), cond) for e, cond in expr.args)
        )

    def _dot(self, expr, var):
        if not isinstance(var, sympy.Indexed):
            raise ExpressionError(
                f"{expr} is an inner product of vectors: differentiate by a component w[j] "
                "(calculus_ml.Loss does this for a vector parameter)"
            )
        return r.DotRule(expr, var)

    def _Sum(self, expr, var):
        substep = self.step(expr.function, var)
        if fold_size(substep.result, expr.limits[0][0]) > MAX_FOLD:
            raise too_large(f"its derivative by {var} has pieces (from max, min, abs or sign) "
                            "whose regions multiply when summed over the data",
                            f"fewer max, min or sign terms holding {var} in one data point's term")
        return r.SumOverDataRule(expr, var, substep=substep)

    # -- the chain rule ----------------------------------------------------------------------

    def _chain(self, expr, var, inner, outer: Callable) -> r.ChainRule:
        u = self._fresh_symbol()
        try:
            outer_step = self.step(outer(u), u)
            inner_step = self.step(inner, var)
        finally:
            self.taken.discard(u.name)
        return r.ChainRule(expr, var, u=u, inner=inner, outer=outer_step, inner_step=inner_step)

    def _fresh_symbol(self) -> sympy.Symbol:
        symbol = fresh_symbol(_CHAIN_NAMES, self.taken, numbered="{}_{}", real=True)
        self.taken.add(symbol.name)
        self.chain_symbols.add(symbol)
        return symbol


def _marker(var: sympy.Basic) -> sympy.Basic:
    """What an expression must contain to depend on ``var``: for a vector component ``w[j]``,
    the vector ``w`` (inner products hold the whole vector)."""
    return var.base if isinstance(var, sympy.Indexed) else var


def _split_constant(product: sympy.Mul, marker: sympy.Basic) -> tuple[sympy.Expr, sympy.Expr]:
    """``product.as_independent(marker, as_Add=False)``, by structure alone.

    SymPy's version asks each factor for its free symbols, which is slow on sums over data; the
    marker (a parameter) is never a bound index, so containing it is depending on it.
    """
    if not product.is_commutative:
        return product.as_independent(marker, as_Add=False)
    constant, rest = [], []
    for factor in product.args:
        (rest if factor.has(marker) else constant).append(factor)
    return sympy.Mul(*constant), _unevaluated_Mul(*rest)


def _symbol_names(expr: sympy.Basic) -> set[str]:
    """Every name in ``expr``, bound indices included (``free_symbols`` is slow on sums)."""
    return {s.name for s in expr.atoms(sympy.Symbol)}


def build_steps(expr: sympy.Expr, var: sympy.Symbol) -> r.Step:
    """Return the step tree of ``d expr / d var``, without tidying or verification."""
    return _Builder(var, _symbol_names(expr)).step(expr)


__all__ = ["build_steps"]
