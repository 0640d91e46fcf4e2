"""JSON output: a stable structure other tools (and the tests) consume.

``{"expression", "expression_srepr", "term"?, "derivatives": [{"wrt", "result", "result_srepr",
"latex", "steps": STEP}]}`` with ``STEP = {"rule", "title", "var", "expr", "expr_srepr", "result",
"result_srepr", "explanation", "latex", "fields", "substeps": [STEP, ...]}``. ``*_srepr`` is
``sympy.srepr``, from which any consumer can rebuild the exact expression; ``fields`` holds the
rule's own data (the chain rule's ``u`` and ``inner``, the power rule's ``exponent``, ...).

Unlike the formats for reading (:mod:`.walk`), it writes the step tree itself: every substep in
place, a sub-derivation met twice in full both times.
"""

from __future__ import annotations

import dataclasses
import json

import sympy
from sympy.printing.repr import ReprPrinter
from sympy.printing.str import StrPrinter

from ..steps.rules import Step
from .base import SubexpressionCache, cached_printer, equation_of, is_partial
from .latex import latex


class _StrPrinter(SubexpressionCache, StrPrinter):
    """``sympy.sstr``'s printer, printing each sub-expression once."""


class _ReprPrinter(SubexpressionCache, ReprPrinter):
    """``sympy.srepr``'s printer, printing each sub-expression once."""


@cached_printer
def _sstr(expr: sympy.Basic) -> str:
    """``sympy.sstr(expr)``."""
    return _StrPrinter().doprint(expr)


@cached_printer
def _srepr(expr: sympy.Basic) -> str:
    """``sympy.srepr(expr)``."""
    return _ReprPrinter().doprint(expr)


def _expr(prefix: str, expr: sympy.Basic) -> dict[str, str]:
    return {prefix: _sstr(expr), f"{prefix}_srepr": _srepr(expr)}


def _fields(step: Step) -> dict[str, str]:
    out = {}
    for field in dataclasses.fields(step):
        value = getattr(step, field.name)
        if field.name in ("expr", "var") or isinstance(value, (Step, tuple)):
            continue
        out[field.name] = value if isinstance(value, str) else _sstr(value)
    return out


def step_to_dict(step: Step, partial: sympy.Basic | None = None) -> dict:
    """One step and its substeps; the derivatives by ``partial`` (by default the step's
    variable, when its expression has several quantities) are written with ∂."""
    if partial is None and is_partial(step.expr):
        partial = step.var
    return {
        "rule": step.rule,
        "title": step.title,
        "var": str(step.var),
        **_expr("expr", step.expr),
        **_expr("result", step.result),
        "explanation": step.explanation,
        "latex": " = ".join(latex(p) for p in equation_of(step, step.var == partial)),
        "fields": _fields(step),
        "substeps": [step_to_dict(s, partial) for s in step.substeps],
    }


def to_dict(derivation) -> dict:
    """The derivation as JSON-ready Python objects."""
    out = _expr("expression", derivation.expression)
    if derivation.term is not None:
        out.update(_expr("term", derivation.term))
    out["derivatives"] = [
        {
            "wrt": str(var),
            **_expr("result", root.result),
            "latex": latex(root.result),
            "steps": step_to_dict(root),
        }
        for var, root in derivation
    ]
    return out


def render(derivation, indent: int | None = 2) -> str:
    """The derivation as a JSON document."""
    return json.dumps(to_dict(derivation), indent=indent, ensure_ascii=False)


def solution_to_dict(solution) -> dict:
    """A closed-form solution (:class:`~calculus_ml.analysis.ClosedForm`) as JSON-ready
    objects: ``{"loss", "steps": [{"title", "explanation", "equations": [MATH], "facts":
    [{"label", MATH}]}]}`` with ``MATH = {"math", "math_srepr", "latex"}``."""

    def math(expr: sympy.Basic) -> dict[str, str]:
        return {**_expr("math", expr), "latex": latex(expr)}

    return {
        "loss": solution.loss.name,
        "steps": [
            {
                "title": step.title,
                "explanation": step.explanation,
                "equations": [math(eq) for eq in step.equations],
                "facts": [{"label": f.label, **math(f.math)} for f in step.facts],
            }
            for step in solution.steps
        ],
    }


def render_solution(solution, indent: int | None = 2) -> str:
    """A closed-form solution as a JSON document."""
    return json.dumps(solution_to_dict(solution), indent=indent, ensure_ascii=False)
