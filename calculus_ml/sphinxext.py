"""A Sphinx extension: the ``derivation`` directive derives an expression while the docs build.

Enable it in ``conf.py``::

    extensions = ["calculus_ml.sphinxext"]

and write, in reStructuredText, ::

    .. derivation:: (3*x^2 + 10*x)^3
       :wrt: x
       :name: chain-example

or, in MyST Markdown, ::

    ```{derivation} (y - (m*x + b))^2
    :wrt: m b
    :data: x y
    ```

The argument is the expression: text parsed by the safe parser
(:func:`calculus_ml.parse_expression`), never evaluated. It may be replaced by the ``:loss:``
option, which names a loss of the catalogue (:func:`calculus_ml.losses.get`). Every step is checked
against ``sympy.diff`` while the page is read, unless ``calculus_ml_verify = False``.

The output is plain docutils: paragraphs for the rules and their explanations, ``math`` nodes for
inline maths and ``math_block`` nodes for equations, all LaTeX from SymPy's printer. So it renders
wherever Sphinx renders maths: MathJax (the HTML default), ``sphinx.ext.imgmath``, LaTeX/PDF, text.

Options
-------
wrt : names
    The variables to differentiate by, separated by spaces or commas (``m b``). Required with an
    expression; a ``:loss:`` uses its own parameters.
data : names, optional
    Per-sample data names: the expression is one data point's term, summed over ``i = 1..n``.
reduce : {"mean", "sum"}, optional
    How the data terms are combined (default ``mean``); needs ``:data:``.
loss : name, optional
    A named loss of :mod:`calculus_ml.losses` instead of an expression.
show : {"steps", "result", "gradient", "hessian"}, optional
    ``steps`` (the default, see ``calculus_ml_default_show``): every step, one bullet per rule with
    its equation, nested as the derivation nests, then each result. ``result``: one equation per
    variable. ``gradient``: the vector of partial derivatives. ``hessian``: the matrix of second
    partial derivatives (each derived and checked the same way).
detail : {"standard", "full", "brief"}, optional
    With ``:show: steps``: how much of each tree is shown (default ``calculus_ml_default_detail``):
    ``full`` every step; ``standard`` the same with the trivial steps (a constant's derivative
    is 0, the variable's is 1) told in their parent's sentence; ``brief`` one line per rule.
name : label, optional
    A label for cross-references: ``:ref:`label``` links to the derivation (its title is
    "Derivative of EXPR"), and ``:numref:`label``` numbers it when ``numfig`` is on.
class : names, optional
    Extra CSS classes for the container (it always has the class ``derivation``).

Configuration values
--------------------
calculus_ml_verify : bool, default True
    Check every step against ``sympy.diff`` while building.
calculus_ml_default_show : str, default "steps"
    The ``:show:`` used when a directive has none.
calculus_ml_default_detail : str, default "standard"
    The ``:detail:`` used when a directive has none.

Errors
------
An expression that cannot be parsed or derived, or an unknown loss, is a Sphinx warning located at
the directive's document and line (type ``calculus_ml``, subtype ``derivation``, so it can be
listed in ``suppress_warnings``); the directive then produces nothing. With ``-W`` the build fails.
"""

from __future__ import annotations

import re
from typing import Any

import sympy
from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.application import Sphinx
from sphinx.config import ENUM, Config
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from . import __version__, losses
from .derivation import Derivation, derive
from .errors import CalculusMLError, ExpressionError
from .render.latex import equation, latex
from .render.walk import DERIVED_ABOVE, DETAILS, Entry, Walker, folded_sentence, upper_first

logger = logging.getLogger(__name__)

SHOW = ("steps", "result", "gradient", "hessian")
"""The values of the ``:show:`` option."""


class derivation(nodes.container):  # noqa: N801 - docutils names nodes in lower case
    """The container of one derived expression; a numbered, referable element like a figure.

    Its ``title`` attribute is the text a bare ``:ref:`` shows. Builders without a visitor of
    their own render it as a plain container.
    """


def names_option(argument: str | None) -> list[str]:
    """Option validator: names separated by spaces or commas, at least one."""
    names = [n for n in re.split(r"[\s,]+", argument or "") if n]
    if not names:
        raise ValueError("give at least one name")
    return names


