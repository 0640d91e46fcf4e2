"""HTML output: MathML (Core) for the maths, escaped text for the words, no scripts.

The maths is printed by SymPy's presentation MathML printer (what ``sympy.mathml(expr,
printer="presentation")`` uses), extended the way the LaTeX renderer extends its printer:
derivatives bracketed, ``xᵢ`` for indexed data, ``σ`` for the sigmoid, ``w·x`` for inner products,
cases for piecewise functions. The printer's DOM is then serialised here, element by element:

* every text node and attribute goes through :func:`html.escape` (SymPy's printer writes raw
  entity strings; they are decoded first, so ``&InvisibleTimes;`` becomes U+2062);
* elements outside MathML Core, which Chromium does not render, are rewritten: ``<mfenced>``
  becomes an ``<mrow>`` of ``<mo>`` brackets and ``<menclose notation="top">`` an ``<mover>``.

A long equation is broken into the rows of an ``<mtable>`` at its top-level ``=``, ``+`` and
``−`` (:mod:`.rows`), so a page of 800 px never scrolls sideways; the steps of a derivation are
nested ``<details>`` (open unless the derivation is long, so it opens to its result), and the
stylesheet (:data:`CSS`) styles the nesting and prints everything open and unclipped.

The output needs no script, stylesheet or font from the network.
"""

from __future__ import annotations

import html
from xml.dom import Node
from xml.dom.minidom import Element

import sympy
from sympy.printing.mathml import MathMLPresentationPrinter

from .base import is_partial, keep_order
from .rows import INDENT, Bracket, Rows, layout
from .text import equation_width
from .walk import Chain, Entry, StringWalker, entries

__all__ = ["mathml", "equation", "render", "render_solution", "escape", "paragraph", "page",
           "HtmlWalker", "CSS", "OPEN_UP_TO"]

OPEN_UP_TO = 12
"""A derivation's steps are shown open when there are at most this many, else folded so the
page opens to the result."""
COLUMNS = 64
"""Columns (of the text rendering) an equation may take at the top level of an 800 px page;
each level of nesting takes two more."""

DERIVATION_CSS = """\
.derivation math[display="block"] { display: block math; margin: 0.5em 0; max-width: 100%;
                                    overflow-x: auto; overflow-y: hidden; }
mtable.rows mtd { text-align: left; padding: 0.15em 0; math-style: normal; }
.derivation details > summary { cursor: pointer; color: #4a5a6a; font-size: 0.92em; }
.derivation details.steps > summary { font-weight: bold; }
.derivation .step { border-left: 3px solid #c9d6e3; padding: 0.1em 0 0.1em 0.8em;
                    margin: 0.4em 0; }
.derivation .step .step { border-left-color: #dde3c9; }
.derivation .step .step .step { border-left-color: #e8d6c9; }
.derivation .step .step .step .step { border-left-color: #dcdcdc; }
.derivation .step p { margin: 0.2em 0; }
.derivation .brief p { margin: 0; }
.derivation .result { background: #f4f7fb; padding: 0.2em 0.8em; border-radius: 4px; }
@media print {
  .derivation details::details-content { content-visibility: visible; display: contents; }
  .derivation details > summary { display: none; }
  .derivation math { overflow: visible; break-inside: avoid; }
}
"""
"""The stylesheet of a derivation: the nesting, the folding, and printing everything open."""

CSS = """\
body { font-family: Georgia, "DejaVu Serif", serif; max-width: 52rem; margin: 2rem auto;
       padding: 0 1rem; line-height: 1.5; color: #1b1b1b; }
math { font-family: "STIX Two Math", "Latin Modern Math", "DejaVu Math TeX Gyre", math; }
math[display="block"] { display: block math; margin: 0.6em 0; padding: 0.1em 0; overflow-x: auto;
                        overflow-y: hidden; }
figure { margin: 1.2em 0; text-align: center; }
figure img { max-width: 100%; height: auto; }
figcaption { font-size: 0.92em; color: #444; }
table { border-collapse: collapse; margin: 0.8em 0; }
th, td { border-bottom: 1px solid #ccc; padding: 0.25em 0.8em; text-align: right; }
code { background: #f2f2f2; padding: 0 0.2em; border-radius: 3px; }
@media print { body { max-width: none; margin: 0; } math { overflow: visible; } }
""" + DERIVATION_CSS
"""The stylesheet of a standalone page (inline: nothing is fetched)."""


