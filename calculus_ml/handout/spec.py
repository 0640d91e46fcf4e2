"""Handout specs: one TOML file per handout, read with :mod:`tomllib` and checked key by key.

A spec is data, not code. Its keys (every other key is an error)::

    title = "The chain rule"                 # required
    summary = "One paragraph of Markdown."   # optional
    goals = ["...", "..."]                   # optional: the learning goals, Markdown
    detail = "standard"                      # optional: how much of each derivation is shown,
                                             # standard | full | brief

    [data]                  # optional: arrays by the loss's data names, and/or a bundled CSV
    x = [100, 200, 250]     # inline, or:  csv = "data/films.csv"  (a regular file inside the
    y = [275, 300, 550]     # spec's folder)  columns = { x = "budget", y = "revenue" }

    [[section]]             # one or more
    heading = "..."                         # required
    text = "..."                            # Markdown before the maths;  after = "..." after it
    expression = "(3*x^2 + 10*x)^3"         # a function (parsed safely) with  wrt = ["x"], or
    loss = "rss"                            # a catalogue loss (options = {vector = true}), or
                                            # { expression, params, data, reduce, regularization,
                                            #   prediction } for a custom one
    set = { lam = 0.5 }                     # hyperparameter values
    show = "steps"                          # steps | result | matrix | backpropagation | none
    closed_form = true                      # the minimiser step by step (least squares)
    points = [{ x = 3 }]                    # a table of values and slopes at these points
    fit = { learning_rate = 0.1, standardize = true }   # gradient descent (any GradientDescent
                                            # option; learning_rate = "auto": a quarter of the
                                            # stable bound 2/λ_max, for a quadratic loss)
    walk = { param = "b", start = 0, learning_rate = 0.05, steps = 4, fixed = { m = 1.5 } }
    [[section.plot]]                        # figures: kind = tangent | slices | cost_curve |
    kind = "tangent"                        # contour | surface | loss_history | fitted_line |
                                            # graph (a network loss's computation graph),
                                            # learning_curve | decision_boundary |
                                            # descent_animation (a network trained with Adam
                                            # on data = "moons" | "xor"; see .training),
    at = 3                                  # the kind's options and a caption

Narrative text (``summary``, ``goals``, ``text``, ``after``, captions) is Markdown in which
placeholders such as ``{slope:x=3}`` name the numbers the builder computes
(:mod:`calculus_ml.handout.refs` lists them); :mod:`calculus_ml.handout.sections` checks each
``[[section]]``. :func:`load` raises :class:`~calculus_ml.errors.SpecError` naming the file, the
key and the problem.

A spec is untrusted data: every value is bounded (:mod:`calculus_ml.handout.checker`), its file
name is the handout's name (letters, digits, ``.``, ``_`` and ``-``: it becomes file names and
figure paths), and its CSV file must be a regular file inside the spec's folder once every
symbolic link is followed.
"""

from __future__ import annotations

import stat
import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from ..datasets import read_csv, read_regular_file
from ..derivation import DETAILS
from ..errors import CalculusMLError, quoted
from . import NAME, refs
from .checker import (MAX_DATA_BYTES, MAX_GOAL, MAX_LINE, MAX_ROWS, MAX_SECTIONS,
                      MAX_SPEC_BYTES, Checker)
from .refs import Inline, Narrative, Ref
from .sections import Section, read_section

__all__ = ["Spec", "load", "TOP_KEYS"]

TOP_KEYS = {"title", "summary", "goals", "detail", "data", "section"}


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
    detail: str = "standard"


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
    raw = _toml(path, check)
    if not NAME.fullmatch(path.stem):
        check.fail("", f"the file name {quoted(path.stem)} is not a handout name: use letters, "
                       "digits, '.', '_' and '-', starting with a letter or digit")
    check.keys(raw, TOP_KEYS, "")
    if "title" not in raw:
        check.fail("title", "missing (every handout needs a title)")
    goals = check.items(raw.get("goals", []), "goals", "a list of Markdown strings")
    spec = Spec(
        path=path, name=path.stem, title=check.line(raw["title"], "title"),
        summary=check.narrative(raw.get("summary", ""), "summary"),
        goals=tuple(check.parsed(refs.inline, check.text(g, f"goals[{k}]", MAX_GOAL),
                                 f"goals[{k}]") for k, g in enumerate(goals, 1)),
        data=_data(raw.get("data", {}), check), sections=[],
        detail=raw.get("detail", "standard"))
    if spec.detail not in DETAILS:
        check.fail("detail", f"must be one of {', '.join(DETAILS)}")
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
    check.items(sections, "section", "a list of [[section]] tables", MAX_SECTIONS)
    for k, table in enumerate(sections, 1):
        spec.sections.append(read_section(check.kind(table, dict, f"section[{k}]", "a table"),
                                          f"section[{k}]", spec.data, check))
    return spec


