"""Text for terminals and the REPL, built with ``sympy.pretty``: Unicode, or ASCII for a
stream that cannot encode it; equations baseline-aligned and broken into rows
(:mod:`.rows`) to fit the width of the terminal (80 columns when there is none); sentences
wrapped to the same width.
"""

from __future__ import annotations

import contextlib
import copy
import shutil
import sys
import textwrap
from collections.abc import Iterator

import sympy
from sympy import Pow, Rational, S
from sympy.printing.pretty.pretty import PrettyPrinter
from sympy.printing.pretty.pretty_symbology import pretty_use_unicode
from sympy.printing.pretty.stringpict import prettyForm, stringPict

from ..caching import remembered
from ..steps.rules import Fact
from .base import (Notation, SubexpressionCache, cached_printer, is_partial, keep_order,
                   ordered_factors)
from .line import broken, line, one_line, plain
from .rows import INDENT, Bracket, Rows, layout
from .walk import DERIVED_ABOVE, Chain, Entry, StringWalker

__all__ = ["render", "render_solution", "equation", "equation_width", "pretty", "short",
           "terminal_width", "TextWalker"]


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
        body = prettyForm(*self._print(deriv.expr).parens(), binding=prettyForm.FUNC)
        return prettyForm(*stringPict.next(self.operator(deriv), body), binding=prettyForm.MUL)

    def operator(self, deriv: sympy.Derivative) -> prettyForm:
        """``d/dx`` (``∂/∂x``) as a fraction whose baseline is its bar."""
        d = "∂" if is_partial(deriv) and self._use_unicode else "d"
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
        return form

    def _print_Indexed(self, expr):
        indices = "".join(str(i) for i in expr.indices)  # x[i, j] as x_ij
        return self._print(sympy.Symbol(f"{expr.base.label}_{indices}"))


class _AsciiPrinter(_Printer):
    """:class:`_Printer` in ASCII, for a stream that cannot encode Unicode."""

    def _print_Function(self, e, *args, func_name=None, **kwargs):
        """Function names spelled in ASCII (the sigmoid's own ``_pretty`` asks for ``σ``)."""
        if func_name is not None:
            func_name = plain(func_name)
        return super()._print_Function(e, *args, func_name=func_name, **kwargs)


_SETTINGS = {"wrap_line": False}


def _printer(ascii: bool) -> _Printer:
    return (_AsciiPrinter if ascii else _Printer)({"use_unicode": not ascii, **_SETTINGS})


@contextlib.contextmanager
def _unicode_as(printer: _Printer) -> Iterator[None]:
    """SymPy's global Unicode switch set as ``printer``'s, as ``doprint`` sets it."""
    saved = pretty_use_unicode(bool(printer._settings["use_unicode"]))
    try:
        yield
    finally:
        pretty_use_unicode(saved)


def _print(printer: _Printer, expr) -> prettyForm:
    """``printer._print(expr)`` under the printer's Unicode switch (:func:`_unicode_as`)."""
    with _unicode_as(printer):
        return printer._print(expr)


@cached_printer
def pretty(expr: sympy.Basic) -> str:
    """Multi-line Unicode rendering of ``expr``, never wrapped."""
    return _printer(False).doprint(expr)


def terminal_width() -> int:
    """Columns of the terminal, 80 when output goes elsewhere."""
    return shutil.get_terminal_size((80, 24)).columns


Block = tuple[list[str], int]
"""Lines of text, all the same width, and the index of the baseline row."""


def _pretty_form(expr: sympy.Basic, ascii: bool = False) -> Block:
    form = _print(_printer(ascii), expr)
    lines = form.render(wrap_line=False).split("\n")
    width = max(len(text) for text in lines)
    return [text.ljust(width) for text in lines], form.baseline


_remembered_block = remembered(4096)(_pretty_form)


def _block(expr: sympy.Basic, ascii: bool = False) -> Block:
    """``expr`` pretty-printed (remembered, unless ``expr`` is unhashable, like a mutable
    matrix)."""
    try:
        return _remembered_block(expr, ascii)
    except TypeError:
        return _pretty_form(expr, ascii)


