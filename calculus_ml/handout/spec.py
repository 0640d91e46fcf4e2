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

Narrative text (``summary``, ``goals``, ``text``, ``after``, captions) is Markdown in which
placeholders such as ``{slope:x=3}`` name the numbers the builder computes
(:mod:`calculus_ml.handout.refs` lists them); :mod:`calculus_ml.handout.sections` checks each
``[[section]]``. :func:`load` raises :class:`~calculus_ml.errors.SpecError` naming the file, the
key and the problem.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from ..datasets import read_csv
from ..errors import CalculusMLError, SpecError
from . import refs
from .refs import Inline, Narrative, Ref
from .sections import Checker, Section, read_section

__all__ = ["Spec", "load", "TOP_KEYS"]

TOP_KEYS = {"title", "summary", "goals", "data", "section"}


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
    check = Checker(path)
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
        summary=check.narrative(raw.get("summary", ""), "summary"),
        goals=tuple(check.parsed(refs.inline, check.kind(g, str, f"goals[{k}]", "text"),
                                 f"goals[{k}]") for k, g in enumerate(goals, 1)),
        data=_data(raw.get("data", {}), check), sections=[])
    for top, lines in (("summary", refs.lines(spec.summary)), ("goals", spec.goals)):
        for line in lines:
            if any(isinstance(t, Ref) and t.kind != "math" for t in line):
                check.fail(top, "only {math:...} placeholders belong outside a section")
            for t in line:
                if isinstance(t, Ref):
                    check.parsed(refs.parse_math, t.arg, top)
    sections = raw.get("section")
    if not isinstance(sections, list) or not sections:
        check.fail("section", "missing: a handout needs at least one [[section]]")
    for k, table in enumerate(sections, 1):
        spec.sections.append(read_section(check.kind(table, dict, f"section[{k}]", "a table"),
                                          f"section[{k}]", spec.data, check))
    return spec


def _data(table: Any, check: Checker) -> dict[str, np.ndarray]:
    """The ``[data]`` table: a CSV beside the spec (:func:`~calculus_ml.datasets.read_csv`)
    with its columns renamed to data names, or inline arrays of equal length."""
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