def _toml(path: Path, check: Checker) -> dict[str, Any]:
    """The file's TOML: a regular file of at most :data:`~.checker.MAX_SPEC_BYTES`, UTF-8, and
    not nested too deeply for the parser."""
    try:
        text = read_regular_file(path, MAX_SPEC_BYTES).decode("utf-8")
        return tomllib.loads(text)
    except CalculusMLError as error:
        check.fail("", str(error).replace(f"cannot read {path}:", "cannot read:", 1))
    except UnicodeDecodeError:
        check.fail("", "cannot read: not UTF-8 text")
    except (tomllib.TOMLDecodeError, ValueError) as error:  # ValueError: an integer too long
        check.fail("", f"not valid TOML: {error}")
    except RecursionError:
        check.fail("", "not valid TOML: nested too deeply")


def _data(table: Any, check: Checker) -> dict[str, np.ndarray]:
    """The ``[data]`` table: a CSV beside the spec (:func:`~calculus_ml.datasets.read_csv`)
    with its columns renamed to data names, or inline arrays of equal length."""
    check.kind(table, dict, "data", "a table")
    out: dict[str, np.ndarray] = {}
    if "csv" in table:
        check.keys(table, {"csv", "columns"}, "data")
        name = check.text(table["csv"], "data.csv", MAX_LINE)
        columns = table.get("columns", {})
        check.kind(columns, dict, "data.columns", "a table of data name = CSV column")
        path = _inside(name, check)
        try:
            found = read_csv(path, max_bytes=MAX_DATA_BYTES)
        except CalculusMLError as error:
            check.fail("data.csv", str(error).splitlines()[0])
        rows = len(next(iter(found.values())))
        if rows > MAX_ROWS:
            check.fail("data.csv", f"at most {MAX_ROWS:,} rows of data, not {rows:,}")
        for column in columns.values():
            if not isinstance(column, str) or column not in found:
                check.fail("data.columns", f"no column {quoted(column)} in {quoted(name)} "
                                           f"(its columns: {', '.join(found)})")
        rename = {v: k for k, v in columns.items()}
        return {rename.get(k, k): v for k, v in found.items()}
    check.items(list(table), "data", "a table of arrays")
    for name, values in table.items():
        key = f"data.{name}"
        if not isinstance(values, list) or not values:
            check.fail(key, "must be a non-empty list of numbers")
        check.items(values, key, "a list of numbers", MAX_ROWS)
        out[name] = np.array([check.number(v, f"{key}[{i}]") for i, v in enumerate(values, 1)],
                             dtype=float)
    sizes = {len(v) for v in out.values()}
    if len(sizes) > 1:
        check.fail("data", f"the arrays have different lengths ({sorted(sizes)})")
    return out


def _inside(name: str, check: Checker) -> Path:
    """The CSV file ``name`` of the spec: a relative POSIX path (no ``..``, no drive, no
    backslash, on every system) to a regular file inside the spec's folder, every symbolic link
    followed. Returned as written (beside the spec), for messages."""
    relative = PurePosixPath(name)
    if (not name or relative.is_absolute() or ".." in relative.parts or "\\" in name
            or ":" in name):
        check.fail("data.csv", f"{quoted(name)} must be a relative path inside the spec's folder "
                               "(with / between folders)")
    folder = check.path.parent.resolve()
    try:
        target = (folder / relative).resolve(strict=True)
        mode = target.stat().st_mode
    except (OSError, RuntimeError) as error:  # missing, unreadable, or a loop of links
        check.fail("data.csv", f"cannot read {quoted(name)}: "
                               f"{getattr(error, 'strerror', None) or 'a loop of symbolic links'}")
    if not target.is_relative_to(folder):
        check.fail("data.csv", f"{quoted(name)} leads outside the spec's folder")
    if not stat.S_ISREG(mode):
        check.fail("data.csv", f"{quoted(name)} is not a regular file")
    return check.path.parent / relative
