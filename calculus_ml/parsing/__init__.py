"""Safe parsing of learner-typed text into SymPy expressions.

``sympy.sympify`` and ``parse_expr`` hand (transformed) user text to :func:`eval`, so text like
``__import__('os').system(...)`` runs code, and even harmless-looking ``9**9**9`` hangs the
process while SymPy computes a number with hundreds of millions of digits. This package never
evaluates user text:

1. the raw text is checked (type, length, characters) and rewritten from natural input into
   the strict grammar by a tokenizer (:mod:`.natural`: ``2x`` is ``2*x``, ``sin x`` is
   ``sin(x)``, ``x²`` is ``x**2``, ``^`` is ``**``), which also bounds bracket depth;
2. ``ast.parse(text, mode="eval")`` builds a syntax tree -- parsing only, nothing runs;
3. the tree is walked to enforce the node-count, depth and call-depth limits, then checked
   against an allowlist (:mod:`.checker`: one ``_check_*`` method per accepted node type;
   anything else is refused) that also bounds, without computing it, every number SymPy could
   form;
4. only then is the SymPy tree built node by node (:mod:`.builder`); a part that is undefined
   (``1/(x-x)``, ``log(0)``) or a non-real constant is refused as soon as it appears, and a
   wall-clock budget backs up the limits against SymPy's own slowness. The same tree is built a
   second time without evaluation: the expression as typed, for display.

Every refusal is an :class:`~calculus_ml.errors.ExpressionError` whose first line says what is
wrong, followed by the text and a caret line under the culprit. Decimal literals become exact
rationals built from their source text (``0.5`` -> ``1/2``, ``1e-3`` -> ``1/1000``), because
learners write ``0.5*x + 3`` and expect exact algebra. Names become real symbols, read as Python
reads identifiers, Greek letters in SymPy's spelling (:func:`normalized_name`); a name mixing
scripts (``xх``, Latin and Cyrillic) or two names that look alike (Cyrillic ``х`` beside Latin
``x``) are refused.
"""

from __future__ import annotations

import ast
import warnings
from typing import NamedTuple

import sympy

from ..errors import ExpressionError
from .builder import Builder, typed
from .checker import Checker
from .limits import (MAX_BUILD_SECONDS, MAX_CALL_DEPTH, MAX_CONSTANT_CALL_DEPTH, MAX_DEPTH,
                     MAX_DIGITS, MAX_EXPONENT, MAX_LENGTH, MAX_LITERAL_DIGITS, MAX_NODES,
                     MAX_POWER, MAX_ROOT_DIGITS)
from .natural import normalize
from .source import Source, error
from .vocabulary import normalized_name

__all__ = ["parse", "Parsed", "parse_expression", "normalized_name", "MAX_LENGTH", "MAX_NODES",
           "MAX_DEPTH", "MAX_LITERAL_DIGITS", "MAX_EXPONENT", "MAX_POWER", "MAX_DIGITS",
           "MAX_ROOT_DIGITS", "MAX_CALL_DEPTH", "MAX_CONSTANT_CALL_DEPTH", "MAX_BUILD_SECONDS"]


class Parsed(NamedTuple):
    """A parsed text: the canonical expression, the expression as typed, and how the text was
    read when natural input was rewritten (``"2·x^2 + 3·x"`` for ``2x^2 + 3x``; else None)."""

    expr: sympy.Expr
    typed: sympy.Expr
    read_as: str | None


def parse(text: str | sympy.Basic) -> Parsed:
    """Parse a learner's formula, keeping what was typed beside the canonical expression.

    Parameters
    ----------
    text : str or sympy.Basic
        As for :func:`parse_expression`. A SymPy object is its own typed form.

    Returns
    -------
    Parsed
        ``expr`` (SymPy's canonical form, what is differentiated), ``typed`` (built without
        evaluation: the learner's order, signs and decimals) and ``read_as``.

    Raises
    ------
    ExpressionError
        As :func:`parse_expression`.

    Examples
    --------
    >>> parse("2x^2 + 0.5x").read_as
    '2·x^2 + 0.5·x'
    >>> parse("2x^2 + 0.5x").typed
    2*x**2 + 0.5*x
    """
    if isinstance(text, sympy.Basic):
        return Parsed(text, text, None)
    src, tree, expr, read_as = _built(text)
    return Parsed(expr, typed(src, tree), read_as)