def show_option(argument: str | None) -> str:
    """Option validator for ``:show:``."""
    return directives.choice(argument, SHOW)


def detail_option(argument: str | None) -> str:
    """Option validator for ``:detail:``."""
    return directives.choice(argument, DETAILS)


def reduce_option(argument: str | None) -> str:
    """Option validator for ``:reduce:``."""
    return directives.choice(argument, ("mean", "sum"))


class DerivationDirective(SphinxDirective):
    """``.. derivation:: EXPR``: the derivative of EXPR, step by step (see the module docstring)."""

    has_content = False
    required_arguments = 0
    optional_arguments = 1
    final_argument_whitespace = True
    option_spec = {
        "wrt": names_option,
        "data": names_option,
        "reduce": reduce_option,
        "loss": directives.unchanged_required,
        "show": show_option,
        "detail": detail_option,
        "name": directives.unchanged,
        "class": directives.class_option,
    }

    def run(self) -> list[nodes.Node]:
        try:
            result, title = self._derive()
            show = self.options.get("show", self.config.calculus_ml_default_show)
            body = render_nodes(result, show, verify=self.config.calculus_ml_verify)
        except CalculusMLError as error:
            logger.warning(
                "derivation: %s",
                error,
                location=self.get_location(),
                type="calculus_ml",
                subtype="derivation",
            )
            return []
        container = derivation(
            "", *body, classes=["derivation", *self.options.get("class", [])], title=title
        )
        self.set_source_info(container)
        self.add_name(container)
        return [container]

    def _derive(self) -> tuple[Derivation, str]:
        """The derivation asked for and its title."""
        verify = self.config.calculus_ml_verify
        detail = self.options.get("detail", self.config.calculus_ml_default_detail)
        if "loss" in self.options:
            if self.arguments:
                raise ExpressionError("give an expression or :loss:, not both")
            fixed = sorted({"wrt", "data", "reduce"} & set(self.options))
            if fixed:
                raise ExpressionError(f"a :loss: fixes {', '.join(fixed)}; remove those options")
            loss = losses.get(self.options["loss"])
            return loss.derive(verify=verify, detail=detail), f"Derivative of {loss.title}"
        if not self.arguments:
            raise ExpressionError("give an expression as the argument, or a :loss: NAME")
        if "wrt" not in self.options:
            raise ExpressionError("the :wrt: option (the variables) is required")
        text = " ".join(self.arguments[0].split())  # an argument may wrap over lines
        result = derive(
            text,
            self.options["wrt"],
            data=self.options.get("data"),
            reduce=self.options.get("reduce"),
            verify=verify,
            detail=detail,
        )
        return result, f"Derivative of {text}"


# -- docutils nodes from a derivation ------------------------------------------------------------


def render_nodes(result: Derivation, show: str, *, verify: bool = True) -> list[nodes.Node]:
    """The docutils nodes showing ``result`` as ``show`` asks (one of :data:`SHOW`)."""
    if show == "steps":
        return NodeWalker().derivation(result)
    if show == "result":
        return [
            _math_block((sympy.Derivative(result.expression, var), root.result), "result")
            for var, root in result
        ]
    variables = result.variables
    if show == "gradient":
        operator = sympy.Matrix([sympy.Derivative(result.expression, v) for v in variables])
        return [_math_block((operator, sympy.Matrix(result.gradient)), "gradient")]
    if show == "hessian":
        operator = sympy.Matrix(
            [[sympy.Derivative(result.expression, u, v) for v in variables] for u in variables]
        )
        return [_math_block((operator, hessian(result, verify=verify)), "hessian")]
    raise ValueError(f"show must be one of {', '.join(SHOW)}, not {show!r}")


def hessian(result: Derivation, *, verify: bool = True) -> sympy.Matrix:
    """The second partial derivatives, each first derivative derived (and checked) again."""
    rows = []
    for first in result.gradient:
        present = [v for v in result.variables if v in first.free_symbols]
        second = derive(first, present, verify=verify).results if present else {}
        rows.append([second.get(v, sympy.Integer(0)) for v in result.variables])
    return sympy.Matrix(rows)


