"""Values at a point: a derivation's results looked up and evaluated by plain names.

The package's symbols are real (``Symbol("x", real=True)``), so SymPy's own
``result.subs("x", 2)`` — which makes a *plain* ``x`` — silently changes nothing. Here names are
matched by spelling: :class:`Results` (a derivation's results, keyed by symbol and by name),
:func:`substitute` (any expression) and :class:`PointValues` (``f(a)``, its derivatives at
``a`` and the tangent line or plane, exact and as floats, rendered like a derivation).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from html import escape

import sympy

from ..errors import ExpressionError
from ..parsing import normalized_name, parse_expression

__all__ = ["Displayed", "Results", "PointValues", "substitute", "point_of", "values_at", "exact_value",
           "partial_name", "name_key"]


def name_key(name) -> str:
    """The spelling a name or symbol (or a tuple of them) is matched by: a symbol as printed,
    text normalised as parsed names are (``"λ"`` is ``lam``)."""
    if isinstance(name, sympy.Basic):
        return str(name)
    if isinstance(name, str):
        return normalized_name(name)
    if isinstance(name, tuple):
        return ",".join(name_key(n) for n in name)
    raise KeyError(name)


class Results(dict):
    """A derivation's results: a ``dict`` keyed by SymPy symbols that also takes names
    (``results["x"]``; for a higher derivative ``results["x", "y"]``), substitutes values
    given by name (:meth:`subs`), and displays itself as equations ``∂f/∂v = …`` in Jupyter
    (``expression`` is ``f``)."""

    def __init__(self, results: Mapping | None = None, *, expression: sympy.Expr | None = None):
        super().__init__(results or {})
        self.expression = expression

    def __getitem__(self, key):
        if dict.__contains__(self, key):
            return dict.__getitem__(self, key)
        wanted = name_key(key)
        for symbol, value in self.items():
            if name_key(symbol) == wanted:
                return value
        raise KeyError(key)

    def __contains__(self, key) -> bool:
        try:
            self[key]
        except KeyError:
            return False
        return True

    def subs(self, values: Mapping | None = None, /, **named) -> dict:
        """Each result with values put in by name: ``results.subs(x=2)`` or
        ``results.subs({"x": 2})``; values are exact (``0.5`` is ``1/2``)."""
        point = point_of(sympy.Tuple(*self, *self.values()), values, **named)
        return {var: result.subs(point) for var, result in self.items()}

    def _pairs(self) -> list[tuple[sympy.Expr, sympy.Expr]]:
        f = sympy.Function("f")(*self._variables()) if self.expression is None else self.expression
        return [(sympy.Derivative(f, *(key if isinstance(key, tuple) else (key,))), value)
                for key, value in self.items()]

    def _variables(self) -> tuple:
        keys = [k for key in self for k in (key if isinstance(key, tuple) else (key,))]
        return tuple(dict.fromkeys(keys))

    def _repr_html_(self) -> str:
        from ..render.display import equations_html

        return equations_html(self._pairs())

    def _repr_markdown_(self) -> str:
        from ..render.display import equations_markdown

        return equations_markdown(self._pairs())

    def _repr_latex_(self) -> str:
        from ..render.display import equations_latex

        return equations_latex(self._pairs())


def point_of(expr: sympy.Basic, values: Mapping | None = None, **named) -> dict:
    """``{symbol: exact value}`` for the symbols of ``expr`` named in ``values``/``named``.

    Raises
    ------
    ExpressionError
        For a name not in ``expr`` or a value that is not a real number.
    """
    given = {**{name_key(k): v for k, v in (values or {}).items()}, **named}
    by_name = {s.name: s for s in expr.free_symbols if isinstance(s, sympy.Symbol)}
    point = {}
    for name, value in given.items():
        name = normalized_name(name)
        if name not in by_name:
            known = ", ".join(sorted(by_name)) or "none"
            raise ExpressionError(f"{name!r} is not a name in {expr} (its names: {known})")
        number = value if isinstance(value, sympy.Basic) else parse_expression(str(value))
        if not (number.is_number and number.is_real is not False):
            raise ExpressionError(f"the value of {name} must be a real number, not {value!r}")
        point[by_name[name]] = number
    return point


def substitute(expr: sympy.Expr, values: Mapping | None = None, /, **named) -> sympy.Expr:
    """``expr`` with values put in for names, whatever the symbols' assumptions:
    ``substitute(result, x=2)``."""
    return expr.subs(point_of(expr, values, **named))


class Displayed:
    """The display protocol shared by what the package prints (values at a point, higher
    derivatives, verdicts, worksheets): a subclass defines ``to_text``, ``to_markdown`` and
    ``to_dict``; ``str()``, ``to_json()`` and Jupyter's Markdown display follow."""

    def to_json(self, indent: int | None = 2) -> str:
        """:meth:`to_dict` as a JSON document."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    def __str__(self) -> str:
        return self.to_text()

    def _repr_markdown_(self) -> str:
        return self.to_markdown()


class PointValues(Displayed):
    """A function and its derivatives at one point, exact and as floats, with the tangent line
    ``y = f(a) + f′(a)(x − a)`` (a tangent plane ``z = …`` for several variables).

    Attributes
    ----------
    expression : sympy.Expr
        The function ``f``.
    point : dict
        Each variable's value (exact).
    rows : list of (tuple, sympy.Expr)
        ``(variables differentiated by, exact value)``: ``()`` (``f`` itself) first, then each
        derivative, e.g. ``(x,)`` for ``f′`` and ``(x, y)`` for ``∂²f/∂y∂x``.
    tangent : sympy.Expr or None
        The right-hand side of the tangent line or plane through the point.
    """

    def __init__(self, expression, point, rows, tangent=None):
        self.expression = expression
        self.point = dict(point)
        self.rows = list(rows)
        self.tangent = tangent

    @property
    def value(self) -> sympy.Expr:
        """``f`` at the point."""
        return self.rows[0][1]

    @property
    def floats(self) -> list[float | None]:
        """Each row's value as a float (None where it is not a real number)."""
        return [_float(v) for _, v in self.rows]

    def _at(self, show) -> str:
        return ", ".join(show(v) for v in self.point.values())

    def label(self, key: tuple, *, latex: bool = False) -> str:
        """How a row is named: ``f′(2)``, ``∂²f/∂y∂x(1, 2)`` (LaTeX with ``latex=True``)."""
        at = self._at(sympy.latex if latex else sympy.sstr)
        k = len(key)
        if len(self.point) == 1 or not key:
            if latex:
                name = "f" if k == 0 else "f" + ("'" * k if k < 4 else f"^{{({k})}}")
            else:
                name = "f" + ("′″‴"[k - 1] if 0 < k < 4 else f"⁽{k}⁾".translate(_SUPERSCRIPT) if k else "")
            return f"{name}({at})" if not latex else rf"{name}\left({at}\right)"
        if latex:
            power = "" if k == 1 else f"^{{{k}}}"
            below = " ".join(rf"\partial {sympy.latex(v)}" for v in reversed(key))
            return rf"\frac{{\partial{power} f}}{{{below}}}\left({at}\right)"
        return f"{partial_name(key)}({at})"

    @property
    def tangent_name(self) -> str:
        """``y`` for a tangent line, ``z`` for a tangent plane."""
        return "y" if len(self.point) == 1 else "z"

    def to_text(self) -> str:
        """Unicode text, one row per value."""
        lines = [f"At {_shown(self.point)}:"]
        for key, value in self.rows:
            number = _float(value)
            close = "" if number is None or value.is_Integer else f" ≈ {number:.6g}"
            lines.append(f"  {self.label(key)} = {sympy.sstr(value)}{close}")
        if self.tangent is not None:
            kind = "line" if len(self.point) == 1 else "plane"
            lines.append(f"  tangent {kind}: {self.tangent_name} = {sympy.sstr(self.tangent)}")
        return "\n".join(lines) + "\n"

    def _latex_rows(self) -> list[str]:
        rows = [rf"{self.label(k, latex=True)} &= {sympy.latex(v)}" for k, v in self.rows]
        if self.tangent is not None:
            rows.append(rf"{self.tangent_name} &= {sympy.latex(self.tangent)}")
        return rows

    def to_latex(self) -> str:
        """LaTeX: an ``align*`` environment."""
        return "\\begin{align*}\n" + " \\\\\n".join(self._latex_rows()) + "\n\\end{align*}\n"

    def to_markdown(self) -> str:
        """Markdown with ``$`` maths, one bullet per value."""
        at = ", ".join(f"{sympy.latex(s)} = {sympy.latex(v)}" for s, v in self.point.items())
        rows = [f"- ${row.replace('&=', '=')}$" for row in self._latex_rows()]
        return "\n".join([f"At ${at}$:", "", *rows]) + "\n"

    def to_html(self) -> str:
        """An HTML list: names as text, values in MathML."""
        items = [f"{escape(self.label(k))} = {_mathml(v)}" for k, v in self.rows]
        if self.tangent is not None:
            items.append(f"{self.tangent_name} = {_mathml(self.tangent)}")
        return '<ul class="point-values">\n' + "".join(f"<li>{i}</li>\n" for i in items) + "</ul>\n"

    def to_dict(self) -> dict:
        """JSON-ready: the point, each value (exact text and float) and the tangent."""
        return {
            "point": {str(s): sympy.sstr(v) for s, v in self.point.items()},
            "values": [{"wrt": [str(v) for v in k], "name": self.label(k),
                        "exact": sympy.sstr(v), "float": _float(v)} for k, v in self.rows],
            "tangent": None if self.tangent is None else sympy.sstr(self.tangent),
        }

    def __repr__(self) -> str:
        return f"<PointValues of {sympy.sstr(self.expression)} at {_shown(self.point)}>"

    def _repr_latex_(self) -> str:
        return "$$\\begin{aligned}" + r" \\ ".join(self._latex_rows()) + "\\end{aligned}$$"


