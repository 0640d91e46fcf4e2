"""A trained classifier's picture: its decision boundary over the plane of two features, with
the data; the loss per iteration is :func:`calculus_ml.plotting.loss_history`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import DataError
from .base import _GRID, Axes, _axes, _finish, _span

__all__ = ["decision_boundary"]


def decision_boundary(model: Any, theta: Any, x: Any, y: Any, *, ax: Axes = None) -> Axes:
    """The classes a compiled network (:class:`~calculus_ml.numeric.network.CompiledNetwork`)
    predicts over the plane of two features, the boundary between them, and the data.

    ``x`` is ``(n, 2)``, ``y`` the classes (0/1, or one-hot rows). A network with one output
    unit predicts class 1 where it exceeds 0.5 (a probability); with several, the largest.

    Returns
    -------
    matplotlib.axes.Axes
        With filled contours ``gid="classes"``, the boundary ``"boundary"`` and points
        ``"data"``.
    """
    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or x.shape[1] != 2:
        raise DataError(f"decision_boundary draws two features: x must be (n, 2), not {x.shape}")
    labels = np.asarray(y, dtype=float)
    labels = labels.argmax(axis=1) if labels.ndim == 2 else labels
    (x0, x1), (y0, y1) = (_span(c.min(), c.max(), 0.1) for c in x.T)
    G1, G2 = np.meshgrid(np.linspace(x0, x1, _GRID), np.linspace(y0, y1, _GRID))
    classes = _classes(model.predict(theta, np.column_stack([G1.ravel(), G2.ravel()])))
    classes = classes.reshape(G1.shape).astype(float)
    ax = _axes(ax)
    levels = np.arange(classes.max() + 2) - 0.5
    filled = ax.contourf(G1, G2, classes, levels=levels, cmap="coolwarm", alpha=0.25)
    lines = ax.contour(G1, G2, classes, levels=levels[1:-1], colors="k", linewidths=1)
    for artist, gid in ((filled, "classes"), (lines, "boundary")):
        if hasattr(artist, "set_gid"):
            artist.set_gid(gid)
    ax.scatter(x[:, 0], x[:, 1], c=labels, cmap="coolwarm", s=14, edgecolors="k",
               linewidths=0.3, gid="data")
    accuracy = np.mean(_classes(model.predict(theta, x)) == labels)
    return _finish(ax, "feature 1", "feature 2",
                   f"Decision boundary (accuracy {accuracy:.1%} on these points)", legend=False)


def _classes(out: np.ndarray) -> np.ndarray:
    """The predicted class of each row of a network's output."""
    return (out[:, 0] > 0.5).astype(int) if out.shape[1] == 1 else out.argmax(axis=1)
