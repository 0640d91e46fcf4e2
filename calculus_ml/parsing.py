"""Safe parsing of learner-typed text into SymPy expressions.

``sympy.sympify`` and ``parse_expr`` hand (transformed) user text to :func:`eval`, so text like
``__import__('os').system(...)`` runs code, and even harmless-looking ``9**9**9`` hangs the
process while SymPy computes a number with hundreds of millions of digits. This module never
evaluates user text:

1. the raw text is checked (type, length, characters), the caret ``^`` is turned into ``**``
   with :mod:`tokenize` (so ``x^2 + 1`` keeps the usual precedence and strings are untouched),
   and bracket depth is checked;
2. ``ast.parse(text, mode="eval")`` builds a syntax tree -- parsing only, nothing runs;
3. the tree is walked to enforce the node-count, depth and call-depth limits, then checked
   against an allowlist (one ``_check_*`` method per accepted node type; anything else is
   refused) that also bounds, without computing it, every number SymPy could form (see
   :class:`_Bound`);
4. only then is the SymPy tree built node by node (one ``_build_*`` method per node type);
   a part that is undefined (``1/(x-x)``, ``log(0)``) or a non-real constant is refused as soon
   as it appears, and a wall-clock budget backs up the limits against SymPy's own slowness.

Every refusal is an :class:`~calculus_ml.errors.ExpressionError` whose first line says what is
wrong, followed by the text and a caret line under the culprit. Decimal literals become exact
rationals built from their source text (``0.5`` -> ``1/2``, ``1e-3`` -> ``1/1000``), because
learners write ``0.5*x + 3`` and expect exact algebra. Names become real symbols, read as Python
reads identifiers (:func:`normalized_name`); a name mixing scripts (``xх``, Latin and Cyrillic)
or two names that look alike (Cyrillic ``х`` beside Latin ``x``) are refused.
"""

from __future__ import annotations

import ast
import difflib
import io
import math
import operator
import re
import time
import tokenize
import unicodedata
import warnings
from fractions import Fraction
from typing import Callable, NamedTuple

import sympy

from calculus_ml.errors import ExpressionError
from calculus_ml.functions import dot, sigmoid, softplus
from calculus_ml.symbolic import check_time

__all__ = ["parse_expression", "normalized_name", "MAX_LENGTH", "MAX_NODES", "MAX_DEPTH",
           "MAX_LITERAL_DIGITS", "MAX_EXPONENT", "MAX_DIGITS", "MAX_ROOT_DIGITS", "MAX_CALL_DEPTH",
           "MAX_CONSTANT_CALL_DEPTH", "MAX_BUILD_SECONDS"]

#: Longest accepted text, in characters.
MAX_LENGTH = 2000
#: Most expression nodes (numbers, names, operations, calls) in one expression.
MAX_NODES = 500
#: Deepest nesting of brackets, and of expression nodes in the syntax tree.
MAX_DEPTH = 50
#: Most digits in one number literal (for ``1e5`` the exponent counts as digits too).
MAX_LITERAL_DIGITS = 100
#: Largest absolute value an exponent may have: ``x**100`` is fine, ``x**101`` is not, nor is
#: ``x**(1000*y)``, as sizes are bounded taking every name as 1 (SymPy may cancel ``y - y``).
MAX_EXPONENT = 100
#: Largest estimated number of digits of any number SymPy could form while building; kept
#: under Python's default limit (4300) for printing an integer, so results stay printable.
MAX_DIGITS = 4000
#: Most digits of a number whose root is taken (SymPy factors radicands, slow beyond this).
MAX_ROOT_DIGITS = 200
#: Deepest chain of nested function calls, ``sin(cos(tan(x)))`` is 3. SymPy evaluates every call
#: eagerly and its cost grows steeply with nesting (seconds at depth 12).
MAX_CALL_DEPTH = 6
#: Deepest chain of nested calls whose arguments are constants, as in ``sin(cos(2))``: SymPy
#: decides facts about such numbers by numeric evaluation, which grows steeper still.
MAX_CONSTANT_CALL_DEPTH = 4
#: Wall-clock budget (seconds) for building the SymPy tree, checked after each node: a last
#: resort, as SymPy's eager evaluation stays slow on some contrived input even within the
#: limits above (``sqrt(log10(cbrt(ln(1/softplus(2*x)))))`` takes 50 ms; 30 such terms, 1.5 s).
MAX_BUILD_SECONDS = 2.0
_EXACT_DIGITS = 60  # constants are folded exactly (with Fraction) only while this small

