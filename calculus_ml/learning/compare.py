"""Whether two expressions are the same function, and a point where they differ.

Equality is decided symbolically where that is cheap (the verifier's zero test, then for a small
difference the trigonometric identities, ``trigsimp`` of ``expand_trig``, and the laws of
logarithms), else at many random points in the real domain of both. A difference is shown at a point with small exact
coordinates where possible (``x = 2``), else at a random floating-point one.
"""

from __future__ import annotations

import itertools
import numbers
from dataclasses import dataclass
from typing import Literal

import sympy

from ..errors import ExpressionError
from ..parsing import parse_expression
from ..steps.real import numeric_verdict, real_points, real_value
from ..steps.zero import vanishes

__all__ = ["Method", "Counterexample", "shown_value", "same_function", "counterexample", "learner_expression",
           "N_CHECK_POINTS"]

Method = Literal["symbolic", "numeric"]

N_CHECK_POINTS = 30
"""Random real points two expressions must agree at when no symbolic proof is found."""

_SIMPLIFY_OPS = 250
"""Largest difference (``count_ops``) handed to SymPy's trigonometric and logarithm identities."""

_TRIG = (sympy.sin, sympy.cos, sympy.tan, sympy.sec, sympy.csc, sympy.cot)

_SMALL = tuple(map(sympy.Rational, (2, 1, 3, -1, "1/2", -2, 5, 4, "1/3", 10, 7, -3, 31, 100)))
"""Exact values tried, in order, for a counterexample: small ones first."""


@dataclass(frozen=True)
class Counterexample:
    """A point where two expressions differ, with both values.

    Attributes
    ----------
    point : dict
        Symbol → value (exact numbers when ``exact``).
    expected, answer : sympy.Expr
        The right value and the learner's value there.
    exact : bool
        Whether the values are exact (else floating-point).
    """

    point: dict
    expected: sympy.Expr
    answer: sympy.Expr
    exact: bool

    def shown(self) -> str:
        """``x = 2, y = 1``."""
        return ", ".join(f"{s} = {shown_value(v)}" for s, v in self.point.items())

    def to_dict(self) -> dict:
        """JSON-ready, values as text."""
        return {"point": {str(s): shown_value(v) for s, v in self.point.items()},
                "expected": shown_value(self.expected), "answer": shown_value(self.answer),
                "exact": self.exact}


def shown_value(value) -> str:
    """A value for a sentence: exact if rational, else to six significant digits.

    ``value`` is a number or a SymPy value the package computed; anything else (text above all)
    is refused, never parsed."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = sympy.Integer(value)
    elif isinstance(value, numbers.Real) and not isinstance(value, (bool, sympy.Basic)):
        value = sympy.Float(value)
    elif not isinstance(value, sympy.Basic):
        raise TypeError(f"a value to show must be a number, not {type(value).__name__}")
    return sympy.sstr(value) if value.is_Rational else sympy.sstr(value.evalf(6) if not
                                                                  value.is_Float else value)


def learner_expression(text: str | sympy.Expr, names: dict[str, sympy.Symbol],
                       what: str = "answer") -> sympy.Expr:
    """Parse a learner's text safely and use the problem's own symbols (matched by name).

    Raises
    ------
    ExpressionError
        For malformed or unsafe text, or a name the problem does not have.
    """
    expr = parse_expression(text)
    foreign = sorted(s.name for s in expr.free_symbols if s.name not in names)
    if foreign:
        known = ", ".join(sorted(names)) or "none"
        raise ExpressionError(f"the {what} uses {', '.join(foreign)}, which the expression does "
                              f"not have (its names: {known})")
    return expr.xreplace({s: names[s.name] for s in expr.free_symbols})


def same_function(a: sympy.Expr, b: sympy.Expr, *, thorough: bool = True
                  ) -> tuple[bool | None, Method]:
    """``(verdict, method)``: True when ``a = b`` is proved or holds at
    :data:`N_CHECK_POINTS` real points, False when they differ somewhere, None when there are
    too few real points to tell. ``thorough=False`` skips the identities."""
    if a == b or vanishes(a - b) is True:
        return True, "symbolic"
    difference = a - b
    if thorough and sympy.count_ops(difference) <= _SIMPLIFY_OPS:
        if difference.has(*_TRIG) and sympy.trigsimp(sympy.expand_trig(difference)) == 0:
            return True, "symbolic"
        if difference.has(sympy.log) and vanishes(sympy.expand_log(difference, force=True)):
            return True, "symbolic"
    return numeric_verdict(a, b, points=N_CHECK_POINTS), "numeric"


def counterexample(expected: sympy.Expr, answer: sympy.Expr) -> Counterexample | None:
    """A point where ``expected`` and ``answer`` differ: small exact coordinates where possible,
    else one of the random real points; None if none is found."""
    symbols = sorted(expected.free_symbols | answer.free_symbols, key=sympy.default_sort_key)
    for values in itertools.islice(_small_points(symbols), 60):
        point = dict(zip(symbols, values))
        e, a = _exact(expected, point), _exact(answer, point)
        if e is not None and a is not None and abs(complex(sympy.N(e - a))) > 1e-9:
            return Counterexample(point, e, a, True)
    for point in real_points(expected, answer, count=N_CHECK_POINTS):
        e, a = real_value(expected, point), real_value(answer, point)
        if abs(e - a) > 1e-8 * max(1.0, abs(e), abs(a)):
            ordered = {s: sympy.Float(point[s], 6) for s in symbols}
            return Counterexample(ordered, sympy.Float(e, 8), sympy.Float(a, 8), False)
    return None


def _small_points(symbols: list[sympy.Symbol]):
    """Points with small exact coordinates, each name stepping through the values of
    :data:`_SMALL` its assumptions allow (``n`` of a mean: positive whole numbers) at its own
    pace, so that names rarely share a value."""
    allowed = [[v for v in _SMALL if (not s.is_positive or v > 0) and (not s.is_integer or
                                                                        sympy.Integer(v) == v)]
               for s in symbols]
    for step in range(len(_SMALL) * 4):
        yield tuple(values[(step * (j + 1) + j) % len(values)]
                    for j, values in enumerate(allowed))


def _exact(expr: sympy.Expr, point: dict) -> sympy.Expr | None:
    """``expr`` at ``point``, exact, or None where it is not a finite real number."""
    try:
        value = expr.xreplace(point)
        if not value.is_number:
            value = value.doit()
        if value.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
            return None
        number = complex(sympy.N(value))
    except (TypeError, ValueError, ArithmeticError):
        return None
    if abs(number.imag) > 1e-12 or abs(number.real) > 1e12:
        return None
    return sympy.nsimplify(value) if value.has(sympy.Float) else value
