"""Handouts: lesson specs (``derivations/*.toml``) built into Markdown, LaTeX, HTML and PDF.

:func:`build` reads a spec (:mod:`calculus_ml.handout_spec` describes the format), derives every
section's maths with the engine (every step verified), computes every number the narrative
quotes — slopes at points, fitted parameters, steps of gradient descent — and draws the figures
with :mod:`calculus_ml.plotting`. :func:`write` prints the result in one or more formats, with
each figure as PNG and SVG beside the document, **atomically**: everything is written into a
temporary folder inside the output folder and moved into place only when all of it succeeded,
so a failure leaves no half-written file and never replaces a good earlier one.

A handout is named by its file (``derivations/03-chain-rule.toml``) or by its name, with or without
the number (``03-chain-rule`` or ``chain-rule``), looked up in the specs shipped inside the
package and then in a source checkout's ``derivations/`` folder.
"""

from __future__ import annotations

import math
import os
import re
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import sympy

from .errors import CalculusMLError, ConvergenceWarning, SpecError
from .handout_spec import Plot, Ref, Run, Section, Spec, load, math_side, parse_point
from .render import document as doc
from .render.output import FORMATS, HandoutError, write

__all__ = ["FORMATS", "Handout", "HandoutError", "spec_dirs", "names", "find", "build", "write",
           "demo", "stable_learning_rate"]

PACKAGED = Path(__file__).with_name("_derivations")
"""Where an installed package keeps its specs (``setup.cfg`` maps ``derivations/`` there)."""
CHECKOUT = Path(__file__).resolve().parents[1] / "derivations"
"""The specs of a source checkout (the repository's ``derivations/`` folder)."""


# -- finding specs -------------------------------------------------------------------------------


def spec_dirs() -> list[Path]:
    """The folders searched for specs by name, packaged first."""
    return [d for d in (PACKAGED, CHECKOUT) if d.is_dir()]


def names() -> list[str]:
    """The names of the shipped handouts, in lesson order."""
    found = {p.stem for d in spec_dirs() for p in d.glob("*.toml")}
    return sorted(found)


def find(spec_or_name: str | os.PathLike) -> Path:
    """The spec file for a path or a name (``03-chain-rule`` or ``chain-rule``).

    Raises
    ------
    SpecError
        When there is no such file or name (the message lists the names).
    """
    path = Path(spec_or_name)
    if path.suffix == ".toml" or os.sep in str(spec_or_name) or path.is_file():
        if not path.is_file():
            raise SpecError(f"{path}: no such spec file")
        return path
    for folder in spec_dirs():
        for candidate in sorted(folder.glob("*.toml")):
            if str(spec_or_name) in (candidate.stem, re.sub(r"^\d+-", "", candidate.stem)):
                return candidate
    raise SpecError(f"{spec_or_name}: no such handout (choose from {', '.join(names()) or 'none'})")


# -- computing what a section shows --------------------------------------------------------------


def number(value: Any, fmt: str = "") -> str:
    """A computed number for the narrative: ``fmt`` if given, else integers whole and other
    values to four significant digits without an exponent (one only beyond that range)."""
    value = float(value)
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
        data = {k: (v - v.mean()) / (v.std() or 1.0) if k in features else v
                for k, v in data.items()}
    bound = loss.learning_rate_bound(**data)
    if bound is None:
        raise CalculusMLError(f"{loss.name} has no learning-rate bound (it is not quadratic): "
                              "give learning_rate as a number")
    return bound / 4


