"""Figures of the cost J of a loss over its parameters: a curve, contours, a surface.

Every number comes from :class:`calculus_ml.numeric.grid.GridCost` (J on parameter grids, the
minimum to centre the view on, the compiled gradient for a tangent); this module draws.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.ticker
import numpy as np
import sympy

from ..errors import DataError
from ..losses import get
from ..numeric.grid import GridCost
from .base import _GRID, Axes, Params, _axes, _finish, _finite_range, _fmt, _math, _span


def _cost(loss: Any, data: Mapping[str, Any], fixed: Params) -> GridCost:
    """J of ``loss`` (a Loss, or a catalogue name such as ``"mse"``) on ``data``."""
    return GridCost(get(loss) if isinstance(loss, str) else loss, data, fixed)


def _path(steps: Any, names: Sequence[str]) -> np.ndarray:
    """Steps as a ``(k, len(names))`` array, from a sequence or a fitted GradientDescent."""
    history = getattr(steps, "params_history_", None)
    if history is not None:
        return np.column_stack([np.asarray(history[n], dtype=float) for n in names])
    path = np.asarray(steps, dtype=float).reshape(len(steps), -1)
    if path.shape[1] != len(names) or not np.isfinite(path).all():
        raise DataError(f"steps must be finite values of ({', '.join(names)}), one row per step")
    return path


def _limits(cost: GridCost, names: Sequence[str], path: np.ndarray | None,
            given: Sequence[Any]) -> list[tuple[float, float]]:
    """Each axis's range: as given, else around the path, else fixed values to minimum."""
    if path is not None:
        auto = [_span(c.min(), c.max()) for c in path.T]
    else:
        pairs = zip(cost.minimum_near(names), (cost.fixed[n] for n in names))
        auto = [_span(min(c, b), max(c, b), 0.25) for c, b in pairs]
    return [tuple(map(float, g)) if g is not None else a for g, a in zip(given, auto)]


def _label(cost: GridCost, *names: str) -> str:
    return _math(f"J({', '.join(sympy.latex(cost.parameter(n)) for n in names)})")


def _title(cost: GridCost, *names: str) -> str:
    """``J = formula`` (else the loss's title), and the values of the fixed parameters."""
    tex = sympy.latex(cost.loss.objective)
    formula = _math(f"J = {tex}") if len(tex) <= 100 else ""
    text = formula if formula.startswith("$") else textwrap.fill(cost.loss.title, 60)
    held = [_math(f"{sympy.latex(p)} = {_fmt(cost.fixed[p.name])}") for p in cost.params
            if p.name not in names]
    return text + (f"   ({', '.join(held)})" if held else "")


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
    cost = _cost(loss, data, fixed)
    symbol, path = cost.parameter(param), None if steps is None else _path(steps, [param])
    ((lo, hi),) = _limits(cost, [param], path, [xlim])
    grid = np.linspace(lo, hi, _GRID)
    curve = cost(**{param: grid})
    ax = _axes(ax)
    ax.plot(grid, curve, lw=2, gid="cost", label=_label(cost, param))
    if path is not None:
        p = path[:, 0]
        J = cost(**{param: p})
        ax.plot(p, J, "o", color="C3", ms=5, gid="steps", label="descent steps", zorder=3)
        ax.quiver(p[:-1], J[:-1], np.diff(p), np.diff(J), angles="xy", scale_units="xy", scale=1,
                  width=0.004, color="C3", gid="arrows", zorder=3)
        if show_tangent:
            slope = cost.gradient(**{param: p[0]})[cost.names.index(param)]
            partial = _math(rf"\partial J/\partial {sympy.latex(symbol)}")
            ax.plot(grid, J[0] + slope * (grid - p[0]), "--", color="0.4", gid="tangent",
                    label=f"tangent at the start, slope {partial} = {_fmt(slope)}")
            ax.set_ylim(*_span(*_finite_range(curve), 0.08))
    ax.set_xlim(lo, hi)
    if ylim is not None:
        ax.set_ylim(*ylim)
    return _finish(ax, _math(symbol), _label(cost, param), _title(cost, param))


