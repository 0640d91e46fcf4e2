"""What a section says: its computed facts, and its narrative with every placeholder filled in.

A :class:`Context` holds one section's facts, each computed when first asked for — the verified
derivation, the compiled gradient, the gradient-descent fit, the exact minimiser, the walk down
one parameter — and :meth:`Context.resolve` turns a placeholder into the number or the maths it
names. :func:`prose` fills in a narrative; :func:`number` is how every computed number reads.
"""

from __future__ import annotations

import math
import warnings
from functools import cached_property
from typing import Any

import sympy

from ..derivation import Derivation, derive
from ..errors import CalculusMLError, ConvergenceWarning, SpecError
from ..numeric import CompiledGradient, compile_gradient
from ..numeric.scaling import feature_statistics, rescaled
from ..optimize import GradientDescent
from . import document as doc
from . import refs
from .checker import message
from .document import Run
from .refs import Narrative, Ref, parse_point
from .sections import Section
from .spec import Spec

__all__ = ["Context", "number", "stable_learning_rate", "prose", "cells"]


def number(value: Any, fmt: str = "") -> str:
    """A computed number for the narrative: ``fmt`` if given, else integers whole and other
    values to four significant digits without an exponent (one only beyond that range);
    ``inf`` or ``nan`` as such."""
    value = float(value)
    if not math.isfinite(value):
        return str(value)
    if fmt:
        return format(round(value) if fmt.endswith("d") else value, fmt)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if not 1e-4 <= abs(value) < 1e15:
        return f"{value:.3e}"
    digits = max(0, 3 - math.floor(math.log10(abs(value))))
    return f"{value:.{digits}f}".rstrip("0").rstrip(".")


def stable_learning_rate(loss: Any, data: dict[str, Any], standardize: bool = False) -> float:
    """A quarter of the largest stable learning rate ``2/λ_max(H)`` of ``loss`` on ``data`` (on
    the standardized features when ``standardize``): well inside the bound, so gradient descent
    converges steadily and its path stays visible.

    Raises
    ------
    CalculusMLError
        When the loss is not quadratic, so it has no such bound.
    """
    if standardize:
        features = {s.name for s in getattr(loss.prediction, "free_symbols", ())} & set(data)
        data = rescaled(data, *feature_statistics(data, sorted(features)))
    bound = loss.learning_rate_bound(**data)
    if bound is None:
        raise CalculusMLError(f"{loss.name} has no learning-rate bound (it is not quadratic): "
                              "give learning_rate as a number")
    return bound / 4