class _Context:
    """One section's computed facts: derivation, compiled gradient, fit, walk, values."""

    def __init__(self, spec: Spec, section: Section):
        self.spec, self.s = spec, section
        loss = section.loss
        names = [x.name for x in loss.data] if loss is not None else []
        self.data = {**{k: spec.data[k] for k in names if k in spec.data}, **section.hyper}

    def fail(self, key: str, error: Any) -> SpecError:
        return SpecError(f"{self.spec.path}: {self.s.key}{key}: {str(error).splitlines()[0]}")

    @cached_property
    def derivation(self):
        from .derivation import derive

        if self.s.loss is not None:
            return self.s.loss.derive()
        return derive(self.s.expression, list(self.s.wrt))

    @cached_property
    def compiled(self):
        from .numeric import compile_gradient

        return compile_gradient(self.s.loss)

    @property
    def function(self) -> sympy.Expr:
        """``f(x, ...)`` or ``J(m, b, ...)``, for table headings."""
        if self.s.loss is not None:
            return sympy.Function("J")(*self.s.loss.params)
        return sympy.Function("f")(*sorted(self.s.expression.free_symbols, key=str))

    def _symbol(self, name: str) -> sympy.Symbol:
        return next(v for v in self.function.args if v.name == name)

    def at(self, point: dict, var: str | None = None) -> float | sympy.Expr:
        """The function (``var`` None) or its partial derivative at ``point``."""
        if self.s.loss is None:
            expr = self.s.expression if var is None else self.derivation.results[self._symbol(var)]
            value = expr.xreplace({self._symbol(k): v for k, v in point.items()})
            if not (value.is_real and value.is_finite):
                what = "f" if var is None else f"the derivative in {var}"
                raise self.fail("", f"{what} has no real value at {point}")
            return value
        params = {k: float(v) for k, v in point.items()}
        value, grad = self.compiled.value_and_grad(params, **self.data)
        return value if var is None else grad[self.s.names.index(var)]

    @cached_property
    def fit(self):
        from .optimize import GradientDescent

        options = dict(self.s.fit)
        try:
            if options.get("learning_rate") == "auto":
                options["learning_rate"] = stable_learning_rate(
                    self.s.loss, self.data, options.get("standardize", False))
            with warnings.catch_warnings():
                warnings.simplefilter("error", ConvergenceWarning)
                return GradientDescent(self.s.loss, progress=False, **options).fit(**self.data)
        except (CalculusMLError, ValueError, ConvergenceWarning) as error:
            raise self.fail(".fit", error) from None

    @cached_property
    def solved(self) -> dict[str, float]:
        try:
            return self.s.loss.solve(**self.data)
        except CalculusMLError as error:
            raise self.fail("", error) from None

    @cached_property
    def walk(self) -> list[tuple[int, float, float, float]]:
        """``(k, parameter, slope, cost)`` for k = 0, ..., steps."""
        w, rows = self.s.walk, []
        p = float(w["start"])
        for k in range(w["steps"] + 1):
            cost, grad = self.compiled.value_and_grad({**w["fixed"], w["param"]: p}, **self.data)
            slope = float(grad[self.s.names.index(w["param"])])
            rows.append((k, p, slope, float(cost)))
            p -= w["learning_rate"] * slope
        return rows

    def resolve(self, ref: Ref) -> Run | doc.Math:
        """A placeholder's value: maths, or a number as text."""
        kind, arg, style = ref.kind, ref.arg, ref.style
        if kind == "math":
            return _math_token(ref)
        if kind == "expr":
            return doc.Math(self.s.loss.objective if self.s.loss is not None else self.s.expression)
        if kind == "result":
            return doc.Math(self.derivation.results[self._symbol(arg or self.s.names[0])])
        if kind in ("value", "slope"):
            var, _, point = arg.rpartition("@")
            var = (var or self.s.names[0]) if kind == "slope" else None
            value = self.at(parse_point(point), var)
        elif kind == "fit":
            fit = self.fit
            value = {"iterations": fit.n_iter_, "loss": fit.loss_history_[-1],
                     "learning_rate": fit.learning_rate}.get(arg, None)
            value = fit.params_[arg] if value is None else value
        elif kind == "solve":
            value = self.solved[arg]
        elif kind == "bound":
            value = self.s.loss.learning_rate_bound(**self.data)
        elif kind == "walk":
            k, _, name = arg.partition(":")
            _, p, slope, cost = self.walk[int(k)]
            value = {"slope": slope, "cost": cost}.get(name, p)
        else:  # n
            value = len(next(iter(self.spec.data.values())))
        return Run(number(value, ref.fmt), style)


def _math_token(ref: Ref) -> doc.Math:
    """``{math:A}`` or ``{math:A = B}``, parsed safely."""
    sides = [math_side(side) for side in ref.arg.split("=")]
    return doc.Math(sides[0] if len(sides) == 1 else sympy.Eq(*sides, evaluate=False), ref.style)