class NodeWalker(Walker[list[nodes.Node]]):
    """Docutils nodes: a paragraph per piece of text, ``math`` and ``math_block`` nodes for the
    maths, and the steps as bullet lists nested as the derivation nests."""

    def given(self, label, expr):
        return [nodes.paragraph("", label), _math_block((expr,), "expression")]

    def section(self, heading, var, steps, result):
        return [
            nodes.paragraph("", "", nodes.strong("", heading), nodes.Text(" "), _math(var)),
            *steps,
            nodes.paragraph("", "", nodes.strong("", "Result:")),
            _math_block(result, "result"),
        ]

    def nest(self, steps):
        """Bullet lists nested as the steps are: a step at depth d is an item of the list at
        level d."""
        top = nodes.bullet_list()
        lists = [top]
        for depth, shown in steps:
            while len(lists) > depth + 1:
                lists.pop()
            while len(lists) < depth + 1:  # open a list inside the last item of the deepest list
                inner = nodes.bullet_list()
                parent = lists[-1]
                if not parent.children:
                    parent += nodes.list_item()
                parent[-1] += inner
                lists.append(inner)
            lists[-1] += nodes.list_item("", *shown)
        return [top]

    def document(self, parts):
        return [node for part in parts for node in part]

    def _render_Step(self, entry: Entry) -> list[nodes.Node]:
        """A step's paragraph (rule, explanation, facts) and its equation."""
        title = upper_first(entry.title)
        if entry.repeated:
            text = nodes.paragraph("", "", nodes.strong("", title), nodes.Text(f" {DERIVED_ABOVE}"))
        elif entry.brief:
            lhs, rhs = entry.equations[0]
            tex = f"{latex(lhs)} = {latex(rhs)}"
            return [nodes.paragraph("", "", nodes.strong("", f"{title}:"), nodes.Text(" "),
                                    nodes.math(tex, tex))]
        else:
            text = nodes.paragraph("", "", nodes.strong("", f"{title}."),
                                   nodes.Text(f" {entry.sentence}"))
            for step in entry.folded:
                before, math, after = folded_sentence(step)
                text += [nodes.Text(f" {before}"), _math(math), nodes.Text(after)]
            for fact in entry.facts:
                text += [nodes.Text(f" {upper_first(fact.label)}: "), _math(fact.math),
                         nodes.Text(".")]
        return [text, *(_math_block(chain, "step") for chain in entry.equations)]


def _math(expr: sympy.Basic) -> nodes.math:
    tex = latex(expr)
    return nodes.math(tex, tex)


def _math_block(parts: tuple[sympy.Basic, ...], kind: str) -> nodes.math_block:
    """A display equation ``a = b = c``, with class ``derivation-KIND``; a chain of three or more
    parts is one row per ``=``, aligned on the equals signs."""
    tex = equation(parts) if len(parts) > 2 else " = ".join(latex(p) for p in parts)
    return nodes.math_block(
        tex, tex, classes=[f"derivation-{kind}"], nowrap=False, number=None, label=None
    )


# -- Sphinx wiring -------------------------------------------------------------------------------


def _title(node: derivation) -> str:
    return node.get("title", "")


def _visit_latex(self, node: derivation) -> None:
    self.body.append(self.hypertarget_to(node, anchor=True))
    self.visit_container(node)


def _depart_latex(self, node: derivation) -> None:
    self.depart_container(node)


def _number_format(app: Sphinx, config: Config) -> None:
    config.numfig_format.setdefault("derivation", "Derivation %s")


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the directive, its node and the ``calculus_ml_*`` configuration values."""
    app.add_config_value("calculus_ml_verify", True, "env", types=frozenset({bool}))
    app.add_config_value("calculus_ml_default_show", "steps", "env", types=ENUM(*SHOW))
    app.add_config_value("calculus_ml_default_detail", "standard", "env", types=ENUM(*DETAILS))
    app.add_enumerable_node(
        derivation, "derivation", _title, override=True, latex=(_visit_latex, _depart_latex)
    )
    app.add_directive("derivation", DerivationDirective)
    app.connect("config-inited", _number_format)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