#: name: (SymPy builder, fewest arguments, most arguments). ``log(x, b)`` is log base b.
_FUNCTIONS: dict[str, tuple[Callable[..., sympy.Expr], int, int]] = {
    "exp": (sympy.exp, 1, 1),
    "log": (sympy.log, 1, 2),
    "ln": (sympy.log, 1, 1),
    "log2": (lambda x: sympy.log(x, 2), 1, 1),
    "log10": (lambda x: sympy.log(x, 10), 1, 1),
    "sqrt": (sympy.sqrt, 1, 1),
    "cbrt": (sympy.cbrt, 1, 1),
    "sin": (sympy.sin, 1, 1),
    "cos": (sympy.cos, 1, 1),
    "tan": (sympy.tan, 1, 1),
    "sec": (sympy.sec, 1, 1),
    "csc": (sympy.csc, 1, 1),
    "cot": (sympy.cot, 1, 1),
    "asin": (sympy.asin, 1, 1),
    "acos": (sympy.acos, 1, 1),
    "atan": (sympy.atan, 1, 1),
    "arcsin": (sympy.asin, 1, 1),
    "arccos": (sympy.acos, 1, 1),
    "arctan": (sympy.atan, 1, 1),
    "sinh": (sympy.sinh, 1, 1),
    "cosh": (sympy.cosh, 1, 1),
    "tanh": (sympy.tanh, 1, 1),
    "asinh": (sympy.asinh, 1, 1),
    "acosh": (sympy.acosh, 1, 1),
    "atanh": (sympy.atanh, 1, 1),
    "abs": (sympy.Abs, 1, 1),
    "sign": (sympy.sign, 1, 1),
    "max": (sympy.Max, 2, MAX_NODES),
    "min": (sympy.Min, 2, MAX_NODES),
    "relu": (lambda x: sympy.Max(x, 0), 1, 1),
    "sigmoid": (sigmoid, 1, 1),
    "softplus": (softplus, 1, 1),
    "dot": (dot, 2, 2),
}
_CONSTANTS = {"e": sympy.E, "pi": sympy.pi}
_EXP_LIKE = frozenset({"exp"})  # SymPy turns exp(k*log(b)) into the number b**k
_ROOTS = frozenset({"sqrt", "cbrt"})
_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.Div: operator.truediv, ast.Pow: operator.pow}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}
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
_DECIMAL = re.compile(r"(\d*)\.?(\d*)(?:[eE]([+-]?\d+))?")
_SAME_SCRIPT = {"HIRAGANA": "CJK", "KATAKANA": "CJK", "HANGUL": "CJK", "MODIFIER": None}
#: Cyrillic and Greek letters drawn like Latin ones: names equal after this map look alike.
_LOOK_ALIKES = str.maketrans("асеорхуіјѕһԁԛԝӏАВЕКМНОРСТХУІЈЅοΑΒΕΖΗΙΚΜΝΟΡΤΥΧ",
                             "aceopxyijshdqwlABEKMHOPCTXYIJSoABEZHIKMNOPTYX")


def normalized_name(name: str) -> str:
    """``name`` as Python reads identifiers, as in parsed text (NFKC): ``ｘ`` and ``𝑥`` are x."""
    return unicodedata.normalize("NFKC", name)


