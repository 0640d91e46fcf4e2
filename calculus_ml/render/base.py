"""The tree walk shared by every output format.

A renderer visits a derivation's step trees depth first. For each step it needs the equation
``d/dx[expr] = (the rule's form) = result`` and the rule's own facts (the chain rule's ``u = ...``,
the rewrite's identity, ...). Those are SymPy objects built here once, looked up by rule class
through the MRO (``_form_ChainRule``, ``_facts_ChainRule``), the way SymPy's printers dispatch;
the formats only decide how to print them. Nothing here differentiates: the forms hold
unevaluated ``Derivative`` objects.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import sympy

from ..steps import rules as r


@dataclass(frozen=True)
class Fact:
    """A labelled piece of maths shown under a step, e.g. ``("where", Eq(u, 3x + 1))``."""

    label: str
    math: sympy.Basic


@dataclass(frozen=True)
class StepView:
    """What every format shows of one step."""

    step: r.Step
    depth: int
    equation: tuple[sympy.Basic, ...]
    facts: tuple[Fact, ...]
    repeated: bool


class PowerForm(sympy.Expr):
    """``base**exponent`` that every printer writes as a power, never as a root: ``u^{1/2}``."""

    def _print_as_power(self, printer):
        saved = printer._settings.get("root_notation", True)
        printer._settings["root_notation"] = False
        try:
            return printer._print(sympy.Pow(*self.args, evaluate=False))
        finally:
            printer._settings["root_notation"] = saved

    _latex = _pretty = _mathml_presentation = _sympystr = _print_as_power


def memoized_printer(print_expr: Callable[[sympy.Basic], str]) -> Callable[[sympy.Basic], str]:
    """Cache a printing function: one derivation prints the same expressions many times over.

    Unhashable objects (mutable matrices) are printed without the cache.
    """
    cached = functools.lru_cache(maxsize=4096)(print_expr)

    @functools.wraps(print_expr)
    def printer(expr: sympy.Basic) -> str:
        try:
            return cached(expr)
        except TypeError:
            return print_expr(expr)

    return printer


@functools.lru_cache(maxsize=4096)
def is_partial(expr: sympy.Basic) -> bool:
    """Whether ``d/dx[expr]`` is written with ∂: more than one real quantity in ``expr``.

    SymPy's own test asks for the free symbols of every sum, which dominates printing time.
    """
    return sum(1 for s in expr.atoms(sympy.Symbol) if not s.is_integer) > 1


@functools.lru_cache(maxsize=4096)
def derivative(expr: sympy.Expr, var: sympy.Symbol) -> sympy.Derivative:
    """The unevaluated ``d expr / d var``, for display.

    Built without ``Derivative``'s validation, which asks every sum for its free symbols and
    would otherwise dominate rendering time; the pair is a step's own ``expr`` and ``var``.
    """
    return sympy.Basic.__new__(sympy.Derivative, expr, sympy.Tuple(var, sympy.Integer(1)))


def views(root: r.Step) -> list[StepView]:
    """The steps of one tree in reading order; a repeated sub-derivation appears once in full."""
    out: list[StepView] = []
    seen: set[int] = set()

    def visit(step: r.Step, depth: int) -> None:
        repeated = id(step) in seen
        seen.add(id(step))
        view = StepView(
            step, depth, equation_of(step), () if repeated else facts_of(step), repeated
        )
        if isinstance(step, r.SimplifyRule):  # read after the derivation it tidies
            visit(step.substep, depth)
            out.append(view)
            return
        out.append(view)
        if not repeated:
            for sub in step.substeps:
                visit(sub, depth + 1)

    visit(root, 0)
    return out


@functools.lru_cache(maxsize=4096)
def equation_of(step: r.Step) -> tuple[sympy.Basic, ...]:
    """The chain ``d/dx[expr], form, result`` with consecutive duplicates removed."""
    chain = [derivative(step.expr, step.var), _dispatch("_form_", step), step.result]
    out = []
    for part in chain:
        if part is not None and (not out or part != out[-1]):
            out.append(part)
    return tuple(out)


def facts_of(step: r.Step) -> tuple[Fact, ...]:
    """The rule's own facts, shown under its equation."""
    return tuple(_dispatch("_facts_", step) or ())


