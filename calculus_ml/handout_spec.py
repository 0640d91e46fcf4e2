"""Handout specs: one TOML file per handout, read with :mod:`tomllib` and checked key by key.

A spec is data, not code. Its keys (every other key is an error)::

    title = "The chain rule"                 # required
    summary = "One paragraph of Markdown."   # optional
    goals = ["...", "..."]                   # optional: the learning goals, Markdown

    [data]                  # optional: arrays by the loss's data names, and/or a bundled CSV
    x = [100, 200, 250]     # inline, or:  csv = "data/films.csv"  (relative to the spec, inside
    y = [275, 300, 550]     # its folder)  columns = { x = "budget", y = "revenue" }

    [[section]]             # one or more
    heading = "..."                         # required
    text = "..."                            # Markdown before the maths;  after = "..." after it
    expression = "(3*x^2 + 10*x)^3"         # a function (parsed safely) with  wrt = ["x"], or
    loss = "rss"                            # a catalogue loss (options = {vector = true}), or
                                            # { expression, params, data, reduce, regularization,
                                            #   prediction } for a custom one
    set = { lam = 0.5 }                     # hyperparameter values
    show = "steps"                          # steps | result | matrix | none
    closed_form = true                      # the minimiser step by step (least squares)
    points = [{ x = 3 }]                    # a table of values and slopes at these points
    fit = { learning_rate = 0.1, standardize = true }   # gradient descent (any GradientDescent
                                            # option; learning_rate = "auto": a quarter of the
                                            # stable bound 2/λ_max, for a quadratic loss)
    walk = { param = "b", start = 0, learning_rate = 0.05, steps = 4, fixed = { m = 1.5 } }
    [[section.plot]]                        # figures: kind = tangent | slices | cost_curve |
    kind = "tangent"                        # contour | surface | loss_history | fitted_line,
    at = 3                                  # the kind's options and a caption

**Computed numbers.** Narrative text (``text``, ``after``, captions) never types a result: it
names it, and the builder fills it in from the engine and the data. ``{{`` and ``}}`` are literal
braces; ``|SPEC`` after the arguments is a Python format spec (``{fit:m|.2f}``).

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
``{n}``             the number of data points
==================  =============================================================================

Narrative Markdown is paragraphs, ``- `` bullet lists, ``**bold**``, ``*italic*`` and
```code```; anything else is shown as written. :func:`load` raises
:class:`~calculus_ml.errors.SpecError` naming the file, the key and the problem.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import sympy

from .errors import CalculusMLError, SpecError
from .parsing import parse_expression

__all__ = ["Spec", "Section", "Plot", "Run", "Ref", "load", "parse_point", "PLOT_KINDS"]

TOP_KEYS = {"title", "summary", "goals", "data", "section"}
SECTION_KEYS = {"heading", "text", "after", "expression", "wrt", "loss", "options", "set", "show",
                "closed_form", "points", "fit", "walk", "plot"}
SHOWS = ("steps", "result", "matrix", "none")
FIT_KEYS = {"learning_rate", "max_iter", "tol", "method", "standardize", "init", "momentum",
            "batch_size", "schedule", "random_state"}
WALK_KEYS = {"param", "start", "learning_rate", "steps", "fixed"}
PLOT_KINDS: dict[str, set[str]] = {
    "tangent": {"at", "xlim"},
    "slices": {"along", "range", "hold", "values"},
    "cost_curve": {"param", "fixed", "xlim", "walk", "tangent"},
    "contour": {"params", "path", "xlim", "ylim", "fixed"},
    "surface": {"params", "path", "xlim", "ylim", "fixed"},
    "loss_history": set(),
    "fitted_line": {"source"},
}
"""Each plot kind and the options it takes (besides ``kind`` and ``caption``)."""
REF_KINDS = ("math", "expr", "result", "value", "slope", "fit", "solve", "bound", "walk", "n")

_REF = re.compile(r"\{\{|\}\}|\{([a-z_]+)(?::([^{}|]*))?(?:\|([^{}]*))?\}|[{}]")
_STYLE = re.compile(r"\*\*|\*|`")


@dataclass(frozen=True)
class Run:
    """Literal narrative text with its style: any of ``"bold"``, ``"italic"``, ``"code"``."""

    text: str
    style: frozenset = frozenset()


@dataclass(frozen=True)
class Ref:
    """A computed value named in narrative text (``{kind:arg|fmt}``)."""

    kind: str
    arg: str
    fmt: str
    style: frozenset = frozenset()


Inline = tuple  # of Run and Ref
Narrative = tuple  # of ("p", Inline) and ("ul", tuple of Inline)


@dataclass(frozen=True)
class Plot:
    """A figure: its kind, options and caption."""

    kind: str
    options: Mapping[str, Any]
    caption: Narrative
    key: str


@dataclass
class Section:
    """One section of a handout, validated; ``key`` locates it in the file for messages."""

    key: str
    heading: str
    text: Narrative = ()
    after: Narrative = ()
    expression: sympy.Expr | None = None
    wrt: tuple[str, ...] = ()
    loss: Any = None
    hyper: dict[str, float] = field(default_factory=dict)
    show: str = "steps"
    closed_form: bool = False
    points: tuple[dict[str, sympy.Rational], ...] = ()
    fit: dict[str, Any] | None = None
    walk: dict[str, Any] | None = None
    plots: tuple[Plot, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """The variables: ``wrt`` of a function, the parameters of a loss."""
        return tuple(p.name for p in self.loss.params) if self.loss is not None else self.wrt


@dataclass
class Spec:
    """A validated handout spec."""

    path: Path
    name: str
    title: str
    summary: Narrative
    goals: tuple[Inline, ...]
    data: dict[str, np.ndarray]
    sections: list[Section]


class _Checker:
    """Raises :class:`SpecError` as ``FILE: KEY: problem``."""

    def __init__(self, path: Path):
        self.path = path

    def fail(self, key: str, problem: str):
        raise SpecError(f"{self.path}: {key}: {problem}")

    def keys(self, table: Mapping, allowed: set[str], key: str) -> None:
        for name in table:
            if name not in allowed:
                self.fail(f"{key}.{name}" if key else name,
                          f"unknown key (allowed: {', '.join(sorted(allowed))})")

    def kind(self, value: Any, kind: type | tuple, key: str, what: str) -> Any:
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            self.fail(key, f"must be {what}, not {value!r}")
        return value

    def number(self, value: Any, key: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            self.fail(key, f"must be a finite number, not {value!r}")
        return value

    def names(self, value: Any, key: str) -> tuple[str, ...]:
        value = [value] if isinstance(value, str) else value
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            self.fail(key, f"must be a name or a list of names, not {value!r}")
        return tuple(value)

    def expression(self, text: Any, key: str) -> sympy.Expr:
        self.kind(text, str, key, "an expression as text")
        try:
            return parse_expression(text)
        except CalculusMLError as error:
            self.fail(key, f"bad expression: {str(error).splitlines()[0]}")


def parse_point(text: str) -> dict[str, sympy.Rational]:
    """``"m=1.5, b=0"`` as ``{"m": 3/2, "b": 0}`` (exact decimals); ValueError if malformed."""
    point = {}
    for item in text.split(","):
        name, eq, value = item.partition("=")
        name = name.strip()
        if not eq or not name.isidentifier() or name in point:
            raise ValueError(f"{text!r} is not a point such as x=3 or m=1.5,b=0")
        point[name] = _exact(float(value))
    return point


def _exact(value: float) -> sympy.Rational:
    return sympy.Integer(value) if float(value).is_integer() else sympy.Rational(repr(float(value)))


def narrative(text: Any, check: _Checker, key: str) -> Narrative:
    """Markdown text as paragraphs and bullet lists of inline tokens."""
    check.kind(text, str, key, "Markdown text")
    blocks = []
    for para in re.split(r"\n\s*\n", text.strip()):
        lines = [line.strip() for line in para.splitlines() if line.strip()]
        if not lines:
            continue
        if all(line.startswith(("- ", "* ")) for line in lines):
            blocks.append(("ul", tuple(inline(line[2:], check, key) for line in lines)))
        else:
            blocks.append(("p", inline(" ".join(lines), check, key)))
    return tuple(blocks)


def inline(text: str, check: _Checker, key: str) -> Inline:
    """One paragraph as :class:`Run` and :class:`Ref` tokens, emphasis markers resolved."""
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
            check.fail(key, f"unmatched {match.group()!r} (write {match.group() * 2} for a "
                            "literal brace)")
        else:
            kind, arg, fmt = match.group(1), (match.group(2) or "").strip(), match.group(3) or ""
            if kind not in REF_KINDS:
                check.fail(key, f"unknown placeholder {{{kind}}} (known: {', '.join(REF_KINDS)})")
            if fmt:
                try:
                    format(1.5, fmt)
                except ValueError:
                    check.fail(key, f"bad format spec {fmt!r} in {match.group()}")
            tokens.append(Ref(kind, arg, fmt, frozenset(style)))
    literal(text[pos:])
    if style:
        check.fail(key, f"unclosed {', '.join(sorted(style))} marker in {text[:40]!r}...")
    return tuple(tokens)


def refs(section: Section) -> list[tuple[Ref, str]]:
    """Every placeholder of a section's narrative, with its key."""
    found = []
    parts = [("text", section.text), ("after", section.after)]
    parts += [(f"{p.key}.caption", p.caption) for p in section.plots]
    for key, blocks in parts:
        for kind, body in blocks:
            for line in ([body] if kind == "p" else body):
                found += [(t, f"{section.key}.{key}") for t in line if isinstance(t, Ref)]
    return found