def _error(text: str, message: str, start: int, end: int | None = None) -> ExpressionError:
    """An ExpressionError: ``message``, then ``text``, then carets under ``text[start:end]``."""
    text = "".join(char if char.isprintable() else "?" for char in text)
    start = max(0, min(start, len(text)))
    width = max(1, min(end if end is not None else start + 1, len(text)) - start)
    return ExpressionError(f"{message}\n  {text}\n  {' ' * start}{'^' * width}")


class _Source:
    """The user's text (on one line), the text actually parsed, and a map between columns."""

    def __init__(self, text: str) -> None:
        self.text = text
        carets, depth = set(), 0
        try:
            for tok in tokenize.generate_tokens(io.StringIO(text).readline):
                if tok.type != tokenize.OP:
                    continue
                col = tok.start[1]
                if tok.string in {"(", "[", "{"}:
                    depth += 1
                    if depth > MAX_DEPTH:
                        raise _error(text, f"brackets nested too deeply (limit {MAX_DEPTH})", col)
                elif tok.string in {")", "]", "}"}:
                    depth -= 1
                elif tok.string == "^":
                    carets.add(col)
        except (tokenize.TokenError, SyntaxError):
            pass  # ast.parse below reports the problem with a better message
        lead = len(text) - len(text.lstrip(" "))  # eval-mode parsing refuses an indent
        pieces, self.origin = [], []
        for i in range(lead, len(text)):
            piece = "**" if i in carets else text[i]
            pieces.append(piece)
            self.origin.extend([i] * len(piece))
        self.origin.append(len(text))
        self.parsed = "".join(pieces)
        self._utf8 = None if self.parsed.isascii() else self.parsed.encode()

    def error(self, message: str, start: int, end: int | None = None) -> ExpressionError:
        """An error located at parsed-text columns ``start:end``."""
        last = len(self.origin) - 1
        begin = self.origin[max(0, min(start, last))]
        stop = None if end is None else self.origin[max(0, min(end - 1, last))] + 1
        return _error(self.text, message, begin, stop)

    def _char(self, col: int) -> int:
        return col if self._utf8 is None else len(self._utf8[:col].decode("utf-8", "ignore"))

    def refuse(self, node: ast.AST, message: str) -> ExpressionError:
        """An error located at an AST node (whose columns count UTF-8 bytes)."""
        return self.error(message, self._char(node.col_offset), self._char(node.end_col_offset))

    def segment(self, node: ast.AST) -> str:
        """The parsed source text of ``node``."""
        return self.parsed[self._char(node.col_offset):self._char(node.end_col_offset)]


class _Bound(NamedTuple):
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
    def exact(cls, value: Fraction) -> _Bound:
        top, num = max(abs(value.numerator), value.denominator), abs(value.numerator)
        size = math.log10(num) - math.log10(value.denominator) if num else -math.inf
        return cls(math.log10(top), size, value)


_SUM = math.log10(2)  # a sum or difference adds at most one digit-bit
#: (height, magnitude) of ``a op b`` from the bounds of ``a`` and ``b``; see :class:`_Bound`.
_ARITHMETIC_BOUNDS = {
    ast.Add: lambda a, b: (a.height + b.height + _SUM, max(a.magnitude, b.magnitude) + _SUM),
    ast.Sub: lambda a, b: (a.height + b.height + _SUM, max(a.magnitude, b.magnitude) + _SUM),
    ast.Mult: lambda a, b: (a.height + b.height, a.magnitude + b.magnitude),
    ast.Div: lambda a, b: (a.height + b.height, a.magnitude + b.height),
}


