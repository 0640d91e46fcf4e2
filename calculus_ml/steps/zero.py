"""Zero tests for the verifier: is a difference of two expressions identically 0?

* :func:`vanishes` -- 0 as a rational function of its atoms (``exp(c·a)`` read as ``E_a**c``),
  first in SymPy's sparse polynomial arithmetic (:func:`zero_as_fraction`), then by SymPy's own
  ``as_numer_denom`` and ``expand`` -- each only while its size, estimated beforehand, is within
  the work budget (:func:`~calculus_ml.symbolic.within_terms`): past it, no proof is tried;
* :func:`vanishes_almost_everywhere` -- a kinked difference (``Heaviside``, ``sign``, ``Max``,
  pieces) of one variable written as one ``Piecewise`` whose every piece on an interval of the
  real line is 0 (the pieces on single points -- the kinks -- do not count);
* :func:`merged_sums` -- a difference of multiples of sums over the same data written as one
  summand, whose vanishing proves the equality for every number of data points.
"""

from __future__ import annotations

import math

import sympy

from ..caching import remembered
from ..symbolic import check_time, multinomial_terms, within_terms

__all__ = ["vanishes", "zero_as_fraction", "merged_sums", "vanishes_almost_everywhere"]


def vanishes(expr: sympy.Expr) -> bool | None:
    """Whether ``expr`` is 0 as a rational function of its atoms, ``exp(c·a)`` read as
    ``E_a**c``: None when the proof would be too large to try."""
    return True if expr == 0 else _vanishes(expr)


@remembered()
def _vanishes(expr: sympy.Expr) -> bool | None:
    """:func:`vanishes` for a nonzero ``expr``, remembered for the process.

    The fast test :func:`zero_as_fraction` is tried first; when it proves nothing, SymPy's own
    ``as_numer_denom`` and ``expand`` decide, unless the numerator would expand to more than
    :data:`~calculus_ml.symbolic.MAX_TERMS` terms."""
    if zero_as_fraction(expr):
        return True
    try:
        powers = _exp_as_powers(expr)
    except TypeError:  # with exp(a) known positive, SymPy finds a comparison of non-reals
        return False
    numerator, _ = powers.as_numer_denom()
    if not within_terms(numerator):
        return None
    return sympy.expand(numerator) == 0


_MAX_TERMS = 2000
"""Size (terms of a numerator or denominator) beyond which :func:`zero_as_fraction` gives up."""

_MAX_PRODUCT = 50_000
"""Products of terms one multiplication may take: :func:`zero_as_fraction` gives up before a
larger one (in pure Python, about 10 µs each)."""


class _GiveUp(Exception):
    """Raised inside :func:`zero_as_fraction` for a part it does not read as a fraction."""


def zero_as_fraction(expr: sympy.Expr) -> bool:
    """True if ``expr`` is proved 0 as a fraction of polynomials (exact rational coefficients)
    in independent indeterminates; False if that proves nothing.

    The same proof as ``expand`` of the numerator, done in SymPy's sparse polynomial arithmetic
    instead of on expression trees (far cheaper, with no assumption queries). Indeterminates are
    ``E_a`` for ``exp(c·a)`` with an integer ``c`` (read as ``E_a**c``, as
    :func:`_exp_as_powers` does), ``R_bq`` for ``b**(p/q)`` (read as ``R_bq**p``) and every other
    part that is not a sum, product, integer power or rational number. Treating parts as
    independent is sound: a fraction that is identically 0 is 0 for any values of its
    indeterminates, wherever its denominators (nonzero polynomials) do not vanish.
    """
    table: dict[tuple, int] = {}
    try:
        _collect(expr, table)
        ring, *gens = sympy.polys.rings.ring([f"g{k}" for k in range(len(table))], sympy.QQ)
        numerator, _ = _fraction(expr, table, ring, gens, {})
    except _GiveUp:
        return False
    return not numerator


