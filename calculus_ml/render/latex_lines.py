"""Long LaTeX equations broken across lines, the way a textbook breaks them.

SymPy prints an expression on one line, however long. Here a printed chain ``a = b = c`` is
measured (an estimate of its typeset width in ems, :func:`width`) and, when it does not fit,
broken before its top-level ``+`` and ``−``; a term that is still too wide is broken inside its
widest bracket, ``\\left( ... \\right.`` on one line and ``\\left. ... \\right)`` on the next.
The rows are for ``align*`` / ``aligned`` (amsmath): a short left-hand side keeps its column,
``lhs &= ...``; a long one gets its own rows and every ``=`` starts a row of its own.

Only the printed LaTeX is read, so any printer's output can be broken and nothing here depends on
SymPy's term order.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

__all__ = ["LINE_WIDTH", "width", "pieces", "lines", "fits", "break_chain"]

LINE_WIDTH = 38.0
"""The widest display equation, in ems of an 11pt article with 2.5cm margins (its text block
is about 43 ems wide; the rest is room for the estimate's error)."""

_TOKEN = re.compile(r"\\[A-Za-z]+|\\.|\s+|.", re.DOTALL)
_SCRIPT = 0.72
_ZERO = {r"\left", r"\right", r"\displaystyle", r"\limits", r"\nolimits", r"\mathrm", r"\mathbf",
         r"\mathit", r"\mathsf", r"\operatorname", r"\text", r"\bigl", r"\bigr", r"\Bigl",
         r"\Bigr", r"\mathcal", r"\boldsymbol", r"\ensuremath", r"\tfrac", r"\dfrac"}
_FIXED = {r"\,": 0.17, r"\:": 0.22, r"\;": 0.28, r"\!": -0.17, r"\ ": 0.33, r"\quad": 1.0,
          r"\qquad": 2.0, r"\sum": 1.45, r"\prod": 1.3, r"\int": 0.9, r"\cdot": 0.8,
          r"\times": 0.8, r"\infty": 1.0, r"\leq": 1.3, r"\geq": 1.3, r"\neq": 1.3,
          r"\approx": 1.3, r"\in": 1.1, r"\to": 1.3, r"\rightarrow": 1.3, r"\partial": 0.6,
          r"\{": 0.5, r"\}": 0.5, r"\|": 0.5, r"\&": 0.8, r"\%": 0.8}
_LIMITS = {r"\sum", r"\prod", r"\lim", r"\max", r"\min"}
_CHAR = {"+": 1.25, "-": 1.25, "=": 1.4, "<": 1.3, ">": 1.3, ",": 0.45, "(": 0.4, ")": 0.4,
         "[": 0.3, "]": 0.3, "|": 0.3, ".": 0.3, "!": 0.3, "'": 0.3, "/": 0.5, "&": 0.0}
_OPEN = {r"\left", "{"}
_CLOSE = {r"\right", "}"}
_NOT_AN_OPERAND = {"+", "-", "=", "<", ">", ",", "(", "[", "&", r"\cdot", r"\times", r"\leq",
                   r"\geq", r"\neq", r"\approx", r"\in", r"\quad", r"\qquad"}


def _tokens(tex: str) -> list[str]:
    return _TOKEN.findall(tex)


def width(tex: str) -> float:
    """An estimate of the typeset width of math-mode ``tex`` in ems (display style).

    Letters, digits and symbols count a typical glyph width, operators their spacing too,
    ``\\frac`` the wider of its numerator and denominator, scripts at script size, the limits of
    ``\\sum`` as stacked. It errs on the wide side for ordinary formulas.
    """
    tokens = _tokens(tex)
    return _measure(tokens, 0, len(tokens))[0]


def _measure(tokens: list[str], at: int, end: int) -> tuple[float, int]:
    """The width of ``tokens[at:end]`` up to a closing ``}`` at this level, and where it ended."""
    total = 0.0
    limits = False
    last_script = None  # the previous script's width, when scripts stack (x_i^2)
    while at < end:
        tok = tokens[at]
        if tok == "}":
            return total, at + 1
        if tok in ("^", "_"):
            w, at = _atom(tokens, at + 1, end)
            w *= _SCRIPT
            if limits:
                w = max(0.0, w - 1.45)
            if last_script is not None:
                total -= last_script
                w = max(w, last_script)
            total += w
            last_script = w
            continue
        last_script = None
        if tok == r"\frac" or tok == r"\dfrac" or tok == r"\tfrac":
            numerator, at = _atom(tokens, at + 1, end)
            denominator, at = _atom(tokens, at, end)
            total += max(numerator, denominator) * 0.92 + 0.3
            limits = False
            continue
        if tok in (r"\left", r"\right"):
            at += 1
            delimiter = tokens[at] if at < end else "."
            total += 0.0 if delimiter == "." else 0.45
            at += 1
            continue
        if tok == "{":
            w, at = _measure(tokens, at + 1, end)
            total += w
            limits = False
            continue
        limits = tok in _LIMITS
        total += _glyph(tok)
        at += 1
    return total, at


def _atom(tokens: list[str], at: int, end: int) -> tuple[float, int]:
    """The width of one argument: a ``{group}`` or a single token."""
    while at < end and tokens[at].isspace():
        at += 1
    if at >= end:
        return 0.0, at
    if tokens[at] == "{":
        return _measure(tokens, at + 1, end)
    return _glyph(tokens[at]), at + 1


def _glyph(tok: str) -> float:
    if tok.isspace() or tok in _ZERO:
        return 0.0
    if tok in _FIXED:
        return _FIXED[tok]
    if tok.startswith("\\"):
        name = tok[1:]
        return 0.6 if len(name) <= 1 or name[0].islower() and name in _GREEK else 0.5 * len(name)
    if tok in _CHAR:
        return _CHAR[tok]
    return 0.5 if tok.isdigit() else 0.58


_GREEK = {"alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta",
          "vartheta", "iota", "kappa", "lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau",
          "upsilon", "phi", "varphi", "chi", "psi", "omega", "ell", "nabla", "hbar"}


def fits(parts: Sequence[str], limit: float = LINE_WIDTH) -> bool:
    """Whether the chain ``parts[0] = parts[1] = ...`` fits on one line of ``limit`` ems."""
    return width(" = ".join(parts)) <= limit


def pieces(tex: str, limit: float = LINE_WIDTH) -> list[str]:
    """``tex`` cut before each top-level binary ``+`` and ``-``; a piece still wider than
    ``limit`` is cut inside its widest bracket the same way. Joined, the pieces are ``tex``."""
    out = []
    for piece in _split(tex):
        out.extend(_split_inside(piece, limit) if width(piece) > limit else [piece])
    return out


def _split(tex: str) -> list[str]:
    """``tex`` cut before its binary ``+``/``-`` outside every group and bracket."""
    tokens = _tokens(tex)
    cuts, depth, previous = [], 0, None
    for k, tok in enumerate(tokens):
        if tok in _OPEN:
            depth += 1
        elif tok in _CLOSE:
            depth -= 1
        elif depth == 0 and tok in ("+", "-") and previous not in (None, *_NOT_AN_OPERAND):
            cuts.append(k)
        if not tok.isspace():
            previous = tok if depth == 0 or tok in _CLOSE else "("
    bounds = [0, *cuts, len(tokens)]
    return ["".join(tokens[a:b]) for a, b in zip(bounds, bounds[1:]) if a < b]


def _split_inside(piece: str, limit: float) -> list[str]:
    """A piece cut inside its widest top-level ``\\left ... \\right`` whose contents can be cut:
    the text before the bracket joins the first inner piece, the text after it the last."""
    tokens = _tokens(piece)
    best = None
    for start, stop in _brackets(tokens):
        inner = "".join(tokens[start + 2:stop])
        if len(_split(inner)) > 1 and (best is None or width(inner) > best[2]):
            best = (start, stop, width(inner))
    if best is None:
        return [piece]
    start, stop, _ = best
    head, inner, tail = ("".join(tokens[:start + 2]), "".join(tokens[start + 2:stop]),
                         "".join(tokens[stop:]))
    inside = pieces(inner, limit - 1.0)
    if len(inside) == 1:
        return [piece]
    first, last = head + inside[0], inside[-1] + tail  # each may hold another bracket to cut
    return [*_narrower(first, limit), *inside[1:-1], *_narrower(last, limit)]


def _narrower(piece: str, limit: float) -> list[str]:
    return _split_inside(piece, limit) if width(piece) > limit else [piece]


def _brackets(tokens: list[str]) -> Iterator[tuple[int, int]]:
    """The ``\\left`` ... ``\\right`` pairs outside every other group: (index of ``\\left``,
    index of its ``\\right``)."""
    stack: list[int] = []
    braces = 0
    for k, tok in enumerate(tokens):
        if tok == "{":
            braces += 1
        elif tok == "}":
            braces -= 1
        elif tok == r"\left":
            stack.append(k)
        elif tok == r"\right" and stack:
            start = stack.pop()
            if not stack and braces == 0:
                yield start, k


def lines(tex: str, limit: float, first: float | None = None) -> list[str]:
    """``tex`` as lines of at most ``limit`` ems (the first at most ``first``), filled greedily
    with its :func:`pieces`; every line's ``\\left``/``\\right`` balanced with ``.``."""
    first = limit if first is None else first
    out: list[str] = []
    filled = 0.0  # the width of ``out[-1]``
    for piece in pieces(tex, min(limit, first)):
        more = width(piece)
        if out and filled + more <= (first if len(out) == 1 else limit):
            out[-1] += piece
            filled += more
        else:
            out.append(piece)
            filled = more
    return _balanced([line.strip() for line in out])


def _balanced(rows: list[str]) -> list[str]:
    """Rows whose brackets open on one row and close on another closed with ``\\right.`` and
    reopened with ``\\left.``."""
    out, carried = [], 0
    for row in rows:
        depth, reopen = carried, 0
        for tok in _tokens(row):
            if tok == r"\left":
                depth += 1
            elif tok == r"\right":
                if depth == 0:
                    reopen += 1
                else:
                    depth -= 1
        out.append(r"\left. " * (carried + reopen) + row + r" \right." * depth)
        carried = depth
    return out


def break_chain(parts: Sequence[str], limit: float = LINE_WIDTH) -> str:
    """The rows of ``parts[0] = parts[1] = ...`` for ``align*``/``aligned``, aligned on ``=``
    when it fits in ``limit`` ems; otherwise broken: a left-hand side up to a third of the line
    keeps its column (``lhs &= ...``, continuations indented under the right-hand side), a
    longer one takes rows of its own and each ``= ...`` starts an indented row."""
    first, *rest = parts
    if not rest:
        return " \\\\\n  ".join(("&" if k == 0 else r"&\quad ") + line
                              for k, line in enumerate(lines(first, limit - 1.0, limit)))
    left = width(first)
    if left + 1.4 + max(width(p) for p in rest) <= limit:
        return first + "".join(f" &= {p}" if k == 0 else f" \\\\\n  &= {p}"
                               for k, p in enumerate(rest))
    rows = []
    if left <= limit / 3:
        room = limit - left - 1.4
        for k, part in enumerate(rest):
            broken = lines(part, room - 1.0, room)
            rows.append(("" if k else first + " ") + "&= " + broken[0])
            rows += [r"&\quad " + line for line in broken[1:]]
    else:
        rows += ["&" + line if k == 0 else r"&\quad " + line
                 for k, line in enumerate(lines(first, limit - 1.0, limit))]
        for part in rest:
            broken = lines(part, limit - 3.4, limit - 2.4)
            rows.append(r"&\quad = " + broken[0])
            rows += [r"&\qquad\quad " + line for line in broken[1:]]
    return " \\\\\n  ".join(rows)
