"""The allowlist: every node of the parsed tree is checked, and every number SymPy could form
is bounded without computing it, before anything is built.

One ``_check_*`` method per accepted node type; anything else is refused with a message saying
what is not allowed. :class:`Bound` says how large the numbers of a subtree can grow.
"""

from __future__ import annotations

import ast
import difflib
import math
import operator
import re
import unicodedata
from fractions import Fraction
from typing import NamedTuple

from .limits import (EXACT_DIGITS, MAX_DIGITS, MAX_EXPONENT, MAX_LITERAL_DIGITS, MAX_NODES,
                     MAX_POWER, MAX_ROOT_DIGITS)
from .source import Source
from .vocabulary import ALSO_NAMES, CONSTANTS, FUNCTIONS

__all__ = ["Bound", "Checker", "BINARY", "UNARY"]

BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
          ast.Div: operator.truediv, ast.Pow: operator.pow}
UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}
EXP_LIKE = frozenset({"exp"})  # SymPy turns exp(k*log(b)) into the number b**k
ROOTS = frozenset({"sqrt", "cbrt"})
_OP_TEXT = {ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.LShift: "<<",
            ast.RShift: ">>", ast.BitOr: "|", ast.BitAnd: "&", ast.BitXor: "^",
            ast.Invert: "~", ast.Not: "not"}
_REFUSED = {
    ast.Attribute: "attribute access is not allowed", ast.Subscript: "indexing is not allowed",
    ast.Slice: "slices are not allowed", ast.Lambda: "lambda is not allowed",
    ast.Compare: "comparisons are not allowed", ast.BoolOp: "'and'/'or' are not allowed",
    ast.IfExp: "'if ... else' is not allowed", ast.NamedExpr: "':=' is not allowed",
    ast.JoinedStr: "strings are not allowed", ast.Starred: "'*' unpacking is not allowed",
    ast.Tuple: "a comma is only allowed between function arguments",
    ast.List: "lists are not allowed", ast.Set: "sets are not allowed",
    ast.Dict: "dicts are not allowed", ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed", ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "comprehensions are not allowed", ast.Await: "'await' is not allowed",
    ast.Yield: "'yield' is not allowed", ast.YieldFrom: "'yield' is not allowed",
}
DECIMAL = re.compile(r"(\d*)\.?(\d*)(?:[eE]([+-]?\d+))?")
_SAME_SCRIPT = {"HIRAGANA": "CJK", "KATAKANA": "CJK", "HANGUL": "CJK", "MODIFIER": None}
#: Cyrillic and Greek letters drawn like Latin ones: names equal after this map look alike.
_LOOK_ALIKES = str.maketrans("асеорхуіјѕһԁԛԝӏАВЕКМНОРСТХУІЈЅοΑΒΕΖΗΙΚΜΝΟΡΤΥΧ",
                             "aceopxyijshdqwlABEKMHOPCTXYIJSoABEZHIKMNOPTYX")



class Bound(NamedTuple):
    """What the checker knows about a subtree, treating every name as the value 1.

    ``height`` bounds log10 of the largest integer SymPy may store for it (numerator or
    denominator); ``magnitude`` bounds log10 of its absolute value; ``value`` is its exact
    value when it is a small rational constant. Rules: heights add under ``+ - * /`` (plus
    log10(2) for sums), ``a**k`` has height ``height(a) * max(|k|, 1)``, a function's height is
    the sum of its arguments' (``s * 10**s`` for exp, since ``exp(k*log(b)) = b**k``).
    """

    height: float
    magnitude: float
    value: Fraction | None = None

    @classmethod
    def exact(cls, value: Fraction) -> Bound:
        top, num = max(abs(value.numerator), value.denominator), abs(value.numerator)
        size = math.log10(num) - math.log10(value.denominator) if num else -math.inf
        return cls(math.log10(top), size, value)


_SUM = math.log10(2)  # a sum or difference adds at most one digit-bit
#: (height, magnitude) of ``a op b`` from the bounds of ``a`` and ``b``; see :class:`Bound`.
_ARITHMETIC_BOUNDS = {
    ast.Add: lambda a, b: (a.height + b.height + _SUM, max(a.magnitude, b.magnitude) + _SUM),
    ast.Sub: lambda a, b: (a.height + b.height + _SUM, max(a.magnitude, b.magnitude) + _SUM),
    ast.Mult: lambda a, b: (a.height + b.height, a.magnitude + b.magnitude),
    ast.Div: lambda a, b: (a.height + b.height, a.magnitude + b.height),
}


