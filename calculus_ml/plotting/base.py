"""What every figure shares: the backend choice, axes, labels, ranges, and writing files.

Imported first by the package, so that Agg is chosen (only when no backend was chosen and there
is no display) before anything loads pyplot.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import sympy

from ..errors import CalculusMLError

Axes = Any  # matplotlib.axes.Axes (not imported at module level, for the annotations only)
Params = Mapping[str, float] | None
_GRID = 200  # points of a 1-D curve; a 2-D grid has _GRID // 2 per axis


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


def _span(lo: float, hi: float, pad: float = 0.15) -> tuple[float, float]:
    width = hi - lo if hi - lo > 1e-12 * max(1.0, abs(lo), abs(hi)) else max(1.0, abs(hi))
    return float(lo - pad * width), float(hi + pad * width)


def _finite_range(a: np.ndarray) -> tuple[float, float]:
    finite = a[np.isfinite(a)]
    return (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)


# --------------------------------------------------------------------------- files


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