def _beside(blocks: list[Block]) -> Block:
    """Blocks side by side, every baseline on one row."""
    above = max(baseline for _, baseline in blocks)
    below = max(len(lines) - baseline for lines, baseline in blocks)
    rows = [""] * (above + below)
    for lines, baseline in blocks:
        blank = " " * len(lines[0])
        padded = [blank] * (above - baseline) + lines
        padded += [blank] * (above + below - len(padded))
        rows = [r + p for r, p in zip(rows, padded)]
    return rows, above


def _text(word: str) -> Block:
    return [word], 0


def _under(blocks: list[Block]) -> Block:
    """Blocks one under another, left aligned; the baseline is the first block's."""
    width = max(len(lines[0]) for lines, _ in blocks)
    return [text.ljust(width) for lines, _ in blocks for text in lines], blocks[0][1]


class _Layout:
    """Prints :class:`~.rows.Rows` as text, Unicode or ASCII, ``width`` columns wide: a piece
    whose picture is wider (a sum inside a fraction, say) is written on one line of maths
    (:func:`~.line.line`) broken before its ``+`` and ``−`` signs at any depth."""

    def __init__(self, ascii: bool, width: int):
        self.ascii = ascii
        self.width = width

    def measure(self, expr: sympy.Basic) -> int:
        return len(_block(expr, self.ascii)[0][0])

    def rows(self, rows: Rows, width: int) -> Block:
        printed = []
        for k, row in enumerate(rows.rows):
            pieces = [_text(" " * INDENT)] if k else []
            for j, (operator, piece) in enumerate(row):
                if operator:
                    pieces.append(_text(f" {operator} " if j else f"{operator} "))
                pieces.append(self.piece(piece, width - INDENT - 2))
            printed.append(_beside(pieces))
        return _under(printed)

    def piece(self, piece: sympy.Basic | Bracket, width: int) -> Block:
        if not isinstance(piece, Bracket):
            block = _block(piece, self.ascii)
            if len(block[0][0]) <= width:
                return block
            lines = broken(line(piece, ascii=self.ascii), width)
            wide = max(map(len, lines))
            return [text.ljust(wide) for text in lines], 0
        lines, baseline = self.rows(piece.inner, width - INDENT)
        inner = prettyForm(*stringPict("\n".join(lines), baseline).parens("[", "]"))
        printer = _printer(self.ascii)
        with _unicode_as(printer):
            form = stringPict.next(printer.operator(piece.derivative), inner)
        whole = prettyForm(*form)
        return whole.render(wrap_line=False).split("\n"), whole.baseline


def equation_width(expr: sympy.Basic) -> int:
    """Columns of ``expr`` pretty-printed in Unicode: how wide it is in any format."""
    return len(_block(expr)[0][0])


def equation(parts: tuple[sympy.Basic, ...], width: int | None = None, *,
             ascii: bool = False) -> str:
    """``a = b = c`` as one pretty block, every side on the same baseline (the row of its
    fraction bar or main line), so ``=`` stands where it is read; broken into rows at its
    top-level ``=``, ``+`` and ``−`` to fit ``width`` columns (default: the terminal's)."""
    return _lines(_equation_block(parts, width or terminal_width(), ascii))


def _equation_block(parts: tuple[sympy.Basic, ...], width: int, ascii: bool) -> Block:
    printer = _Layout(ascii, width)
    return printer.rows(layout(tuple(parts), printer.measure, width), width)


def _lines(block: Block) -> str:
    return "\n".join(text.rstrip() for text in block[0])


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + row if row.strip() else row for row in text.split("\n"))


