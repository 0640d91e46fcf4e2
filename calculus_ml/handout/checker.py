"""Checking a spec's values: the :class:`Checker`, the limits every value must keep, and short
messages.

A spec is untrusted data, so besides its type every value has a bound: text lengths, list
lengths, magnitudes of coordinates, iterations. A problem is raised as
:class:`~calculus_ml.errors.SpecError` ``FILE: KEY: problem``, one line of at most
:data:`~calculus_ml.errors.MESSAGE_LIMIT` characters, with a long value quoted shortened.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import sympy

from ..errors import MESSAGE_LIMIT, CalculusMLError, SpecError, quoted
from ..parsing import parse_expression
from . import refs
from .refs import Narrative

__all__ = ["Checker", "message", "MAX_SPEC_BYTES", "MAX_LINE", "MAX_GOAL",
           "MAX_EXPRESSION", "MAX_TEXT", "MAX_ITEMS", "MAX_SECTIONS", "MAX_CURVES", "MAX_ROWS",
           "MAX_DATA_BYTES", "MAX_COORDINATE", "MAX_RATE", "MAX_ITER", "MAX_STEPS", "MAX_VISITS",
           "MAX_PLACEHOLDERS"]

T = TypeVar("T")

MAX_SPEC_BYTES = 1 << 20
"""The largest spec file (1 MiB)."""
MAX_LINE = 200
"""The longest title or heading, in characters."""
MAX_GOAL = 1000
"""The longest learning goal, in characters."""
MAX_EXPRESSION = 1000
"""The longest expression (of a function or a loss), in characters."""
MAX_TEXT = 20_000
"""The longest narrative text (a summary, a section's text, a caption), in characters."""
MAX_ITEMS = 50
"""The most goals, points of a table, figures of a section, names or numbers of a table."""
MAX_SECTIONS = 20
"""The most sections of a handout."""
MAX_CURVES = 12
"""The most curves of a slices plot."""
MAX_ROWS = 10_000
"""The most data rows (inline or from a CSV file)."""
MAX_DATA_BYTES = 4 << 20
"""The largest CSV file a spec reads (4 MiB)."""
MAX_COORDINATE = 1e9
"""The largest magnitude of a point, a plot limit, a held value or a walk's start."""
MAX_RATE = 1e6
"""The largest learning rate (and tolerance or momentum) of a fit or a walk."""
MAX_ITER = 20_000
"""The most iterations of a fit (epochs, for a stochastic method)."""
MAX_STEPS = 50_000
"""The most gradient steps of all the fits of a handout (a stochastic method takes one per
batch): each costs about 0.1 ms."""
MAX_VISITS = 50_000_000
"""The most data rows all the fits of a handout visit (iterations times rows, summed): each
costs up to about 0.1 µs."""
MAX_PLACEHOLDERS = 200
"""The most placeholders in one section's narrative."""

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
"""Control characters, line breaks other than ``\\n``, and the bidirectional embeddings,
overrides and isolates that show text in another order than it is written: refused in any
text."""


def message(path: Any, key: str, problem: str) -> str:
    """``FILE: KEY: problem`` on one line of at most :data:`~calculus_ml.errors.MESSAGE_LIMIT`
    characters."""
    where = str(path)
    if len(where) > 100:
        where = "…" + where[-99:]
    head = f"{where}: {key}: " if key else f"{where}: "
    problem = " ".join(str(problem).split())
    room = MESSAGE_LIMIT - len(head)
    if len(problem) > room:
        problem = problem[:room - 1] + "…"
    return head + problem


def _written(name: str) -> str:
    """A key of the spec as it may appear in a message: escaped, shortened, unquoted."""
    return quoted(name)[1:-1]


class Checker:
    """Raises :class:`SpecError` as ``FILE: KEY: problem`` (see :func:`message`)."""

    def __init__(self, path: Path):
        self.path = path
        self.steps = 0
        self.visits = 0
        self.exercises = 0  # of all the handout's worksheets

    def spend(self, key: str, steps: int, visits: int) -> None:
        """Count a fit's gradient steps and the data rows it visits against the handout's
        budget, :data:`MAX_STEPS` and :data:`MAX_VISITS`."""
        self.steps += steps
        self.visits += visits
        if self.steps > MAX_STEPS or self.visits > MAX_VISITS:
            self.fail(key, f"the fits would take {self.steps:,} gradient steps over "
                           f"{self.visits:,} data rows in all: too many (at most {MAX_STEPS:,} "
                           f"steps, {MAX_VISITS:,} rows); lower max_iter, or raise batch_size")

    def fail(self, key: str, problem: str) -> NoReturn:
        raise SpecError(message(self.path, key, problem))

    def keys(self, table: Mapping, allowed: set[str], key: str) -> None:
        for name in table:
            if name not in allowed:
                self.fail(f"{key}.{_written(name)}" if key else _written(name),
                          f"unknown key (allowed: {', '.join(sorted(allowed))})")

    def required(self, table: Mapping, needed: tuple[str, ...], key: str) -> None:
        for name in needed:
            if name not in table:
                self.fail(f"{key}.{name}", "missing")

    def kind(self, value: Any, kind: type | tuple, key: str, what: str) -> Any:
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            self.fail(key, f"must be {what}, not {quoted(value)}")
        return value

    def number(self, value: Any, key: str, bound: float = math.inf) -> float:
        """A finite number, at most ``bound`` in magnitude."""
        try:
            finite = not isinstance(value, bool) and isinstance(value, (int, float)) and (
                math.isfinite(value))
        except OverflowError:  # an integer beyond any float
            finite = False
        if not finite:
            self.fail(key, f"must be a finite number, not {quoted(value)}")
        if abs(value) > bound:
            self.fail(key, f"must be between -{bound:g} and {bound:g}, not {quoted(value)}")
        return value

    def whole(self, value: Any, key: str, low: int, high: int) -> int:
        """A whole number from ``low`` to ``high``."""
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.fail(key, f"must be a whole number from {low} to {high:,}, not {quoted(value)}")
        return value

    def items(self, value: Any, key: str, what: str, limit: int = MAX_ITEMS) -> list:
        """A list of at most ``limit`` entries."""
        self.kind(value, list, key, what)
        if len(value) > limit:
            self.fail(key, f"at most {limit:,} entries, not {len(value):,}")
        return value

    def names(self, value: Any, key: str) -> tuple[str, ...]:
        value = [value] if isinstance(value, str) else value
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            self.fail(key, f"must be a name or a list of names, not {quoted(value)}")
        if len(value) > MAX_ITEMS:
            self.fail(key, f"at most {MAX_ITEMS} names, not {len(value)}")
        return tuple(value)

    def numbers(self, table: Any, key: str, what: str, bound: float = math.inf
                ) -> dict[str, float]:
        """A table of finite numbers (``what`` describes it in the message)."""
        self.kind(table, dict, key, what)
        if len(table) > MAX_ITEMS:
            self.fail(key, f"at most {MAX_ITEMS} entries, not {len(table)}")
        return {k: self.number(v, f"{key}.{_written(k)}", bound) for k, v in table.items()}

    def line(self, value: Any, key: str) -> str:
        """One line of text (a title, a heading): no line break or control character."""
        self.text(value, key, MAX_LINE)
        if "\n" in value:
            self.fail(key, "must be one line of text")
        return value

    def text(self, value: Any, key: str, limit: int = MAX_TEXT) -> str:
        """Text of at most ``limit`` characters, without control characters."""
        self.kind(value, str, key, "text")
        if len(value) > limit:
            self.fail(key, f"at most {limit:,} characters, not {len(value):,}")
        bad = _CONTROL.search(value)
        if bad:
            self.fail(key, f"control character U+{ord(bad.group()):04X} in the text")
        return value

    def expression(self, text: Any, key: str) -> sympy.Expr:
        self.text(text, key, MAX_EXPRESSION)
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
        return self.parsed(refs.narrative, self.text(text, key), key)
