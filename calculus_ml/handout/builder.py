"""Building a handout: a spec's sections, computed and drawn, assembled into a document.

:func:`build` reads a spec (:mod:`calculus_ml.handout.spec`), derives every section's maths with
the engine (every step verified), computes every number the narrative quotes
(:mod:`calculus_ml.handout.narrative`) and draws the figures with :mod:`calculus_ml.plotting`.
A handout is named by its file or by its name, found with :func:`find`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import sympy

from ..errors import CalculusMLError, SpecError
from . import document as doc
from .document import Run
from .linked import backpropagation_equations
from .narrative import Context, cells, number, prose
from .output import write
from .sections import Plot
from .worksheet import worksheet_blocks
from .spec import Spec, load
from .training import TRAINING_KINDS, draw_training, player

__all__ = ["Handout", "build", "demo", "spec_dirs", "names", "find"]

PACKAGED = Path(__file__).parent.with_name("_derivations")
"""Where an installed package keeps its specs (``setup.cfg`` maps ``derivations/`` there)."""
CHECKOUT = Path(__file__).resolve().parents[2] / "derivations"
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


# -- figures -------------------------------------------------------------------------------------


def _draw(plot: Plot, ctx: Context) -> Any:
    """The plot as a matplotlib figure (no pyplot: nothing global is touched)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from .. import plotting

    s, o = ctx.section, plot.options
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
    elif plot.kind == "graph":
        from ..plotting.graph import draw_graph

        figure.set_size_inches(9, 4.4)
        draw_graph(s.loss.backpropagation(), ax=ax)
    elif plot.kind in TRAINING_KINDS:
        draw_training(plot.kind, o, s.loss, figure, ax)
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
    contexts: list[Context] = field(default_factory=list)


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
        blocks.append(doc.Prose(prose(spec.summary, None)))
    if spec.goals:
        goals = tuple(body for _, body in prose([("p", g) for g in spec.goals], None))
        blocks += [doc.Heading(2, (Run("Learning goals"),)), doc.Prose((("ul", goals),))]
    for section in spec.sections:
        ctx = Context(spec, section)
        handout.contexts.append(ctx)
        if section.fit is not None:
            ctx.fit  # noqa: B018 - fit now, so a failing fit is reported even if nothing shows it
        blocks.append(doc.Heading(2, (Run(section.heading),)))
        if section.text:
            blocks.append(doc.Prose(prose(section.text, ctx)))
        blocks += _maths(ctx)
        for plot in section.plots:
            number_ = len(handout.figures) + 1
            stem = f"{spec.name}-fig{number_}"
            try:
                handout.figures.append((stem, _draw(plot, ctx)))
            except (CalculusMLError, ValueError, TypeError, KeyError) as error:
                raise ctx.fail(f".{plot.key}", error) from None
            animated = (partial(player, plot.options, section.loss)
                        if plot.kind == "descent_animation" else None)
            caption = prose(plot.caption, ctx)
            blocks.append(doc.Figure(stem, number_, caption[0][1] if caption else (), animated))
        if section.after:
            blocks.append(doc.Prose(prose(section.after, ctx)))
    handout.document = doc.Document(spec.title, tuple(blocks))
    return handout


def _maths(ctx: Context) -> list:
    """The section's derivation, closed form, points table and walk table."""
    s, out = ctx.section, []
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
    elif s.show == "backpropagation":
        for title, rows in backpropagation_equations(s.loss.backpropagation()):
            out += [doc.Prose((("p", (Run(title),)),)), doc.Equations(rows)]
    if s.loss is not None and s.loss.notes:
        out.append(doc.Prose(tuple(("p", (Run(note),)) for note in s.loss.notes)))
    if s.closed_form:
        try:
            out.append(doc.Solution(s.loss.closed_form()))
        except CalculusMLError as error:
            raise ctx.fail(".closed_form", error) from None
    if s.points:
        f, variables = ctx.function, ctx.function.args
        header = cells(*variables, f, *(sympy.Derivative(f, ctx.symbol(v)) for v in s.names))
        rows = tuple(cells(*(p[v.name] for v in variables), ctx.at(p),
                           *(ctx.at(p, v) for v in s.names)) for p in s.points)
        out.append(doc.Table(header, rows))
    if s.walk:
        p = ctx.symbol(s.walk["param"])
        J = ctx.function
        header = (*cells(sympy.Symbol("k"), p, sympy.Derivative(J, p), J),
                  (Run("next step "), doc.Math(-sympy.Symbol("eta") * sympy.Derivative(J, p))))
        rows = tuple((*cells(k, value, slope, cost),
                      cells(-s.walk["learning_rate"] * slope)[0] if k < s.walk["steps"] else ())
                     for k, value, slope, cost in ctx.walk)
        out.append(doc.Table(header, rows))
    if s.worksheet:
        out += worksheet_blocks(s.worksheet)
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
    ctx = next(c for c in handout.contexts if c.section.fit is not None)
    fit, exact = ctx.fit, ctx.solved
    fitted = f"y = {number(fit.params_['m'])} x + {number(fit.params_['b'])}"
    lines = [
        "Fitting the five films (budget x, revenue y) by gradient descent",
        f"  {fit.method} on standardized budgets, learning rate {number(fit.learning_rate)}",
        f"  (a quarter of the stable bound 2/λ_max), {fit.n_iter_} iterations",
        f"  gradient descent:            {fitted}",
        f"  closed form (normal eqns.):  y = {number(exact['m'])} x + {number(exact['b'])}",
    ]
    paths = write(handout, out, ("html", "markdown"))
    documents = [p.name for p in paths if p.suffix in (".html", ".md")]
    lines.append(f"Handout written to {Path(out)}{os.sep}: {', '.join(documents)} and "
                 f"{len(paths) - len(documents)} figure files")
    return "\n".join(lines)
