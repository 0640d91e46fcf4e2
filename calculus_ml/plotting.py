"""Matplotlib figures of the calculus behind machine learning, as a textbook would print them.

Each plot function returns its Axes (``.figure`` is the figure), draws into ``ax=`` when given and
tags its main artists with a ``gid`` (``"cost"``, ``"path"``, ...). Slopes come from
:func:`calculus_ml.derive` (verified steps) or the compiled gradient, never finite differences.
J is one NumPy function of the per-sample term (lambdified from the SymPy tree, symbols
validated) broadcast over grid points × samples. Imported on demand: ``import calculus_ml`` does
not load matplotlib; Agg is chosen only when no backend was chosen and there is no display.
"""

from __future__ import annotations

import os
import sys
import tempfile
import textwrap
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.ticker
import numpy as np
import sympy

from .derivation import derive
from .errors import CalculusMLError, DataError, ExpressionError
from .functions import sigmoid, softplus
from .parsing import parse_expression

__all__ = ["tangent", "cost_curve", "contour", "surface", "loss_history", "fitted_line",
           "slices", "save"]

Axes = Any  # matplotlib.axes.Axes (not imported at module level, for the annotations only)
Params = Mapping[str, float] | None
_GRID = 200  # points of a 1-D curve; a 2-D grid has _GRID // 2 per axis
_CHUNK = 1 << 20  # grid points × samples evaluated at once (8 MiB per temporary)