# -- the file ------------------------------------------------------------------------------------


def load(path: str | Path) -> Spec:
    """Read and check a handout spec.

    Parameters
    ----------
    path : str or Path
        The TOML file.

    Returns
    -------
    Spec

    Raises
    ------
    SpecError
        For a file that cannot be read or parsed, an unknown key, a bad expression or value, a
        placeholder that names something the section does not have, or missing data.
    """
    path = Path(path)
    check = _Checker(path)
    try:
        with path.open("rb") as handle:
            raw = tomllib.load(handle)
    except OSError as error:
        raise SpecError(f"{path}: cannot read: {error.strerror or error}") from None
    except tomllib.TOMLDecodeError as error:
        raise SpecError(f"{path}: not valid TOML: {error}") from None
    check.keys(raw, TOP_KEYS, "")
    if "title" not in raw:
        check.fail("title", "missing (every handout needs a title)")
    goals = raw.get("goals", [])
    check.kind(goals, list, "goals", "a list of Markdown strings")
    spec = Spec(
        path=path, name=path.stem, title=check.kind(raw["title"], str, "title", "text"),
        summary=narrative(raw.get("summary", ""), check, "summary"),
        goals=tuple(inline(check.kind(g, str, f"goals[{k}]", "text"), check, f"goals[{k}]")
                    for k, g in enumerate(goals, 1)),
        data=_data(raw.get("data", {}), check), sections=[])
    for top in ("summary", "goals"):
        for kind, body in ([("p", g) for g in spec.goals] if top == "goals" else spec.summary):
            for line in ([body] if kind == "p" else body):
                if any(isinstance(t, Ref) and t.kind != "math" for t in line):
                    check.fail(top, "only {math:...} placeholders belong outside a section")
                for t in line:
                    if isinstance(t, Ref):
                        _math_ref(t.arg, check, top)
    sections = raw.get("section")
    if not isinstance(sections, list) or not sections:
        check.fail("section", "missing: a handout needs at least one [[section]]")
    for k, table in enumerate(sections, 1):
        spec.sections.append(_section(check.kind(table, dict, f"section[{k}]", "a table"),
                                      f"section[{k}]", spec, check))
    return spec