class _Parser:
    """Checks a parsed tree against the allowlist and limits (``check``), then builds it."""

    def __init__(self, source: _Source) -> None:
        self.src = source
        self.deadline = math.inf  # time.monotonic() value after which building gives up
        self.look_alikes: dict[str, str] = {}  # a name with look-alikes mapped: the first name

    def check(self, node: ast.AST) -> _Bound:
        method = self._CHECKS.get(type(node))
        if method is None:
            name = type(node).__name__
            raise self.src.refuse(node, _REFUSED.get(type(node), f"{name} is not allowed"))
        bound = method(self, node)
        if max(bound.height, bound.magnitude) > MAX_DIGITS:
            raise self.src.refuse(node, f"numbers would grow too large (over {MAX_DIGITS} digits)")
        return bound

    def _check_constant(self, node: ast.Constant) -> _Bound:
        kind, too_long = type(node.value), f"number longer than {MAX_LITERAL_DIGITS} digits"
        if kind is int:
            if node.value >= 10**MAX_LITERAL_DIGITS:
                raise self.src.refuse(node, too_long)
            return _Bound.exact(Fraction(node.value))
        if kind is float:
            literal = self.src.segment(node).replace("_", "")
            whole, frac, exponent = _DECIMAL.fullmatch(literal).groups()
            if len(whole) + len(frac) + abs(int(exponent or 0)) > MAX_LITERAL_DIGITS:
                raise self.src.refuse(node, too_long)
            return _Bound.exact(Fraction(literal))
        what = {complex: "complex numbers are", str: "strings are", bytes: "strings are"}
        raise self.src.refuse(node, f"{what.get(kind, repr(node.value) + ' is')} not allowed")

    def _check_name(self, node: ast.Name) -> _Bound:
        if node.id.startswith("_"):
            raise self.src.refuse(node, f"names may not start with '_': {node.id!r}")
        if node.id in _FUNCTIONS:
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
        return _Bound(0.5, 0.5) if node.id in _CONSTANTS else _Bound(0.0, 0.0)

    def _check_unary(self, node: ast.UnaryOp) -> _Bound:
        if type(node.op) not in _UNARY:
            raise self.src.refuse(node, f"operator '{_OP_TEXT[type(node.op)]}' is not supported")
        inner = self.check(node.operand)
        return inner if inner.value is None else _Bound.exact(-inner.value)

    def _check_binary(self, node: ast.BinOp) -> _Bound:
        if type(node.op) not in _BINARY:
            raise self.src.refuse(node, f"operator '{_OP_TEXT[type(node.op)]}' is not supported")
        a, b = self.check(node.left), self.check(node.right)
        exact = a.value is not None and b.value is not None
        if type(node.op) is ast.Pow:
            bound, exact = self._check_power(node, a, b), exact and b.value.denominator == 1
        else:
            if type(node.op) is ast.Div and b.value == 0:
                raise self.src.refuse(node.right, "division by zero")
            bound = _Bound(*_ARITHMETIC_BOUNDS[type(node.op)](a, b))
        if exact and bound.height <= _EXACT_DIGITS:  # fold small constants exactly
            return _Bound.exact(_BINARY[type(node.op)](a.value, b.value))
        return bound

    def _check_power(self, node: ast.BinOp, a: _Bound, b: _Bound) -> _Bound:
        k = abs(b.value) if b.value is not None else 10 ** min(b.magnitude, 300)
        if k > MAX_EXPONENT:
            raise self.src.refuse(node.right, f"exponent too large (limit ±{MAX_EXPONENT})")
        if a.value == 0 and b.value is not None and b.value < 0:
            raise self.src.refuse(node, "division by zero")
        if b.value is None or b.value.denominator != 1:  # maybe a root: SymPy factors the base
            self._check_root(node.left, a)
        height = a.height * max(float(k), 1.0)
        return _Bound(height, height)

    def _check_root(self, node: ast.AST, bound: _Bound) -> None:
        if bound.height > MAX_ROOT_DIGITS:
            raise self.src.refuse(node, f"root of a number over {MAX_ROOT_DIGITS} digits long")

    def _check_call(self, node: ast.Call) -> _Bound:
        func = node.func
        if isinstance(func, (ast.Constant, ast.BinOp, ast.UnaryOp)):
            factor = self.src.segment(func)
            factor = factor if isinstance(func, ast.Constant) else f"({factor})"
            hint = f"did you mean {factor}*(...)?"
            raise self.src.refuse(node, f"implicit multiplication is not supported: {hint}")
        if not isinstance(func, ast.Name):
            raise self.src.refuse(node, "only named functions can be called")
        if func.id.startswith("_"):
            raise self.src.refuse(func, f"names may not start with '_': {func.id!r}")
        if func.id not in _FUNCTIONS:
            close = difflib.get_close_matches(func.id, list(_FUNCTIONS), n=3)
            hint = (f"did you mean {' or '.join(close)}?" if close
                    else f"to multiply, write {func.id}*(...)")
            raise self.src.refuse(func, f"unknown function '{func.id}' ({hint})")
        if node.keywords:
            raise self.src.refuse(node.keywords[0], "keyword arguments are not allowed")
        _, least, most = _FUNCTIONS[func.id]
        if not least <= len(node.args) <= most:
            want = (f"{least}" if least == most else f"at least {least}" if most == MAX_NODES
                    else f"{least} to {most}")
            got = len(node.args)
            raise self.src.refuse(node, f"{func.id}() takes {want} argument(s), got {got}")
        bounds = [self.check(arg) for arg in node.args]
        if func.id in _ROOTS:
            self._check_root(node.args[0], bounds[0])
        total = sum(bound.height for bound in bounds)
        if func.id in _EXP_LIKE:
            total *= 10 ** min(total, 10)
        return _Bound(total, total)

    _CHECKS = {ast.Expression: lambda self, node: self.check(node.body),
               ast.Constant: _check_constant, ast.Name: _check_name, ast.UnaryOp: _check_unary,
               ast.BinOp: _check_binary, ast.Call: _check_call}

    def build(self, node: ast.AST) -> sympy.Expr:
        """The SymPy form of a tree that passed :meth:`check`, refusing undefined or non-real
        parts as soon as they appear (nested non-real constants, ``log(log(...(99)))``, make
        SymPy's automatic evaluation exponentially slow)."""
        try:
            expr = self._BUILDS[type(node)](self, node)
            undefined = expr.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo)
            non_real = not expr.free_symbols and expr.is_extended_real is False
        except ExpressionError:
            raise
        except (ArithmeticError, TypeError, ValueError) as exc:  # SymPy refusing, e.g. max(I)
            raise self.src.refuse(node, _sympy_failure(exc)) from None
        if undefined:
            raise self.src.refuse(node, "undefined value (division by zero?)")
        if non_real:
            raise self.src.refuse(node, "not a real number")
        if time.monotonic() > self.deadline:
            raise self.src.refuse(node, f"too slow to evaluate (over {MAX_BUILD_SECONDS} s)")
        check_time()  # the budget of a derivation that parses its text
        return expr

    def _build_constant(self, node: ast.Constant) -> sympy.Expr:
        if type(node.value) is int:
            return sympy.Integer(node.value)
        value = Fraction(self.src.segment(node).replace("_", ""))  # exact: 0.5 -> 1/2
        return sympy.Rational(value.numerator, value.denominator)

    def _build_name(self, node: ast.Name) -> sympy.Expr:
        return _CONSTANTS[node.id] if node.id in _CONSTANTS else sympy.Symbol(node.id, real=True)

    def _build_call(self, node: ast.Call) -> sympy.Expr:
        args = [self.build(arg) for arg in node.args]
        if not any(arg.free_symbols for arg in args):  # judged after SymPy cancelled x - x
            if 1 + max(_call_depth(arg) for arg in args) > MAX_CONSTANT_CALL_DEPTH:
                limit = MAX_CONSTANT_CALL_DEPTH
                raise self.src.refuse(node, f"functions of constants nested deeper than {limit}")
        return _FUNCTIONS[node.func.id][0](*args)

    _BUILDS = {
        ast.Expression: lambda self, node: self.build(node.body),
        ast.Constant: _build_constant,
        ast.Name: _build_name,
        ast.UnaryOp: lambda self, node: _UNARY[type(node.op)](self.build(node.operand)),
        ast.BinOp: lambda self, node: _BINARY[type(node.op)](self.build(node.left),
                                                             self.build(node.right)),
        ast.Call: _build_call,
    }


