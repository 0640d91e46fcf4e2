"""The handout document: a small, format-neutral block model.

:func:`calculus_ml.handout.build` assembles a :class:`Document` of blocks — headings, prose, the
steps of a derivation, equations, tables, figures — with every number already computed and every
piece of maths a SymPy object; :mod:`calculus_ml.handout.writers` prints it in each format.
Running text is a sequence of inline tokens: :class:`Run` (words) and :class:`Math`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sympy

__all__ = ["Run", "Math", "Document", "Heading", "Prose", "Steps", "Solution", "Equations",
           "Table", "Figure", "PageBreak"]


@dataclass(frozen=True)
class Run:
    """Literal text in running text, with its style: any of ``"bold"``, ``"italic"``, ``"code"``."""

    text: str
    style: frozenset = frozenset()


@dataclass(frozen=True)
class Math:
    """Inline maths in running text, with the style of the words around it."""

    expr: sympy.Basic
    style: frozenset = frozenset()


@dataclass(frozen=True)
class Heading:
    """A heading (level 2 for a section) of inline text."""

    level: int
    text: tuple


@dataclass(frozen=True)
class Prose:
    """Paragraphs ``("p", inline)`` and bullet lists ``("ul", (inline, ...))``."""

    blocks: tuple


@dataclass(frozen=True)
class Steps:
    """A derivation's verified steps."""

    derivation: object


@dataclass(frozen=True)
class Solution:
    """A closed-form minimiser, solved step by step."""

    closed_form: object


@dataclass(frozen=True)
class Equations:
    """Display equations, each a chain ``a = b = ...`` of SymPy objects."""

    rows: tuple


@dataclass(frozen=True)
class Table:
    """Header and body cells, each cell an inline sequence."""

    header: tuple
    rows: tuple


@dataclass(frozen=True)
class Figure:
    """A figure's file stem (beside the document), its number and its caption (inline); an
    animation's ``player`` (a function that makes its HTML, called only by an HTML page) is
    shown in its place."""

    stem: str
    number: int
    caption: tuple
    player: Callable[[], str] | None = None


@dataclass(frozen=True)
class PageBreak:
    """What follows starts a new page (in print): a worksheet's answer key."""


@dataclass(frozen=True)
class Document:
    """A handout: its title and its blocks, in order."""

    title: str
    blocks: tuple