def _data(table: Any, check: _Checker) -> dict[str, np.ndarray]:
    check.kind(table, dict, "data", "a table")
    out: dict[str, np.ndarray] = {}
    if "csv" in table:
        check.keys(table, {"csv", "columns"}, "data")
        name = check.kind(table["csv"], str, "data.csv", "a relative file name")
        relative = PurePosixPath(name)
        if relative.is_absolute() or ".." in relative.parts:
            check.fail("data.csv", f"{name!r} must be a relative path inside the spec's folder")
        columns = table.get("columns", {})
        check.kind(columns, dict, "data.columns", "a table of data name = CSV column")
        from .datasets import read_csv

        try:
            found = read_csv(check.path.parent / relative)
        except CalculusMLError as error:
            check.fail("data.csv", str(error).splitlines()[0])
        for column in columns.values():
            if column not in found:
                check.fail("data.columns", f"no column {column!r} in {name} "
                                           f"(its columns: {', '.join(found)})")
        rename = {v: k for k, v in columns.items()}
        return {rename.get(k, k): v for k, v in found.items()}
    for name, values in table.items():
        key = f"data.{name}"
        if not isinstance(values, list) or not values:
            check.fail(key, "must be a non-empty list of numbers")
        out[name] = np.array([check.number(v, f"{key}[{i}]") for i, v in enumerate(values, 1)],
                             dtype=float)
    sizes = {len(v) for v in out.values()}
    if len(sizes) > 1:
        check.fail("data", f"the arrays have different lengths ({sorted(sizes)})")
    return out


