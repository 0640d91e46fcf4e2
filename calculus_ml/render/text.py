"""Unicode text for terminals and the REPL, built with ``sympy.pretty``."""

from __future__ import annotations

import copy
import sys

import sympy
from sympy import Pow, Rational, S
from sympy.printing.pretty.pretty import PrettyPrinter
from sympy.printing.pretty.stringpict import prettyForm, stringPict

from ..steps.rules import Fact
from ..caching import remembered
from .base import (Notation, SubexpressionCache, cached_printer, is_partial, keep_order,
                   ordered_factors)
from .walk import DERIVED_ABOVE, Chain, Entry, StringWalker


class _Printer(Notation, SubexpressionCache, PrettyPrinter):
    """SymPy's pretty printer, writing indexed data ``x[i]`` as ``xᵢ`` and keeping the term
    order of a rule's sum of derivatives."""

    @staticmethod
    def _fresh(printed):
        # SymPy's pretty printer adjusts the baseline and binding of forms it got back from
        # ``_print`` in place; a shallow copy is enough, as it never edits a picture's lines.
        return copy.copy(printed)

    def _print_Add(self, expr, order=None):
        return super()._print_Add(expr, order=keep_order(expr, order))

    def _print_Mul(self, product):
        """SymPy's ``_print_Mul``, or :meth:`_print_product` while no unit can be about."""
        if "sympy.physics.units" in sys.modules:
            return super()._print_Mul(product)
        return self._print_product(product)

    def _print_product(self, product):
        """SymPy's ``PrettyPrinter._print_Mul`` (1.14) without importing ``sympy.physics.units``.

        SymPy's method imports the units package, a third of a second on a cold start, only to
        move quantities to the back of a product; no ``Quantity`` can exist before that
        package is imported, and a stable sort on an all-false key keeps the order. The copy is
        pinned to SymPy's own output by ``tests/test_render_text.py``.
        """
        args = product.args
        if args[0] is S.One or any(arg.is_Number for arg in args[1:]):
            # An unevaluated product: every factor shown, in order. ``prettyForm.__mul__``
            # would absorb a leading -1, so it is put back by hand.
            forms = [self._print(arg) for arg in args]
            negone = forms[0] == "-1"
            if negone:
                forms[0] = prettyForm("1", 0, 0)
            form = prettyForm.__mul__(*forms)
            if negone:
                form = prettyForm("-" + form.s, form.baseline, form.binding)
            return form
        args = list(ordered_factors(product)) if self.order not in ("old", "none") else list(args)
        a = []  # items in the numerator
        b = []  # items in the denominator (if any)
        for item in args:
            if item.is_commutative and item.is_Pow and item.exp.is_Rational and item.exp.is_negative:
                if item.exp != -1:
                    b.append(Pow(item.base, -item.exp, evaluate=False))
                else:
                    b.append(Pow(item.base, -item.exp))
            elif item.is_Rational and item is not S.Infinity:
                if item.p != 1:
                    a.append(Rational(item.p))
                if item.q != 1:
                    b.append(Rational(item.q))
            else:
                a.append(item)
        a = [self._print(ai) for ai in a]  # parentheses are added by ``__mul__``
        b = [self._print(bi) for bi in b]
        if not b:
            return prettyForm.__mul__(*a)
        if not a:
            a.append(self._print(S.One))
        return prettyForm.__mul__(*a) / prettyForm.__mul__(*b)

    def _print_Derivative(self, deriv):
        d = "∂" if is_partial(deriv) else "d"
        below = None
        for var, count in reversed(deriv.variable_count):
            part = prettyForm(*self._print(var).left(d))
            if count != 1:
                part = part ** prettyForm(str(count))
            below = part if below is None else prettyForm(*below.right(" ", part))
        order = sum(count for _, count in deriv.variable_count)
        top = prettyForm(d) if order == 1 else prettyForm(d) ** prettyForm(str(order))
        form = prettyForm(*top.below(stringPict.LINE, below))
        form.baseline += 1
        body = prettyForm(*self._print(deriv.expr).parens(), binding=prettyForm.FUNC)
        return prettyForm(*stringPict.next(form, body), binding=prettyForm.MUL)

    def _print_Indexed(self, expr):
        indices = "".join(str(i) for i in expr.indices)  # x[i, j] as x_ij
        return self._print(sympy.Symbol(f"{expr.base.label}_{indices}"))


