"""Worksheets: reproducible exercises that need a given rule, with a verified answer key.

:func:`practice` draws expressions from templates of three levels per rule (1: the rule alone,
2: the rule with a little around it, 3: the rule nested or combined), keeps one only if its
verified derivation really uses the rule, and returns a :class:`Worksheet`: the questions, then
the answer key with every step.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import sympy

from ..derivation import Derivation, derive
from ..errors import ExpressionError
from ..derivation.point import Displayed
from ..render.base import derivative
from ..render.html import mathml
from ..render.latex import latex

__all__ = ["practice", "Worksheet", "Exercise", "RULES", "MAX_EXERCISES"]

MAX_EXERCISES = 30
"""Most exercises one worksheet may have."""

x = sympy.Symbol("x", real=True)
_OUTER = (sympy.sin, sympy.cos, sympy.exp, sympy.log, sympy.sqrt)
_FUNCTIONS = (sympy.sin, sympy.cos, sympy.exp, sympy.log)

Template = Callable[[random.Random], sympy.Expr]


def _c(rng: random.Random, low: int = 2, high: int = 9) -> int:
    return rng.randint(low, high)


def _poly(rng: random.Random) -> sympy.Expr:
    return _c(rng, 1, 5) * x**2 + rng.choice((-1, 1)) * _c(rng, 1, 9) * x


RULES: dict[str, tuple[Template, Template, Template]] = {
    "power": (
        lambda g: _c(g) * x**_c(g, 2, 7),
        lambda g: _c(g) * x**_c(g, 3, 6) - _c(g) * x**2 + _c(g, 1, 9),
        lambda g: _c(g) * x**_c(g, 2, 5) + _c(g) / x**_c(g, 1, 3) + _c(g) * sympy.sqrt(x),
    ),
    "product": (
        lambda g: x**_c(g, 1, 4) * g.choice(_FUNCTIONS)(x),
        lambda g: (_c(g) * x + _c(g, 1, 9)) * (x**2 - _c(g, 1, 9)) * g.choice(_FUNCTIONS)(x),
        lambda g: x**_c(g, 1, 3) * g.choice(_FUNCTIONS)(x) * g.choice(_FUNCTIONS)(_c(g) * x),
    ),
    "quotient": (
        lambda g: (_c(g) * x + _c(g, 1, 9)) / (x + _c(g, 1, 9)),
        lambda g: g.choice(_FUNCTIONS)(x) / (x**2 + _c(g, 1, 9)),
        lambda g: (x**2 + _c(g, 1, 9)) / (g.choice((sympy.exp, sympy.cos))(_c(g) * x) + _c(g)),
    ),
    "chain": (
        lambda g: (_c(g) * x + _c(g, 1, 9)) ** _c(g, 2, 6),
        lambda g: g.choice(_OUTER)(_poly(g) + _c(g, 10, 20)),
        lambda g: g.choice((sympy.sin, sympy.cos, sympy.exp))(_poly(g)) ** _c(g, 2, 4),
    ),
    "exp": (
        lambda g: _c(g) * sympy.exp(x),
        lambda g: sympy.exp(_c(g) * x + _c(g, 1, 9)),
        lambda g: x**_c(g, 1, 3) * sympy.exp(-_c(g) * x**2),
    ),
    "log": (
        lambda g: _c(g) * sympy.log(x),
        lambda g: sympy.log(_c(g) * x**2 + _c(g, 1, 9)),
        lambda g: x**_c(g, 1, 3) * sympy.log(_c(g) * x),
    ),
    "trig": (
        lambda g: _c(g) * sympy.sin(x) + _c(g) * sympy.cos(x),
        lambda g: g.choice((sympy.sin, sympy.cos, sympy.tan))(_c(g) * x + _c(g, 1, 9)),
        lambda g: sympy.sin(_c(g) * x) * sympy.cos(x) ** _c(g, 2, 3),
    ),
}
"""Each rule's templates, level 1 to 3; a template draws one expression."""


@dataclass(frozen=True)
class Exercise:
    """One exercise: differentiate ``expression`` by ``var``; ``derivation`` is the key."""

    number: int
    expression: sympy.Expr
    var: sympy.Symbol
    derivation: Derivation

    @property
    def answer(self) -> sympy.Expr:
        """The verified derivative."""
        return self.derivation.results[self.var]


