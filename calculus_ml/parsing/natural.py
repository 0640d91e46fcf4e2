"""Natural input: what learners type, rewritten into the strict grammar the allowlist checks.

Nothing here builds an expression. The text is cut into tokens, and the token list is rewritten:

* the left-hand side of ``y = ...`` or ``f(x) = ...`` is dropped (the right-hand side is the
  expression);
* ``|x|`` becomes ``abs(x)``, ``√x`` ``sqrt(x)`` (``√`` takes the number, name or bracket after
  it), superscripts ``x²`` ``x**2``, ``^`` ``**``, and ``·`` ``×`` ``−`` ``÷`` their ASCII operators;
* a function written without brackets takes what follows it up to the next ``+ - * / ,``, closing
  bracket or function: ``sin 2x`` is ``sin(2*x)``, ``ln x / 2`` is ``ln(x)/2``; ``sin^2 x`` is
  ``sin(x)**2`` and ``sin^-1 x`` is ``asin(x)``;
* a product written without ``*`` gets one: ``2x``, ``3x^2``, ``x y``, ``2(x+1)``, ``(x+1)(x-1)``.
  A name directly before a bracket is a call (``f(x)``), so ``a(x+1)`` is refused with a hint;
  names are never split (``lr``, ``w1``, ``theta`` stay names);
* Greek letters and spelled-out Greek names become SymPy's spelling (``λ`` and ``lambda`` are
  ``lam``).

The result is the text handed to :func:`ast.parse`, with a map from each of its columns back to
the learner's text (carets point at what was typed), and ``read_as``: the reading in the strict
grammar, when it differs from the text in more than spelling (``2x^2 + 3x`` is read as
``2·x^2 + 3·x``).
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from typing import NamedTuple

from .limits import MAX_DEPTH
from .source import error
from .vocabulary import ALSO_NAMES, CONSTANTS, FUNCTIONS, INVERSES, normalized_name

__all__ = ["Reading", "normalize"]

_NUMBER = re.compile(r"0[xXoObB][0-9a-fA-F_]*|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)"
                     r"(?:[eE][+-]?\d[\d_]*)?[jJ]?")
_OPERATORS = {"^": "**", "·": "*", "×": "*", "⋅": "*", "∙": "*", "∗": "*", "−": "-", "–": "-",
              "÷": "/"}
_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")
_ROOTS = {"√": "sqrt", "∛": "cbrt"}
_OPENING, _CLOSING = "([{", ")]}"
_END = frozenset({"num", "name", "rpar"})  # kinds a factor ends with
_START = frozenset({"num", "name", "func", "lpar", "root"})  # kinds a factor starts with


@dataclass
class _Token:
    kind: str  # num name func kw op lpar rpar bar root sup eq comma str other
    text: str
    start: int  # columns of the learner's text
    end: int


class Reading(NamedTuple):
    """The strict text to parse, its columns' origins in the learner's text, and how the text
    was read when that differs from what was typed (else None)."""

    parsed: str
    origin: list[int]
    read_as: str | None


def normalize(text: str) -> Reading:
    """Rewrite ``text`` (one line, printable) into the strict grammar; see the module notes."""
    tokens = _lex(text)
    rewriter = _Rewriter(text)
    tokens = rewriter.equation(tokens)
    tokens = rewriter.multiply(rewriter.apply(_bars(tokens)))
    parsed, origin = _joined(tokens, text)
    return Reading(parsed, origin, _shown(tokens, text) if rewriter.changed else None)


def _lex(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    depth, i = 0, 0
    while i < len(text):
        char = text[i]
        start = i
        if char.isspace():
            i += 1
            continue
        number = _NUMBER.match(text, i)
        if number and (char.isdigit() or char == "."):
            i = number.end()
            tokens.append(_Token("num", number.group(), start, i))
            continue
        if _name_char(char) and not char.isdigit():
            i += 1
            while i < len(text) and _name_char(text[i]):
                i += 1
            tokens.append(_Token("name", text[start:i], start, i))
            continue
        if char in "'\"":
            close = text.find(char, i + 1)
            i = len(text) if close < 0 else close + 1
            tokens.append(_Token("str", text[start:i], start, i))
            continue
        if char.translate(_SUPERSCRIPTS) != char:
            while i < len(text) and text[i].translate(_SUPERSCRIPTS) != text[i]:
                i += 1
            tokens.append(_Token("sup", text[start:i].translate(_SUPERSCRIPTS), start, i))
            continue
        pair = text[i:i + 2]
        if pair in {"**", "//", "==", "<=", ">=", "!=", ":="}:
            kind = "op" if pair in {"**", "//"} else "other"
            tokens.append(_Token(kind, pair, start, i + 2))
            i += 2
            continue
        i += 1
        if char in _OPENING or char in _CLOSING:
            depth += 1 if char in _OPENING else -1
            if depth > MAX_DEPTH:
                raise error(text, f"brackets nested too deeply (limit {MAX_DEPTH})", start)
            kind = "lpar" if char == "(" else "rpar" if char == ")" else "other"
        elif char in _OPERATORS or char in "+-*/":
            kind, char = "op", _OPERATORS.get(char, char)
        else:
            kind = {"|": "bar", "=": "eq", ",": "comma"}.get(char, "root" if char in _ROOTS
                                                              else "other")
        tokens.append(_Token(kind, char, start, i))
    for token in tokens:
        if token.kind == "name":
            token.text = normalized_name(token.text)
            if keyword.iskeyword(token.text):
                token.kind = "kw"
    return tokens


def _name_char(char: str) -> bool:
    """Whether ``char`` continues a name (``·`` does for Python, but it is a product here)."""
    return ("a" + char).isidentifier() and char not in _OPERATORS


def _bars(tokens: list[_Token]) -> list[_Token]:
    """``|u|`` as ``abs(u)``: a bar after a factor closes the open one; unpaired bars stay."""
    out, open_bars = [], []
    for token in tokens:
        if token.kind == "bar":
            closes = open_bars and out and out[-1].kind in _END
            if closes:
                open_bars.pop()
                out.append(_Token("rpar", ")", token.start, token.end))
                continue
            open_bars.append(len(out))
            out.append(_Token("name", "abs", token.start, token.start))
            out.append(_Token("lpar", "(", token.start, token.end))
            continue
        out.append(token)
    if open_bars:  # unpaired: leave every bar for the parser to refuse
        return tokens
    return out


class _Rewriter:
    """The token rewrites that change how the text reads (``changed`` records one)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.changed = False

    def equation(self, tokens: list[_Token]) -> list[_Token]:
        """The right-hand side of ``y = ...`` or ``f(x, y) = ...``."""
        equals = [k for k, token in enumerate(tokens) if token.kind == "eq"]
        if not equals:
            return tokens
        left = tokens[:equals[0]]
        kinds = "".join({"name": "n", "lpar": "(", "rpar": ")", "comma": ","}.get(t.kind, "?")
                        for t in left)
        if len(equals) > 1 or not re.fullmatch(r"n(\(n(,n)*\))?", kinds):
            at = tokens[equals[-1] if len(equals) > 1 else equals[0]]
            raise error(self.text, "only 'y = ...' or 'f(x) = ...' may use '=' (the right-hand "
                        "side is differentiated)", at.start, at.end)
        self.changed = True
        return tokens[equals[0] + 1:]

    def apply(self, tokens: list[_Token]) -> list[_Token]:
        """Functions applied without brackets, powers of functions and roots, recursively."""
        out: list[_Token] = []
        k = 0
        while k < len(tokens):
            token = tokens[k]
            following = tokens[k + 1] if k + 1 < len(tokens) else None
            called = following is not None and following.kind == "lpar"
            if token.kind == "name" and token.text in FUNCTIONS and (
                    called or token.text not in ALSO_NAMES):
                token.kind = "func"
            if token.kind == "func":
                k = self._function(tokens, k, out)
            elif token.kind == "root":
                k = self._root(tokens, k, out)
            elif token.kind == "lpar":
                close = _matching(tokens, k)
                out.extend([token, *self.apply(tokens[k + 1:close]), *tokens[close:close + 1]])
                k = close + 1
            else:
                out.extend(_power(token) if token.kind == "sup" else [token])
                k += 1
        return out

    def _function(self, tokens: list[_Token], k: int, out: list) -> int:
        func, k = tokens[k], k + 1
        power: list[_Token] = []
        if k < len(tokens) and tokens[k].kind == "sup":
            power, k = _power(tokens[k]), k + 1
        elif k + 1 < len(tokens) and tokens[k].text == "**":
            sign = tokens[k + 1].text == "-" and k + 2 < len(tokens)
            end = k + 2 + sign
            if tokens[end - 1].kind == "num":
                power, k = tokens[k:end], end
        exponent = "".join(t.text for t in power)
        if exponent in {"**-1", "**(-1)"} and func.text in INVERSES:
            func = _Token("func", INVERSES[func.text], func.start, func.end)
            power = []
        out.append(func)
        if k < len(tokens) and tokens[k].kind == "lpar":
            close = _matching(tokens, k)
            out.extend([tokens[k], *self.apply(tokens[k + 1:close]), *tokens[close:close + 1]])
            k = close + 1
        else:
            end = _argument_end(tokens, k)
            if end == k:  # nothing to apply it to: the parser says how to call it
                out.extend(power)
                return k
            self.changed = True
            out.extend([_Token("lpar", "(", tokens[k].start, tokens[k].start),
                        *self.apply(tokens[k:end]),
                        _Token("rpar", ")", tokens[end - 1].end, tokens[end - 1].end)])
            k = end
        if power:
            self.changed = True
            out.extend(power)
        return k

    def _root(self, tokens: list[_Token], k: int, out: list) -> int:
        root = tokens[k]
        out.append(_Token("func", _ROOTS[root.text], root.start, root.end))
        k += 1
        if k >= len(tokens) or tokens[k].kind not in {"num", "name", "lpar"}:
            return k
        end = _matching(tokens, k) + 1 if tokens[k].kind == "lpar" else k + 1
        if tokens[k].kind == "name" and end < len(tokens) and tokens[end].kind == "lpar":
            end = _matching(tokens, end) + 1  # √f(x) takes the call
        inner = self.apply(tokens[k:end])
        if tokens[k].kind != "lpar" or end - k != len(inner) or inner[-1].kind != "rpar":
            inner = [_Token("lpar", "(", tokens[k].start, tokens[k].start), *inner,
                     _Token("rpar", ")", tokens[end - 1].end, tokens[end - 1].end)]
        out.extend(inner)
        return end

    def multiply(self, tokens: list[_Token]) -> list[_Token]:
        """A ``*`` between two factors written side by side."""
        out: list[_Token] = []
        for token in tokens:
            last = out[-1] if out else None
            if last is not None and last.kind in _END and token.kind in _START and not (
                    last.kind == "num" and token.kind == "num") and not (
                    last.kind == "name" and token.kind == "lpar" and not _factor_name(last)):
                self.changed = True
                out.append(_Token("op", "*", token.start, token.start))
            out.append(token)
        return out


