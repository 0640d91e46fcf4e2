"""Floating-point values of SymPy expressions at real points, and the numeric check of an
equality: both sides agree at random real points where every part of both is real and finite.
"""

from __future__ import annotations

import math
import operator
import random
from collections.abc import Iterator

import sympy

from ..functions import ML_FUNCTIONS
from ..symbolic import concretize_sums

__all__ = ["N_POINTS", "SCALES", "equal_numerically", "numeric_verdict", "real_value",
           "is_real_somewhere", "real_points"]

N_POINTS = 5
"""Random points at which two expressions must agree numerically."""


def equal_numerically(
    a: sympy.Expr, b: sympy.Expr, *, points: int = N_POINTS, rtol: float = 1e-8
) -> bool:
    """Whether ``a`` and ``b`` agree at ``points`` random real points where both are defined."""
    return bool(numeric_verdict(a, b, points=points, rtol=rtol))


def numeric_verdict(
    a: sympy.Expr, b: sympy.Expr, *, points: int = N_POINTS, rtol: float = 1e-8
) -> bool | None:
    """True if ``a`` and ``b`` agree at ``points`` real points, False if they disagree at one,
    None if too few of the random points tried are in the real domain of both."""
    a, b = concretize_sums(a), concretize_sums(b)
    agreed = 0
    for point in _random_points(a, b, tries=20 * points):
        va, vb = real_value(a, point), real_value(b, point)
        if va is None or vb is None:
            continue
        if abs(va - vb) > rtol * max(1.0, abs(va), abs(vb)):
            return False
        agreed += 1
        if agreed == points:
            return True
    return None


def is_real_somewhere(expr: sympy.Expr, *, tries: int = 20 * N_POINTS) -> bool:
    """Whether ``expr`` is real and finite at one of the random points :func:`numeric_verdict`
    tries."""
    return bool(real_points(expr, count=1, tries=tries))


SCALES = (0.7, 2.0, 3.0, 4.0)
"""Widening ranges of the random points, as powers of ten: each name is first drawn between
-5 and 5 (``10**0.7``); when too few of those points are in the real domain (``sqrt(x - 30)``,
``log(x - 8)``), between ``-10**k`` and ``10**k`` for each later ``k`` -- unless the expression
saturates (:func:`_saturates`), where large points would make false real ones
(``acosh(sigmoid(x))`` is ``acosh(1.0) = 0`` in floating point at ``x = 1000``)."""


def _saturates(expr: sympy.Expr) -> bool:
    """Whether ``expr`` holds a function that rounds to a constant for large arguments."""
    if expr.has(sympy.exp, sympy.tanh, sympy.atan, sympy.erf, sympy.erfc, *ML_FUNCTIONS):
        return True
    return any(p.exp.free_symbols for p in expr.atoms(sympy.Pow))


def real_points(*exprs: sympy.Expr, count: int, tries: int = 20 * N_POINTS
                ) -> list[dict[sympy.Basic, float]]:
    """Up to ``count`` of the random points (see :data:`SCALES`) where every one of ``exprs``
    is real and finite, the narrowest range first."""
    exprs = tuple(concretize_sums(e) for e in exprs)
    found = []
    for point in _random_points(*exprs, tries=tries):
        if all(real_value(e, point) is not None for e in exprs):
            found.append(point)
            if len(found) == count:
                break
    return found


def _random_points(*exprs: sympy.Expr, tries: int) -> Iterator[dict[sympy.Basic, float]]:
    """``tries`` random points per range of :data:`SCALES` (the same ones for the same names):
    each name and indexed datum of ``exprs`` between ``-10**k`` and -0.1 or between 0.1 and
    ``10**k``."""
    data = set().union(*(e.atoms(sympy.Indexed) for e in exprs))
    labels = {ix.base.label for ix in data}
    names = set().union(*(e.free_symbols for e in exprs)) | data
    atoms = sorted(names - labels, key=sympy.default_sort_key)
    rng = random.Random(0)
    for scale in SCALES if not any(map(_saturates, exprs)) else SCALES[:1]:
        for _ in range(tries):
            yield {s: rng.choice((-1.0, 1.0)) * 10 ** rng.uniform(-1, scale) for s in atoms}


