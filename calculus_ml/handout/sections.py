"""A spec's ``[[section]]`` tables: what each key must be, and that a section has what it names.

A section shows a function (``expression``, ``wrt``) or a loss (``loss``, ``options``, ``set``) —
its steps, closed form, a table of ``points``, a gradient-descent ``fit``, a ``walk`` down one
parameter — and its figures (``[[section.plot]]``, one of :data:`PLOT_KINDS`). Every placeholder
of its narrative must name something the section has. A problem is raised by :class:`Checker`
as :class:`~calculus_ml.errors.SpecError` ``FILE: KEY: problem``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import numpy as np
import sympy

from .. import losses
from ..errors import CalculusMLError, SpecError
from ..parsing import parse_expression
from . import refs
from .refs import Narrative, Ref, exact, parse_point

__all__ = ["Section", "Plot", "Checker", "read_section", "placeholders", "PLOT_KINDS"]

T = TypeVar("T")

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


class Checker:
    """Raises :class:`SpecError` as ``FILE: KEY: problem``."""

    def __init__(self, path: Path):
        self.path = path

    def fail(self, key: str, problem: str) -> NoReturn:
        raise SpecError(f"{self.path}: {key}: {problem}")

    def keys(self, table: Mapping, allowed: set[str], key: str) -> None:
        for name in table:
            if name not in allowed:
                self.fail(f"{key}.{name}" if key else name,
                          f"unknown key (allowed: {', '.join(sorted(allowed))})")

    def required(self, table: Mapping, needed: tuple[str, ...], key: str) -> None:
        for name in needed:
            if name not in table:
                self.fail(f"{key}.{name}", "missing")

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

    def numbers(self, table: Any, key: str, what: str) -> dict[str, float]:
        """A table of finite numbers (``what`` describes it in the message)."""
        self.kind(table, dict, key, what)
        return {k: self.number(v, f"{key}.{k}") for k, v in table.items()}

    def expression(self, text: Any, key: str) -> sympy.Expr:
        self.kind(text, str, key, "an expression as text")
        try:
            return parse_expression(text)
        except CalculusMLError as error:
            self.fail(key, f"bad expression: {str(error).splitlines()[0]}")

    def parsed(self, parse: Callable[[str], T], text: str, key: str) -> T:
        """``parse(text)``, a :class:`~.refs.MarkupError` reported as the problem at ``key``."""
        try:
            return parse(text)
        except refs.MarkupError as error:
            problem = str(error)
        self.fail(key, problem)

    def narrative(self, text: Any, key: str) -> Narrative:
        """Markdown text as a narrative (:func:`.refs.narrative`)."""
        return self.parsed(refs.narrative, self.kind(text, str, key, "Markdown text"), key)


def read_section(table: dict, key: str, data: Mapping[str, np.ndarray], check: Checker
                 ) -> Section:
    """A ``[[section]]`` table, checked (``data``: the spec's, for what its numbers need)."""
    check.keys(table, SECTION_KEYS, key)
    check.required(table, ("heading",), key)
    s = Section(key=key, heading=check.kind(table["heading"], str, f"{key}.heading", "text"))
    s.text = check.narrative(table.get("text", ""), f"{key}.text")
    s.after = check.narrative(table.get("after", ""), f"{key}.after")
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
    s.hyper = check.numbers(table.get("set", {}), f"{key}.set", "a table of numbers")
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
    _needs(s, data, check)
    return s


def _loss(value: Any, options: Any, key: str, check: Checker) -> losses.Loss:
    try:
        if isinstance(value, str):
            check.kind(options, dict, f"{key}.options", "a table")
            return losses.get(value, **options)
        check.kind(value, dict, f"{key}.loss", "a catalogue name or a table")
        check.keys(value, {"expression", "params", "data", "reduce", "regularization",
                           "prediction", "title"}, f"{key}.loss")
        check.required(value, ("expression", "params", "data"), f"{key}.loss")
        return losses.Loss(check.kind(value["expression"], str, f"{key}.loss.expression", "text"),
                           check.names(value["params"], f"{key}.loss.params"),
                           check.names(value["data"], f"{key}.loss.data"),
                           reduce=value.get("reduce", "mean"),
                           regularization=value.get("regularization"),
                           prediction=value.get("prediction"), title=value.get("title"))
    except CalculusMLError as error:
        check.fail(f"{key}.loss", str(error).splitlines()[0])


def _point(table: Any, s: Section, key: str, check: Checker) -> dict[str, sympy.Rational]:
    numbers = check.numbers(table, key, "a table such as { x = 3 }")
    point = {k: exact(v) for k, v in numbers.items()}
    _covers(point, s, key, check)
    return point


def _parameter(name: str, s: Section, key: str, check: Checker) -> None:
    if name not in s.names:
        check.fail(key, f"{name!r} is not a parameter ({', '.join(s.names)})")


def _covers(point: Mapping[str, Any], s: Section, key: str, check: Checker) -> None:
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


def _walk(table: Any, s: Section, key: str, check: Checker) -> dict[str, Any]:
    check.kind(table, dict, key, "a table")
    check.keys(table, WALK_KEYS, key)
    if s.loss is None:
        check.fail(key, "a walk steps down a loss: give loss")
    check.required(table, ("param", "learning_rate", "steps"), key)
    _parameter(table["param"], s, f"{key}.param", check)
    steps = table["steps"]
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= 100:
        check.fail(f"{key}.steps", f"must be a whole number from 1 to 100, not {steps!r}")
    fixed = check.numbers(table.get("fixed", {}), f"{key}.fixed", "a table")
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


def _option(value: Any, kind: str, key: str, check: Checker) -> None:
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


def _plot(table: Any, s: Section, key: str, check: Checker) -> Plot:
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
    if kind == "cost_curve" and "param" in options:
        _parameter(options["param"], s, f"{key}.param", check)
    caption = check.narrative(table.get("caption", ""), f"{key}.caption")
    return Plot(kind, options, caption, key.split(".", 1)[1])


def _needs(s: Section, data: Mapping[str, np.ndarray], check: Checker) -> None:
    """Data and placeholders: everything the section names must exist."""
    numeric = s.loss is not None and (s.points or s.fit is not None or s.walk is not None or any(
        p.kind not in ("tangent", "slices") for p in s.plots) or any(
        r.kind not in ("math", "expr", "result") for r, _ in placeholders(s)))
    if numeric:
        missing = [x.name for x in s.loss.data if x.name not in data]
        if missing:
            check.fail("data", f"missing {', '.join(missing)}, which {s.key} "
                               f"({s.heading!r}) needs for its numbers")
        unset = [h.name for h in s.loss.hyperparameters if h.name not in s.hyper]
        if unset:
            check.fail(f"{s.key}.set", f"give a value for {', '.join(unset)}")
    for ref, key in placeholders(s):
        _check_ref(ref, s, key, check)


def placeholders(section: Section) -> list[tuple[Ref, str]]:
    """Every placeholder of a section's narrative, with its key."""
    found = []
    parts = [("text", section.text), ("after", section.after)]
    parts += [(f"{p.key}.caption", p.caption) for p in section.plots]
    for key, blocks in parts:
        for line in refs.lines(blocks):
            found += [(t, f"{section.key}.{key}") for t in line if isinstance(t, Ref)]
    return found


def _only(names: tuple[str, ...]) -> str:
    """The one variable, when there is exactly one."""
    return names[0] if len(names) == 1 else ""


def _check_ref(ref: Ref, s: Section, key: str, check: Checker) -> None:
    where = f"{{{ref.kind}{':' if ref.arg else ''}{ref.arg}}}"
    if ref.kind == "math":
        check.parsed(refs.parse_math, ref.arg, key)
        return
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