_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def partial_name(key: tuple) -> str:
    """``∂²f/∂y∂x`` for the variables ``(x, y)``, differentiated first to last."""
    power = "" if len(key) == 1 else str(len(key)).translate(_SUPERSCRIPT)
    return f"∂{power}f/" + "".join(f"∂{v}" for v in reversed(key))


def _float(value: sympy.Expr) -> float | None:
    number = complex(sympy.N(value))
    return number.real if not number.imag else None


def _mathml(expr: sympy.Basic) -> str:
    body = sympy.mathml(expr, printer="presentation")
    return f'<math xmlns="http://www.w3.org/1998/Math/MathML">{body}</math>'


def values_at(expression, first: Mapping, point: Mapping) -> PointValues:
    """:class:`PointValues` of ``expression`` and its first derivatives ``first`` (variable →
    derivative) at ``point`` (symbol → exact value), with the tangent line or plane."""
    rows = [((), exact_value(expression, point))]
    tangent = rows[0][1]
    for var, derivative in first.items():
        slope = exact_value(derivative, point)
        rows.append(((var,), slope))
        tangent += slope * (var - point.get(var, var))
    return PointValues(expression, point, rows, tangent)


def exact_value(expr: sympy.Expr, point: Mapping) -> sympy.Expr:
    """``expr`` at ``point``, exact (decimals read as fractions) and tidied when small.

    Raises
    ------
    ExpressionError
        When a name has no value, or the value is not a finite real number.
    """
    value = sympy.nsimplify(expr.subs(point)) if expr.has(sympy.Float) else expr.subs(point)
    value = sympy.simplify(value) if sympy.count_ops(value) < 60 else value
    if value.free_symbols:
        missing = ", ".join(sorted(str(s) for s in value.free_symbols))
        raise ExpressionError(f"give a value for {missing} as well")
    if value.is_real is False or value.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
        raise ExpressionError(f"{expr} is not a real number at {_shown(point)}")
    return value


def _shown(point: Mapping) -> str:
    return ", ".join(f"{s} = {v}" for s, v in point.items())

