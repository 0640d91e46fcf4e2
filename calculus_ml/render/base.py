"""What every output format shows of a step, and the printing helpers they share.

A derivation's step trees are read depth first (:func:`views`; :mod:`.walk` hands them to the
formats). For each step a format needs the equation ``d/dx[expr] = (the rule's form) = result``
and the rule's own facts (the chain rule's ``u = ...``, the rewrite's identity, ...). Those are
SymPy objects built here once, looked up by rule class through the MRO (``_form_ChainRule``,
``_facts_ChainRule``), the way SymPy's printers dispatch; the formats only decide how to print
them. Nothing here differentiates: the forms hold unevaluated ``Derivative`` objects.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sympy

from ..caching import BoundedMemo, remembered
from ..parsing.builder import TypedAdd
from ..steps import rules as r
from ..steps.answer_key import positive_first
from ..steps.rules import Fact


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


class SubexpressionCache:
    """Printer mixin: print each sub-expression once, however many expressions it appears in.

    A derivation prints the same pieces over and over: a step's ``d/dx[expr]`` is also a term
    of its parent's form, a sub-result reappears in every larger result, and SymPy's printers
    re-sort every sum each time. Each printer class that mixes this in keeps one
    :class:`~calculus_ml.caching.BoundedMemo`, shared by all its instances, from
    ``(expression, keyword arguments, root_notation)`` to what ``_print`` returned; the printers
    here have fixed settings apart from ``root_notation`` (which :class:`PowerForm` switches off
    for a moment), so the entry is the same as a fresh print. SymPy prints a ``Float``
    differently at the top level, so floats are not cached. A second memo keyed by ``id``
    (holding the expression, so the id stays its own) answers for an object seen before
    without comparing trees; equal copies go through the first. Subclasses whose ``_print``
    returns a mutable object override :meth:`_fresh`. Mix it only into a printer that is always
    built with the same settings.

    It is a mixin rather than a :func:`~calculus_ml.caching.remembered` function because it
    remembers inside the printer's recursion: every sub-expression a print reaches, keyed by
    the printer's class and its one varying setting, with results (pretty forms) that a hit
    must copy.
    """

    _LIMIT = 50_000  # entries, per printer class

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._printed = BoundedMemo(cls._LIMIT)
        cls._by_id = BoundedMemo(cls._LIMIT)  # a hit costs no deep comparison of equal trees

    def _print(self, expr, **kwargs):
        if not isinstance(expr, sympy.Basic) or isinstance(expr, sympy.Float):
            return super()._print(expr, **kwargs)
        options = (tuple(sorted(kwargs.items())), self._settings.get("root_notation"))
        try:
            seen = self._by_id.get((id(expr), *options))
            if seen is not None and seen[0] is expr:
                return self._fresh(seen[1])
            key = (expr, *options)
            printed = self._printed.get(key)
        except TypeError:  # unhashable: a mutable matrix, or an unhashable keyword argument
            return super()._print(expr, **kwargs)
        if printed is None:
            printed = self._printed.put(key, super()._print(expr, **kwargs))
        self._by_id.put((id(expr), *options), (expr, printed))
        return self._fresh(printed)

    @staticmethod
    def _fresh(printed):
        """What a cache hit returns: the entry itself, when (like a string) it is immutable."""
        return printed

    def _as_ordered_terms(self, expr, order=None):
        """A sum's terms in printing order, sorted once for every format (see :func:`ordered_terms`)."""
        order = order or self.order
        if order in ("old", "none"):  # 'old' depends on the printer; 'none' costs nothing
            return super()._as_ordered_terms(expr, order=order)
        return list(ordered_terms(expr, order))


@remembered(8192)
def ordered_factors(expr: sympy.Mul) -> tuple[sympy.Expr, ...]:
    """``expr.as_ordered_factors()``, remembered, as :func:`ordered_terms` for products."""
    return tuple(expr.as_ordered_factors())


@remembered(8192)
def ordered_terms(expr: sympy.Expr, order: str | None) -> tuple[sympy.Expr, ...]:
    """``expr.as_ordered_terms(order=order)`` with its first positive term put in front
    (:func:`~calculus_ml.steps.answer_key.positive_first`); remembered: sorting a sum's terms
    is the costliest part of printing it, and text, LaTeX and JSON print the same sums."""
    return positive_first(expr.as_ordered_terms(order=order))