def _section(table: dict, key: str, spec: Spec, check: _Checker) -> Section:
    check.keys(table, SECTION_KEYS, key)
    if "heading" not in table:
        check.fail(f"{key}.heading", "missing")
    s = Section(key=key, heading=check.kind(table["heading"], str, f"{key}.heading", "text"))
    s.text = narrative(table.get("text", ""), check, f"{key}.text")
    s.after = narrative(table.get("after", ""), check, f"{key}.after")
    if "expression" in table and "loss" in table:
        check.fail(key, "give expression or loss, not both")
    if "expression" in table:
        s.expression = check.expression(table["expression"], f"{key}.expression")
        symbols = sorted(x.name for x in s.expression.free_symbols)
        s.wrt = check.names(table.get("wrt", symbols), f"{key}.wrt")
        for name in s.wrt:
            if name not in symbols:
                check.fail(f"{key}.wrt", f"{name!r} does not occur in the expression "
                                         f"(its symbols: {', '.join(symbols) or 'none'})")
    elif "wrt" in table:
        check.fail(f"{key}.wrt", "only an expression takes wrt (a loss differentiates by its "
                                 "parameters)")
    if "loss" in table:
        s.loss = _loss(table["loss"], table.get("options", {}), key, check)
    elif "options" in table:
        check.fail(f"{key}.options", "only a catalogue loss takes options")
    sets = check.kind(table.get("set", {}), dict, f"{key}.set", "a table of numbers")
    s.hyper = {k: check.number(v, f"{key}.set.{k}") for k, v in sets.items()}
    s.show = table.get("show", "steps" if s.expression is not None or s.loss is not None else "none")
    if s.show not in SHOWS:
        check.fail(f"{key}.show", f"must be one of {', '.join(SHOWS)}, not {s.show!r}")
    if s.show != "none" and s.expression is None and s.loss is None:
        check.fail(f"{key}.show", "there is nothing to show: give expression or loss")
    if s.show == "matrix" and not getattr(s.loss, "matrix_gradient", None):
        check.fail(f"{key}.show", "matrix needs a loss with a matrix form "
                                  "(e.g. loss = \"logistic\" with options = { vector = true })")
    s.closed_form = check.kind(table.get("closed_form", False), bool, f"{key}.closed_form",
                               "true or false")
    s.points = tuple(_point(p, s, f"{key}.points[{i}]", check)
                     for i, p in enumerate(check.kind(table.get("points", []), list,
                                                      f"{key}.points", "a list of tables"), 1))
    if "fit" in table:
        fit = check.kind(table["fit"], dict, f"{key}.fit", "a table")
        check.keys(fit, FIT_KEYS, f"{key}.fit")
        s.fit = dict(fit)
    if "walk" in table:
        s.walk = _walk(table["walk"], s, f"{key}.walk", check)
    plots = check.kind(table.get("plot", []), list, f"{key}.plot", "a list of [[section.plot]]")
    s.plots = tuple(_plot(p, s, f"{key}.plot[{i}]", check) for i, p in enumerate(plots, 1))
    _needs(s, spec, check)
    return s


