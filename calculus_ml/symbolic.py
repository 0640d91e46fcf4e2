"""The one owner of sums over data and inner products, and of the symbolic helpers around them.

* :func:`over_data` writes a per-sample term as a sum (or mean) over ``n`` data points indexed by
  ``i``; :func:`data_index` reads ``(i, n)`` back; :func:`indexed` and :func:`vector` build the
  indexed data ``xᵢ`` and vector parameters ``w`` (components ``w_j``).
* :func:`differentiate` is ``sympy.diff`` through those sums and inner products: each ``Sum`` and
  each ``dot`` stands in as a variable of its own (chain rule), SymPy's assumption queries on
  whole sums would cost more than everything else.
* :func:`tidy` is the targeted simplification every result goes through; :func:`smallest` picks
  the smallest of equivalent forms.
* :func:`fresh_symbol` names an index or count that does not clash with the expression's names.
* :data:`KINKED` lists the functions whose derivative does not exist everywhere.
* The work budget: :func:`expanded_size` bounds, without expanding, the terms that multiplying
  out would make (:data:`MAX_TERMS` is the most any expansion may have), and :func:`time_budget`
  with :func:`check_time` give a derivation or compilation :data:`TIME_LIMIT` seconds, checked
  at safe points between pieces of work (no signal or thread ever interrupts SymPy).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Literal

import sympy

from .caching import remembered
from .errors import BudgetError, ExpressionError
from .functions import dot, multiplied_out

__all__ = ["Reduce", "KINKED", "over_data", "data_index", "indexed", "vector", "component",
           "differentiate", "concretize_sums", "tidy", "smallest", "fresh_symbol", "is_kinked",
           "TIME_LIMIT", "MAX_TERMS", "expanded_size", "multinomial_terms", "within_terms",
           "fold_size", "time_budget", "check_time", "too_large"]

Reduce = Literal["mean", "sum"]

KINKED = (
    sympy.Piecewise, sympy.Heaviside, sympy.DiracDelta, sympy.sign, sympy.Abs, sympy.Max, sympy.Min
)
"""Functions with kinks or jumps: their derivatives agree with SymPy's only away from them."""


def is_kinked(*exprs: sympy.Basic) -> bool:
    """Whether any of ``exprs`` contains a function of :data:`KINKED`."""
    return any(e.has(*KINKED) for e in exprs)


# -- names, indices and data ---------------------------------------------------------------


def fresh_symbol(candidates: tuple[str, ...], taken: Iterable[str], *, numbered: str = "{}{}",
                 **assumptions) -> sympy.Symbol:
    """The first of ``candidates`` not in ``taken``, else the first free ``numbered`` form of
    ``candidates[0]`` (``"{}{}"`` gives ``i1``, ``i2``, ...), as a symbol with ``assumptions``
    (e.g. ``integer=True, positive=True`` for an index)."""
    taken = set(taken)
    name = next((c for c in candidates if c not in taken), None)
    k = 1
    while name is None:
        name = numbered.format(candidates[0], k)
        name, k = (None, k + 1) if name in taken else (name, k)
    return sympy.Symbol(name, **assumptions)


def vector(symbol: sympy.Symbol) -> sympy.IndexedBase:
    """The vector named like ``symbol``, whose components ``w[j]`` are real."""
    return sympy.IndexedBase(symbol.name, real=True)


def indexed(symbol: sympy.Symbol, index: sympy.Symbol) -> sympy.Indexed:
    """``symbol`` written for data point ``index``: ``x`` becomes ``xᵢ``."""
    return vector(symbol)[index]


def component(v: sympy.Basic, j: sympy.Expr) -> sympy.Expr:
    """Component ``j`` of a vector: ``w[j]`` of ``w`` and ``x[i, j]`` of the data row ``x[i]``."""
    if isinstance(v, sympy.Indexed):
        return sympy.Indexed(v.base, *v.indices, j)
    if isinstance(v, sympy.IndexedBase):
        return v[j]
    return sympy.IndexedBase(str(v), real=True)[j]


def over_data(
    term: sympy.Expr, data: Iterable[sympy.Symbol], reduce: Reduce = "mean"
) -> sympy.Expr:
    """Sum (or average) a per-sample term over ``n`` data points indexed by ``i``.

    Each data symbol ``x`` becomes the indexed ``xᵢ``; the number of points is the symbol ``n``.
    """
    if reduce not in ("mean", "sum"):
        raise ExpressionError(f"reduce must be 'mean' or 'sum', not {reduce!r}")
    taken = {s.name for s in term.free_symbols}
    i = fresh_symbol(("i", "j", "k"), taken, integer=True, positive=True)
    n = fresh_symbol(("n", "N", "m"), taken, integer=True, positive=True)
    total = sympy.Sum(term.xreplace({s: indexed(s, i) for s in data}), (i, 1, n))
    return total / n if reduce == "mean" else total


