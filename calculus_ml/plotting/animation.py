"""Gradient descent as a moving picture: the path drawn step by step on the cost curve (one
parameter) or on the contours (two), with matplotlib's animation API.

:func:`animate_descent` returns the animation and, given a file, writes it: an animated GIF
(Pillow, a core dependency), an HTML5 page with its own player (``to_jshtml``, with its icon
font replaced by characters so that it loads nothing: for handouts) or MP4 (needs the ``ffmpeg`` program). :func:`descent_frames` draws a few of the
frames side by side, for print.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import CalculusMLError
from .base import Params, _span
from .costs import _cost, _path, contour, cost_curve

__all__ = ["animate_descent", "descent_frames", "offline_player", "frame_indices", "MAX_FRAMES"]

MAX_FRAMES = 60
"""Frames at most: a longer path is sampled evenly (its first and last steps kept). Each frame
is a full drawing of the contours, about a tenth of a second on an idle core."""

_DPI = 80  # GIF and MP4 frames: a handout's column width


def frame_indices(first: int, last: int, most: int, power: float = 1.0) -> np.ndarray:
    """At most ``most`` whole numbers from ``first`` to ``last`` (both kept), at
    ``first + (last - first) t**power`` for ``t`` evenly spaced in [0, 1], rounded: evenly
    spaced for ``power`` 1, denser near ``first`` for a larger power."""
    t = np.linspace(0, 1, most) ** power
    return np.unique(np.round(first + (last - first) * t).astype(int))


def _background(loss: Any, params: Sequence[str], data: Mapping[str, Any], path: np.ndarray,
                fixed: Params, ax: Any) -> Any:
    """The cost picture with room for the whole path; no path drawn yet."""
    limits = [_span(c.min(), c.max()) for c in path.T]
    if len(params) == 1:
        return cost_curve(loss, params[0], data=data, fixed=fixed, xlim=limits[0], ax=ax)
    return contour(loss, params, data=data, fixed=fixed, xlim=limits[0], ylim=limits[1], ax=ax)


def _heights(loss: Any, params: Sequence[str], data: Mapping[str, Any], path: np.ndarray,
             fixed: Params) -> np.ndarray:
    """The y coordinate of each step: J there (one parameter) or the second parameter."""
    if len(params) == 2:
        return path[:, 1]
    return np.asarray(_cost(loss, data, fixed)(**{params[0]: path[:, 0]}), dtype=float)


def animate_descent(loss: Any, params: Sequence[str], *, data: Mapping[str, Any], path: Any,
                    fixed: Params = None, out: str | os.PathLike | None = None,
                    interval: int = 300) -> Any:
    """Animate a descent ``path`` over one or two of ``loss``'s parameters.

    Parameters
    ----------
    loss : Loss or str
        The loss (or a catalogue name).
    params : sequence of str
        One parameter (the cost curve) or two (the contours).
    data : mapping
        Data arrays by name (and hyperparameter values).
    path : sequence or GradientDescent
        The successive parameter values, one row per step (or a fitted estimator).
    fixed : mapping, optional
        Values of the other parameters.
    out : path, optional
        Write the animation: ``.gif`` (Pillow), ``.html`` (a self-contained player) or
        ``.mp4`` (needs ffmpeg).
    interval : int
        Milliseconds between frames.

    Returns
    -------
    matplotlib.animation.FuncAnimation

    Raises
    ------
    CalculusMLError
        For an unknown file type, or MP4 without ffmpeg.
    """
    import matplotlib.pyplot as plt
    from matplotlib import animation

    params = list(params)
    steps = _path(path, params)
    figure = plt.figure(figsize=(6.4, 4.4), layout="constrained")
    ax = _background(loss, params, data, steps, fixed, figure.add_subplot())
    ys = _heights(loss, params, data, steps, fixed)
    (line,) = ax.plot([], [], ".-", color="C3", lw=1.2, ms=6, gid="path")
    label = ax.text(0.02, 0.96, "", transform=ax.transAxes, va="top", gid="step")

    def draw(k: int) -> tuple:
        line.set_data(steps[:k, 0], ys[:k])
        label.set_text(f"step {k - 1}")
        return line, label

    frames = frame_indices(1, len(steps), min(len(steps), MAX_FRAMES))
    anim = animation.FuncAnimation(figure, draw, frames=frames, interval=interval, blit=True)
    if out is not None:
        _write(anim, os.fspath(out), interval)
    return anim


def _write(anim: Any, out: str, interval: int) -> None:
    from matplotlib import animation

    suffix = os.path.splitext(out)[1].lower()
    if suffix == ".gif":
        anim.save(out, writer=animation.PillowWriter(fps=max(1, round(1000 / interval))),
                  dpi=_DPI)
    elif suffix == ".html":
        with open(out, "w", encoding="utf-8") as handle:
            handle.write(offline_player(anim.to_jshtml()))
    elif suffix == ".mp4":
        if not animation.writers.is_available("ffmpeg"):
            raise CalculusMLError("writing MP4 needs the ffmpeg program; write .gif or .html")
        anim.save(out, writer=animation.FFMpegWriter(fps=max(1, round(1000 / interval))),
                  dpi=_DPI)
    else:
        raise CalculusMLError(f"animate_descent writes .gif, .html or .mp4, not {suffix or out!r}")


_ICONS = {"fast-backward": "⇤", "step-backward": "◁", "play": "▶", "pause": "||",
          "step-forward": "▷", "fast-forward": "⇥", "minus": "−", "plus": "+"}


def offline_player(page: str) -> str:
    """matplotlib's HTML5 player without its one remote file (an icon font from a CDN): the
    buttons' icons become characters, so the page loads nothing."""
    page = re.sub(r"<link[^>]*>", "", page)
    icons = "".join(f'.fa-{name}:before{{content:"{char}"}}' for name, char in _ICONS.items())
    flip = ".fa-flip-horizontal{display:inline-block;transform:scaleX(-1)}"
    return f"<style>.fa{{font-style:normal}}{flip}{icons}</style>{page}"


def descent_frames(loss: Any, params: Sequence[str], *, data: Mapping[str, Any], path: Any,
                   fixed: Params = None, count: int = 4) -> Any:
    """``count`` frames of :func:`animate_descent` side by side (a strip for print); returns
    the figure."""
    import matplotlib.pyplot as plt

    params = list(params)
    steps = _path(path, params)
    figure = plt.figure(figsize=(4.2 * count, 3.6), layout="constrained")
    ys = _heights(loss, params, data, steps, fixed)
    for place, k in enumerate(frame_indices(1, len(steps), min(len(steps), count)), 1):
        ax = _background(loss, params, data, steps, fixed, figure.add_subplot(1, count, place))
        ax.plot(steps[:k, 0], ys[:k], ".-", color="C3", lw=1.2, ms=6, gid="path")
        ax.set_title(f"step {k - 1}", fontsize=10)
    return figure