def _factor_name(name: _Token) -> bool:
    """Whether a name before a bracket multiplies it (``x(x+1)``, ``λ(...)``, ``e(...)``) rather
    than calls it: a constant or a name typed as one letter; ``foo(x)`` stays a call."""
    return name.text in CONSTANTS or name.end - name.start == 1


def _power(sup: _Token) -> list[_Token]:
    """A superscript as ``**`` and its exponent (bracketed when signed)."""
    digits = sup.text
    parts = [("op", "**"), ("num", digits)] if digits.isdigit() else [
        ("op", "**"), ("lpar", "("), ("num", digits), ("rpar", ")")]
    return [_Token(kind, text, sup.start, sup.end) for kind, text in parts]


def _matching(tokens: list[_Token], k: int) -> int:
    """Index of the bracket closing ``tokens[k]`` (the last index when it is never closed)."""
    depth = 0
    for j in range(k, len(tokens)):
        depth += tokens[j].kind == "lpar"
        depth -= tokens[j].kind == "rpar"
        if depth == 0:
            return j
    return len(tokens) - 1


def _argument_end(tokens: list[_Token], k: int) -> int:
    """Where the argument of a function written without brackets, starting at ``k``, ends."""
    j = k
    glued = j + 1 < len(tokens) and tokens[j].end == tokens[j + 1].start
    if j < len(tokens) and tokens[j].text == "-" and glued:  # sin -x, not sin - 1
        j += 1
    while j < len(tokens):
        token = tokens[j]
        if token.kind == "lpar":
            j = _matching(tokens, j) + 1
        elif token.kind in {"num", "name", "sup", "root"} or (token.kind == "func" and j == k):
            j += 1
        elif token.text == "**" and j + 1 < len(tokens):
            j += 2 + (tokens[j + 1].text in {"-", "+"})
        else:
            break
        if j < len(tokens) and tokens[j].kind == "name" and tokens[j].text in FUNCTIONS:
            break  # sin x cos x: the next function starts a new factor
    j = min(j, len(tokens))
    return j if j > k and tokens[j - 1].kind != "op" else k