@cached_printer
def pretty(expr: sympy.Basic) -> str:
    """Multi-line Unicode rendering of ``expr``, never wrapped."""
    return _Printer({"use_unicode": True, "wrap_line": False}).doprint(expr)


def equation(parts: tuple[sympy.Basic, ...]) -> str:
    """``a = b = c`` as one pretty block, every side on the same baseline (the row of its
    fraction bar or main line), so ``=`` stands where it is read."""
    blocks = [_lines_and_baseline(p) for p in parts]
    above = max(baseline for _, baseline in blocks)
    below = max(len(lines) - baseline for lines, baseline in blocks)
    padded = []
    for lines, baseline in blocks:
        width = max(len(line) for line in lines)
        top = [" " * width] * (above - baseline)
        bottom = [" " * width] * (below - (len(lines) - baseline))
        padded.append(top + [line.ljust(width) for line in lines] + bottom)
    rows = []
    for k in range(above + below):
        sep = " = " if k == above else "   "
        rows.append(sep.join(block[k] for block in padded).rstrip())
    return "\n".join(rows)


def _lines_and_baseline(expr: sympy.Basic) -> tuple[list[str], int]:
    """``expr`` pretty-printed as lines, and the index of its baseline row (remembered, unless
    ``expr`` is unhashable, like a mutable matrix)."""
    try:
        return _remembered_lines_and_baseline(expr)
    except TypeError:
        return _pretty_form(expr)


def _pretty_form(expr: sympy.Basic) -> tuple[list[str], int]:
    form = _Printer({"use_unicode": True, "wrap_line": False})._print(expr)
    return form.render(wrap_line=False).split("\n"), form.baseline


_remembered_lines_and_baseline = remembered(4096)(_pretty_form)


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line if line.strip() else line for line in text.split("\n"))


def _hang(block: str, width: int) -> str:
    first, *rest = block.split("\n")
    return "\n".join([first] + [" " * width + line for line in rest])


def _chain(parts: Chain) -> str:
    return pretty(parts[0]) if len(parts) == 1 else equation(parts)


def _fact(fact: Fact) -> str:
    return f"{fact.label}: " + _hang(pretty(fact.math), len(fact.label) + 2)


class TextWalker(StringWalker):
    """Text: a bullet per derivation step indented by depth, facts before its equation; a
    closed form's steps numbered, facts after their equations."""

    def given(self, label, expr):
        return f"{label}:\n{_indent(pretty(expr), '  ')}"

    def section(self, heading, var, steps, result):
        title = f"{heading} {var}"
        result = _indent(equation(result), "  ")
        return f"{title}\n{'─' * len(title)}\n{steps}\n\nResult:\n{result}"

    def closed_form(self, heading, steps):
        return f"{heading}\n{'─' * len(heading)}\n" + "\n\n".join(steps) + "\n"

    def _render_Step(self, entry: Entry) -> str:
        pad = "    " * entry.depth
        note = f" {DERIVED_ABOVE}" if entry.repeated else f": {entry.sentence}"
        body = [_fact(f) for f in entry.facts] + [_chain(c) for c in entry.equations]
        return "\n".join([f"{pad}• {entry.title}{note}"] + [_indent(b, pad + "  ") for b in body])

    def _render_SolutionStep(self, entry: Entry) -> str:
        body = [_chain(c) for c in entry.equations] + [_fact(f) for f in entry.facts]
        head = f"{entry.number}. {entry.title}: {entry.sentence}"
        return "\n".join([head] + [_indent(b, "   ") for b in body])


def render(derivation) -> str:
    """The whole derivation as text."""
    return TextWalker().derivation(derivation)


def render_solution(solution) -> str:
    """A closed-form solution (:class:`~calculus_ml.analysis.ClosedForm`) as text: each
    step's sentence, its equations, then what its symbols stand for."""
    return TextWalker().solution(solution)