def _choose_backend() -> None:
    """Agg when no backend was chosen and there is no display; a user's choice is always kept."""
    if os.environ.get("MPLBACKEND") or "matplotlib.pyplot" in sys.modules:
        return
    chosen = getattr(matplotlib.rcParams, "_get_backend_or_none", lambda: "kept")()
    if chosen is None and sys.platform.startswith("linux") and not (
            os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        matplotlib.use("Agg")


_choose_backend()


# --------------------------------------------------------------------------- helpers


def _axes(ax: Axes = None, projection: str | None = None) -> Axes:
    if ax is not None:
        if projection == "3d" and getattr(ax, "name", "") != "3d":
            raise ValueError("surface needs 3-D axes: fig.add_subplot(projection='3d')")
        return ax
    import matplotlib.pyplot as plt

    figure = plt.figure(figsize=(7, 5.5) if projection else (6.4, 4.4), layout="constrained")
    return figure.add_subplot(projection=projection)


def _math(tex: sympy.Basic | str) -> str:
    """``$tex$`` (SymPy objects via ``sympy.latex``) if mathtext can typeset it, else text."""
    from matplotlib.mathtext import MathTextParser

    text = tex if isinstance(tex, str) else sympy.latex(tex)
    try:
        MathTextParser("path").parse(f"${text}$")
        return f"${text}$"
    except ValueError:
        return text if isinstance(tex, str) else sympy.sstr(tex)


def _fmt(v: float) -> str:
    return f"{v:.4g}"


def _finish(ax: Axes, xlabel: str, ylabel: str, title: str, legend: bool = True) -> Axes:
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.grid(alpha=0.3)
    if legend:
        ax.legend(loc="best")
    return ax


def _stable_log(arg: sympy.Expr) -> sympy.Expr:
    """``log σ(u) = u − softplus(u)``, ``log(1 − σ(u)) = −softplus(u)``: no log(0)."""
    if isinstance(arg, sigmoid):
        return arg.args[0] - softplus(arg.args[0])
    if isinstance(1 - arg, sigmoid):
        return -softplus((1 - arg).args[0])
    return sympy.log(arg)


def _numpy(expr: sympy.Expr, symbols: Sequence[sympy.Symbol]) -> Callable[..., Any]:
    """``expr`` as a broadcasting NumPy function of ``symbols``, the only symbols allowed."""
    stray = expr.free_symbols - set(symbols)
    if stray:
        names = ", ".join(sorted(map(str, stray)))
        raise ExpressionError(f"cannot evaluate {expr}: {names} has no value")
    dummies = [sympy.Dummy() for _ in symbols]  # generated names only reach the printed code
    expr = expr.xreplace(dict(zip(symbols, dummies))).replace(sympy.log, _stable_log)
    expr = expr.replace(lambda e: isinstance(e, (sympy.Max, sympy.Min)),
                        lambda e: e.rewrite(sympy.Piecewise))
    table = {"sigmoid": lambda z: np.exp(-np.logaddexp(0.0, -z)),
             "softplus": lambda z: np.logaddexp(0.0, z)}
    return sympy.lambdify(dummies, expr, modules=[table, "numpy"], cse=True)


def _curve(expr: sympy.Expr, x: sympy.Symbol, grid: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.broadcast_to(np.asarray(_numpy(expr, [x])(grid), dtype=float), grid.shape)


def _span(lo: float, hi: float, pad: float = 0.15) -> tuple[float, float]:
    width = hi - lo if hi - lo > 1e-12 * max(1.0, abs(lo), abs(hi)) else max(1.0, abs(hi))
    return float(lo - pad * width), float(hi + pad * width)


def _finite_range(a: np.ndarray) -> tuple[float, float]:
    finite = a[np.isfinite(a)]
    return (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)


def _path(steps: Any, names: Sequence[str]) -> np.ndarray:
    """Steps as a ``(k, len(names))`` array, from a sequence or a fitted GradientDescent."""
    history = getattr(steps, "params_history_", None)
    if history is not None:
        return np.column_stack([np.asarray(history[n], dtype=float) for n in names])
    path = np.asarray(steps, dtype=float).reshape(len(steps), -1)
    if path.shape[1] != len(names) or not np.isfinite(path).all():
        raise DataError(f"steps must be finite values of ({', '.join(names)}), one row per step")
    return path


class _Cost:
    """J of a loss with scalar parameters on fixed data: a NumPy function of parameter grids."""

    def __init__(self, loss: Any, data: Mapping[str, Any], fixed: Params):
        if isinstance(loss, str):
            from .losses import get

            loss = get(loss)
        if loss.vectors:
            raise ExpressionError("plots need scalar parameters; this loss uses dot(...) vectors")
        self.loss, self.params = loss, tuple(loss.params)
        self.names = [p.name for p in self.params]
        hyper = tuple(loss.hyperparameters)
        known = {s.name for s in loss.data + hyper}
        if set(data) != known:
            raise DataError(f"data must name exactly {', '.join(sorted(known))}, "
                            f"not {', '.join(sorted(data)) or 'nothing'}")
        self.arrays = [np.asarray(data[s.name]) for s in loss.data]
        for s, a in zip(loss.data, self.arrays):
            if a.dtype.kind not in "biuf" or a.ndim != 1 or not a.size or not np.isfinite(a).all():
                raise DataError(f"{s.name} must be a non-empty 1-D array of finite numbers")
        if len({a.size for a in self.arrays}) != 1:
            raise DataError("the data arrays must have the same length")
        self.n, self.data = self.arrays[0].size, dict(data)
        self.hyper = [float(data[h.name]) for h in hyper]
        if set(fixed or {}) - set(self.names):
            raise DataError(f"fixed must name parameters among {', '.join(self.names)}")
        self.fixed = {n: float((fixed or {}).get(n, 0.0)) for n in self.names}
        self._term = _numpy(loss.term, self.params + tuple(loss.data) + hyper)
        self._penalty = _numpy(loss.penalty, self.params + hyper)
        self._sums: list[tuple[tuple[int, ...], float]] | None = None
        try:  # ℓ polynomial in θ: J = Σ_k mean(c_k(data))·θ^k, each mean computed once
            terms = sympy.Poly(loss.term, *self.params).terms()
        except sympy.PolynomialError:
            return
        scale = 1 if loss.reduce == "mean" else self.n
        self._sums = [(powers, scale * float(np.mean(np.broadcast_to(_numpy(
            c, tuple(loss.data) + hyper)(*self.arrays, *self.hyper), (self.n,)))))
            for powers, c in terms]

    def symbol(self, name: str) -> sympy.Symbol:
        if name not in self.names:
            names = ", ".join(self.names)
            raise ExpressionError(f"{name!r} is not a parameter (they are {names})")
        return self.params[self.names.index(name)]

    def __call__(self, **values: Any) -> np.ndarray:
        """J at ``{name: array}`` (the others at their fixed values), in the arrays' shape."""
        grids = np.broadcast_arrays(*(np.asarray(values.get(n, self.fixed[n]), dtype=float)
                                      for n in self.names))
        flat = [g.reshape(-1, 1) for g in grids]
        k = flat[0].shape[0]
        total = np.zeros(k)
        with np.errstate(all="ignore"):
            if self._sums is not None and k * self.n > 8 * _CHUNK:  # many samples: the sums
                for powers, mean in self._sums:
                    total += mean * np.prod([f[:, 0] ** e for f, e in zip(flat, powers)], axis=0)
            else:
                rows = max(1, _CHUNK // k)
                for start in range(0, self.n, rows):  # grid × chunk of samples, one call each
                    block = [a[None, start:start + rows].astype(float) for a in self.arrays]
                    term = self._term(*flat, *block, *self.hyper)
                    total += np.broadcast_to(term, (k, block[0].shape[1])).sum(axis=1)
                total /= self.n if self.loss.reduce == "mean" else 1
            total += np.ravel(self._penalty(*(f[:, 0] for f in flat), *self.hyper))
        return total.reshape(grids[0].shape)

    def center(self, names: Sequence[str]) -> np.ndarray:
        """The minimiser of the quadratic through J around the fixed point (exact for mse)."""
        base, eye = np.array([self.fixed[n] for n in names]), np.eye(len(names))
        at = lambda v: float(self(**dict(zip(names, base + v))))  # noqa: E731
        g = np.array([(at(e) - at(-e)) / 2 for e in eye])
        h = np.array([[(at(a + b) - at(a - b) - at(b - a) + at(-a - b)) / 4 for b in eye]
                      for a in eye])
        if not (np.isfinite(h).all() and np.isfinite(g).all()
                and np.all(np.linalg.eigvalsh(h) > 0)):
            return base
        return base - np.linalg.solve(h, g)

    def limits(self, names: Sequence[str], path: np.ndarray | None,
               given: Sequence[Any]) -> list[tuple[float, float]]:
        """Each axis's range: as given, else around the path, else fixed values to minimum."""
        if path is not None:
            auto = [_span(c.min(), c.max()) for c in path.T]
        else:
            pairs = zip(self.center(names), (self.fixed[n] for n in names))
            auto = [_span(min(c, b), max(c, b), 0.25) for c, b in pairs]
        return [tuple(map(float, g)) if g is not None else a for g, a in zip(given, auto)]

    def label(self, *names: str) -> str:
        return _math(f"J({', '.join(sympy.latex(self.symbol(n)) for n in names)})")

    def title(self, *names: str) -> str:
        """``J = formula`` (else the loss's title), and the values of the fixed parameters."""
        tex = sympy.latex(self.loss.objective)
        formula = _math(f"J = {tex}") if len(tex) <= 100 else ""
        text = formula if formula.startswith("$") else textwrap.fill(self.loss.title, 60)
        held = [_math(f"{sympy.latex(p)} = {_fmt(self.fixed[p.name])}") for p in self.params
                if p.name not in names]
        return text + (f"   ({', '.join(held)})" if held else "")


# --------------------------------------------------------------------------- plots


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
    y, fx = _curve(expr, x, grid), f"f({sympy.latex(x)})"
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


def cost_curve(loss: Any, param: str, *, data: Mapping[str, Any], fixed: Params = None,
               steps: Any = None, xlim: tuple[float, float] | None = None,
               ylim: tuple[float, float] | None = None, show_tangent: bool = False,
               ax: Axes = None) -> Axes:
    """The cost J against one parameter (the others held fixed), with gradient-descent steps.

    Parameters
    ----------
    loss : Loss or str
        The loss, or a catalogue name such as ``"mse"``.
    param : str
        The parameter on the x axis; ``fixed`` gives the others' values (default 0).
    data : mapping
        Data arrays by name, and hyperparameter values (``lam=0.1``).
    steps : sequence of float or GradientDescent, optional
        Successive values of ``param``: marked on the curve, with arrows from each to the next.
    xlim, ylim : (float, float), optional
        The parameter's range (default: around the steps, else reaching J's minimum), J's.
    show_tangent : bool
        With ``steps``: the tangent at the first step (slope from the compiled gradient).
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
        Line ``gid="cost"``; markers ``"steps"``, quiver ``"arrows"``, line ``"tangent"``.
    """
    cost = _Cost(loss, data, fixed)
    symbol, path = cost.symbol(param), None if steps is None else _path(steps, [param])
    ((lo, hi),) = cost.limits([param], path, [xlim])
    grid = np.linspace(lo, hi, _GRID)
    curve = cost(**{param: grid})
    ax = _axes(ax)
    ax.plot(grid, curve, lw=2, gid="cost", label=cost.label(param))
    if path is not None:
        p = path[:, 0]
        J = cost(**{param: p})
        ax.plot(p, J, "o", color="C3", ms=5, gid="steps", label="descent steps", zorder=3)
        ax.quiver(p[:-1], J[:-1], np.diff(p), np.diff(J), angles="xy", scale_units="xy", scale=1,
                  width=0.004, color="C3", gid="arrows", zorder=3)
        if show_tangent:
            from .numeric import compiled_for

            params = {**cost.fixed, param: p[0]}
            slope = compiled_for(cost.loss).grad(params, **cost.data)[cost.names.index(param)]
            partial = _math(rf"\partial J/\partial {sympy.latex(symbol)}")
            ax.plot(grid, J[0] + slope * (grid - p[0]), "--", color="0.4", gid="tangent",
                    label=f"tangent at the start, slope {partial} = {_fmt(slope)}")
            ax.set_ylim(*_span(*_finite_range(curve), 0.08))
    ax.set_xlim(lo, hi)
    if ylim is not None:
        ax.set_ylim(*ylim)
    return _finish(ax, _math(symbol), cost.label(param), cost.title(param))


def _levels(J: np.ndarray, levels: int | Sequence[float]) -> Any:
    """A count of levels spaced like t² (a bowl's rings evenly apart), or the levels given."""
    if not isinstance(levels, (int, np.integer)):
        return levels
    lo, hi = _finite_range(J)
    return lo + (hi - lo) * np.linspace(0, 1, int(levels) + 1)[1:] ** 2


def _grid(cost: _Cost, params: Sequence[str], path: Any, xlim: Any, ylim: Any):
    if len(params) != 2:
        raise ValueError(f"params must name two parameters, not {params!r}")
    p = None if path is None else _path(path, params)
    (x0, x1), (y0, y1) = cost.limits(params, p, [xlim, ylim])
    P1, P2 = np.meshgrid(np.linspace(x0, x1, _GRID // 2), np.linspace(y0, y1, _GRID // 2))
    return p, P1, P2, cost(**{params[0]: P1, params[1]: P2})


def contour(loss: Any, params: Sequence[str] = ("m", "b"), *, data: Mapping[str, Any],
            path: Any = None, levels: int | Sequence[float] = 30, xlim: Any = None,
            ylim: Any = None, fixed: Params = None, ax: Axes = None) -> Axes:
    """Contours of J over two parameters, with the descent path drawn on top.

    Parameters are those of :func:`cost_curve`, and ``path``: a sequence of ``(p1, p2)`` or a
    fitted GradientDescent; ``levels``: a count (spaced like t², so a bowl's rings are evenly
    apart) or the levels themselves; ``ylim`` the second parameter's range.

    Returns
    -------
    matplotlib.axes.Axes
        With a QuadContourSet ``gid="cost"``, a colour bar, and line ``"path"``, quiver
        ``"arrows"``.
    """
    cost = _Cost(loss, data, fixed)
    p, P1, P2, J = _grid(cost, params, path, xlim, ylim)
    ax = _axes(ax)
    cs = ax.contour(P1, P2, J, levels=_levels(J, levels), cmap="viridis", linewidths=1)
    if hasattr(cs, "set_gid"):  # an Artist since matplotlib 3.8
        cs.set_gid("cost")
    bar = ax.figure.colorbar(cs, ax=ax, label=cost.label(*params), spacing="proportional")
    bar.locator = matplotlib.ticker.MaxNLocator(7)  # ticks at round values, not every level
    if p is not None:
        ax.plot(p[:, 0], p[:, 1], ".-", color="C3", lw=1, ms=4, gid="path", label="descent path")
        ax.quiver(p[:-1, 0], p[:-1, 1], *np.diff(p, axis=0).T, angles="xy", scale_units="xy",
                  scale=1, width=0.004, color="C3", gid="arrows")
        ax.plot(*p[0], "o", color="k", label="start")
        ax.plot(*p[-1], "*", color="C3", ms=12, label="end")
    x, y = (_math(cost.symbol(n)) for n in params)
    return _finish(ax, x, y, cost.title(*params), legend=p is not None)


def surface(loss: Any, params: Sequence[str] = ("m", "b"), *, data: Mapping[str, Any],
            path: Any = None, levels: int | Sequence[float] = 15, xlim: Any = None,
            ylim: Any = None, fixed: Params = None, ax: Axes = None) -> Axes:
    """The surface of J over two parameters in 3-D, the descent path lifted onto it.

    Parameters are those of :func:`contour` (``levels``: the contours on the floor); ``ax``, if
    given, must be 3-D (``projection="3d"``).

    Returns
    -------
    mpl_toolkits.mplot3d.axes3d.Axes3D
        With the surface ``gid="cost"`` and the path, line ``gid="path"`` (z = J along it).
    """
    cost = _Cost(loss, data, fixed)
    p, P1, P2, J = _grid(cost, params, path, xlim, ylim)
    ax = _axes(ax, "3d")
    ax.plot_surface(P1, P2, J, cmap="viridis", alpha=0.75, linewidth=0, rstride=2, cstride=2,
                    gid="cost")
    lo, hi = _finite_range(J)
    ax.contour(P1, P2, J, levels=_levels(J, levels), zdir="z", offset=lo, cmap="viridis",
               linewidths=0.6)
    if p is not None:
        z = cost(**{params[0]: p[:, 0], params[1]: p[:, 1]})
        ax.plot(p[:, 0], p[:, 1], z, ".-", color="C3", lw=1.5, ms=4, gid="path",
                label="descent path", zorder=10)
    ax.set_zlim(lo, hi)
    ax.set_zlabel(cost.label(*params), labelpad=12)
    x, y = (_math(cost.symbol(n)) for n in params)
    return _finish(ax, x, y, cost.title(*params), legend=p is not None)


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
        v = _curve(piece, xs, grid)
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


def save(fig_or_ax: Any, path: str | os.PathLike, *,
         formats: Sequence[str] = ("png", "svg")) -> list[Path]:
    """Write the figure once per format, atomically: a file is complete or absent.

    Parameters
    ----------
    fig_or_ax : matplotlib.figure.Figure or matplotlib.axes.Axes
        The figure, or one of its axes.
    path : str or path-like
        The file name; a suffix that is one of ``formats`` is replaced by each format's.
    formats : sequence of str
        Matplotlib output formats.

    Returns
    -------
    list of pathlib.Path
        The files written, one per format.

    Raises
    ------
    ValueError
        For a format matplotlib cannot write.
    CalculusMLError
        When a file cannot be written (its temporary file is removed).
    """
    formats = (formats,) if isinstance(formats, str) else tuple(formats)
    figure = fig_or_ax if hasattr(fig_or_ax, "savefig") else fig_or_ax.figure
    figure = getattr(figure, "figure", None) or figure  # a subfigure's root figure
    supported = figure.canvas.get_supported_filetypes()
    for fmt in formats:
        if fmt not in supported:
            raise ValueError(f"cannot write format {fmt!r} (choose from {', '.join(supported)})")
    base = Path(path)
    base = base.with_suffix("") if base.suffix.lstrip(".").lower() in formats else base
    written = []
    for fmt in formats:
        target, temp = base.with_name(f"{base.name}.{fmt}"), None
        try:
            handle, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                            suffix=".part")
            with os.fdopen(handle, "wb") as out:
                figure.savefig(out, format=fmt)
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(temp, 0o666 & ~umask)  # mkstemp's 0600 would hide the figure from others
            os.replace(temp, target)
        except OSError as error:
            raise CalculusMLError(f"cannot write {target}: {error.strerror or error}") from None
        finally:
            if temp is not None and os.path.exists(temp):
                os.unlink(temp)
        written.append(target)
    return written