def _loss(value: Any, options: Any, key: str, check: _Checker):
    from . import losses

    try:
        if isinstance(value, str):
            check.kind(options, dict, f"{key}.options", "a table")
            return losses.get(value, **options)
        check.kind(value, dict, f"{key}.loss", "a catalogue name or a table")
        check.keys(value, {"expression", "params", "data", "reduce", "regularization",
                           "prediction", "title"}, f"{key}.loss")
        for needed in ("expression", "params", "data"):
            if needed not in value:
                check.fail(f"{key}.loss.{needed}", "missing")
        return losses.Loss(check.kind(value["expression"], str, f"{key}.loss.expression", "text"),
                           check.names(value["params"], f"{key}.loss.params"),
                           check.names(value["data"], f"{key}.loss.data"),
                           reduce=value.get("reduce", "mean"),
                           regularization=value.get("regularization"),
                           prediction=value.get("prediction"), title=value.get("title"))
    except CalculusMLError as error:
        check.fail(f"{key}.loss", str(error).splitlines()[0])


def _point(table: Any, s: Section, key: str, check: _Checker) -> dict[str, sympy.Rational]:
    check.kind(table, dict, key, "a table such as { x = 3 }")
    point = {k: _exact(check.number(v, f"{key}.{k}")) for k, v in table.items()}
    _covers(point, s, key, check)
    return point


def _covers(point: Mapping[str, Any], s: Section, key: str, check: _Checker) -> None:
    """A point must give every symbol of a function, every parameter of a loss."""
    if s.expression is not None:
        needed = {x.name for x in s.expression.free_symbols}
    elif s.loss is not None:
        needed = set(s.names)
    else:
        check.fail(key, "a point needs an expression or a loss")
    if set(point) != needed:
        check.fail(key, f"the point must give {', '.join(sorted(needed))}, not "
                        f"{', '.join(sorted(point)) or 'nothing'}")


def _walk(table: Any, s: Section, key: str, check: _Checker) -> dict[str, Any]:
    check.kind(table, dict, key, "a table")
    check.keys(table, WALK_KEYS, key)
    if s.loss is None:
        check.fail(key, "a walk steps down a loss: give loss")
    for needed in ("param", "learning_rate", "steps"):
        if needed not in table:
            check.fail(f"{key}.{needed}", "missing")
    if table["param"] not in s.names:
        check.fail(f"{key}.param", f"{table['param']!r} is not a parameter "
                                   f"({', '.join(s.names)})")
    steps = table["steps"]
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= 100:
        check.fail(f"{key}.steps", f"must be a whole number from 1 to 100, not {steps!r}")
    fixed = check.kind(table.get("fixed", {}), dict, f"{key}.fixed", "a table")
    fixed = {k: check.number(v, f"{key}.fixed.{k}") for k, v in fixed.items()}
    others = set(s.names) - {table["param"]}
    if set(fixed) != others:
        check.fail(f"{key}.fixed", f"give the other parameters, {', '.join(sorted(others))}, "
                                   f"not {', '.join(sorted(fixed)) or 'nothing'}")
    start = check.number(table.get("start", 0), f"{key}.start")
    rate = check.number(table["learning_rate"], f"{key}.learning_rate")
    if rate <= 0:
        check.fail(f"{key}.learning_rate", "must be positive")
    return {"param": table["param"], "start": start, "fixed": fixed, "steps": steps,
            "learning_rate": rate}


_OPTION_TYPES = {"at": "number", "xlim": "pair", "ylim": "pair", "range": "pair",
                 "values": "numbers", "fixed": "numbers", "walk": "bool", "tangent": "bool",
                 "path": "bool", "param": "name", "params": "names", "along": "name",
                 "hold": "name", "source": "name"}