def _levels(J: np.ndarray, levels: int | Sequence[float]) -> Any:
    """A count of levels spaced like t² (a bowl's rings evenly apart), or the levels given."""
    if not isinstance(levels, (int, np.integer)):
        return levels
    lo, hi = _finite_range(J)
    return lo + (hi - lo) * np.linspace(0, 1, int(levels) + 1)[1:] ** 2


def _grid(cost: GridCost, params: Sequence[str], path: Any, xlim: Any, ylim: Any):
    if len(params) != 2:
        raise ValueError(f"params must name two parameters, not {params!r}")
    p = None if path is None else _path(path, params)
    (x0, x1), (y0, y1) = _limits(cost, params, p, [xlim, ylim])
    P1, P2 = np.meshgrid(np.linspace(x0, x1, _GRID // 2), np.linspace(y0, y1, _GRID // 2))
    return p, P1, P2, cost(**{params[0]: P1, params[1]: P2})


def contour(loss: Any, params: Sequence[str] = ("m", "b"), *, data: Mapping[str, Any],
            path: Any = None, levels: int | Sequence[float] = 30, xlim: Any = None,
            ylim: Any = None, fixed: Params = None, ax: Axes = None,
            compare: Mapping[str, Any] | None = None, label: str = "descent path") -> Axes:
    """Contours of J over two parameters, with the descent path drawn on top.

    Parameters are those of :func:`cost_curve`, and ``path``: a sequence of ``(p1, p2)`` or a
    fitted GradientDescent (``label`` names it in the legend); ``compare``: more paths by label,
    each in its own colour (gradient descent beside Newton's method); ``levels``: a count
    (spaced like t², so a bowl's rings are evenly apart) or the levels themselves; ``ylim`` the
    second parameter's range.

    Returns
    -------
    matplotlib.axes.Axes
        With a QuadContourSet ``gid="cost"``, a colour bar, and line ``"path"``, quiver
        ``"arrows"``; lines ``"path1"``, ``"path2"``... for the paths compared.
    """
    cost = _cost(loss, data, fixed)
    others = {name: _path(steps, params) for name, steps in (compare or {}).items()}
    p = None if path is None else _path(path, params)
    drawn = [q for q in [p, *others.values()] if q is not None]
    _, P1, P2, J = _grid(cost, params, np.vstack(drawn) if drawn else None, xlim, ylim)
    ax = _axes(ax)
    cs = ax.contour(P1, P2, J, levels=_levels(J, levels), cmap="viridis", linewidths=1)
    if hasattr(cs, "set_gid"):  # an Artist since matplotlib 3.8
        cs.set_gid("cost")
    bar = ax.figure.colorbar(cs, ax=ax, label=_label(cost, *params), spacing="proportional")
    bar.locator = matplotlib.ticker.MaxNLocator(7)  # ticks at round values, not every level
    if p is not None:
        ax.plot(p[:, 0], p[:, 1], ".-", color="C3", lw=1, ms=4, gid="path", label=label)
        ax.quiver(p[:-1, 0], p[:-1, 1], *np.diff(p, axis=0).T, angles="xy", scale_units="xy",
                  scale=1, width=0.004, color="C3", gid="arrows")
        ax.plot(*p[0], "o", color="k", label="start")
        ax.plot(*p[-1], "*", color="C3", ms=12, label="end")
    for k, (name, q) in enumerate(others.items(), 1):
        ax.plot(q[:, 0], q[:, 1], "s-", color=f"C{(k + 3) % 10}", lw=1.5,
                ms=5, gid=f"path{k}", label=name)
    x, y = (_math(cost.parameter(n)) for n in params)
    return _finish(ax, x, y, _title(cost, *params), legend=p is not None or bool(others))


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
    cost = _cost(loss, data, fixed)
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
    ax.set_zlabel(_label(cost, *params), labelpad=12)
    x, y = (_math(cost.parameter(n)) for n in params)
    return _finish(ax, x, y, _title(cost, *params), legend=p is not None)