def data_index(objective: sympy.Expr) -> tuple[sympy.Symbol, sympy.Symbol]:
    """``(i, n)``: the summation index and the number of data points of a sum over data."""
    (total,) = objective.atoms(sympy.Sum)
    index, _, n = total.limits[0]
    return index, n


# -- differentiation through sums and inner products -------------------------------------------


@remembered()
def differentiate(expr: sympy.Expr, var: sympy.Basic) -> sympy.Expr:
    """``∂expr/∂var`` with ``sympy.diff``, inner products and sums over data handled.

    ``var`` is a symbol, or a component ``w[j]`` of a vector parameter. Each ``dot(a, b)``
    contributes ``∂f/∂(a·b)`` times ``b`` (``a`` is the symbol ``var``) or ``b_j`` (``a`` is the
    vector ``w``); a sum over data is differentiated term by term. Remembered for the process:
    a summand is often a step of its own, and the trees of related losses share it.
    """
    sums = {s: sympy.Dummy(real=True) for s in expr.atoms(sympy.Sum)}
    flat = expr.xreplace(sums) if sums else expr
    calls = {call: sympy.Dummy(real=True) for call in flat.atoms(dot)}
    flat = flat.xreplace(calls) if calls else flat
    total = sympy.diff(flat, var)
    for call, z in calls.items():
        total += sympy.diff(flat, z) * _dot_derivative(call, var)
    for s, z in sums.items():
        total += sympy.diff(flat, z) * sympy.Sum(differentiate(s.function, var), *s.limits)
    if not (sums or calls):
        return total
    return total.xreplace({z: c for c, z in calls.items()} | {z: s for s, z in sums.items()})


def _dot_derivative(call: dot, var: sympy.Basic) -> sympy.Expr:
    """``∂(a·b)/∂var``: ``b`` for ``var = a`` a vector symbol, ``b_j`` for ``var = a_j``."""
    a, b = call.args
    if isinstance(var, sympy.Indexed):
        (j,) = var.indices
        return sympy.Add(*(component(o, j) for v, o in ((a, b), (b, a)) if v == var.base))
    return sympy.Add(*(o for v, o in ((a, b), (b, a)) if v == var))


def concretize_sums(expr: sympy.Expr, n: int = 3) -> sympy.Expr:
    """Expand every ``Sum`` over data to ``n`` explicit terms."""
    if not expr.has(sympy.Sum):
        return expr
    uppers = {upper for total in expr.atoms(sympy.Sum) for *_, upper in total.limits}
    sizes = {s: n for upper in uppers for s in upper.free_symbols}
    return expr.xreplace(sizes).replace(sympy.Sum, _unrolled)


def _unrolled(function: sympy.Expr, *limits: sympy.Tuple) -> sympy.Expr:
    for index, lower, upper in limits:
        function = sympy.Add(
            *(function.xreplace({index: k}) for k in range(int(lower), int(upper) + 1))
        )
    return function


# -- tidying -------------------------------------------------------------------------------


def smallest(*forms: sympy.Expr) -> sympy.Expr:
    """The form with the fewest operations (``sympy.count_ops``); the first of a tie."""
    return min(forms, key=sympy.count_ops)


def tidy(expr: sympy.Expr) -> sympy.Expr:
    """Targeted simplification, never changing the value.

    Sums over data get their constants pulled out (each summand in its shortest form, expanded
    or not, with a leading minus sign outside), and a sum of a constant becomes ``n`` times it.
    Other expressions get their numeric content or common factors collected if that is shorter
    (a tie keeps the rule's shape, e.g. the chain rule's ``3 (3x² + 10x)² (6x + 10)``).
    """
    if expr.has(sympy.Sum):
        return expr.replace(sympy.Sum, _pull_constants_out)
    return smallest(expr, _primitive(expr), sympy.factor_terms(expr))


def _primitive(expr: sympy.Expr) -> sympy.Expr:
    """Numeric content pulled out of every factor: ``sqrt(1 - x²/4)`` becomes ``sqrt(4 - x²)/2``."""
    pairs = [factor.as_content_primitive() for factor in sympy.Mul.make_args(expr)]
    return sympy.Mul(*(c for c, _ in pairs), *(p for _, p in pairs))


@remembered(maxsize=1024)
def _pull_constants_out(summand: sympy.Expr, *limits: sympy.Tuple) -> sympy.Expr:
    """``Σ summand`` over ``limits`` with its constants pulled out (see :func:`tidy`).

    A pure function of its arguments, remembered for the process: the trees of the catalogue's
    losses share many summands (``-2 (y - m x - b) x`` for several regressions), and each
    costs a ``factor_terms`` of it expanded and not (not expanded when that would be too long,
    see :func:`within_terms`)."""
    index = limits[0][0]
    expanded = multiplied_out(summand) if within_terms(summand) else summand
    forms = [sympy.factor_terms(summand)]
    if expanded != summand:
        forms.append(sympy.factor_terms(expanded))
    constant, rest = smallest(*forms).as_independent(index, as_Add=False)
    factors = []
    for factor in sympy.Mul.make_args(rest):
        if factor.is_Add and factor.could_extract_minus_sign():
            constant, factor = -constant, -factor
        factors.append(factor)
    total = sympy.Sum(sympy.Mul(*factors), *limits)
    return constant * (total.doit() if not rest.has(index) else total)  # Σᵢ 1 = n