def _option(value: Any, kind: str, key: str, check: _Checker) -> None:
    """A plot option of the right type: number, pair (low, high), numbers, bool or name(s)."""
    if kind == "number":
        check.number(value, key)
    elif kind == "bool":
        check.kind(value, bool, key, "true or false")
    elif kind == "name":
        check.kind(value, str, key, "a name")
    elif kind == "names":
        check.names(value, key)
    else:
        items = list(value.values()) if isinstance(value, dict) and kind == "numbers" else value
        check.kind(items, list, key, "a table of numbers" if isinstance(value, dict) else
                   "a list of numbers")
        for k, v in enumerate(items, 1):
            check.number(v, f"{key}[{k}]")
        if kind == "pair" and (len(items) != 2 or items[0] >= items[1]):
            check.fail(key, f"must be [low, high], not {value!r}")


def _plot(table: Any, s: Section, key: str, check: _Checker) -> Plot:
    check.kind(table, dict, key, "a table")
    kind = table.get("kind")
    if kind not in PLOT_KINDS:
        check.fail(f"{key}.kind", f"must be one of {', '.join(PLOT_KINDS)}, not {kind!r}")
    check.keys(table, PLOT_KINDS[kind] | {"kind", "caption"}, key)
    options = {k: v for k, v in table.items() if k not in ("kind", "caption")}
    for name, value in options.items():
        _option(value, _OPTION_TYPES[name], f"{key}.{name}", check)
    one_loss = kind not in ("tangent", "slices")
    if one_loss and s.loss is None:
        check.fail(f"{key}.kind", f"a {kind} plot needs a loss")
    if not one_loss and s.expression is None:
        check.fail(f"{key}.kind", f"a {kind} plot needs an expression")
    if kind == "tangent":
        if len(s.expression.free_symbols) != 1:
            check.fail(f"{key}.kind", "a tangent needs a function of one variable")
        check.number(options.get("at"), f"{key}.at")
    if kind == "slices" and len(s.expression.free_symbols) != 2:
        check.fail(f"{key}.kind", "slices need a function of two variables")
    if (kind == "loss_history" or options.get("path")) and s.fit is None:
        check.fail(key, f"this {kind} plot draws the gradient-descent fit: give fit")
    if options.get("walk") and s.walk is None:
        check.fail(f"{key}.walk", "there is no walk in this section: give walk")
    if kind == "fitted_line":
        source = options.setdefault("source", "fit" if s.fit is not None else "solve")
        if source not in ("fit", "solve") or source == "fit" and s.fit is None:
            check.fail(f"{key}.source", f"must be \"fit\" (with a fit) or \"solve\", "
                                        f"not {source!r}")
    if kind == "cost_curve" and options.get("param", s.names[0]) not in s.names:
        check.fail(f"{key}.param", f"{options['param']!r} is not a parameter "
                                   f"({', '.join(s.names)})")
    caption = narrative(table.get("caption", ""), check, f"{key}.caption")
    return Plot(kind, options, caption, key.split(".", 1)[1])


def _needs(s: Section, spec: Spec, check: _Checker) -> None:
    """Data and placeholders: everything the section names must exist."""
    numeric = s.loss is not None and (s.points or s.fit is not None or s.walk is not None or any(
        p.kind not in ("tangent", "slices") for p in s.plots) or any(
        r.kind not in ("math", "expr", "result") for r, _ in refs(s)))
    if numeric:
        missing = [x.name for x in s.loss.data if x.name not in spec.data]
        if missing:
            check.fail("data", f"missing {', '.join(missing)}, which {s.key} "
                               f"({s.heading!r}) needs for its numbers")
        unset = [h.name for h in s.loss.hyperparameters if h.name not in s.hyper]
        if unset:
            check.fail(f"{s.key}.set", f"give a value for {', '.join(unset)}")
    for ref, key in refs(s):
        _check_ref(ref, s, key, check)


_CALL = re.compile(r"^\s*([A-Za-z]\w*)\s*\(([^()]*)\)\s*$")
_D = re.compile(r"\bD\(\s*([^(),]+?)\s*,\s*([A-Za-z]\w*)\s*\)")