def escape(text: str) -> str:
    """``text`` escaped for HTML element content and attribute values."""
    return html.escape(text, quote=True)


def paragraph(text: str) -> str:
    """``<p>`` of plain ``text``, escaped."""
    return f"<p>{escape(text)}</p>"


class _Printer(MathMLPresentationPrinter):
    """SymPy's presentation MathML printer with the package's notation."""

    def _print_Add(self, expr, order=None):
        return super()._print_Add(expr, order=keep_order(expr, order))

    def _el(self, tag: str, *children, text: str | None = None) -> Element:
        node = self.dom.createElement(tag)
        if text is not None:
            node.appendChild(self.dom.createTextNode(text))
        for child in children:
            node.appendChild(child)
        return node

    def _fenced(self, inner: Element, open_: str, close: str) -> Element:
        return self._el("mrow", self._el("mo", text=open_), inner, self._el("mo", text=close))

    def _print_Derivative(self, expr):  # d/dx[f], as the LaTeX renderer writes it
        d = "\N{PARTIAL DIFFERENTIAL}" if is_partial(expr) else "d"
        node = self._print(expr.expr)
        for var, count in reversed(expr.variable_count):
            top, bottom = self._el("mi", text=d), self._el("mi", text=d)
            bottom = self._el("mrow", bottom, self._print(var))
            if count != 1:
                top = self._el("msup", top, self._print(count))
                bottom = self._el("msup", bottom, self._print(count))
            node = self._el("mrow", self._el("mfrac", top, bottom), self._fenced(node, "[", "]"))
        return node

    def _print_Indexed(self, expr):
        row = self._el("mrow")
        for k, index in enumerate(expr.indices):
            if k:
                row.appendChild(self._el("mo", text=","))
            row.appendChild(self._print(index))
        return self._el("msub", self._print(expr.base.label), row)

    def _print_Float(self, expr):
        return self._el("mn", text=sympy.sstr(expr, full_prec=False))

    def _named_call(self, name: str, *args) -> Element:
        inner = self._el("mrow")
        for k, arg in enumerate(args):
            if k:
                inner.appendChild(self._el("mo", text=","))
            inner.appendChild(self._print(arg))
        return self._el("mrow", self._el("mi", text=name), self._fenced(inner, "(", ")"))

    def _print_AppliedUndef(self, expr):  # SymPy's own writes J(m, b) as j(m, b)
        return self._named_call(expr.func.__name__, *expr.args)

    def _print_Symbol(self, sym, style="plain"):  # yhat as ŷ and xbar as x̄, as the LaTeX does
        for suffix, accent in (("hat", "^"), ("bar", "\N{MACRON}")):
            if sym.name.endswith(suffix) and len(sym.name) > len(suffix):
                base = self._print(sympy.Symbol(sym.name[: -len(suffix)]))
                node = self._el("mover", base, self._el("mo", text=accent))
                node.setAttribute("accent", "true")
                return node
        return super()._print_Symbol(sym, style=style)

    def _print_sign(self, expr):
        return self._named_call("sign", *expr.args)

    def _print_ElementwiseSigmoid(self, expr):
        return self._named_call("\N{GREEK SMALL LETTER SIGMA}", expr.expr)

    def _print_dot(self, expr):
        a, b = (self._print(arg) for arg in expr.args)
        return self._el("mrow", a, self._el("mo", text="\N{MIDDLE DOT}"), b)

    def _print_OneMatrix(self, expr):
        return self._el("mn", text="\N{MATHEMATICAL DOUBLE-STRUCK DIGIT ONE}")

    def _print_Piecewise(self, expr):
        table = self._el("mtable")
        for value, cond in expr.args:
            when = (self._el("mtext", text="otherwise") if cond == sympy.true else
                    self._el("mrow", self._el("mtext", text="if\N{NO-BREAK SPACE}"),
                             self._print(cond)))
            table.appendChild(self._el("mtr", self._el("mtd", self._print(value)),
                                       self._el("mtd", when)))
        return self._el("mrow", self._el("mo", text="{"), table)


# -- serialising the printer's DOM ----------------------------------------------------------------