def cached_printer(print_expr: Callable[[sympy.Basic], str]) -> Callable[[sympy.Basic], str]:
    """``print_expr`` :func:`~calculus_ml.caching.remembered`: one derivation prints the same
    expressions many times over. An object seen before is answered by identity, without
    comparing it with an equal copy; an unhashable one (a mutable matrix) is printed afresh."""
    cached = remembered(4096)(print_expr)
    by_id: BoundedMemo[tuple[sympy.Basic, str]] = BoundedMemo(4096)

    @functools.wraps(print_expr)
    def printer(expr: sympy.Basic) -> str:
        seen = by_id.get(id(expr))
        if seen is not None and seen[0] is expr:
            return seen[1]
        try:
            printed = cached(expr)
        except TypeError:
            return print_expr(expr)
        by_id.put(id(expr), (expr, printed))  # holding ``expr`` keeps its id from being reused
        return printed

    return printer


class Partial(sympy.Derivative):
    """A derivative every format writes with ∂: a step of a partial derivative, whatever its
    own expression holds (``∂/∂x[x]`` under ``∂/∂x[x y]``)."""

    @classmethod
    def class_key(cls):
        return sympy.Derivative.class_key()  # printed in the same place in a product


class Notation:
    """Printer mixin: the notation the formats share that SymPy's printers lack (``max`` and
    ``min`` written as functions, not as SymPy's class names)."""

    def _print_Max(self, expr):
        return self._print(sympy.Function("max")(*expr.args))

    def _print_Min(self, expr):
        return self._print(sympy.Function("min")(*expr.args))


class LineNotation(Notation):
    """:class:`Notation` for maths on one line: pieces as ``{-q if t ≤ y; 1 - q otherwise}``."""

    def _print_Piecewise(self, expr):
        pieces = [f"{self._print(e)} otherwise" if c == sympy.true else
                  f"{self._print(e)} if {self._print(c)}" for e, c in expr.args]
        return "{" + "; ".join(pieces) + "}"


def is_partial(expr: sympy.Basic) -> bool:
    """Whether a derivative (or ``d/dx[expr]``) is written with ∂: a :class:`Partial`, or more
    than one real quantity in its expression."""
    if isinstance(expr, Partial):
        return True
    return _several_quantities(expr.expr if isinstance(expr, sympy.Derivative) else expr)


@remembered(4096)
def _several_quantities(expr: sympy.Basic) -> bool:
    """More than one real quantity in ``expr``.

    SymPy's own test asks for the free symbols of every sum, which dominates printing time.
    """
    return sum(1 for s in expr.atoms(sympy.Symbol) if not s.is_integer) > 1


@remembered(4096)
def derivative(expr: sympy.Expr, var: sympy.Symbol, partial: bool = False) -> sympy.Derivative:
    """The unevaluated ``d expr / d var`` (a :class:`Partial` if ``partial``), for display.

    Built without ``Derivative``'s validation, which asks every sum for its free symbols and
    would otherwise dominate rendering time; the pair is a step's own ``expr`` and ``var``.
    """
    kind = Partial if partial else sympy.Derivative
    return sympy.Basic.__new__(kind, expr, sympy.Tuple(var, sympy.Integer(1)))


def views(root: r.Step) -> list[StepView]:
    """The steps of one tree in reading order; a repeated sub-derivation appears once in full."""
    return list(_views(root))


@remembered(256)
def _views(root: r.Step) -> tuple[StepView, ...]:
    """:func:`views`, worked out once per tree (steps are immutable and hash by identity) for
    all the formats that show it."""
    return tuple(_Reader().read(root))


class _Reader:
    """The reading order of a step tree: a step, then its substeps one level deeper; a step
    seen before is shown again without its substeps. The order is looked up by rule class
    through the MRO (``_visit_SimplifyRule``, else ``_visit_Step``)."""

    def __init__(self):
        self.out: list[StepView] = []
        self.seen: set[int] = set()
        self.partial: sympy.Basic | None = None

    def read(self, root: r.Step) -> list[StepView]:
        self.partial = root.var if is_partial(root.expr) else None  # ∂ throughout its tree
        self.visit(root, 0)
        return self.out

    def visit(self, step: r.Step, depth: int) -> None:
        repeated = id(step) in self.seen
        self.seen.add(id(step))
        facts = () if repeated else facts_of(step)
        view = StepView(step, depth, equation_of(step, step.var == self.partial), facts, repeated)
        by_class(lambda name: getattr(self, name, None), "_visit_", step)(view)

    def _visit_Step(self, view: StepView) -> None:
        self.out.append(view)
        if not view.repeated:
            for sub in view.step.substeps:
                self.visit(sub, view.depth + 1)

    def _visit_SimplifyRule(self, view: StepView) -> None:
        """Tidying is read after the derivation it tidies, at the same depth."""
        self.visit(view.step.substep, view.depth)
        self.out.append(view)