def _call_depth(expr: sympy.Basic) -> int:
    """Deepest chain of function applications in a SymPy expression."""
    inner = max((_call_depth(arg) for arg in expr.args), default=0)
    return inner + isinstance(expr, sympy.core.function.Application)


def _sympy_failure(exc: Exception) -> str:
    reason = (str(exc).splitlines() or [type(exc).__name__])[0]
    return f"SymPy cannot evaluate this: {reason}"


def _syntax_error(src: _Source, exc: SyntaxError) -> ExpressionError:
    start = (exc.offset or 1) - 1
    end = exc.end_offset - 1 if exc.end_offset and exc.end_offset > exc.offset else None
    text, msg = src.parsed, exc.msg.split(" (detected at")[0]
    glued = start + 1 < len(text) and text[start + 1].isidentifier()
    if msg == "invalid decimal literal" and glued:
        first = start  # a number glued to a name: 4x, 0.5x
        while first > 0 and (text[first - 1].isalnum() or text[first - 1] in "._"):
            first -= 1
        last = start + 1
        while last < len(text) and (text[last].isalnum() or text[last] == "_"):
            last += 1
        number, name = text[first:start + 1], text[start + 1:last]
        return src.error(f"implicit multiplication is not supported: did you mean {number}*{name}?",
                         first, last)
    if "forgot a comma" in msg:
        msg = "missing operator between terms (write * to multiply)"
    return src.error(f"syntax error: {msg}", start, end)