class Context:
    """One section's computed facts: derivation, compiled gradient, fit, walk, values."""

    def __init__(self, spec: Spec, section: Section):
        self.spec, self.section = spec, section
        loss = section.loss
        names = [x.name for x in loss.data] if loss is not None else []
        self.data = {**{k: spec.data[k] for k in names if k in spec.data}, **section.hyper}

    def fail(self, key: str, error: Any) -> SpecError:
        """The error to raise for a fact that cannot be computed: ``FILE: SECTION KEY: error``."""
        return SpecError(message(self.spec.path, f"{self.section.key}{key}",
                                 str(error).splitlines()[0]))

    @cached_property
    def derivation(self) -> Derivation:
        if self.section.loss is not None:
            return self.section.loss.derive(detail=self.spec.detail)
        return derive(self.section.expression, list(self.section.wrt), detail=self.spec.detail)

    @cached_property
    def compiled(self) -> CompiledGradient:
        return compile_gradient(self.section.loss)

    @property
    def function(self) -> sympy.Expr:
        """``f(x, ...)`` or ``J(m, b, ...)``, for table headings."""
        if self.section.loss is not None:
            return sympy.Function("J")(*self.section.loss.params)
        return sympy.Function("f")(*sorted(self.section.expression.free_symbols, key=str))

    def symbol(self, name: str) -> sympy.Symbol:
        """The variable ``name`` of :attr:`function`."""
        return next(v for v in self.function.args if v.name == name)

    def at(self, point: dict, var: str | None = None) -> float | sympy.Expr:
        """The function (``var`` None) or its partial derivative at ``point``."""
        if self.section.loss is None:
            expr = (self.section.expression if var is None
                    else self.derivation.results[self.symbol(var)])
            value = expr.xreplace({self.symbol(k): v for k, v in point.items()})
            if not (value.is_real and value.is_finite):
                what = "f" if var is None else f"the derivative in {var}"
                raise self.fail("", f"{what} has no real value at {point}")
            return value
        params = {k: float(v) for k, v in point.items()}
        value, grad = self.compiled.value_and_grad(params, **self.data)
        return value if var is None else grad[self.section.names.index(var)]

    @cached_property
    def fit(self) -> GradientDescent:
        options = dict(self.section.fit)
        try:
            if options.get("learning_rate") == "auto":
                options["learning_rate"] = stable_learning_rate(
                    self.section.loss, self.data, options.get("standardize", False))
            with warnings.catch_warnings():
                warnings.simplefilter("error", ConvergenceWarning)
                descent = GradientDescent(self.section.loss, progress=False, **options)
                return descent.fit(**self.data)
        except (CalculusMLError, ValueError, ConvergenceWarning) as error:
            raise self.fail(".fit", error) from None

    @cached_property
    def solved(self) -> dict[str, float]:
        try:
            return self.section.loss.solve(**self.data)
        except CalculusMLError as error:
            raise self.fail("", error) from None

    @cached_property
    def walk(self) -> list[tuple[int, float, float, float]]:
        """``(k, parameter, slope, cost)`` for k = 0, ..., steps."""
        w, rows = self.section.walk, []
        p = float(w["start"])
        for k in range(w["steps"] + 1):
            cost, grad = self.compiled.value_and_grad({**w["fixed"], w["param"]: p}, **self.data)
            slope = float(grad[self.section.names.index(w["param"])])
            rows.append((k, p, slope, float(cost)))
            p -= w["learning_rate"] * slope
        return rows

    def resolve(self, ref: Ref) -> Run | doc.Math:
        """A placeholder's value: maths, or a number as text."""
        kind, arg, style = ref.kind, ref.arg, ref.style
        if kind == "math":
            return _math_token(ref)
        if kind == "expr":
            loss = self.section.loss
            return doc.Math(loss.objective if loss is not None else self.section.expression)
        if kind == "result":
            return doc.Math(self.derivation.results[self.symbol(arg or self.section.names[0])])
        if kind in ("value", "slope"):
            var, _, point = arg.rpartition("@")
            var = (var or self.section.names[0]) if kind == "slope" else None
            value = self.at(parse_point(point), var)
        elif kind == "fit":
            fit = self.fit
            value = {"iterations": fit.n_iter_, "loss": fit.loss_history_[-1],
                     "learning_rate": fit.learning_rate}.get(arg, None)
            value = fit.params_[arg] if value is None else value
        elif kind == "solve":
            value = self.solved[arg]
        elif kind == "bound":
            value = self.section.loss.learning_rate_bound(**self.data)
            if value is None:
                raise self.fail("", "{bound}: this loss has no largest stable learning rate "
                                    "2/λ_max (it is not quadratic in its parameters, or not curved "
                                    "on these data)")
        elif kind in refs.DIFFERENCES:
            var, step, point = refs.parse_difference(arg)
            value = (self.at({**point, var: point[var] + step}) - self.at(point)) / step
            value = value - self.at(point, var) if kind == "forward_bias" else value
        elif kind == "walk":
            k, _, name = arg.partition(":")
            _, p, slope, cost = self.walk[int(k)]
            value = {"slope": slope, "cost": cost}.get(name, p)
        else:  # n
            value = len(next(iter(self.spec.data.values())))
        return Run(number(value, ref.fmt), style)


def _math_token(ref: Ref) -> doc.Math:
    """``{math:A}`` or ``{math:A = B}`` as inline maths, parsed safely."""
    return doc.Math(refs.parse_math(ref.arg), ref.style)


def prose(blocks: Narrative, ctx: Context | None) -> tuple:
    """Narrative blocks with their placeholders filled in (only ``{math:...}`` without ``ctx``)."""

    def line(tokens):
        return tuple(t if not isinstance(t, Ref) else ctx.resolve(t) if ctx else _math_token(t)
                     for t in tokens)

    return tuple((kind, line(body) if kind == "p" else tuple(line(i) for i in body))
                 for kind, body in blocks)


def cells(*values: Any) -> tuple:
    """Table cells: SymPy objects as maths, numbers as :func:`number` text."""
    return tuple((doc.Math(v),) if isinstance(v, sympy.Basic) else (Run(number(v)),)
                 for v in values)