def _joined(tokens: list[_Token], text: str) -> tuple[str, list[int]]:
    """The parsed text and, for each of its columns, the column of the learner's text."""
    pieces, origin = [], []
    for k, token in enumerate(tokens):
        if k and (_wordy(tokens[k - 1].text[-1]) and _wordy(token.text[0])
                  or tokens[k - 1].end < token.start and token.start > tokens[k - 1].start):
            pieces.append(" ")
            origin.append(token.start)
        pieces.append(token.text)
        same = len(token.text) == token.end - token.start
        origin.extend(token.start + (n if same else 0) for n in range(len(token.text)))
    origin.append(len(text))
    return "".join(pieces), origin


def _wordy(char: str) -> bool:
    return char.isalnum() or char in "_."


def _shown(tokens: list[_Token], text: str) -> str:
    """The strict reading as a learner reads it: ``2·x^2 + 3·x``, names as typed (``θ``)."""
    out = []
    for k, token in enumerate(tokens):
        if token.kind == "name" and token.end > token.start:
            token = _Token("name", text[token.start:token.end], token.start, token.end)
        binary = k and tokens[k - 1].kind in _END | {"sup"}
        if token.text in {"+", "-"} and binary:
            out.append(f" {token.text} ")
        elif token.text == ",":
            out.append(", ")
        else:
            piece = {"*": "·", "**": "^"}.get(token.text, token.text)
            if out and _wordy(out[-1][-1:]) and _wordy(piece[0]):
                out.append(" ")
            out.append(piece)
    return "".join(out)