def math_side(text: str) -> sympy.Expr:
    """One side of ``{math:A = B}``, every piece parsed safely: an expression, in which
    ``D(J, b)`` stands for the derivative of ``J`` with respect to ``b``; or a function name
    applied to expressions, ``f(x, y)``, for the left-hand side of a definition."""
    call = _CALL.match(text)
    if call and call.group(1) not in ("exp", "log", "ln", "sqrt", "abs", "sigmoid", "D"):
        args = [parse_expression(a) for a in call.group(2).split(",")]
        return sympy.Function(call.group(1))(*args)
    stash: dict[str, sympy.Derivative] = {}

    def derivative(match: re.Match) -> str:
        name = f"Dcml{len(stash)}"
        stash[name] = sympy.Derivative(parse_expression(match.group(1)),
                                       parse_expression(match.group(2)))
        return name

    expr = parse_expression(_D.sub(derivative, text).strip())
    expr = expr.xreplace({s: stash[s.name] for s in expr.free_symbols if s.name in stash})
    return expr.xreplace(_decimals(text))


def _decimals(text: str) -> dict[sympy.Rational, sympy.Float]:
    """The decimals written in ``text``, to be shown as written (``0.05``, not ``1/20``)."""
    out = {}
    for literal in re.findall(r"(?<![\w.])\d+\.\d+(?![\w.])", text):
        value = sympy.Rational(literal)
        if not value.is_integer:
            out[value] = sympy.Float(literal, max(15, len(literal)))
    return out


def _math_ref(arg: str, check: _Checker, key: str) -> None:
    sides = arg.split("=")
    if len(sides) > 2 or not arg:
        check.fail(key, f"{{math:{arg}}} must be one expression or A = B")
    for side in sides:
        try:
            math_side(side)
        except CalculusMLError as error:
            check.fail(key, f"bad expression in {{math:{arg}}}: {str(error).splitlines()[0]}")


def _only(names: tuple[str, ...]) -> str:
    """The one variable, when there is exactly one."""
    return names[0] if len(names) == 1 else ""


def _check_ref(ref: Ref, s: Section, key: str, check: _Checker) -> None:
    where = f"{{{ref.kind}{':' if ref.arg else ''}{ref.arg}}}"
    if ref.kind == "math":
        return _math_ref(ref.arg, check, key)
    if ref.kind in ("expr", "result", "value", "slope") and s.expression is None and s.loss is None:
        check.fail(key, f"{where} needs an expression or a loss in the section")
    if ref.kind == "result" and (ref.arg or _only(s.names)) not in s.names:
        check.fail(key, f"{where}: name one of {', '.join(s.names)}")
    if ref.kind in ("value", "slope"):
        var, at, point = ref.arg.rpartition("@")
        try:
            point = parse_point(point)
        except ValueError as error:
            check.fail(key, f"{where}: {error}")
        _covers(point, s, key, check)
        if ref.kind == "slope" and (var or _only(s.names)) not in s.names:
            check.fail(key, f"{where}: write {{slope:VAR@POINT}} with VAR one of "
                            f"{', '.join(s.names)}")
    if ref.kind in ("fit", "solve", "bound", "walk", "n") and s.loss is None:
        check.fail(key, f"{where} needs a loss in the section")
    if ref.kind == "fit" and (s.fit is None or ref.arg not in (
            *s.names, "iterations", "loss", "learning_rate")):
        check.fail(key, f"{where}: needs fit, and one of {', '.join(s.names)}, iterations, loss, "
                        "learning_rate")
    if ref.kind == "solve" and ref.arg not in s.names:
        check.fail(key, f"{where}: name one of {', '.join(s.names)}")
    if ref.kind == "walk":
        k, _, name = ref.arg.partition(":")
        if s.walk is None or not k.isdigit() or int(k) > s.walk["steps"] or name not in (
                s.walk["param"], "slope", "cost"):
            check.fail(key, f"{where}: write {{walk:K:NAME}} with a walk in the section, "
                            f"K ≤ its steps and NAME the parameter, slope or cost")
