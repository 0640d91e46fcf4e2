"""The narrative's markup: Markdown text, its placeholders for computed values, and their maths.

Narrative text (``text``, ``after``, captions) never types a result: it names it, and the builder
fills it in from the engine and the data. ``{{`` and ``}}`` are literal braces; ``|SPEC`` after
the arguments is a Python format spec (``{fit:m|.2f}``).

==================  =============================================================================
``{math:EXPR}``     ``EXPR`` as inline maths, parsed safely: ``A = B``, ``f(x) = ...`` and
                    ``D(J, b)`` (the derivative of ``J`` in ``b``) are allowed
``{expr}``          the section's function, or its loss ``J``, as inline maths
``{result:VAR}``    the derivative with respect to ``VAR``, from the verified derivation
``{value:POINT}``   the function (or ``J``) at ``POINT``, e.g. ``x=3`` or ``m=1.5,b=0``
``{slope:VAR@P}``   the partial derivative with respect to ``VAR`` at ``P`` (``VAR@`` optional
                    with one variable): ``{slope:x=3}``, ``{slope:b@m=1.5,b=0}``
``{fit:NAME}``      a parameter fitted by gradient descent, or ``iterations``, ``loss``,
                    ``learning_rate``
``{solve:NAME}``    a parameter of the exact minimiser (``loss.solve``)
``{bound}``         the largest stable learning rate ``2/λ_max(H)``
``{walk:K:NAME}``   the walk after ``K`` steps: its parameter, ``slope`` or ``cost``
``{forward:V+H@P}`` the forward difference ``(f(P + H in V) - f(P)) / H``, e.g.
                    ``{forward:b+0.001@m=43,b=3}`` (``V-H`` steps backwards)
``{forward_bias:.}``  the same minus the exact slope ``{slope:V@P}``: the difference's error
``{n}``             the number of data points
==================  =============================================================================

Narrative Markdown is paragraphs, ``- `` bullet lists, ``**bold**``, ``*italic*`` and
```code```; anything else is shown as written. This module knows the grammar only: it raises
:class:`MarkupError` with the problem, and the spec's checker says where it is.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass

import sympy

from ..errors import CalculusMLError, ExpressionError, quoted, shortened
from ..parsing import parse_expression
from .document import Run

__all__ = ["Ref", "MarkupError", "REF_KINDS", "DIFFERENCES", "Inline", "Narrative", "narrative",
           "inline", "lines", "parse_point", "parse_difference", "exact", "parse_math",
           "math_side"]

REF_KINDS = ("math", "expr", "result", "value", "slope", "fit", "solve", "bound", "walk",
             "forward", "forward_bias", "n")
DIFFERENCES = ("forward", "forward_bias")
"""The placeholders of a difference quotient, ``{forward:V+H@P}``."""

_REF = re.compile(r"\{\{|\}\}|\{([a-z_]+)(?::([^{}|]*))?(?:\|([^{}]*))?\}|[{}]")
_STYLE = re.compile(r"\*\*|\*|`")
_CALL = re.compile(r"^\s*([A-Za-z]\w*)\s*\(([^()]*)\)\s*$")
_D = re.compile(r"\bD\(([^(),]*),\s*([A-Za-z]\w*)\s*\)")  # matches one way only: linear time
_APPLIED = re.compile(r"\b([A-CE-Zfgh])\(([^()]*)\)")  # J(b + delta) inside an expression
_GREEK = {name: chr(code) for code, name in enumerate(
    "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho "
    "_ sigma tau upsilon phi chi psi omega".split(), 0x3B1) if name != "_"}


class MarkupError(ValueError):
    """Malformed narrative text: the problem, without the file and key it is in."""


@dataclass(frozen=True)
class Ref:
    """A computed value named in narrative text (``{kind:arg|fmt}``)."""

    kind: str
    arg: str
    fmt: str
    style: frozenset = frozenset()


Inline = tuple  # of Run and Ref
Narrative = tuple  # of ("p", Inline) and ("ul", tuple of Inline)


def narrative(text: str) -> Narrative:
    """Markdown text as paragraphs and bullet lists of inline tokens.

    Raises
    ------
    MarkupError
        For a malformed placeholder or an unclosed emphasis marker.
    """
    blocks = []
    for para in re.split(r"\n\s*\n", text.strip()):
        para_lines = [line.strip() for line in para.splitlines() if line.strip()]
        if not para_lines:
            continue
        if all(line.startswith(("- ", "* ")) for line in para_lines):
            blocks.append(("ul", tuple(inline(line[2:]) for line in para_lines)))
        else:
            blocks.append(("p", inline(" ".join(para_lines))))
    return tuple(blocks)


def inline(text: str) -> Inline:
    """One paragraph as :class:`~.document.Run` and :class:`Ref` tokens, emphasis resolved.

    Raises
    ------
    MarkupError
        For an unmatched brace, an unknown placeholder, a bad format spec or an unclosed marker.
    """
    tokens: list = []
    style: set[str] = set()
    pos = 0

    def literal(chunk: str) -> None:
        at = 0
        for marker in _STYLE.finditer(chunk):
            if chunk[at:marker.start()]:
                tokens.append(Run(chunk[at:marker.start()], frozenset(style)))
            flag = {"**": "bold", "*": "italic", "`": "code"}[marker.group()]
            style.symmetric_difference_update({flag})
            at = marker.end()
        if chunk[at:]:
            tokens.append(Run(chunk[at:], frozenset(style)))

    for match in _REF.finditer(text):
        literal(text[pos:match.start()])
        pos = match.end()
        if match.group() in ("{{", "}}"):
            tokens.append(Run(match.group()[0], frozenset(style)))
        elif match.group(1) is None:
            raise MarkupError(f"unmatched {match.group()!r} (write {match.group() * 2} for a "
                             "literal brace)")
        else:
            kind, arg, fmt = match.group(1), (match.group(2) or "").strip(), match.group(3) or ""
            if kind not in REF_KINDS:
                raise MarkupError(f"unknown placeholder {{{shortened(kind)}}} (known: "
                                  f"{', '.join(REF_KINDS)})")
            if fmt:
                _check_format(fmt, match.group())
            tokens.append(Ref(kind, arg, fmt, frozenset(style)))
    literal(text[pos:])
    if style:
        raise MarkupError(f"unclosed {', '.join(sorted(style))} marker in {text[:40]!r}...")
    return tuple(tokens)


def _check_format(fmt: str, ref: str) -> None:
    """A format spec that formats a number, with no width or precision over two digits."""
    try:
        format(1.5, fmt)
    except ValueError:
        raise MarkupError(f"bad format spec {quoted(fmt)} in {quoted(ref)}") from None
    if len(fmt) > 20 or re.search(r"\d{3}", fmt):
        raise MarkupError(f"format spec {quoted(fmt)} in {quoted(ref)}: widths and precisions "
                          "above 99 are not allowed")


def lines(blocks: Narrative) -> Iterator[Inline]:
    """Every line of a narrative: each paragraph and each bullet."""
    for kind, body in blocks:
        yield from [body] if kind == "p" else body


def parse_point(text: str) -> dict[str, sympy.Rational]:
    """``"m=1.5, b=0"`` as ``{"m": 3/2, "b": 0}`` (exact decimals); ValueError if malformed or
    not finite."""
    point = {}
    for item in text.split(","):
        name, eq, value = item.partition("=")
        name = name.strip()
        if not eq or not name.isidentifier() or name in point:
            raise ValueError(f"{quoted(text)} is not a point such as x=3 or m=1.5,b=0")
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"{name} = {quoted(value.strip())} is not a finite number")
        point[name] = exact(number)
    return point


_STEP = re.compile(r"\s*([A-Za-z_]\w*)\s*([+-])\s*(\d{1,20}(?:\.\d{0,20})?(?:[eE][+-]?\d{1,3})?)\s*")


def parse_difference(text: str) -> tuple[str, sympy.Rational, dict[str, sympy.Rational]]:
    """``"b+0.001@m=43,b=3"`` as ``("b", 1/1000, {"m": 43, "b": 3})``: the variable, the signed
    step (exact) and the point; ValueError if malformed, the step is zero or not finite, or the
    point does not give the variable."""
    step, at, point = text.partition("@")
    match = _STEP.fullmatch(step)
    if not at or match is None:
        raise ValueError(f"{quoted(text)} is not a step and a point such as b+0.001@m=43,b=3")
    var, sign, size = match.groups()
    if float(size) == 0 or not math.isfinite(float(size)):
        raise ValueError(f"the step in {quoted(text)} must be a finite number other than 0")
    h = exact(float(size)) * (-1 if sign == "-" else 1)
    where = parse_point(point)
    if var not in where:
        raise ValueError(f"the point in {quoted(text)} gives no value of {var}")
    return var, h, where


def exact(value: float) -> sympy.Rational:
    """A number as the exact decimal it was written as (``1.5`` is 3/2)."""
    return sympy.Integer(value) if float(value).is_integer() else sympy.Rational(repr(float(value)))


def parse_math(arg: str) -> sympy.Basic:
    """The maths of ``{math:A}`` or ``{math:A = B}``, every side parsed by :func:`math_side`.

    Raises
    ------
    MarkupError
        When ``arg`` is empty, has more than one ``=``, or a side is not an expression.
    """
    sides = arg.split("=")
    if len(sides) > 2 or not arg:
        raise MarkupError(f"{{math:{shortened(arg)}}} must be one expression or A = B")
    try:
        parsed = [math_side(side) for side in sides]
    except CalculusMLError as error:
        raise MarkupError(f"bad expression in {{math:{shortened(arg)}}}: "
                          f"{str(error).splitlines()[0]}") from None
    return parsed[0] if len(parsed) == 1 else sympy.Eq(*parsed, evaluate=False)


def math_side(text: str) -> sympy.Expr:
    """One side of ``{math:A = B}``, every piece parsed safely: an expression, in which
    ``D(J, b)`` stands for the derivative of ``J`` with respect to ``b`` and a one-letter
    function applied to expressions (``J(b + delta)``, ``f(x)``; not ``D`` or ``e``) stands for
    itself; or a function name applied to expressions, ``f(x, y)`` or ``sigma(z)``, for the
    left-hand side of a definition."""
    call = _CALL.match(text)
    if call and call.group(1) not in ("exp", "log", "ln", "sqrt", "abs", "sigmoid", "D"):
        return _applied(call)
    stash: dict[str, sympy.Expr] = {}

    def derivative(match: re.Match) -> str:
        name = f"Dcml{len(stash)}"
        variable = parse_expression(match.group(2))
        if not isinstance(variable, sympy.Symbol):
            raise ExpressionError(f"D(..., {match.group(2)}): {match.group(2)} is not a variable")
        stash[name] = sympy.Derivative(parse_expression(match.group(1).strip()), variable)
        return name

    def applied(match: re.Match) -> str:
        name = f"Fcml{len(stash)}"
        stash[name] = _applied(match)
        return name

    expr = parse_expression(_APPLIED.sub(applied, _D.sub(derivative, text)).strip())
    expr = expr.xreplace({s: stash[s.name] for s in expr.free_symbols if s.name in stash})
    return expr.xreplace(_decimals(text))


def _applied(call: re.Match) -> sympy.Expr:
    """``f(x, y)``: the function named by the match's first group (a Greek name as its letter,
    so every format prints ``sigma(z)`` as σ(z)) applied to its parsed arguments."""
    args = [parse_expression(a) for a in call.group(2).split(",")]
    return sympy.Function(_GREEK.get(call.group(1), call.group(1)))(*args)


def _decimals(text: str) -> dict[sympy.Rational, sympy.Float]:
    """The decimals written in ``text``, to be shown as written (``0.05``, not ``1/20``)."""
    out = {}
    for literal in re.findall(r"(?<![\w.])\d+\.\d+(?![\w.])", text):
        value = sympy.Rational(literal)
        if not value.is_integer:
            out[value] = sympy.Float(literal, max(15, len(literal)))
    return out