class Checker:
    """Checks a parsed tree against the allowlist and limits."""

    def __init__(self, source: Source) -> None:
        self.src = source
        self.look_alikes: dict[str, str] = {}  # a name with look-alikes mapped: the first name

    def check(self, node: ast.AST) -> Bound:
        method = self._CHECKS.get(type(node))
        if method is None:
            name = type(node).__name__
            raise self.src.refuse(node, _REFUSED.get(type(node), f"{name} is not allowed"))
        bound = method(self, node)
        if max(bound.height, bound.magnitude) > MAX_DIGITS:
            raise self.src.refuse(node, f"numbers would grow too large (over {MAX_DIGITS} digits)")
        return bound

    def _check_constant(self, node: ast.Constant) -> Bound:
        kind, too_long = type(node.value), f"number longer than {MAX_LITERAL_DIGITS} digits"
        if kind is int:
            if node.value >= 10**MAX_LITERAL_DIGITS:
                raise self.src.refuse(node, too_long)
            return Bound.exact(Fraction(node.value))
        if kind is float:
            literal = self.src.segment(node).replace("_", "")
            whole, frac, exponent = DECIMAL.fullmatch(literal).groups()
            if len(whole) + len(frac) + abs(int(exponent or 0)) > MAX_LITERAL_DIGITS:
                raise self.src.refuse(node, too_long)
            return Bound.exact(Fraction(literal))
        what = {complex: "complex numbers are", str: "strings are", bytes: "strings are"}
        raise self.src.refuse(node, f"{what.get(kind, repr(node.value) + ' is')} not allowed")

    def _check_name(self, node: ast.Name) -> Bound:
        if node.id.startswith("_"):
            raise self.src.refuse(node, f"names may not start with '_': {node.id!r}")
        if node.id in FUNCTIONS and node.id not in ALSO_NAMES:
            raise self.src.refuse(node, f"'{node.id}' is a function: call it, e.g. {node.id}(x)")
        words = {unicodedata.name(char, "?").split(" ")[0] for char in node.id if char.isalpha()}
        scripts = {_SAME_SCRIPT.get(word, word) for word in words} - {None}  # LATIN, GREEK, ...
        if len(scripts) > 1:
            mixed = " and ".join(sorted(word.title() for word in scripts))
            raise self.src.refuse(node, f"name {node.id!r} mixes {mixed} letters: use one script")
        first = self.look_alikes.setdefault(node.id.translate(_LOOK_ALIKES), node.id)
        if first != node.id:
            raise self.src.refuse(node, f"{node.id!r} looks like {first!r} but is another name "
                                  "(a letter of another script): use one of them")
        return Bound(0.5, 0.5) if node.id in CONSTANTS else Bound(0.0, 0.0)

    def _check_unary(self, node: ast.UnaryOp) -> Bound:
        if type(node.op) not in UNARY:
            raise self.src.refuse(node, f"operator '{_OP_TEXT[type(node.op)]}' is not supported")
        inner = self.check(node.operand)
        return inner if inner.value is None else Bound.exact(-inner.value)

    def _check_binary(self, node: ast.BinOp) -> Bound:
        if type(node.op) not in BINARY:
            raise self.src.refuse(node, f"operator '{_OP_TEXT[type(node.op)]}' is not supported")
        a, b = self.check(node.left), self.check(node.right)
        exact = a.value is not None and b.value is not None
        if type(node.op) is ast.Pow:
            bound, exact = self._check_power(node, a, b), exact and b.value.denominator == 1
        else:
            if type(node.op) is ast.Div and b.value == 0:
                raise self.src.refuse(node.right, "division by zero")
            bound = Bound(*_ARITHMETIC_BOUNDS[type(node.op)](a, b))
        if exact and bound.height <= EXACT_DIGITS:  # fold small constants exactly
            return Bound.exact(BINARY[type(node.op)](a.value, b.value))
        return bound

    def _check_power(self, node: ast.BinOp, a: Bound, b: Bound) -> Bound:
        k = abs(b.value) if b.value is not None else 10 ** min(b.magnitude, 300)
        of_a_name = a.value is None and b.value is not None and b.value.denominator == 1
        limit = MAX_POWER if of_a_name else MAX_EXPONENT  # x**150 is no huge constant
        if k > limit:
            raise self.src.refuse(node.right, f"exponent too large (limit ±{limit})")
        if a.value == 0 and b.value is not None and b.value < 0:
            raise self.src.refuse(node, "division by zero")
        if b.value is None or b.value.denominator != 1:  # maybe a root: SymPy factors the base
            self._check_root(node.left, a)
        height = a.height * max(float(k), 1.0)
        return Bound(height, height)

    def _check_root(self, node: ast.AST, bound: Bound) -> None:
        if bound.height > MAX_ROOT_DIGITS:
            raise self.src.refuse(node, f"root of a number over {MAX_ROOT_DIGITS} digits long")

    def _check_call(self, node: ast.Call) -> Bound:
        func = node.func
        if not isinstance(func, ast.Name):
            raise self.src.refuse(node, "only named functions can be called")
        if func.id.startswith("_"):
            raise self.src.refuse(func, f"names may not start with '_': {func.id!r}")
        if func.id not in FUNCTIONS:
            close = difflib.get_close_matches(func.id, list(FUNCTIONS), n=3)
            hint = (f"did you mean {' or '.join(close)}?" if close
                    else f"to multiply, write {func.id}*(...)")
            raise self.src.refuse(func, f"unknown function '{func.id}' ({hint})")
        if node.keywords:
            raise self.src.refuse(node.keywords[0], "keyword arguments are not allowed")
        _, least, most = FUNCTIONS[func.id]
        if not least <= len(node.args) <= most:
            want = (f"{least}" if least == most else f"at least {least}" if most == MAX_NODES
                    else f"{least} to {most}")
            got = len(node.args)
            raise self.src.refuse(node, f"{func.id}() takes {want} argument(s), got {got}")
        bounds = [self.check(arg) for arg in node.args]
        if func.id in ROOTS:
            self._check_root(node.args[0], bounds[0])
        total = sum(bound.height for bound in bounds)
        if func.id in EXP_LIKE:
            total *= 10 ** min(total, 10)
        return Bound(total, total)

    _CHECKS = {ast.Expression: lambda self, node: self.check(node.body),
               ast.Constant: _check_constant, ast.Name: _check_name, ast.UnaryOp: _check_unary,
               ast.BinOp: _check_binary, ast.Call: _check_call}

