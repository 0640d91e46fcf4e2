"""Maths on one line of text, for a sentence or a brief step: ``d/dx[4⋅x⁵] = 20⋅x⁴``
(:func:`line`), an equation on such lines to fit a width (:func:`one_line`, :func:`broken`),
and text as a stream in another encoding can write it (:func:`plain`).

SymPy's string printer with the package's notation: Unicode superscripts for whole powers,
``⋅`` for products, ``xᵢ`` for indexed data, ``Σᵢ₌₁ⁿ`` for sums over the data, ``d/dx[f]``
(``∂/∂x[f]`` with several quantities) for derivatives; or plain ASCII (``x**5``,
``Sum(x[i], (i, 1, n))``) for a stream that cannot encode Unicode.
"""

from __future__ import annotations

import re

import sympy
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.pretty.pretty_symbology import pretty_symbol
from sympy.printing.str import StrPrinter

from .base import LineNotation, SubexpressionCache, cached_printer, is_partial, keep_order
from .rows import INDENT, Bracket, Rows, layout

__all__ = ["line", "one_line", "broken", "plain"]

_SUPERSCRIPTS = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
_SUBSCRIPTS = str.maketrans("0123456789=aehijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₌ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ")


def _script(text: str, table: dict) -> str | None:
    shown = text.translate(table)
    return None if any(a == b for a, b in zip(text, shown)) else shown


class _AsciiLine(LineNotation, SubexpressionCache, StrPrinter):
    """``sympy.sstr`` with derivatives as ``d/dx[f]``."""

    def _print_Add(self, expr, order=None):
        return super()._print_Add(expr, order=keep_order(expr, order))

    def _print_Derivative(self, expr):
        d = self._partial_d(expr)
        wrt = " ".join(f"{d}{self._print(v)}" + ("" if n == 1 else f"^{n}")
                       for v, n in expr.variable_count)
        order = sum(n for _, n in expr.variable_count)
        return f"{d if order == 1 else f'{d}^{order}'}/{wrt}[{self._print(expr.expr)}]"

    def _partial_d(self, expr) -> str:
        return "d"


class _UnicodeLine(_AsciiLine):
    """:class:`_AsciiLine` with Unicode symbols, superscripts and subscripts; it uses its own
    methods rather than an object's ``_sympystr`` (indexed data would print as ``x[i]``)."""

    printmethod = "_unicode_line"

    def _print_PowerForm(self, expr):
        base, exp = expr.args
        return self.parenthesize(base, PRECEDENCE["Pow"], strict=False) + f"^({self._print(exp)})"

    def _print_dot(self, expr):
        return "·".join(self.parenthesize(a, PRECEDENCE["Mul"], strict=True) for a in expr.args)

    def _partial_d(self, expr) -> str:
        return "∂" if is_partial(expr) else "d"

    def _print_Symbol(self, expr):
        return pretty_symbol(expr.name)

    def _print_IndexedBase(self, expr):  # a vector parameter w, inside dot(w, x)
        return self._print(expr.label)

    def _print_Indexed(self, expr):
        index = _script("".join(str(i) for i in expr.indices), _SUBSCRIPTS)
        label = self._print(expr.base.label)
        return label + index if index else super()._print_Indexed(expr)

    def _print_Pow(self, expr, rational=False):
        exp = expr.exp
        if exp.is_Integer and exp > 1:
            return self.parenthesize(expr.base, PRECEDENCE["Pow"], strict=False) + _script(
                str(exp), _SUPERSCRIPTS)
        if exp == sympy.S.Half:
            return f"√({self._print(expr.base)})"
        return super()._print_Pow(expr, rational).replace("**", "^")

    def _print_Mul(self, expr):
        return super()._print_Mul(expr).replace("*", "⋅")

    def _print_Abs(self, expr):
        return f"|{self._print(expr.args[0])}|"

    def _print_Sum(self, expr):
        limits = ""
        for index, low, high in expr.limits:
            below = _script(f"{index}={low}", _SUBSCRIPTS)
            above = _script(str(high), _SUPERSCRIPTS | {ord("n"): "ⁿ"})
            if below is None or above is None:
                return super()._print_Sum(expr)
            limits += f"Σ{below}{above}"
        body = self.parenthesize(expr.function, PRECEDENCE["Mul"], strict=True)
        return f"{limits} {body}"

    def _print_sigmoid(self, expr):
        return f"σ({self._print(expr.args[0])})"

    def _print_ElementwiseSigmoid(self, expr):
        return f"σ({self._print(expr.expr)})"