def _serialise(node, out: list[str]) -> None:
    if node.nodeType == Node.TEXT_NODE:
        out.append(html.escape(html.unescape(node.data), quote=False))
        return
    tag, children = node.tagName, list(node.childNodes)
    if tag == "mfenced":  # not in MathML Core: brackets as operators
        open_, close = node.getAttribute("open") or "(", node.getAttribute("close") or ")"
        separator = node.getAttribute("separators") or ","
        out.append(f"<mrow><mo>{escape(open_)}</mo>")
        for k, child in enumerate(children):
            if k:
                out.append(f"<mo>{escape(separator[:1])}</mo>")
            _serialise(child, out)
        out.append(f"<mo>{escape(close)}</mo></mrow>")
        return
    if tag == "menclose":  # not in MathML Core: an overbar as an accent
        out.append("<mover accent=\"true\"><mrow>")
        for child in children:
            _serialise(child, out)
        out.append("</mrow><mo>\N{OVERLINE}</mo></mover>")
        return
    attrs = "".join(f' {escape(k)}="{escape(v)}"' for k, v in sorted(node.attributes.items()))
    out.append(f"<{tag}{attrs}>")
    for child in children:
        _serialise(child, out)
    out.append(f"</{tag}>")


def _markup(node) -> str:
    out: list[str] = []
    _serialise(node, out)
    return "".join(out)


def _math(inner: str, display: bool) -> str:
    mode = ' display="block"' if display else ""
    return f"<math{mode}>{inner}</math>"


def mathml(expr: sympy.Basic, *, display: bool = False) -> str:
    """``expr`` as a ``<math>`` element (MathML Core, escaped), inline or ``display="block"``."""
    return _math(_markup(_Printer()._print(expr)), display)


def equation(parts: tuple[sympy.Basic, ...], *, display: bool = True,
             columns: int = COLUMNS) -> str:
    """``a = b = c`` as one ``<math>`` element; when its text rendering is wider than
    ``columns``, an ``<mtable>`` with a row per piece broken at the top-level ``=``, ``+``
    and ``−`` (a continuation row starts with its operator)."""
    rows = layout(tuple(parts), equation_width, columns)
    printer = _Printer()
    if len(rows.rows) == 1 and not any(isinstance(p, Bracket) for _, p in rows.rows[0]):
        pieces = [_markup(printer._print(p)) for p in parts]
        return _math("<mrow>" + "<mo>=</mo>".join(pieces) + "</mrow>", display)
    return _math(_table(printer, rows), display)


def _table(printer: _Printer, rows: Rows) -> str:
    out = ['<mtable class="rows">']
    for k, row in enumerate(rows.rows):
        out.append("<mtr><mtd><mrow>")
        if k:
            out.append(f'<mspace width="{INDENT / 2:g}em"></mspace>')
        for operator, piece in row:
            if operator:
                out.append(f"<mo>{escape(operator.replace('-', chr(0x2212)))}</mo>")
            if isinstance(piece, Bracket):
                out.append(_bracket(printer, piece))
            else:
                out.append(_markup(printer._print(piece)))
        out.append("</mrow></mtd></mtr>")
    return "".join(out) + "</mtable>"


def _bracket(printer: _Printer, piece: Bracket) -> str:
    """``d/dx[...]`` around the rows of a sum."""
    operator = printer._print(piece.derivative)  # the fraction d/dx and the bracketed body
    fraction = _markup(operator.firstChild.firstChild)
    return (f"<mrow>{fraction}<mo stretchy=\"true\">[</mo>{_table(printer, piece.inner)}"
            f"<mo stretchy=\"true\">]</mo></mrow>")


# -- derivations ---------------------------------------------------------------------------------


def _chain(parts: Chain, columns: int = COLUMNS) -> str:
    if len(parts) == 1 and not isinstance(parts[0], sympy.Add):
        return mathml(parts[0], display=True)
    return equation(parts, columns=columns)