# -- the work budget -----------------------------------------------------------------------

TIME_LIMIT: float | None = 10.0
"""Seconds of wall-clock time :func:`~calculus_ml.derive` and
:func:`~calculus_ml.compile_gradient` may take unless told otherwise (``None``: no limit). Read
at each call, so setting ``calculus_ml.symbolic.TIME_LIMIT`` takes effect from the next one."""

MAX_TERMS = 1000
"""Most terms a sum may have once multiplied out (:func:`expanded_size`): a longer expansion is
not attempted (SymPy takes about a second per thousand terms, and a hundredth power of a sum of
seven terms has 1.7 billion)."""

_HUGE = 10**18  # sizes are capped here: past it, only "too large" matters

_DEADLINE: ContextVar[tuple[float, float] | None] = ContextVar("calculus_ml_deadline",
                                                               default=None)


def too_large(why: str, hint: str) -> BudgetError:
    """The :class:`~calculus_ml.errors.BudgetError` for work past the budget: ``why`` says what
    would be too large, ``hint`` what to try instead."""
    return BudgetError(f"this expression is too large to explain step by step: {why}; "
                       f"try {hint}")


def expanded_size(expr: sympy.Basic) -> int:
    """An upper bound, found without expanding, on the terms of the longest sum that multiplying
    out ``expr`` builds: ``expr`` itself, an argument of a function in it or a denominator.

    A sum of ``m`` terms to the power ``k`` has at most ``C(m + k - 1, k)`` terms (the
    multinomial count), a product the product of its factors' counts; a rational power ``p/q``
    above 1 is expanded to its whole part ``⌊p/q⌋``, as SymPy does.
    """
    largest = 1
    memo: dict[sympy.Basic, int] = {}

    def terms(e: sympy.Basic) -> int:
        nonlocal largest
        if e in memo:
            return memo[e]
        if e.is_Add:
            n = sum(terms(a) for a in e.args)
        elif e.is_Mul:
            n = math.prod(terms(a) for a in e.args)
        elif e.is_Pow and e.exp.is_Rational:
            power = multinomial_terms(terms(e.base), abs(e.exp.p) // e.exp.q)
            n = power if e.exp > 0 else 1
            largest = max(largest, power)  # a denominator is expanded apart
        else:
            for a in e.args:
                terms(a)
            n = 1
        n = memo[e] = min(n, _HUGE)
        largest = max(largest, n)
        return n

    terms(expr)
    return largest


def multinomial_terms(m: int, k: int) -> int:
    """Terms of a sum of ``m`` terms to the power ``k`` at most: ``C(m + k - 1, k)``, capped at
    10¹⁸."""
    if k == 0:
        return 1
    if k == 1 or m <= 1:
        return m
    n = m + k - 1
    if math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(m) > math.log(_HUGE):
        return _HUGE  # without computing a big integer
    return min(math.comb(n, k), _HUGE)


def fold_size(summand: sympy.Expr, index: sympy.Symbol) -> int:
    """An estimate of the work SymPy does to build ``Sum(summand)`` over ``index``: it folds the
    pieces (``Piecewise``) that hold the index into one, whose regions are all combinations of
    theirs. The product, over those pieces, of their number of pieces plus comparisons."""
    size = 1
    for pieces in summand.atoms(sympy.Piecewise):
        if pieces.has(index):
            comparisons = sum(1 for _, condition in pieces.args
                              for node in sympy.preorder_traversal(condition) if node.is_Relational)
            size *= len(pieces.args) + comparisons
    return size


def within_terms(expr: sympy.Basic) -> bool:
    """Whether multiplying out ``expr`` stays within :data:`MAX_TERMS` terms."""
    return expanded_size(expr) <= MAX_TERMS


@contextmanager
def time_budget(seconds: float | None = None) -> Iterator[None]:
    """Run the body within ``seconds`` of wall-clock time (default :data:`TIME_LIMIT`;
    ``math.inf``: no limit), as checked by :func:`check_time`. A budget inside another keeps
    the earlier deadline."""
    seconds = TIME_LIMIT if seconds is None else seconds
    now, current = time.monotonic(), _DEADLINE.get()
    if seconds is None or math.isinf(seconds) or (
            current is not None and current[0] <= now + seconds):
        yield
        return
    token = _DEADLINE.set((now + seconds, seconds))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def check_time() -> None:
    """A safe point: raise :class:`~calculus_ml.errors.BudgetError` if the current
    :func:`time_budget` has run out."""
    budget = _DEADLINE.get()
    if budget is not None and time.monotonic() > budget[0]:
        raise too_large(f"the work took more than {budget[1]:g} s",
                        "a shorter expression, fewer variables, or a larger time_limit")