@remembered(4096)
def equation_of(step: r.Step, partial: bool = False) -> tuple[sympy.Basic, ...]:
    """The chain ``d/dx[expr], form, result`` with consecutive duplicates removed; with
    ``partial``, every derivative in it is written with ∂."""
    def d(expr: sympy.Expr) -> sympy.Derivative:
        return derivative(expr, step.var, partial)

    chain = [d(step.expr), _dispatch("_form_", step, d), step.result]
    out = []
    for part in chain:
        if part is not None and (not out or part != out[-1]):
            out.append(part)
    return tuple(out)


def facts_of(step: r.Step) -> tuple[Fact, ...]:
    """The rule's own facts, shown under its equation."""
    return tuple(_dispatch("_facts_", step) or ())


def keep_order(expr: sympy.Add, order: str | None) -> str | None:
    """Printing order for a sum: as built, when it is a rule's sum of derivatives or a sum as
    the learner typed it."""
    return "none" if isinstance(expr, TypedAdd) or _has_derivative(expr) else order


@remembered(4096)
def _has_derivative(expr: sympy.Basic) -> bool:
    """``expr.has(Derivative)``, remembered: every format asks it of the same sums."""
    return expr.has(sympy.Derivative)


def by_class(lookup: Callable[[str], Any], prefix: str, obj: object) -> Any:
    """What ``lookup`` finds under ``prefix`` and a class name of ``obj``'s MRO, the most
    specific first (``_form_ChainRule`` before ``_form_Step``), as SymPy's printers dispatch;
    None if nothing is found."""
    for cls in type(obj).__mro__:
        found = lookup(prefix + cls.__name__)
        if found is not None:
            return found
    return None


def _dispatch(prefix: str, step: r.Step, *args):
    method = by_class(globals().get, prefix, step)
    return None if method is None else method(step, *args)


def _unevaluated_mul(*factors: sympy.Expr) -> sympy.Expr:
    factors = [a for f in factors for a in sympy.Mul.make_args(f) if a != 1]
    if not factors:
        return sympy.Integer(1)
    return factors[0] if len(factors) == 1 else sympy.Mul(*factors, evaluate=False)


# -- forms: the rule applied, before the sub-derivatives are worked out ----------------------


def _form_Step(step, d):
    return None


def _form_ConstantMultipleRule(step, d):
    return _unevaluated_mul(step.constant, d(step.other))


def _form_SumRule(step, d):
    return sympy.Add(*(d(t.expr) for t in step.terms), evaluate=False)


def _form_ProductRule(step, d):
    exprs = [f.expr for f in step.factors]
    return sympy.Add(
        *(
            _unevaluated_mul(
                *(d(e) if j == k else e for j, e in enumerate(exprs))
            )
            for k in range(len(exprs))
        ),
        evaluate=False,
    )


def _form_QuotientRule(step, d):
    f, g = step.numerator.expr, step.denominator.expr
    top = sympy.Add(
        _unevaluated_mul(d(f), g),
        -_unevaluated_mul(f, d(g)),
        evaluate=False,
    )
    return sympy.Mul(top, sympy.Pow(g**2, -1, evaluate=False), evaluate=False)


def _form_ChainRule(step, d):
    return _unevaluated_mul(step.outer_at_inner, d(step.inner))


def _form_GeneralPowerRule(step, d):
    return _unevaluated_mul(step.expr, d(step.substep.expr))


def _form_RewriteRule(step, d):
    return d(step.rewritten)


def _form_SumOverDataRule(step, d):
    return sympy.Sum(d(step.expr.function), *step.expr.limits)


def _form_PiecewiseRule(step, d):
    return sympy.Piecewise(*((d(s.expr), c) for s, c in step.pieces))


def _form_SimplifyRule(step, d):
    return step.substep.result


# -- facts: what the rule introduces -----------------------------------------------------------


def _facts_ChainRule(step):
    return [Fact("where", sympy.Eq(step.u, step.inner, evaluate=False))]


def _facts_PowerRule(step):
    return [Fact("exponent", step.exponent)]


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