def _built(text: str) -> tuple[Source, ast.Expression, sympy.Expr, str | None]:
    """Every check and limit, then the canonical expression (not the typed one), with the
    source and checked tree it came from and how natural input was read."""
    if not isinstance(text, str):
        raise ExpressionError(f"expected a string or a SymPy expression, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        message = f"text too long ({len(text)} > {MAX_LENGTH} characters)"
        raise error(text[:60] + "...", message, 60)
    text = text.translate(str.maketrans("\t\n\r\f\v", "     "))
    for i, char in enumerate(text):
        if not char.isprintable():
            raise error(text, f"unexpected character U+{ord(char):04X}", i)
    if not text.strip():
        raise error(text, "empty expression", 0)
    try:
        reading = normalize(text)
    except RecursionError:  # e.g. hundreds of functions applied without brackets
        raise error(text, "expression too deeply nested", 0) from None
    src = Source(text, reading.parsed, reading.origin)
    if not reading.parsed:
        raise error(text, "nothing to differentiate after '='", len(text))
    try:
        with warnings.catch_warnings():  # e.g. "1if": the text is refused or fine, never warned
            warnings.simplefilter("ignore")
            tree = ast.parse(src.parsed, mode="eval")
    except SyntaxError as exc:
        raise _syntax_error(src, exc) from None
    except (RecursionError, MemoryError, ValueError):
        raise error(text, "expression too long or too deeply nested", 0) from None
    _check_size(src, tree)
    Checker(src).check(tree)
    return src, tree, Builder(src, MAX_BUILD_SECONDS).build(tree), reading.read_as


def parse_expression(text: str | sympy.Basic) -> sympy.Expr:
    """Parse a learner's formula into a SymPy expression, without evaluating any code.

    Parameters
    ----------
    text : str or sympy.Basic
        A formula such as ``"(0.5*x + 3)^2"`` or, as learners write it, ``"(0.5x + 3)²"``. It
        may use numbers (decimals become exact rationals), names (real symbols; ``e`` and ``pi``
        are the constants; Greek letters typed or spelled out), ``+ - * / **``, ``^`` for powers,
        parentheses and the functions of :data:`~calculus_ml.parsing.vocabulary.FUNCTIONS`
        (``exp``, ``log``, ``log(x, base)``, ``sqrt``, trigonometric and hyperbolic functions
        and their inverses, ``erf``, ``abs``, ``max``, ``min``, ``relu``, ``sigmoid``, ``gelu``,
        ...); the natural forms of :mod:`calculus_ml.parsing.natural` are read too. A SymPy
        object is returned unchanged.

    Returns
    -------
    sympy.Expr
        The expression, built node by node from the allowlist.

    Raises
    ------
    ExpressionError
        If ``text`` is not a string, is empty, too long or too deeply nested, uses anything
        outside the allowlist, could create numbers too large, has an undefined or non-real
        part, or SymPy fails or runs out of time evaluating it (see the ``MAX_*`` limits).
        The message's first line says what is wrong; the next two lines show the text and a
        caret line under the culprit.

    Examples
    --------
    >>> parse_expression("(0.5*x + 3)^2")
    (x/2 + 3)**2
    >>> parse_expression("log(x, 2)")
    log(x)/log(2)
    >>> parse_expression("2x sin x")
    2*x*sin(x)
    >>> parse_expression("x + y.real")
    Traceback (most recent call last):
    ...
    calculus_ml.errors.ExpressionError: attribute access is not allowed
      x + y.real
          ^^^^^^
    """
    return text if isinstance(text, sympy.Basic) else _built(text)[2]


def _check_size(src: Source, tree: ast.Expression) -> None:
    """Node count, depth and call depth, walked iteratively so deep trees cannot exhaust the
    Python stack."""
    nodes, stack = 0, [(tree.body, 1, 0)]
    while stack:
        node, depth, calls = stack.pop()
        nodes, calls = nodes + 1, calls + isinstance(node, ast.Call)
        if nodes > MAX_NODES:
            raise src.refuse(node, f"expression too large: more than {MAX_NODES} parts")
        if depth > MAX_DEPTH:
            raise src.refuse(node, f"expression too large: nested deeper than {MAX_DEPTH}")
        if calls > MAX_CALL_DEPTH:
            raise src.refuse(node, f"functions nested deeper than {MAX_CALL_DEPTH}")
        children = ast.iter_child_nodes(node)
        stack.extend((kid, depth + 1, calls) for kid in children if isinstance(kid, ast.expr))


def _syntax_error(src: Source, exc: SyntaxError) -> ExpressionError:
    start = (exc.offset or 1) - 1
    end = exc.end_offset - 1 if exc.end_offset and exc.end_offset > exc.offset else None
    msg = exc.msg.split(" (detected at")[0]
    if "forgot a comma" in msg:
        msg = "missing operator between terms (write * to multiply)"
    return src.error(f"syntax error: {msg}", start, end)
