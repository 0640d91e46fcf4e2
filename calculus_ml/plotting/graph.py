"""The computation graph of a network, drawn: nodes (input, parameters, layers, loss) and edges
labelled with their local derivatives, each the result of a verified derivation.

:func:`draw_graph` draws it with matplotlib (no system binary); at a point (a
:class:`~calculus_ml.graph.values.GraphValues`) each node also shows its forward value and
``∂ℓ/∂node``. Every node's artists carry the ``gid`` ``node-<name>`` and every edge label
``edge-<target><-<source>``, so an SVG of the figure can be linked to other views.
:func:`to_dot` writes Graphviz DOT text; :func:`to_svg` renders it with the ``graphviz`` package
(the ``graph`` extra).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy

from ..errors import CalculusMLError
from .base import Axes, _math

__all__ = ["draw_graph", "to_dot", "to_svg", "layout"]

_SHOWN = 3  # entries of a vector printed on a node


def layout(bp: Any) -> dict[str, tuple[float, float]]:
    """``{node: (x, y)}``: the layers left to right on one row, each dense layer's weight above
    and bias below, the target under the loss."""
    net = bp.network
    chain = [net.input] + [la.name for la in net.layers] + ["ℓ"]
    where = {name: (1.7 * k, 0.0) for k, name in enumerate(chain)}
    for layer in net.dense:
        x = where[layer.name][0] - 0.85
        where[layer.weight], where[layer.bias] = (x, 1.0), (x, -1.0)
    where[net.target] = (where["ℓ"][0] - 0.85, -1.0)
    return where


def _numbers(values: np.ndarray) -> str:
    shown = ", ".join(f"{v:.3g}" for v in np.ravel(values)[:_SHOWN])
    more = ", …" if np.size(values) > _SHOWN else ""
    return f"[{shown}{more}]" if np.size(values) > 1 else shown


def _node_text(bp: Any, name: str, values: Any) -> str:
    if values is None:
        return name
    net = bp.network
    if name == net.target:
        return f"{name}\n= {_numbers(values.target)}"
    if name == "ℓ":
        return f"ℓ\n{values.loss:.4g}"
    if name in net.params:
        value = "" if name not in values.gradient else f"\n∂ℓ: {_numbers(values.gradient[name])}"
        return name + value
    lines = [name]
    if name in values.forward:
        lines.append(f"= {_numbers(values.forward[name])}")
    if name in values.delta:
        lines.append(f"∂ℓ: {_numbers(values.delta[name])}")
    return "\n".join(lines)


def draw_graph(bp: Any, values: Any = None, *, ax: Axes = None) -> Axes:
    """Draw ``bp``'s computation graph; with ``values`` (:func:`~calculus_ml.graph.values.
    values_at`), each node's forward value (``=``) and gradient (``∂ℓ:``).

    Returns the Axes; nodes are tagged ``node-<name>``, edge labels ``edge-<key>``.
    """
    if ax is None:
        import matplotlib.pyplot as plt

        width = 2.4 * (len(bp.network.layers) + 2)
        ax = plt.figure(figsize=(width, 5.2), layout="constrained").add_subplot()
    where = layout(bp)
    net = bp.network
    for edge in bp.edges.values():
        (x0, y0), (x1, y1) = where[edge.source], where[edge.target]
        ax.annotate("", (x1, y1), (x0, y0), gid=f"arrow-{edge.key}",
                    arrowprops={"arrowstyle": "->", "color": "0.45", "shrinkA": 26,
                                "shrinkB": 26})
        ax.text((x0 + x1) / 2, (y0 + y1) / 2 + (0.3 if y0 == y1 else 0.05), _math(edge.result), ha="center",
                va="bottom", fontsize=9, color="tab:blue", gid=f"edge-{edge.key}")
    ax.annotate("", where["ℓ"], where[net.target],
                arrowprops={"arrowstyle": "->", "color": "0.75", "shrinkA": 20, "shrinkB": 26})
    kinds = {net.input: "#e8f0e0", net.target: "#e8f0e0", "ℓ": "#f6dede"}
    for name, (x, y) in where.items():
        colour = kinds.get(name, "#fdf3d8" if name in net.params else "#e3ecf7")
        ax.text(x, y, _node_text(bp, name, values), ha="center", va="center", fontsize=9,
                gid=f"node-{name}",
                bbox={"boxstyle": "round,pad=0.4", "facecolor": colour, "edgecolor": "0.4"})
    xs = [p[0] for p in where.values()]
    ax.set_xlim(min(xs) - 0.6, max(xs) + 0.6)
    ax.set_ylim(-1.7, 1.7)
    ax.set_axis_off()
    shown = "" if values is None else " (at one data point: = forward value, ∂ℓ: gradient)"
    ax.set_title("computation graph: edges labelled with local derivatives" + shown, fontsize=10)
    return ax


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(bp: Any, values: Any = None) -> str:
    """Graphviz DOT text of the graph: node labels as in :func:`draw_graph`, edge labels the
    local derivatives (``sympy.sstr``)."""
    net = bp.network
    lines = ["digraph computation {", "  rankdir=LR;", "  node [shape=box, style=rounded];"]
    names = list(layout(bp))
    for k, name in enumerate(names):
        lines.append(f"  n{k} [id={_quoted('node-' + name)}, "
                     f"label={_quoted(_node_text(bp, name, values))}];")
    index = {name: k for k, name in enumerate(names)}
    for edge in bp.edges.values():
        lines.append(f"  n{index[edge.source]} -> n{index[edge.target]} "
                     f"[id={_quoted('edge-' + edge.key)}, "
                     f"label={_quoted(sympy.sstr(edge.result))}];")
    lines.append(f"  n{index[net.target]} -> n{index['ℓ']};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_svg(bp: Any, values: Any = None) -> str:
    """The graph as SVG text, laid out by Graphviz.

    Raises
    ------
    CalculusMLError
        When the ``graphviz`` package (or its ``dot`` program) is not installed.
    """
    try:
        import graphviz
    except ImportError:
        raise CalculusMLError('drawing with Graphviz needs the graphviz package: '
                              'pip install "calculus_ml[graph]"') from None
    try:
        return graphviz.Source(to_dot(bp, values)).pipe(format="svg").decode("utf-8")
    except graphviz.ExecutableNotFound:
        raise CalculusMLError("the graphviz package is installed but its 'dot' program is "
                              "not; draw_graph draws without it") from None