def _prose(blocks, ctx: _Context | None) -> tuple:
    """Narrative blocks with their placeholders filled in (only ``{math:...}`` without ``ctx``)."""

    def line(tokens):
        return tuple(t if not isinstance(t, Ref) else ctx.resolve(t) if ctx else _math_token(t)
                     for t in tokens)

    return tuple((kind, line(body) if kind == "p" else tuple(line(i) for i in body))
                 for kind, body in blocks)


def _cells(*values) -> tuple:
    return tuple((doc.Math(v),) if isinstance(v, sympy.Basic) else (Run(number(v)),)
                  for v in values)


# -- figures -------------------------------------------------------------------------------------


def _draw(plot: Plot, ctx: _Context):
    """The plot as a matplotlib figure (no pyplot: nothing global is touched)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from . import plotting

    s, o = ctx.s, plot.options
    three_d = plot.kind == "surface"
    figure = Figure(figsize=(7, 5.5) if three_d else (6.4, 4.4), layout="constrained")
    FigureCanvasAgg(figure)
    ax = figure.add_subplot(projection="3d" if three_d else None)
    lims = {k: tuple(o[k]) for k in ("xlim", "ylim") if k in o}
    if plot.kind == "tangent":
        plotting.tangent(s.expression, o["at"], ax=ax, **lims)
    elif plot.kind == "slices":
        along = o.get("along", s.wrt[0])
        hold = o.get("hold", next(x.name for x in s.expression.free_symbols if x.name != along))
        plotting.slices(s.expression, x=(along, *o.get("range", (-5, 5))),
                        at=(hold, o.get("values", [1, 3, 6, 9])), ax=ax)
    elif plot.kind == "cost_curve":
        param = o.get("param", s.walk["param"] if s.walk else s.names[0])
        fixed = o.get("fixed", s.walk["fixed"] if s.walk else None)
        steps = [row[1] for row in ctx.walk] if o.get("walk") else None
        plotting.cost_curve(s.loss, param, data=ctx.data, fixed=fixed, steps=steps,
                            show_tangent=o.get("tangent", False), ax=ax, **lims)
    elif plot.kind in ("contour", "surface"):
        draw = getattr(plotting, plot.kind)
        draw(s.loss, tuple(o.get("params", s.names[:2])), data=ctx.data, fixed=o.get("fixed"),
             path=ctx.fit if o.get("path") else None, ax=ax, **lims)
    elif plot.kind == "loss_history":
        plotting.loss_history(ctx.fit, ax=ax)
    else:  # fitted_line
        loss = s.loss
        (feature,) = [x.name for x in loss.data if x in loss.prediction.free_symbols]
        (target,) = [x.name for x in loss.data if x.name != feature]
        params = ctx.fit.params_ if o["source"] == "fit" else ctx.solved
        plotting.fitted_line(ctx.data[feature], ctx.data[target], ax=ax,
                             model=lambda t: ctx.compiled.predict(params, **{feature: t}))
    return figure


# -- assembling ----------------------------------------------------------------------------------


@dataclass
class Handout:
    """A built handout: its document (blocks) and its figures, ready to :func:`write`."""

    name: str
    spec: Spec
    document: doc.Document
    figures: list[tuple[str, Any]] = field(default_factory=list)
    contexts: list[_Context] = field(default_factory=list)


def build(spec_or_name: str | os.PathLike | Spec) -> Handout:
    """Build a handout: derivations (verified), computed numbers, tables and figures.

    Parameters
    ----------
    spec_or_name : str, path or Spec
        A spec file, a shipped handout's name, or a loaded spec.

    Returns
    -------
    Handout

    Raises
    ------
    SpecError
        For an invalid spec, or one whose fit or plot fails on its data (file and key named).
    """
    spec = spec_or_name if isinstance(spec_or_name, Spec) else load(find(spec_or_name))
    handout = Handout(spec.name, spec, doc.Document(spec.title, ()))
    blocks: list = []
    if spec.summary:
        blocks.append(doc.Prose(_prose(spec.summary, None)))
    if spec.goals:
        goals = tuple(body for _, body in _prose([("p", g) for g in spec.goals], None))
        blocks += [doc.Heading(2, (Run("Learning goals"),)), doc.Prose((("ul", goals),))]
    for section in spec.sections:
        ctx = _Context(spec, section)
        handout.contexts.append(ctx)
        if section.fit is not None:
            ctx.fit  # noqa: B018 - fit now, so a failing fit is reported even if nothing shows it
        blocks.append(doc.Heading(2, (Run(section.heading),)))
        if section.text:
            blocks.append(doc.Prose(_prose(section.text, ctx)))
        blocks += _maths(ctx)
        for plot in section.plots:
            number_ = len(handout.figures) + 1
            stem = f"{spec.name}-fig{number_}"
            try:
                handout.figures.append((stem, _draw(plot, ctx)))
            except (CalculusMLError, ValueError, TypeError, KeyError) as error:
                raise ctx.fail(f".{plot.key}", error) from None
            caption = _prose(plot.caption, ctx)
            blocks.append(doc.Figure(stem, number_, caption[0][1] if caption else ()))
        if section.after:
            blocks.append(doc.Prose(_prose(section.after, ctx)))
    handout.document = doc.Document(spec.title, tuple(blocks))
    return handout


def _maths(ctx: _Context) -> list:
    """The section's derivation, closed form, points table and walk table."""
    s, out = ctx.s, []
    if s.show == "steps":
        out.append(doc.Steps(ctx.derivation))
    elif s.show == "result":
        d = ctx.derivation
        out.append(doc.Equations(tuple((sympy.Derivative(d.expression, v), r)
                                       for v, r in d.results.items())))
    elif s.show == "matrix":
        params = [sympy.Symbol(p) for p in s.loss.matrix_gradient]
        J = sympy.Function("J")(*params)
        out.append(doc.Equations(tuple((sympy.Derivative(J, p), s.loss.matrix_gradient[p.name])
                                       for p in params)))
    if s.loss is not None and s.loss.notes:
        out.append(doc.Prose(tuple(("p", (Run(note),)) for note in s.loss.notes)))
    if s.closed_form:
        try:
            out.append(doc.Solution(s.loss.closed_form()))
        except CalculusMLError as error:
            raise ctx.fail(".closed_form", error) from None
    if s.points:
        f, variables = ctx.function, ctx.function.args
        header = _cells(*variables, f, *(sympy.Derivative(f, ctx._symbol(v)) for v in s.names))
        rows = tuple(_cells(*(p[v.name] for v in variables), ctx.at(p),
                            *(ctx.at(p, v) for v in s.names)) for p in s.points)
        out.append(doc.Table(header, rows))
    if s.walk:
        p = ctx._symbol(s.walk["param"])
        J = ctx.function
        header = (*_cells(sympy.Symbol("k"), p, sympy.Derivative(J, p), J),
                  (Run("next step "), doc.Math(-sympy.Symbol("eta") * sympy.Derivative(J, p))))
        rows = tuple((*_cells(k, value, slope, cost),
                      _cells(-s.walk["learning_rate"] * slope)[0] if k < s.walk["steps"] else ())
                     for k, value, slope, cost in ctx.walk)
        out.append(doc.Table(header, rows))
    return out


