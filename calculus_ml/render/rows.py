"""Long equations broken into rows at their top-level ``=``, ``+`` and ``−``, for every format
that has a width to keep to (text at the terminal's width, HTML at the page's).

:func:`layout` takes an equation chain ``a = b = c`` and a way to measure an expression's width
(in columns) and returns :class:`Rows`: each row a list of ``(operator, piece)``, the first
piece of the first row with no operator, every continuation row starting with its operator. A
side too wide for a row is split into its terms; a derivative ``d/dx[...]`` of a sum too wide
for a row is a :class:`Bracket` whose sum is laid out in rows of its own. Anything else is
an atom, shown whole even when it is wider than the row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sympy

from .base import keep_order, ordered_terms

__all__ = ["Rows", "Bracket", "layout", "terms", "OPERATOR_WIDTH", "INDENT"]

OPERATOR_WIDTH = 3
"""Columns of `` = `` between two pieces of a row."""
INDENT = 4
"""Columns a continuation row is indented by."""


@dataclass(frozen=True)
class Bracket:
    """``d/dx[inner]`` whose sum is shown in rows: ``derivative`` is the whole derivative."""

    derivative: sympy.Derivative
    inner: Rows


@dataclass(frozen=True)
class Rows:
    """An equation laid out in rows of ``(operator, piece)``; the operator is ``""`` (the
    first piece), ``"="``, ``"+"`` or ``"-"``, and a piece an expression or a :class:`Bracket`."""

    rows: tuple[tuple[tuple[str, sympy.Basic | Bracket], ...], ...]


Measure = Callable[[sympy.Basic], int]


def terms(expr: sympy.Add) -> list[tuple[str, sympy.Basic]]:
    """``expr``'s terms in printing order as ``(operator, term)``: the first with ``""``, a
    negative one after it as ``("-", -term)``."""
    order = keep_order(expr, None)
    ordered = expr.args if order == "none" else ordered_terms(expr, order)
    out: list[tuple[str, sympy.Basic]] = []
    for k, term in enumerate(ordered):
        if k and term.could_extract_minus_sign():
            out.append(("-", -term))
        else:
            out.append(("+" if k else "", term))
    return out


def layout(parts: tuple[sympy.Basic, ...], measure: Measure, width: int) -> Rows:
    """``parts[0] = parts[1] = ...`` in rows of at most ``width`` columns where it can be."""
    items: list[tuple[str, sympy.Basic | Bracket]] = []
    for k, part in enumerate(parts):
        operator = "=" if k else ""
        room = width - (INDENT + 2 if k else 0)
        if measure(part) <= room:
            items.append((operator, part))
        elif isinstance(part, sympy.Add):
            for j, (sign, term) in enumerate(terms(part)):
                items.append((operator if j == 0 else sign, _fitted(term, measure, room)))
        else:
            items.append((operator, _fitted(part, measure, room)))
    return Rows(_packed(items, measure, width))


def _fitted(expr: sympy.Basic, measure: Measure, width: int) -> sympy.Basic | Bracket:
    """``expr``, or a :class:`Bracket` when it is a derivative of a sum too wide for ``width``."""
    if (isinstance(expr, sympy.Derivative) and isinstance(expr.expr, sympy.Add)
            and measure(expr) > width):
        return Bracket(expr, layout((expr.expr,), measure, width - INDENT))
    return expr


def width_of(piece: sympy.Basic | Bracket, measure: Measure) -> int:
    """Columns of a piece: a bracket's widest row and the ``d/dx[ ]`` around it."""
    if isinstance(piece, Bracket):
        return INDENT + max(
            sum(width_of(p, measure) + (OPERATOR_WIDTH if op else 0) for op, p in row)
            for row in piece.inner.rows
        )
    return measure(piece)


def _packed(items, measure: Measure, width: int):
    rows: list[list] = [[]]
    used = 0
    for operator, piece in items:
        wide = width_of(piece, measure) + (OPERATOR_WIDTH if operator else 0)
        if rows[-1] and used + wide > width:
            rows.append([])
            used = INDENT - 1  # a continuation row starts "    = ": one column less than " = "
        rows[-1].append((operator, piece))
        used += wide
    return tuple(tuple(row) for row in rows)