@cached_printer
def _unicode(expr: sympy.Basic) -> str:
    return _UnicodeLine().doprint(expr)


@cached_printer
def _ascii(expr: sympy.Basic) -> str:
    return _AsciiLine().doprint(expr)


def line(expr: sympy.Basic, *, ascii: bool = False) -> str:
    """``expr`` on one line of text, Unicode or ASCII."""
    return _ascii(expr) if ascii else _unicode(expr)


class _LineLayout:
    """Prints :class:`~.rows.Rows` one text line per row (:func:`line`)."""

    def __init__(self, ascii: bool):
        self.ascii = ascii

    def measure(self, expr: sympy.Basic) -> int:
        return len(line(expr, ascii=self.ascii))

    def rows(self, rows: Rows) -> list[str]:
        out: list[str] = []
        for k, row in enumerate(rows.rows):
            out.append(" " * INDENT if k else "")
            for j, (operator, piece) in enumerate(row):
                if operator:
                    out[-1] += f" {operator} " if j else f"{operator} "
                first, *rest = self.piece(piece)
                out[-1] += first
                out += rest
        return out

    def piece(self, piece: sympy.Basic | Bracket) -> list[str]:
        """A piece's lines: one, or for a bracket ``d/dx[`` its rows ``]``."""
        if not isinstance(piece, Bracket):
            return [line(piece, ascii=self.ascii)]
        operator = line(piece.derivative, ascii=self.ascii)
        first, *rest = self.rows(piece.inner)
        lines = [operator[: operator.index("[") + 1] + first] + [" " * INDENT + r for r in rest]
        lines[-1] += "]"
        return lines


def one_line(parts: tuple[sympy.Basic, ...], width: int, *, ascii: bool = False) -> list[str]:
    """``a = b = c`` on one line of text, or on continuation lines to fit ``width``."""
    printer = _LineLayout(ascii)
    return printer.rows(layout(tuple(parts), printer.measure, width))


def broken(text: str, width: int) -> list[str]:
    """One line of maths in lines of at most ``width`` columns where it can be, each break
    before a `` + `` or `` - `` (a binary sign: unary minus has no space after it)."""
    out = [""]
    for chunk in re.split(r"(?= [+-] )", text):
        if out[-1].strip() and len(out[-1]) + len(chunk) > width:
            out.append(" " * INDENT + chunk.lstrip())
        else:
            out[-1] += chunk
    return out


_ASCII = str.maketrans({"•": "*", "─": "-", "−": "-", "⋅": "*", "·": "*", "Σ": "Sum ",
                        "σ": "sigma", "θ": "theta", "λ": "lambda", "δ": "delta", "η": "eta",
                        "≥": ">=", "≤": "<=", "≠": "!=", "→": "->", "…": "...", "‖": "||",
                        "²": "^2", "³": "^3", "ᵢ": "_i", "ⱼ": "_j", "ₖ": "_k", "∂": "d", "×": "x", "’": "'",
                        "“": '"', "”": '"', "–": "-", "—": "-", "ŷ": "yhat", "∇": "grad ", "≈": "~=",
                        "ᵀ": "^T"})


def plain(text: str, encoding: str = "ascii") -> str:
    """``text`` as ``encoding`` can write it: the package's symbols spelled out in ASCII, and
    anything else still unwritable replaced by ``?``."""
    try:
        text.encode(encoding)
        return text
    except UnicodeEncodeError:
        pass
    except LookupError:
        encoding = "ascii"
    spelled = text.translate(_ASCII)
    return spelled.encode(encoding, errors="replace").decode(encoding)
