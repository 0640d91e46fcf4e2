"""A handout section's ``worksheet``: exercises that need one rule, then the verified answer key.

``worksheet = { rule = "chain", level = 2, n = 6, seed = 0 }`` puts the questions under a heading
on a page of their own and the answer key, every step shown, on the next (see
:func:`calculus_ml.learning.practice`).
"""

from __future__ import annotations

from typing import Any

import sympy

from ..learning.practice import MAX_EXERCISES, RULES, practice
from . import document as doc
from .checker import Checker

__all__ = ["read_worksheet", "worksheet_blocks", "WORKSHEET_KEYS", "MAX_HANDOUT_EXERCISES"]

WORKSHEET_KEYS = {"rule", "level", "n", "seed"}

MAX_HANDOUT_EXERCISES = MAX_EXERCISES
"""The most exercises of all the worksheets of one handout (each is derived and verified,
up to half a second)."""


def read_worksheet(table: Any, key: str, check: Checker) -> dict[str, Any]:
    """The worksheet's settings, each checked."""
    check.kind(table, dict, key, "a table")
    check.keys(table, WORKSHEET_KEYS, key)
    rule = table.get("rule", "chain")
    if not isinstance(rule, str) or rule not in RULES:
        check.fail(f"{key}.rule", f"must be one of {', '.join(RULES)}")
    settings = {"rule": rule,
                "level": check.whole(table.get("level", 1), f"{key}.level", 1, 3),
                "n": check.whole(table.get("n", 6), f"{key}.n", 1, MAX_EXERCISES),
                "seed": check.whole(table.get("seed", 0), f"{key}.seed", 0, 2**32 - 1)}
    check.exercises += settings["n"]
    if check.exercises > MAX_HANDOUT_EXERCISES:
        check.fail(f"{key}.n", f"the worksheets would have {check.exercises} exercises in all: "
                               f"too many (at most {MAX_HANDOUT_EXERCISES} in one handout)")
    return settings


def worksheet_blocks(settings: dict[str, Any]) -> list:
    """Questions, then the answer key with each exercise's verified steps."""
    sheet = practice(**settings)
    questions = tuple((doc.Run(f"{e.number}. "), doc.Math(sympy.Derivative(e.expression, e.var)))
                      for e in sheet.exercises)
    blocks: list = [doc.PageBreak(), doc.Heading(3, (doc.Run("Questions"),)),
                    doc.Prose(tuple(("p", q) for q in questions)),
                    doc.PageBreak(),
                    doc.Heading(3, (doc.Run("Answer key"),))]
    for e in sheet.exercises:
        blocks += [doc.Prose((("p", (doc.Run(f"{e.number}. "),
                                     doc.Math(sympy.Eq(sympy.Derivative(e.expression, e.var),
                                                       e.answer)))),)),
                   doc.Steps(e.derivation)]
    return blocks