class HtmlWalker(StringWalker):
    """HTML: a derivation's steps as ``<div class="step">`` indented by depth, a closed form's
    as an ordered list; the facts inline after the sentence, the equations below.

    ``level`` is the heading level of each variable's section and of a closed form.
    """

    words = staticmethod(escape)

    def __init__(self, *, level: int = 3):
        self.level = level

    def strong(self, text):
        return f"<strong>{text}</strong>"

    def inline(self, expr):
        return mathml(expr)

    def given(self, label, expr):
        return f"<p>{label}</p>\n{_chain((expr,))}"

    def section(self, heading, var, steps, result):
        h = self.level
        return (f"<h{h}>{heading} {mathml(var)}</h{h}>\n{steps}\n"
                f'<div class="result">\n<p><strong>Result:</strong></p>\n{_chain(result)}\n</div>')

    def steps(self, root, detail="full"):
        shown = [(entry.depth, self.visit(entry)) for entry in entries(root, detail)]
        return self.nest(shown, brief=detail == "brief")

    def nest(self, steps, *, brief: bool = False):
        """The steps as nested ``<div class="step">`` (``"step brief"`` at ``brief`` detail),
        each step's substeps in a ``<details>``; all of them in one ``<details>``, open unless
        there are more than :data:`OPEN_UP_TO`."""
        inner, _ = _tree(steps, 0, 0, "step brief" if brief else "step")
        shown = " open" if len(steps) <= OPEN_UP_TO else ""
        count = f"{len(steps)} step{'s' if len(steps) != 1 else ''}"
        return (f'<details class="steps"{shown}>\n<summary>Steps ({count})</summary>\n'
                f"{inner}\n</details>")

    def document(self, parts):
        return '<section class="derivation">\n' + "\n".join(parts) + "\n</section>\n"

    def closed_form(self, heading, steps):
        h = self.level
        return f"<h{h}>{escape(heading)}</h{h}>\n<ol>\n" + "\n".join(steps) + "\n</ol>\n"

    def _render_Step(self, entry: Entry) -> str:
        """A step's sentence and equations (:meth:`nest` puts them in their ``<div>``)."""
        columns = COLUMNS - 2 * entry.depth
        if entry.brief:
            return f"<p>{self.head(entry)} {equation(entry.equations[0], display=False)}</p>"
        maths = "\n".join(_chain(c, columns) for c in entry.equations)
        return f"<p>{self.head(entry)}</p>\n{maths}"

    def _render_SolutionStep(self, entry: Entry) -> str:
        maths = "\n".join(_chain(c) for c in entry.equations)
        return f"<li><p>{self.head(entry)}</p>\n{maths}</li>"


def _tree(steps: list[tuple[int, str]], start: int, depth: int, kind: str) -> tuple[str, int]:
    """The steps from ``start`` at ``depth`` and below as nested ``<div class="{kind}">``, and
    where they end."""
    out, k = [], start
    while k < len(steps) and steps[k][0] == depth:
        body = steps[k][1]
        children, end = _tree(steps, k + 1, depth + 1, kind)
        if children:
            count = end - k - 1
            body += (f'\n<details class="substeps" open>\n<summary>how: {count} step'
                     f"{'s' if count != 1 else ''}</summary>\n{children}\n</details>")
        out.append(f'<div class="{kind}">\n{body}\n</div>')
        k = end
    return "\n".join(out), k


def render(derivation, *, level: int = 3, detail=None, style: bool = False) -> str:
    """The whole derivation as an HTML fragment at ``detail`` (default: the derivation's);
    ``level`` is the heading level per variable; ``style`` puts the derivation stylesheet
    (:data:`DERIVATION_CSS`) in front, for a page (a notebook) that has none."""
    body = HtmlWalker(level=level).derivation(derivation, detail)
    return styled(body) if style else body


def styled(fragment: str) -> str:
    """``fragment`` with the derivation stylesheet (:data:`DERIVATION_CSS`) in front."""
    return f"<style>\n{DERIVATION_CSS}</style>\n{fragment}"


def render_solution(solution, *, level: int = 3) -> str:
    """A closed-form solution (:class:`~calculus_ml.analysis.ClosedForm`) as HTML."""
    return HtmlWalker(level=level).solution(solution)


def page(title: str, body: str, *, lang: str = "en", head: str = "") -> str:
    """A standalone HTML5 page: UTF-8, the inline stylesheet, ``head`` (more head elements,
    already HTML: a page's own style), ``body`` (already HTML)."""
    return (f'<!DOCTYPE html>\n<html lang="{escape(lang)}">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{escape(title)}</title>\n<style>\n{CSS}</style>\n{head}</head>\n<body>\n"
            f"{body}</body>\n</html>\n")