@dataclass(frozen=True)
class Worksheet(Displayed):
    """Exercises that need one rule, then their answer key with every step."""

    rule: str
    level: int
    seed: int
    exercises: tuple[Exercise, ...]

    @property
    def title(self) -> str:
        """``Practice: the chain rule (level 2)``."""
        return f"Practice: the {self.rule} rule (level {self.level})"

    def to_text(self) -> str:
        """Questions, a page break (form feed), then the key with steps."""
        questions = [f"{e.number}. d/dx [{sympy.sstr(e.expression)}]" for e in self.exercises]
        key = [f"{e.number}. {sympy.sstr(e.answer)}\n\n{e.derivation.to_text()}"
               for e in self.exercises]
        return (f"{self.title}\n\n" + "\n".join(questions) + "\n\f\nAnswer key\n\n"
                + "\n".join(key))

    def to_markdown(self) -> str:
        """Markdown: the questions, then the answer key."""
        questions = [f"{e.number}. ${latex(derivative(e.expression, e.var))}$"
                     for e in self.exercises]
        key = [f"### Exercise {e.number}\n\n{e.derivation.to_markdown()}" for e in self.exercises]
        return (f"## {self.title}\n\n" + "\n".join(questions) + "\n\n## Answer key\n\n"
                + "\n".join(key))

    def to_latex(self) -> str:
        """LaTeX: an enumerated list of questions, ``\\newpage``, the key."""
        items = "\n".join(rf"\item ${latex(derivative(e.expression, e.var))}$"
                          for e in self.exercises)
        key = "\n".join(rf"\subsection*{{Exercise {e.number}}}" + "\n" + e.derivation.to_latex()
                        for e in self.exercises)
        return (rf"\section*{{{self.title}}}" + "\n\\begin{enumerate}\n" + items
                + "\n\\end{enumerate}\n\\newpage\n\\section*{Answer key}\n" + key)

    def to_html(self) -> str:
        """HTML: an ordered list of questions, then the key (a page break before it in print)."""
        items = "".join(f"<li>{mathml(derivative(e.expression, e.var))}</li>\n"
                        for e in self.exercises)
        key = "".join(f"<h3>Exercise {e.number}</h3>\n{e.derivation.to_html()}"
                      for e in self.exercises)
        return (f"<h2>{self.title}</h2>\n<ol>\n{items}</ol>\n"
                f'<h2 style="page-break-before: always">Answer key</h2>\n{key}')

    def to_dict(self) -> dict:
        """JSON-ready: the settings and each exercise with its derivation document."""
        return {"rule": self.rule, "level": self.level, "seed": self.seed,
                "exercises": [{"number": e.number, "expression": sympy.sstr(e.expression),
                               "answer": sympy.sstr(e.answer), "key": e.derivation.to_dict()}
                              for e in self.exercises]}


def practice(rule: str = "chain", level: int = 1, n: int = 10, seed: int = 0) -> Worksheet:
    """Exercises that need ``rule``, the same for the same arguments.

    Parameters
    ----------
    rule : str
        One of :data:`RULES`: ``power``, ``product``, ``quotient``, ``chain``, ``exp``, ``log``,
        ``trig``.
    level : {1, 2, 3}
        1: the rule alone; 2: with a little around it; 3: nested or combined.
    n : int
        How many exercises (1 to :data:`MAX_EXERCISES`).
    seed : int
        The random seed: the same seed gives the same worksheet.

    Returns
    -------
    Worksheet

    Raises
    ------
    ExpressionError
        For an unknown rule, or a level or count out of range.
    """
    if rule not in RULES:
        raise ExpressionError(f"rule must be one of {', '.join(RULES)}, not {rule!r}")
    for name, value, high in (("level", level, 3), ("n", n, MAX_EXERCISES)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
            raise ExpressionError(f"{name} must be a whole number from 1 to {high}, not "
                                  f"{value!r}")
    rng = random.Random(f"{rule}/{level}/{seed}")
    template, chosen, seen = RULES[rule][level - 1], [], set()
    for _ in range(20 * n):
        expression = template(rng)
        if expression in seen:
            continue
        seen.add(expression)
        d = derive(expression, x)
        if any(step.rule == rule for step in d[x].walk()):
            chosen.append(Exercise(len(chosen) + 1, expression, x, d))
            if len(chosen) == n:
                break
    return Worksheet(rule, level, seed, tuple(chosen))