def _indeterminate(expr: sympy.Expr) -> tuple[tuple, sympy.Integer] | None:
    """``(key, power)`` when ``expr`` is read as an indeterminate to an integer power, else
    None (a sum, product, integer power or number, read by its parts)."""
    if expr.is_Add or expr.is_Mul or expr.is_Rational:
        return None
    if expr.is_Number or expr in (sympy.nan, sympy.zoo):
        raise _GiveUp  # a float, an infinity or nan
    if expr.is_Pow and expr.exp.is_Integer:
        return None
    if expr.is_Pow and expr.exp.is_Rational:
        return ("root", expr.base, expr.exp.q), expr.exp.p
    if isinstance(expr, sympy.exp):
        c, a = expr.args[0].as_content_primitive()
        if a.could_extract_minus_sign():
            c, a = -c, -a
        if not c.is_Integer:
            raise _GiveUp
        return ("exp", a), int(c)
    return ("atom", expr), 1


def _collect(expr: sympy.Expr, table: dict[tuple, int]) -> None:
    """Number the indeterminates of ``expr`` in ``table``."""
    read = _indeterminate(expr)
    if read is not None:
        table.setdefault(read[0], len(table))
    elif not expr.is_Rational:
        for arg in expr.args:
            _collect(arg, table)


def _fraction(expr, table, ring, gens, memo):
    """``(numerator, denominator)`` of ``expr`` as polynomials of ``ring``."""
    if expr in memo:
        return memo[expr]
    read = _indeterminate(expr)
    if read is not None:
        key, power = read
        result = _power((gens[table[key]], ring.one), power)
    elif expr.is_Rational:
        result = (ring.ground_new(sympy.QQ.from_sympy(expr)), ring.one)
    elif expr.is_Pow:
        result = _power(_fraction(expr.base, table, ring, gens, memo), int(expr.exp))
    else:
        parts = [_fraction(arg, table, ring, gens, memo) for arg in expr.args]
        result = parts[0]
        for n, d in parts[1:]:
            check_time()
            if expr.is_Mul:
                _affordable((result[0], n), (result[1], d))
                result = (result[0] * n, result[1] * d)
            elif result[1] == d:
                result = (result[0] + n, d)
            else:
                _affordable((result[0], d), (n, result[1]), (result[1], d))
                result = (result[0] * d + n * result[1], result[1] * d)
            if max(len(result[0]), len(result[1])) > _MAX_TERMS:
                raise _GiveUp
    memo[expr] = result
    return result


def _affordable(*products) -> None:
    """Give up before multiplications of pairs of polynomials that would take too long."""
    if sum(len(a) * len(b) for a, b in products) > _MAX_PRODUCT:
        raise _GiveUp


def _power(fraction, k: int):
    numerator, denominator = fraction
    if k < 0:
        if not numerator:
            raise _GiveUp  # 1/0
        numerator, denominator, k = denominator, numerator, -k
    if max(_power_terms(numerator, k), _power_terms(denominator, k)) > _MAX_TERMS:
        raise _GiveUp
    return numerator**k, denominator**k


def _power_terms(poly, k: int) -> int:
    """Terms of ``poly**k`` at most, without computing it: the multinomial count, or the
    number of monomials within its degrees, whichever is smaller."""
    m = len(poly)
    if m <= 1 or k <= 1:
        return m
    box = math.prod(k * degree + 1 for degree in poly.degrees() if degree > 0)
    return min(box, multinomial_terms(m, k))


_MAX_KINKED_OPS = 150
"""Largest kinked difference (``count_ops``) :func:`vanishes_almost_everywhere` tries."""

_MAX_PIECES = 16
"""Most pieces (after folding) :func:`vanishes_almost_everywhere` tries."""


