"""A spec's ``[[section]]`` tables: what each key must be, and that a section has what it names.

A section shows a function (``expression``, ``wrt``) or a loss (``loss``, ``options``, ``set``) —
its steps, closed form, a table of ``points``, a gradient-descent ``fit``, a ``walk`` down one
parameter — and its figures (``[[section.plot]]``, one of :data:`PLOT_KINDS`). Every placeholder
of its narrative must name something the section has. A problem is raised by
:class:`~.checker.Checker` as :class:`~calculus_ml.errors.SpecError` ``FILE: KEY: problem``; every
value has a bound (:mod:`~.checker` lists them).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy

from .. import losses
from ..errors import CalculusMLError, DataError, quoted, shortened
from ..numeric.validation import check_labels
from ..optimize import GradientDescent
from ..optimize.optimizers import METHODS, SCHEDULES
from . import refs
from .checker import (MAX_COORDINATE, MAX_CURVES, MAX_EXPRESSION, MAX_ITER, MAX_PLACEHOLDERS,
                      MAX_RATE, MAX_ROWS, Checker)
from .refs import Narrative, Ref, exact, parse_point
from .training import TRAINING_KINDS, TRAINING_OPTIONS, TRAINING_TYPES, check_network
from .worksheet import read_worksheet

__all__ = ["Section", "Plot", "read_section", "placeholders", "PLOT_KINDS"]

SECTION_KEYS = {"heading", "text", "after", "expression", "wrt", "loss", "options", "set", "show",
                "closed_form", "points", "fit", "walk", "plot", "worksheet"}
SHOWS = ("steps", "result", "matrix", "backpropagation", "none")
FIT_KEYS = {"learning_rate", "max_iter", "tol", "method", "standardize", "init", "momentum",
            "batch_size", "schedule", "random_state"}
_FIT_RANGES = {"learning_rate": (lambda v: v > 0, "must be a positive number or \"auto\""),
               "tol": (lambda v: v >= 0, "must be at least 0"),
               "momentum": (lambda v: 0 <= v < 1, "must be at least 0 and below 1")}
_FIT_WHOLE = {"max_iter": (1, MAX_ITER), "batch_size": (1, MAX_ROWS),
              "random_state": (0, 2**32 - 1)}
_DEFAULT_MAX_ITER = inspect.signature(GradientDescent).parameters["max_iter"].default
WALK_KEYS = {"param", "start", "learning_rate", "steps", "fixed"}
PLOT_KINDS: dict[str, set[str]] = {
    "tangent": {"at", "xlim"},
    "slices": {"along", "range", "hold", "values"},
    "cost_curve": {"param", "fixed", "xlim", "walk", "tangent"},
    "contour": {"params", "path", "xlim", "ylim", "fixed"},
    "surface": {"params", "path", "xlim", "ylim", "fixed"},
    "loss_history": set(),
    "fitted_line": {"source"},
    "graph": set(),
    **{kind: TRAINING_OPTIONS for kind in TRAINING_KINDS},
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
    worksheet: dict[str, Any] | None = None

    @property
    def names(self) -> tuple[str, ...]:
        """The variables: ``wrt`` of a function, the parameters of a loss."""
        return tuple(p.name for p in self.loss.params) if self.loss is not None else self.wrt


def read_section(table: dict, key: str, data: Mapping[str, np.ndarray], check: Checker
                 ) -> Section:
    """A ``[[section]]`` table, checked (``data``: the spec's, for what its numbers need)."""
    check.keys(table, SECTION_KEYS, key)
    check.required(table, ("heading",), key)
    s = Section(key=key, heading=check.line(table["heading"], f"{key}.heading"))
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
                check.fail(f"{key}.wrt", f"{quoted(name)} does not occur in the expression "
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
        check.fail(f"{key}.show", f"must be one of {', '.join(SHOWS)}, not {quoted(s.show)}")
    if s.show != "none" and s.expression is None and s.loss is None:
        check.fail(f"{key}.show", "there is nothing to show: give expression or loss")
    if s.show == "matrix" and not getattr(s.loss, "matrix_gradient", None):
        check.fail(f"{key}.show", "matrix needs a loss with a matrix form "
                                  "(e.g. loss = \"logistic\" with options = { vector = true })")
    if s.show == "backpropagation" and not hasattr(s.loss, "backpropagation"):
        check.fail(f"{key}.show", "backpropagation needs a network loss (loss = \"mlp\")")
    s.closed_form = check.kind(table.get("closed_form", False), bool, f"{key}.closed_form",
                               "true or false")
    s.points = tuple(_point(p, s, f"{key}.points[{i}]", check)
                     for i, p in enumerate(check.items(table.get("points", []), f"{key}.points",
                                                       "a list of tables"), 1))
    if "fit" in table:
        s.fit = _fit(table["fit"], data, f"{key}.fit", check)
    if "walk" in table:
        s.walk = _walk(table["walk"], s, f"{key}.walk", check)
    if "worksheet" in table:
        s.worksheet = read_worksheet(table["worksheet"], f"{key}.worksheet", check)
    plots = check.items(table.get("plot", []), f"{key}.plot", "a list of [[section.plot]]")
    s.plots = tuple(_plot(p, s, f"{key}.plot[{i}]", check) for i, p in enumerate(plots, 1))
    _needs(s, data, check)
    return s


def _loss(value: Any, options: Any, key: str, check: Checker) -> losses.Loss:
    if isinstance(value, str):
        check.kind(options, dict, f"{key}.options", "a table")
        build, args = losses.get, (value,)
    else:
        check.kind(value, dict, f"{key}.loss", "a catalogue name or a table")
        check.keys(value, {"expression", "params", "data", "reduce", "regularization",
                           "prediction", "title"}, f"{key}.loss")
        check.required(value, ("expression", "params", "data"), f"{key}.loss")
        texts = {k: check.text(value[k], f"{key}.loss.{k}", MAX_EXPRESSION) for k in
                 ("expression", "reduce", "regularization", "prediction", "title") if k in value}
        build, args = losses.Loss, (texts.pop("expression"),
                                    check.names(value["params"], f"{key}.loss.params"),
                                    check.names(value["data"], f"{key}.loss.data"))
        options = texts
    try:
        return build(*args, **options)
    except CalculusMLError as error:
        check.fail(f"{key}.loss", str(error).splitlines()[0])


def _point(table: Any, s: Section, key: str, check: Checker) -> dict[str, sympy.Rational]:
    numbers = check.numbers(table, key, "a table such as { x = 3 }", MAX_COORDINATE)
    point = {k: exact(v) for k, v in numbers.items()}
    _covers(point, s, key, check)
    return point


def _parameter(name: str, s: Section, key: str, check: Checker) -> None:
    if name not in s.names:
        check.fail(key, f"{quoted(name)} is not a parameter ({', '.join(s.names)})")


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


def _fit(table: Any, data: Mapping[str, np.ndarray], key: str, check: Checker) -> dict[str, Any]:
    """Gradient-descent options, each of its type and within bounds; its work is counted against
    the handout's budget (:meth:`~.checker.Checker.spend`)."""
    check.kind(table, dict, key, "a table")
    check.keys(table, FIT_KEYS, key)
    fit = dict(table)
    for name, value in table.items():
        where = f"{key}.{name}"
        if name in _FIT_RANGES:
            within, problem = _FIT_RANGES[name]
            if not (name == "learning_rate" and value == "auto") and not within(
                    check.number(value, where, MAX_RATE)):
                check.fail(where, problem)
        elif name in _FIT_WHOLE:
            check.whole(value, where, *_FIT_WHOLE[name])
        elif name in ("method", "schedule"):
            choices = METHODS if name == "method" else SCHEDULES
            if not isinstance(value, str) or value not in choices:
                check.fail(where, f"must be one of {', '.join(choices)}, not {quoted(value)}")
        elif name == "standardize":
            check.kind(value, bool, where, "true or false")
        else:  # init
            fit[name] = check.numbers(value, where, "a table of parameter values", MAX_COORDINATE)
    n = len(next(iter(data.values()), ()))
    size = 1 if fit.get("method") == "sgd" else fit.get("batch_size", min(32, n))
    stochastic = fit.get("method") in ("sgd", "minibatch") or "batch_size" in fit
    iterations = fit.get("max_iter", _DEFAULT_MAX_ITER)
    check.spend(key, iterations * (-(-n // size) if stochastic else 1), iterations * n)
    return fit


def _walk(table: Any, s: Section, key: str, check: Checker) -> dict[str, Any]:
    check.kind(table, dict, key, "a table")
    check.keys(table, WALK_KEYS, key)
    if s.loss is None:
        check.fail(key, "a walk steps down a loss: give loss")
    check.required(table, ("param", "learning_rate", "steps"), key)
    _parameter(table["param"], s, f"{key}.param", check)
    steps = check.whole(table["steps"], f"{key}.steps", 1, 100)
    fixed = check.numbers(table.get("fixed", {}), f"{key}.fixed", "a table", MAX_COORDINATE)
    others = set(s.names) - {table["param"]}
    if set(fixed) != others:
        check.fail(f"{key}.fixed", f"give the other parameters, {', '.join(sorted(others))}, "
                                   f"not {', '.join(sorted(fixed)) or 'nothing'}")
    start = check.number(table.get("start", 0), f"{key}.start", MAX_COORDINATE)
    rate = check.number(table["learning_rate"], f"{key}.learning_rate", MAX_RATE)
    if rate <= 0:
        check.fail(f"{key}.learning_rate", "must be positive")
    return {"param": table["param"], "start": start, "fixed": fixed, "steps": steps,
            "learning_rate": rate}


_OPTION_TYPES = {"at": "number", "xlim": "pair", "ylim": "pair", "range": "pair",
                 "values": "numbers", "fixed": "numbers", "walk": "bool", "tangent": "bool",
                 "path": "bool", "param": "name", "params": "names", "along": "name",
                 "hold": "name", "source": "name", **TRAINING_TYPES}


def _option(value: Any, kind: str, key: str, check: Checker) -> None:
    """A plot option of the right type: number, pair (low, high), numbers, bool or name(s)."""
    if kind == "number":
        check.number(value, key, MAX_COORDINATE)
    elif kind == "bool":
        check.kind(value, bool, key, "true or false")
    elif kind == "name":
        check.kind(value, str, key, "a name")
    elif kind == "names":
        check.names(value, key)
    else:
        items = list(value.values()) if isinstance(value, dict) and kind == "numbers" else value
        check.items(items, key, "a table of numbers" if isinstance(value, dict) else
                    "a list of numbers", MAX_CURVES)
        for k, v in enumerate(items, 1):
            check.number(v, f"{key}[{k}]", MAX_COORDINATE)
        if kind == "pair" and (len(items) != 2 or items[0] >= items[1]):
            check.fail(key, f"must be [low, high], not {quoted(value)}")


def _plot(table: Any, s: Section, key: str, check: Checker) -> Plot:
    check.kind(table, dict, key, "a table")
    kind = table.get("kind")
    if not isinstance(kind, str) or kind not in PLOT_KINDS:
        check.fail(f"{key}.kind", f"must be one of {', '.join(PLOT_KINDS)}, not {quoted(kind)}")
    check.keys(table, PLOT_KINDS[kind] | {"kind", "caption"}, key)
    options = {k: v for k, v in table.items() if k not in ("kind", "caption")}
    for name, value in options.items():
        _option(value, _OPTION_TYPES[name], f"{key}.{name}", check)
    one_loss = kind not in ("tangent", "slices")
    if one_loss and s.loss is None:
        check.fail(f"{key}.kind", f"a {kind} plot needs a loss")
    if not one_loss and s.expression is None:
        check.fail(f"{key}.kind", f"a {kind} plot needs an expression")
    if kind == "graph" or kind in TRAINING_KINDS:
        check_network(kind, options, s, key, check)
    if kind == "tangent":
        if len(s.expression.free_symbols) != 1:
            check.fail(f"{key}.kind", "a tangent needs a function of one variable")
        check.number(options.get("at"), f"{key}.at", MAX_COORDINATE)
    if kind == "slices" and len(s.expression.free_symbols) != 2:
        check.fail(f"{key}.kind", "slices need a function of two variables")
    if (kind == "loss_history" or options.get("path")) and s.fit is None:
        check.fail(key, f"this {kind} plot draws the gradient-descent fit: give fit")
    if options.get("walk") and s.walk is None:
        check.fail(f"{key}.walk", "there is no walk in this section: give walk")
    if kind == "fitted_line":
        prediction = s.loss.prediction
        if prediction is None or len([x for x in s.loss.data if x in prediction.free_symbols]) != 1:
            check.fail(f"{key}.kind", "a fitted_line plot needs a loss whose prediction has one "
                                      "feature")
        source = options.setdefault("source", "fit" if s.fit is not None else "solve")
        if source not in ("fit", "solve") or source == "fit" and s.fit is None:
            check.fail(f"{key}.source", f"must be \"fit\" (with a fit) or \"solve\", "
                                        f"not {quoted(source)}")
    if kind == "cost_curve" and "param" in options:
        _parameter(options["param"], s, f"{key}.param", check)
    caption = check.narrative(table.get("caption", ""), f"{key}.caption")
    return Plot(kind, options, caption, key.split(".", 1)[1])


def _needs(s: Section, data: Mapping[str, np.ndarray], check: Checker) -> None:
    """Data and placeholders: everything the section names must exist."""
    numeric = s.loss is not None and (s.points or s.fit is not None or s.walk is not None or any(
        p.kind not in ("tangent", "slices", "graph", *TRAINING_KINDS) for p in s.plots) or any(
        r.kind not in ("math", "expr", "result") for r, _ in placeholders(s)))
    if numeric:
        missing = [x.name for x in s.loss.data if x.name not in data]
        if missing:
            check.fail("data", f"missing {', '.join(missing)}, which {s.key} "
                               f"({quoted(s.heading)}) needs for its numbers")
        unset = [h.name for h in s.loss.hyperparameters if h.name not in s.hyper]
        if unset:
            check.fail(f"{s.key}.set", f"give a value for {', '.join(unset)}")
        try:
            check_labels(s.loss, data)
        except DataError as error:
            check.fail("data", f"{error} (in {s.key})")
    found = placeholders(s)
    if len(found) > MAX_PLACEHOLDERS:
        check.fail(s.key, f"at most {MAX_PLACEHOLDERS} placeholders in a section, not {len(found)}")
    for ref, key in found:
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
    where = shortened(f"{{{ref.kind}{':' if ref.arg else ''}{ref.arg}}}")
    if ref.kind == "math":
        check.parsed(refs.parse_math, ref.arg, key)
        return
    if ref.kind in ("expr", "result", "value", "slope", *refs.DIFFERENCES) and (
            s.expression is None and s.loss is None):
        check.fail(key, f"{where} needs an expression or a loss in the section")
    if ref.kind == "result" and (ref.arg or _only(s.names)) not in s.names:
        check.fail(key, f"{where}: name one of {', '.join(s.names)}")
    if ref.kind in ("value", "slope", *refs.DIFFERENCES):
        var, at, point = ref.arg.rpartition("@")
        try:
            if ref.kind in refs.DIFFERENCES:
                var, step, point = refs.parse_difference(ref.arg)
                if abs(step) > MAX_COORDINATE:
                    check.fail(key, f"{where}: the step must be at most {MAX_COORDINATE:g}")
            else:
                point = parse_point(point)
        except ValueError as error:
            check.fail(key, f"{where}: {error}")
        for name, value in point.items():
            if abs(value) > MAX_COORDINATE:
                check.fail(key, f"{where}: {name} must be between -{MAX_COORDINATE:g} and "
                                f"{MAX_COORDINATE:g}")
        _covers(point, s, key, check)
        if ref.kind != "value" and (var or _only(s.names)) not in s.names:
            check.fail(key, f"{where}: write {{{ref.kind}:VAR@POINT}} with VAR one of "
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
        if s.walk is None or not re.fullmatch(r"[0-9]{1,3}", k) or int(k) > s.walk["steps"] or (
                name not in (s.walk["param"], "slope", "cost")):
            check.fail(key, f"{where}: write {{walk:K:NAME}} with a walk in the section, "
                            f"K ≤ its steps and NAME the parameter, slope or cost")
