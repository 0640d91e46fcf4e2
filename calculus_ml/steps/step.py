"""The node of every derivation: :class:`Step` (``d/d(var)[expr] = result`` and the rule that
justifies it) and :class:`Fact` (a labelled piece of maths shown under a step). The rules
themselves are in :mod:`.leaves` (rules with no substep) and :mod:`.rules`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar, Iterator

import sympy

from ..symbolic import check_time


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

    @property
    def var_name(self) -> str:
        """The variable as a sentence names it: ``λ`` for ``lam``, ``w_j`` for ``w[j]``."""
        return _plain_name(self.var)

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


_SUBSCRIPT = {"i": "ᵢ", "j": "ⱼ", "k": "ₖ"}


def _plain_name(quantity: sympy.Basic) -> str:
    if isinstance(quantity, sympy.Indexed):
        index = "".join(str(i) for i in quantity.indices)
        return f"{quantity.base.label}{_SUBSCRIPT.get(index, '_' + index)}"
    shown = sympy.pretty(quantity, use_unicode=True)  # lam and theta are λ and θ
    return shown if "\n" not in shown else str(quantity)