class TextWalker(StringWalker):
    """Text: a bullet per derivation step indented by depth, facts before its equation; a
    closed form's steps numbered, facts after their equations. Equations and sentences fit
    ``width`` columns (default: the terminal's); ``ascii`` prints the maths in ASCII."""

    def __init__(self, *, width: int | None = None, ascii: bool = False):
        self.width = width or terminal_width()
        self.ascii = ascii

    def _equation(self, parts: Chain, indent: int) -> str:
        return equation(parts, max(self.width - indent, 20), ascii=self.ascii)

    def _wrapped(self, text: str, indent: str, hang: str) -> str:
        return textwrap.fill(text, max(self.width, 40), initial_indent=indent,
                             subsequent_indent=hang, break_on_hyphens=False)

    def _fact(self, fact: Fact, indent: int) -> str:
        label = f"{fact.label}: "
        room = max(self.width - indent - len(label), 20)
        return _lines(_beside([_text(label), _equation_block((fact.math,), room, self.ascii)]))

    def inline(self, expr):
        return line(expr, ascii=self.ascii)

    def given(self, label, expr):
        return f"{label}:\n{_indent(self._equation((expr,), 2), '  ')}"

    def section(self, heading, var, steps, result):
        title = f"{heading} {line(var, ascii=self.ascii)}"
        rule = ("-" if self.ascii else "─") * len(title)
        result = _indent(self._equation(result, 2), "  ")
        return f"{title}\n{rule}\n{steps}\n\nResult:\n{result}"

    def closed_form(self, heading, steps):
        rule = ("-" if self.ascii else "─") * len(heading)
        return f"{heading}\n{rule}\n" + "\n\n".join(steps) + "\n"

    def _render_Step(self, entry: Entry) -> str:
        pad = "    " * entry.depth
        bullet = f"{pad}{'*' if self.ascii else '•'} "
        if entry.brief:  # one line; rows of one-line maths; or, too wide, the pretty form
            head = f"{bullet}{entry.title}: "
            room = max(self.width - len(head), 20)
            rows = [part for row in one_line(entry.equations[0], room, ascii=self.ascii)
                    for part in broken(row, room)]
            if len(head) + max(map(len, rows)) <= self.width:
                return "\n".join([head + rows[0]] + [" " * len(head) + row for row in rows[1:]])
            maths = self._equation(entry.equations[0], len(pad) + 2)
            return head.rstrip() + "\n" + _indent(maths, pad + "  ")
        if entry.repeated:
            note = f" {DERIVED_ABOVE}"
        else:
            folded = "".join(" " + self.folded(step) for step in entry.folded)
            note = f": {entry.sentence}{folded}"
        head = self._wrapped(f"{entry.title}{note}", bullet, pad + "  ")
        indent = len(pad) + 2
        body = [self._fact(f, indent) for f in entry.facts]
        body += [self._equation(c, indent) for c in entry.equations]
        return "\n".join([head] + [_indent(b, pad + "  ") for b in body])

    def _render_SolutionStep(self, entry: Entry) -> str:
        body = [self._equation(c, 3) for c in entry.equations]
        body += [self._fact(f, 3) for f in entry.facts]
        head = self._wrapped(f"{entry.number}. {entry.title}: {entry.sentence}", "", "   ")
        return "\n".join([head] + [_indent(b, "   ") for b in body])


def render(derivation, *, detail=None, width: int | None = None, ascii: bool = False) -> str:
    """The whole derivation as text, at ``detail`` (default: the derivation's), ``width``
    columns wide (default: the terminal's), in ASCII if asked."""
    shown = TextWalker(width=width, ascii=ascii).derivation(derivation, detail)
    return plain(shown) if ascii else shown


def render_solution(solution, *, width: int | None = None, ascii: bool = False) -> str:
    """A closed-form solution (:class:`~calculus_ml.analysis.ClosedForm`) as text: each
    step's sentence, its equations, then what its symbols stand for."""
    shown = TextWalker(width=width, ascii=ascii).solution(solution)
    return plain(shown) if ascii else shown


def short(expr: sympy.Basic, limit: int = 60) -> str:
    """``expr`` as ``sympy.sstr`` writes it, cut to ``limit`` characters with ``...``: for a
    ``repr``."""
    shown = line(expr, ascii=True)
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."