_REAL_FUNCTIONS = {
    sympy.exp: math.exp,
    sympy.log: math.log,
    sympy.sin: math.sin,
    sympy.cos: math.cos,
    sympy.tan: math.tan,
    sympy.sec: lambda t: 1 / math.cos(t),
    sympy.csc: lambda t: 1 / math.sin(t),
    sympy.cot: lambda t: 1 / math.tan(t),
    sympy.asin: math.asin,
    sympy.acos: math.acos,
    sympy.atan: math.atan,
    sympy.acot: lambda t: math.atan(1 / t),
    sympy.sinh: math.sinh,
    sympy.cosh: math.cosh,
    sympy.tanh: math.tanh,
    sympy.asinh: math.asinh,
    sympy.acosh: math.acosh,
    sympy.atanh: math.atanh,
    sympy.Abs: abs,
    sympy.sign: lambda t: math.copysign(1.0, t) if t else 0.0,
    sympy.Heaviside: lambda t, at_zero=0.5: float(t > 0) if t else float(at_zero),
    sympy.Max: max,
    sympy.Min: min,
}
_RELATIONS = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
    "==": operator.eq, "!=": operator.ne,
}  # fmt: skip


def real_value(expr: sympy.Expr, point: dict[sympy.Basic, float]) -> float | None:
    """The value of ``expr`` in floating point at ``point`` (atom -> float), or None where
    it or any part of it is not a finite real number."""
    try:
        value = _real(expr, dict(point))
    except (ArithmeticError, ValueError, TypeError, StopIteration):
        return None
    if isinstance(value, complex) or not math.isfinite(value) or abs(value) >= 1e12:
        return None
    return value


def _real(expr: sympy.Basic, memo: dict[sympy.Basic, float]) -> float:
    if expr in memo:
        return memo[expr]
    if expr.is_Number or expr.is_NumberSymbol:
        value = float(expr)
    elif expr is sympy.I:
        value = 1j
    elif isinstance(expr, sympy.Piecewise):
        value = next(_real(e, memo) for e, cond in expr.args if _holds(cond, memo))
    elif not (expr.is_Add or expr.is_Mul or expr.is_Pow or expr.is_Function):
        raise TypeError(f"cannot evaluate {type(expr).__name__}")  # Derivative, Subs, ...
    else:
        args = [_real(a, memo) for a in expr.args]
        if expr.is_Add:
            value = sum(args) if complex in map(type, args) else math.fsum(args)
        elif expr.is_Mul:
            value = math.prod(args)
        elif expr.is_Pow:
            value = args[0] ** args[1]
        elif expr.func in _REAL_FUNCTIONS:
            value = _REAL_FUNCTIONS[expr.func](*args)
        else:  # any other SymPy function, evaluated by SymPy
            value = complex(expr.func(*map(sympy.Float, args)).evalf())
    if isinstance(value, complex) and not value.imag:
        value = value.real
    elif isinstance(value, complex) and not expr.is_number:  # complex constants may cancel
        raise ValueError("not real")
    memo[expr] = value
    return value


def _holds(cond: sympy.Basic, memo: dict[sympy.Basic, float]) -> bool:
    if cond in (sympy.true, sympy.false):
        return bool(cond)
    if cond.is_Relational:
        return _RELATIONS[cond.rel_op](_real(cond.lhs, memo), _real(cond.rhs, memo))
    if isinstance(cond, sympy.And):
        return all(_holds(c, memo) for c in cond.args)
    if isinstance(cond, sympy.Or):
        return any(_holds(c, memo) for c in cond.args)
    if isinstance(cond, sympy.Not):
        return not _holds(cond.args[0], memo)
    if isinstance(cond, sympy.ITE):
        test, then, otherwise = cond.args
        return _holds(then if _holds(test, memo) else otherwise, memo)
    raise TypeError(f"cannot evaluate the condition {cond}")