def parse_expression(text: str | sympy.Basic) -> sympy.Expr:
    """Parse a learner's formula into a SymPy expression, without evaluating any code.

    Parameters
    ----------
    text : str or sympy.Basic
        A formula such as ``"(0.5*x + 3)^2"``. It may use numbers (decimals become exact
        rationals), names (real symbols; ``e`` and ``pi`` are the constants), ``+ - * / **``,
        ``^`` for powers, parentheses and the functions of ``_FUNCTIONS`` (``exp``, ``log``,
        ``log(x, base)``, ``sqrt``, trigonometric and hyperbolic functions, ``abs``, ``max``,
        ``min``, ``relu``, ``sigmoid``, ``softplus``, ...). A SymPy object is returned unchanged.

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
    >>> parse_expression("2x")
    Traceback (most recent call last):
    ...
    calculus_ml.errors.ExpressionError: implicit multiplication is not supported: did you mean 2*x?
      2x
      ^^
    """
    if isinstance(text, sympy.Basic):
        return text
    if not isinstance(text, str):
        raise ExpressionError(f"expected a string or a SymPy expression, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        message = f"text too long ({len(text)} > {MAX_LENGTH} characters)"
        raise _error(text[:60] + "...", message, 60)
    text = text.translate(str.maketrans("\t\n\r\f\v", "     "))
    for i, char in enumerate(text):
        if not char.isprintable():
            raise _error(text, f"unexpected character U+{ord(char):04X}", i)
    if not text.strip():
        raise _error(text, "empty expression", 0)
    src = _Source(text)
    try:
        with warnings.catch_warnings():  # e.g. "1if": the text is refused or fine, never warned
            warnings.simplefilter("ignore")
            tree = ast.parse(src.parsed, mode="eval")
    except SyntaxError as exc:
        raise _syntax_error(src, exc) from None
    except (RecursionError, MemoryError, ValueError):
        raise _error(text, "expression too long or too deeply nested", 0) from None
    nodes, stack = 0, [(tree.body, 1, 0)]
    while stack:  # iterative, so deep trees cannot exhaust the Python stack
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
    parser = _Parser(src)
    parser.check(tree)
    parser.deadline = time.monotonic() + MAX_BUILD_SECONDS
    return parser.build(tree)
