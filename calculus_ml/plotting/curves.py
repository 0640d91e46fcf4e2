"""Figures of functions and of fits: the tangent, slices, the loss per iteration, the fitted line.

Slopes come from :func:`calculus_ml.derive` (verified steps), values from
:func:`calculus_ml.numeric.grid.curve`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import sympy

from ..derivation import derive
from ..errors import DataError, ExpressionError
from ..numeric.grid import curve
from ..parsing import parse_expression
from .base import _GRID, Axes, _axes, _finish, _finite_range, _fmt, _math, _span


def tangent(f: str | sympy.Expr, x0: float, *, var: str | sympy.Symbol | None = None,
            xlim: tuple[float, float] | None = None, ylim: tuple[float, float] | None = None,
            ax: Axes = None) -> Axes:
    """A function of one variable and its tangent line at ``x0``, the slope annotated.

    Parameters
    ----------
    f : str or sympy.Expr
        The function (text is parsed safely); ``var`` names its variable among several symbols.
    x0 : float
        Where the tangent touches; its slope is the verified derivative's value there.
    xlim, ylim : (float, float), optional
        The ranges (default ``x0 ± max(3, |x0|)``, and the function's range there).
    ax : matplotlib.axes.Axes, optional
        Draw here (default: in a new figure).

    Returns
    -------
    matplotlib.axes.Axes
        With lines ``gid="function"`` and ``gid="tangent"``.
    """
    expr = parse_expression(f)
    names = sorted(s.name for s in expr.free_symbols)
    if var is None and len(names) != 1:
        raise ExpressionError(f"{expr} has variables {', '.join(names) or 'none'}: pick one, var=")
    d = derive(expr, var if var is not None else names[0])
    (x,), expr = d.variables, d.expression
    values = [complex(e.evalf(subs={x: x0})) for e in (expr, d.results[x])]
    if not all(np.isfinite(v) and v.imag == 0 for v in values):
        raise ExpressionError(f"{expr} has no real value or slope at {x} = {x0}")
    f0, slope = (v.real for v in values)
    lo, hi = xlim or (x0 - max(3.0, abs(x0)), x0 + max(3.0, abs(x0)))
    grid = np.linspace(lo, hi, _GRID)
    y, fx = curve(expr, x, grid), f"f({sympy.latex(x)})"
    ax = _axes(ax)
    ax.plot(grid, y, lw=2, gid="function", label=_math(f"{fx} = {sympy.latex(expr)}"))
    ax.plot(grid, f0 + slope * (grid - x0), "--", color="C3", gid="tangent",
            label="tangent at " + _math(f"{sympy.latex(x)} = {_fmt(x0)}"))
    ax.plot([x0], [f0], "o", color="C3", zorder=3)
    right = slope >= 0  # the note goes in the lower corner the curve leaves empty
    ax.annotate("slope " + _math(f"f'({_fmt(x0)}) = {_fmt(slope)}"), xy=(x0, f0),
                xytext=(0.96 if right else 0.04, 0.06), textcoords="axes fraction",
                ha="right" if right else "left", bbox=dict(boxstyle="round", fc="w", ec="0.7"),
                arrowprops=dict(arrowstyle="->", color="0.4"))
    ax.set(xlim=(lo, hi), ylim=ylim or _span(*_finite_range(y), 0.08))
    title = "The slope of the tangent is the derivative " + _math(
        f"f'({sympy.latex(x)}) = {sympy.latex(d.results[x])}")
    return _finish(ax, _math(x), _math(fx), title)

def slices(f: str | sympy.Expr, *, x: tuple[str, float, float] = ("x", -5, 5),
           at: tuple[str, Sequence[float]] = ("y", [1, 3, 6, 9]), ax: Axes = None) -> Axes:
    """Slices of a function of two variables: ∂f/∂x is the slope of each slice.

    Parameters
    ----------
    f : str or sympy.Expr
        The function, e.g. ``"3*x*y"``.
    x : (name, low, high)
        The variable on the horizontal axis, and its range.
    at : (name, values)
        The variable held constant, and its value on each slice.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
        With one line per slice (``gid="slice 0"``, ...), each in the legend; ∂f/∂x (from the
        verified derivation) is written beside each slice on which it is constant.
    """
    (xname, lo, hi), (yname, values) = x, at
    d = derive(f, xname)
    (xs,), expr = d.variables, d.expression
    dfdx = d.results[xs]
    ys = next((s for s in expr.free_symbols if s.name == yname), sympy.Symbol(yname, real=True))
    grid, partial = np.linspace(lo, hi, _GRID), rf"\partial f/\partial {sympy.latex(xs)}"
    ax = _axes(ax)
    for k, c in enumerate(values):
        piece = expr.subs(ys, c)
        v = curve(piece, xs, grid)
        label = _math(f"{sympy.latex(ys)} = {_fmt(c)}") + ":  " + _math(
            f"f = {sympy.latex(piece)}")
        (line,) = ax.plot(grid, v, lw=2, gid=f"slice {k}", label=label)
        slope = dfdx.subs(ys, c)
        if xs not in slope.free_symbols and np.isfinite(v[-1]):
            ax.annotate(_math(f"{partial} = {sympy.latex(slope)}"), xy=(grid[-1], v[-1]),
                        xytext=(4, 0), textcoords="offset points", va="center",
                        color=line.get_color())
    ax.margins(x=0.18)
    title = (f"Slices of {_math(f'f = {sympy.latex(expr)}')}: each slope is "
             + _math(f"{partial} = {sympy.latex(dfdx)}"))
    return _finish(ax, _math(xs), _math(f"f({sympy.latex(xs)}, {sympy.latex(ys)})"), title)


def loss_history(history: Any, *, grad_norm: Sequence[float] | None = None,
                 ax: Axes = None) -> Axes:
    """The loss per iteration, and the gradient norm on a twin axis when given.

    Parameters
    ----------
    history : sequence of float or GradientDescent
        J after 0, 1, ... iterations; a fitted estimator gives its ``loss_history_`` (and
        ``grad_norm_history_``).
    grad_norm : sequence of float, optional
        ‖∇J‖ per iteration.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
        With line ``gid="loss"``; the twin axes hold line ``gid="grad_norm"``. A y axis is
        logarithmic when its values are positive and span more than two decades.
    """
    if hasattr(history, "loss_history_"):
        grad_norm = history.grad_norm_history_ if grad_norm is None else grad_norm
        history = history.loss_history_
    loss = np.asarray(history, dtype=float)
    if loss.ndim != 1 or not loss.size:
        raise DataError("history must be a non-empty sequence of loss values")
    ax = _axes(ax)
    lines = ax.plot(np.arange(loss.size), loss, lw=2, gid="loss", label=_math("J"))
    pairs = [(ax, loss)]
    if grad_norm is not None:
        norm, twin = np.asarray(grad_norm, dtype=float), ax.twinx()
        lines += twin.plot(np.arange(norm.size), norm, "--", color="C1", gid="grad_norm",
                           label=_math(r"\|\nabla J\|"))
        twin.set_ylabel("gradient norm " + _math(r"\|\nabla J\|"), color="C1")
        pairs.append((twin, norm))
    for a, values in pairs:
        lo, hi = _finite_range(values)
        if lo > 0 and hi / lo > 100:
            a.set_yscale("log")
    _finish(ax, "iteration", "loss " + _math("J"), "Loss per iteration", legend=False)
    ax.legend(lines, [line.get_label() for line in lines], loc="upper right")
    return ax

def fitted_line(x: Sequence[float], y: Sequence[float], *, slope: float | None = None,
                intercept: float | None = None, model: Any = None, residuals: bool = True,
                ax: Axes = None) -> Axes:
    """The data as points and the fitted line through them, each residual drawn.

    Parameters
    ----------
    x, y : sequence of float
        The data.
    slope, intercept : float, optional
        The line ``ŷ = slope·x + intercept``.
    model : GradientDescent or callable, optional
        Instead: a fitted estimator of one feature (its ``predict``), or ``ŷ = model(x)``.
    residuals : bool
        Draw the residuals ``yᵢ − ŷᵢ`` as vertical segments.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
        With scatter ``gid="data"``, line ``gid="fit"`` and segments ``gid="residuals"``.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.ndim != 1 or x.shape != y.shape or not x.size:
        raise DataError("x and y must be 1-D arrays of the same non-zero length")
    if slope is not None:
        b = float(intercept or 0.0)
        predict = lambda t: slope * t + b  # noqa: E731
        label = _math(rf"\hat{{y}} = {_fmt(slope)}\,x {'-' if b < 0 else '+'} {_fmt(abs(b))}")
    elif hasattr(model, "predict") and hasattr(model, "params_"):
        used = getattr(model.loss.prediction, "free_symbols", set())
        features = [s.name for s in model.loss.data if s in used]
        if len(features) != 1:
            raise ValueError("model= must be fitted on a loss that predicts from one feature")
        feature = features[0]
        predict = lambda t: model.predict(**{feature: t})  # noqa: E731
        label = "fitted: " + ", ".join(f"{_math(sympy.Symbol(k))} = {_fmt(v)}"
                                       for k, v in model.params_.items())
    elif callable(model):
        predict, label = model, "fitted model"
    else:
        raise ValueError("give slope= (and intercept=) or model=")
    ax = _axes(ax)
    if residuals:
        from matplotlib.collections import LineCollection

        fit = np.asarray(predict(x), dtype=float)
        ax.add_collection(LineCollection(np.stack([np.c_[x, y], np.c_[x, fit]], axis=1),
                                         colors="0.6", linestyles=":", gid="residuals",
                                         label="residuals " + _math(r"y_i - \hat{y}_i")))
    ax.scatter(x, y, s=36, color="C0", zorder=3, gid="data", label="data")
    grid = np.linspace(*_span(x.min(), x.max(), 0.05), _GRID)
    ax.plot(grid, predict(grid), color="C3", lw=2, gid="fit", label=label)
    return _finish(ax, _math("x"), _math("y"), "The data and the fitted line")
