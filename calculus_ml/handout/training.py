"""A section's network trained on a bundled data set, for its figures: the learning curve, the
decision boundary, and the descent as a moving decision boundary (an offline player in HTML, a
strip of frames in print).

A plot of kind ``learning_curve``, ``decision_boundary`` or ``descent_animation`` names a
bundled set (``data = "moons"`` or ``"xor"``, :func:`~calculus_ml.datasets.bundled`) and may set
Adam's ``learning_rate``, its number of ``steps`` and the ``seed`` of the starting weights; a
``descent_animation`` also the ``frames`` of its printed strip. :func:`check_network` bounds
every value; :func:`train` trains once per loss and settings, whatever the figures ask.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from ..datasets import CLASSIFICATION_SETS, bundled
from ..errors import quoted
from .checker import Checker

__all__ = ["TRAINING_KINDS", "TRAINING_OPTIONS", "TRAINING_TYPES", "Training", "check_network", "train",
           "draw_training", "player"]

TRAINING_KINDS = ("learning_curve", "decision_boundary", "descent_animation")
TRAINING_OPTIONS = {"data", "learning_rate", "steps", "seed", "frames"}
"""The options of the training plots (``frames`` only for ``descent_animation``)."""
TRAINING_TYPES = {"data": "name", **dict.fromkeys(TRAINING_OPTIONS - {"data"}, "number")}
"""Their types, as a section's plot options are first checked."""
DEFAULTS = {"learning_rate": 0.05, "steps": 300, "seed": 0, "frames": 5}
MAX_ADAM_RATE = 10.0
"""The largest learning rate of a training plot: Adam's steps are about this long."""
MAX_TRAINING_STEPS = 5000
"""The most Adam steps of a training plot (each a full-batch gradient, about 0.1 ms)."""
STRIP = (4, 6)
"""The fewest and most frames of a printed strip."""
PLAYER_FRAMES = 20
"""Frames of the HTML player (each an embedded PNG of a few kilobytes)."""


@dataclass(frozen=True)
class Training:
    """Adam on a bundled set: the compiled network, the data, and the weights and loss after
    0, 1, ..., ``steps`` steps."""

    net: Any
    x: np.ndarray
    y: np.ndarray
    thetas: np.ndarray
    values: np.ndarray


def check_network(kind: str, options: dict[str, Any], s: Any, key: str, check: Checker
                  ) -> None:
    """Check a plot of a network (``graph`` or a training plot): a network loss; for training,
    its options in place (defaults filled): two inputs and an output that fits two classes, a
    bundled set, and bounded settings."""
    network = getattr(s.loss, "network", None)
    if network is None:
        check.fail(f"{key}.kind", f"{kind} draws a network loss (loss = \"mlp\")")
    if kind == "graph":
        return
    outputs = len(network.units(network.output))
    if network.sizes[network.input] != 2 or outputs != (2 if network.softmax else 1):
        check.fail(f"{key}.kind", f"{kind} needs a network of 2 inputs and one output (two "
                                  "for softmax): the bundled sets have two features, two classes")
    if kind != "descent_animation" and "frames" in options:
        check.fail(f"{key}.frames", "only a descent_animation has frames")
    if options.get("data") not in CLASSIFICATION_SETS:
        check.fail(f"{key}.data", f"must be one of {', '.join(CLASSIFICATION_SETS)}, "
                                  f"not {quoted(options.get('data'))}")
    for name, value in DEFAULTS.items():
        options.setdefault(name, value)
    rate = check.number(options["learning_rate"], f"{key}.learning_rate", MAX_ADAM_RATE)
    if rate <= 0:
        check.fail(f"{key}.learning_rate", "must be positive")
    check.whole(options["steps"], f"{key}.steps", 1, MAX_TRAINING_STEPS)
    check.whole(options["seed"], f"{key}.seed", 0, 2**32 - 1)
    check.whole(options["frames"], f"{key}.frames", *STRIP)
    rows = len(bundled(options["data"])["y"])
    check.spend(f"{key}.steps", options["steps"], options["steps"] * rows)


@lru_cache(maxsize=4)
def train(loss: Any, data: str, learning_rate: float, steps: int, seed: int) -> Training:
    """Train ``loss``'s compiled network on the bundled set ``data`` with Adam (full batch)."""
    from ..optimize.optimizers import adam

    net = loss.compiled()
    table = bundled(data)
    x, y = table["x"], table["y"]
    if loss.network.softmax:
        y = np.eye(2)[y.astype(int)]
    thetas = []
    adam(lambda t, i: net.grad(t, x, y), net.initial(seed), learning_rate=learning_rate,
         max_iter=steps + 1, callback=lambda t, i, g: thetas.append(t))
    values = np.array([net.value(t, x, y) for t in thetas])
    return Training(net, x, y, np.array(thetas), values)


def _trained(loss: Any, o: dict[str, Any]) -> Training:
    return train(loss, o["data"], o["learning_rate"], o["steps"], o["seed"])


def _boundary(t: Training, step: int, ax: Any, titled: bool = True) -> None:
    """The decision boundary after ``step`` steps; ``titled``: the step and J as its title
    (else the accuracy)."""
    from ..plotting import decision_boundary

    decision_boundary(t.net, t.thetas[step], t.x, t.y, ax=ax)
    if titled:
        ax.set_title(f"step {step}: J = {t.values[step]:.3f}", fontsize=9)


def draw_training(kind: str, options: dict[str, Any], loss: Any, figure: Any, ax: Any) -> None:
    """Draw a training plot on ``figure`` (its one axes ``ax``): the learning curve, the final
    decision boundary, or a strip of the boundary at evenly spaced steps."""
    from ..plotting import loss_history
    from ..plotting.animation import frame_indices

    t = _trained(loss, options)
    if kind == "learning_curve":
        loss_history(t.values, ax=ax)
    elif kind == "decision_boundary":
        _boundary(t, len(t.thetas) - 1, ax, titled=False)
    else:
        figure.delaxes(ax)
        count = options["frames"]
        figure.set_size_inches(1.9 * count, 2.1)
        for place, step in enumerate(frame_indices(0, len(t.thetas) - 1, count, power=2), 1):
            axes = figure.add_subplot(1, count, place)
            _boundary(t, step, axes)
            axes.set(xlabel="", ylabel="", xticks=[], yticks=[])


def player(options: dict[str, Any], loss: Any) -> str:
    """The descent as an HTML5 player of the moving decision boundary that loads nothing
    (:func:`~calculus_ml.plotting.animation.offline_player`)."""
    from matplotlib import animation
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from ..plotting.animation import frame_indices, offline_player

    t = _trained(loss, options)
    figure = Figure(figsize=(6, 4.4), dpi=72)  # a fixed layout: each frame is drawn 3 times
    figure.subplots_adjust(left=0.11, right=0.97, bottom=0.11, top=0.93)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()

    def draw(step: int) -> None:
        ax.clear()
        _boundary(t, step, ax)

    anim = animation.FuncAnimation(figure, draw, frames=list(frame_indices(
        0, len(t.thetas) - 1, PLAYER_FRAMES, power=2)),
                                   interval=250)
    return offline_player(anim.to_jshtml(default_mode="once"))