def vanishes_almost_everywhere(expr: sympy.Expr) -> bool:
    """True if ``expr``, of one real variable, is proved 0 everywhere except at finitely many
    points. Rewritten as one ``Piecewise`` (``piecewise_fold``) of at most :data:`_MAX_PIECES`
    pieces whose conditions compare polynomials, the real line splits at the real roots of
    those polynomials into intervals on which every condition keeps its truth value; the piece
    that holds on each interval (found at a rational point inside it) must vanish identically.
    The roots themselves -- the kinks -- do not count. False proves nothing."""
    symbols = expr.free_symbols
    if len(symbols) != 1 or expr.has(sympy.Sum) or sympy.count_ops(expr) > _MAX_KINKED_OPS:
        return False
    (x,) = symbols
    try:
        folded = sympy.piecewise_fold(expr.rewrite(sympy.Piecewise))
        if not isinstance(folded, sympy.Piecewise):
            return bool(vanishes(folded))
        if len(folded.args) > _MAX_PIECES:
            return False
        for point in _interval_points(folded, x):
            check_time()
            piece = next(e for e, c in folded.args if c.subs(x, point) == sympy.true)
            if not vanishes(piece):
                return False
    except (NotImplementedError, TypeError, ValueError, AttributeError, StopIteration,
            sympy.PolynomialError):
        return False
    return True


def _interval_points(folded: sympy.Piecewise, x: sympy.Symbol) -> list[sympy.Rational]:
    """A rational point inside each interval between the real roots of the polynomials the
    conditions of ``folded`` compare (raises ``PolynomialError`` for another condition)."""
    relations = set().union(*(c.atoms(sympy.core.relational.Relational) for _, c in folded.args))
    roots = set()
    for relation in relations:
        difference = relation.lhs - relation.rhs
        if difference.has(x):
            roots.update(sympy.Poly(difference, x).real_roots())
    ordered = sorted(roots, key=lambda r: r.evalf(30))
    if not ordered:
        return [sympy.S.Zero]
    points = [sympy.floor(ordered[0].evalf(30)) - 1, sympy.ceiling(ordered[-1].evalf(30)) + 1]
    for low, high in zip(ordered, ordered[1:]):
        points.append(sympy.Rational(str(((low + high) / 2).evalf(30))))
    return points


def merged_sums(expr: sympy.Expr) -> tuple[sympy.Expr, sympy.Expr] | None:
    """``(summand, rest)`` whose vanishing proves ``expr = 0`` for every number of data points,
    when ``expr`` adds multiples of sums over the same data: ``c Σᵢ f + c' Σᵢ g + rest`` gives
    ``(f + (c'/c) g, rest)`` if ``c'/c`` is a number, else ``(c f + c' g, rest)``."""
    if not expr.has(sympy.Sum):
        return None
    limits, parts, rest = None, [], []
    for term in sympy.Add.make_args(expr):
        coefficient, total = term.as_independent(sympy.Sum, as_Add=False)
        if total == 1:
            rest.append(term)
        elif isinstance(total, sympy.Sum) and limits in (None, total.limits):
            if coefficient.has(*total.variables):  # an index outside its sum: leave it alone
                return None
            limits = total.limits
            parts.append((coefficient, total.function))
        else:
            return None
    common = parts[0][0]
    if all((c / common).is_Number for c, _ in parts):
        return sympy.Add(*(c / common * f for c, f in parts)), sympy.Add(*rest)
    return sympy.Add(*(c * f for c, f in parts)), sympy.Add(*rest)


def _exp_as_powers(expr: sympy.Expr) -> sympy.Expr:
    """Replace each ``exp(c·a)`` (``c`` the numeric content, sign included) by ``E_a**c``, one
    positive symbol per ``a``, so that ``exp(-a) = 1/exp(a)`` and ``exp(2a) = exp(a)**2`` are
    algebra."""
    bases: dict[sympy.Expr, sympy.Dummy] = {}

    def power(argument: sympy.Expr) -> sympy.Expr:
        c, a = argument.as_content_primitive()
        if a.could_extract_minus_sign():
            c, a = -c, -a
        return bases.setdefault(a, sympy.Dummy(positive=True)) ** c

    return expr.xreplace({e: power(e.args[0]) for e in expr.atoms(sympy.exp)})