def keep_order(expr: sympy.Add, order: str | None) -> str | None:
    """Printing order for a sum: as built, when it is a rule's sum of derivatives."""
    if any(arg.has(sympy.Derivative) for arg in expr.args):
        return "none"
    return order


def _dispatch(prefix: str, step: r.Step):
    for cls in type(step).__mro__:
        method = globals().get(prefix + cls.__name__)
        if method is not None:
            return method(step)
    return None


def _unevaluated_mul(*factors: sympy.Expr) -> sympy.Expr:
    factors = [a for f in factors for a in sympy.Mul.make_args(f) if a != 1]
    if not factors:
        return sympy.Integer(1)
    return factors[0] if len(factors) == 1 else sympy.Mul(*factors, evaluate=False)


# -- forms: the rule applied, before the sub-derivatives are worked out ----------------------


def _form_Step(step):
    return None


def _form_ConstantMultipleRule(step):
    return _unevaluated_mul(step.constant, derivative(step.other, step.var))


def _form_SumRule(step):
    return sympy.Add(*(derivative(t.expr, step.var) for t in step.terms), evaluate=False)


def _form_ProductRule(step):
    exprs = [f.expr for f in step.factors]
    return sympy.Add(
        *(
            _unevaluated_mul(
                *(derivative(e, step.var) if j == k else e for j, e in enumerate(exprs))
            )
            for k in range(len(exprs))
        ),
        evaluate=False,
    )


def _form_QuotientRule(step):
    f, g = step.numerator.expr, step.denominator.expr
    top = sympy.Add(
        _unevaluated_mul(derivative(f, step.var), g),
        -_unevaluated_mul(f, derivative(g, step.var)),
        evaluate=False,
    )
    return sympy.Mul(top, sympy.Pow(g**2, -1, evaluate=False), evaluate=False)


def _form_ChainRule(step):
    return _unevaluated_mul(step.outer_at_inner, derivative(step.inner, step.var))


def _form_GeneralPowerRule(step):
    return _unevaluated_mul(step.expr, derivative(step.substep.expr, step.var))


def _form_RewriteRule(step):
    return derivative(step.rewritten, step.var)


def _form_SumOverDataRule(step):
    return sympy.Sum(derivative(step.expr.function, step.var), *step.expr.limits)


def _form_PiecewiseRule(step):
    return sympy.Piecewise(*((derivative(s.expr, step.var), c) for s, c in step.pieces))


def _form_SimplifyRule(step):
    return step.substep.result


# -- facts: what the rule introduces -----------------------------------------------------------


def _facts_ChainRule(step):
    return [Fact("where", sympy.Eq(step.u, step.inner, evaluate=False))]


def _facts_PowerRule(step):
    return [Fact("exponent", sympy.Eq(sympy.Symbol("n"), step.exponent, evaluate=False))]


def _facts_ConstantMultipleRule(step):
    return [Fact("constant factor", step.constant)]


def _facts_RewriteRule(step):
    rewritten = step.rewritten
    if rewritten.is_Pow and rewritten.exp.is_Rational and not rewritten.exp.is_Integer:
        rewritten = PowerForm(*rewritten.args)
    return [Fact("that is", sympy.Eq(step.expr, rewritten, evaluate=False))]


def _facts_GeneralPowerRule(step):
    return [
        Fact(
            "write",
            sympy.Eq(
                step.expr,
                sympy.exp(sympy.Mul(step.exponent, sympy.log(step.base), evaluate=False)),
                evaluate=False,
            ),
        )
    ]