# -- the demo ------------------------------------------------------------------------------------


def demo(out: str | os.PathLike = "calculus_ml_demo") -> str:
    """Fit the five films by gradient descent, compare with the closed form, write the handout.

    Returns
    -------
    str
        The report: the fitted line beside the exact one, and the files written.
    """
    handout = build("demo")
    ctx = next(c for c in handout.contexts if c.s.fit is not None)
    fit, exact = ctx.fit, ctx.solved
    fitted = f"y = {number(fit.params_['m'])} x + {number(fit.params_['b'])}"
    lines = [
        "Fitting the five films (budget x, revenue y) by gradient descent",
        f"  {fit.method} on standardized budgets, learning rate {number(fit.learning_rate)} "
        f"(a quarter of the stable bound 2/λ_max), {fit.n_iter_} iterations",
        f"  gradient descent:            {fitted}",
        f"  closed form (normal eqns.):  y = {number(exact['m'])} x + {number(exact['b'])}",
    ]
    paths = write(handout, out, ("html", "markdown"))
    documents = [p.name for p in paths if p.suffix in (".html", ".md")]
    lines.append(f"Handout written to {Path(out)}{os.sep}: {', '.join(documents)} and "
                 f"{len(paths) - len(documents)} figure files")
    return "\n".join(lines)
