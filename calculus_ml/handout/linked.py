"""One offline HTML page with three linked views of backpropagation: the algebraic steps, the
computation graph (inline SVG) and the numbers at one training iteration.

Every item carries ``data-node`` (the nodes it is about); the graph's SVG groups are
``node-<name>``. Hovering or clicking an item or a node highlights everything about the same
node (a few lines of inline script). With script off, the page reads top to bottom: nothing is
hidden, nothing is fetched (no external ``src`` or ``href``; maths as MathML).
"""

from __future__ import annotations

import html
import io
import os
import re
from typing import Any

import sympy

from ..graph import Backpropagation
from ..graph.backprop import delta_name
from ..render.html import mathml, page

__all__ = ["linked_page", "write_linked_page", "backpropagation_equations"]

_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;max-width:1200px;color:#222}
.views{display:grid;grid-template-columns:1fr 1fr;gap:1em}
section{border:1px solid #ccc;border-radius:6px;padding:.6em 1em}
#graph{grid-column:1/3} #graph svg{width:100%;height:auto}
li,tr{cursor:pointer} .rule{color:#666;font-size:.85em}
.hl{background:#ffe9a8} g.hl path{stroke:#d33 !important;stroke-width:2px}
td,th{padding:.15em .6em;text-align:left;font-variant-numeric:tabular-nums}
"""

_SCRIPT = """
function mark(n,on){document.querySelectorAll('[data-node~="'+n+'"]').forEach(function(e){
e.classList.toggle('hl',on)});var g=document.getElementById('node-'+n);if(g)g.classList.toggle('hl',on)}
var current=null;
document.querySelectorAll('[data-node],g[id^="node-"]').forEach(function(e){
var nodes=(e.getAttribute('data-node')||e.id.slice(5)).split(' ');
e.addEventListener('mouseenter',function(){nodes.forEach(function(n){mark(n,true)})});
e.addEventListener('mouseleave',function(){nodes.forEach(function(n){mark(n,n===current)})});
e.addEventListener('click',function(){var old=current;current=nodes[0];if(old)mark(old,false);
mark(current,true)})});
"""


def backpropagation_equations(bp: Backpropagation
                              ) -> list[tuple[str, tuple[tuple[sympy.Basic, sympy.Basic], ...]]]:
    """``(title, rows)`` groups of ``(left, right)`` rows for a handout: the local derivatives
    (one per edge), the error signals (in the δ above, then in node values), the gradients,
    their means over data, and the matrix forms."""
    net = bp.network
    edges = []
    for edge in bp.edges.values():
        source = net.node_at(edge.source)
        edges.append((sympy.Derivative(sympy.Symbol(edge.target, real=True), source),
                      edge.result))

    def rows(claims) -> tuple:
        out = []
        for claim in claims:
            out.append((claim.lhs, claim.formula))
            if claim.result != claim.formula:
                out.append((claim.lhs, claim.result))
        return tuple(out)

    return [
        ("Local derivatives, one per edge of the graph:", tuple(edges)),
        ("Error signals, each derived once from the one above:", rows(bp.deltas.values())),
        ("Gradients of the weights, each reusing its layer's δ:", rows(bp.gradients.values())),
        ("Over the data, the mean of the per-sample gradients:",
         tuple((c.lhs, c.formula) for c in bp.means.values())),
        ("In matrix form (one sample, columns):",
         tuple((m.lhs, m.expanded) for m in bp.matrix_forms.values())),
    ]


def _item(nodes: str, lhs: sympy.Basic, rhs: list[sympy.Basic], note: str, key: str) -> str:
    maths = " = ".join(mathml(e) for e in [lhs, *rhs])
    return (f'<li data-node="{html.escape(nodes)}" data-key="{html.escape(key)}">{maths}'
            f' <span class="rule">{html.escape(note)}</span></li>')


def _steps(bp: Backpropagation) -> str:
    edges = []
    for edge in bp.edges.values():
        lhs = sympy.Symbol(f"∂{edge.target}/∂{edge.source}")
        note = f"rule {edge.step.rule}, verified against sympy.diff"
        edges.append(_item(f"{edge.target} {edge.source}", lhs, [edge.result], note, edge.key))
    deltas = [_item(node, c.lhs, [c.formula, c.result] if c.formula != c.result else [c.result],
                    f"{c.explanation} ({c.proof or 'unchecked'})", c.key)
              for node, c in bp.deltas.items()]
    grads = [_item(param, c.lhs, [c.formula, c.result], f"{c.explanation} ({c.proof or 'unchecked'})",
                   c.key) for param, c in bp.gradients.items()]
    means = [_item(param, c.lhs, [c.formula], c.explanation, c.key)
             for param, c in bp.means.items()]
    matrix = [_item(key.split(":")[1], m.lhs, [m.form] if m.form == m.expanded
                    else [m.form, m.expanded], m.proof, "matrix:" + key)
              for key, m in bp.matrix_forms.items()]
    shared = ", ".join(delta_name(n) for n in bp.deltas)
    return (
        "<h2>The steps</h2><h3>Local derivatives (one per edge)</h3><ol>" + "".join(edges)
        + f"</ol><h3>Error signals, each derived once and reused</h3><p>{html.escape(shared)} "
        + "are derived once, from the layer above; every gradient below reuses them.</p><ol>"
        + "".join(deltas) + "</ol><h3>Gradients of the weights</h3><ol>" + "".join(grads)
        + "</ol><h3>Over the data</h3><ol>" + "".join(means) + "</ol>"
        + "<h3>In matrix form (one sample, columns), each entry checked against the index "
        "form</h3><ol>" + "".join(matrix) + "</ol>")


def _numbers(values: Any, iteration: str) -> str:
    rows = []

    def row(name: str, what: str, numbers: Any) -> None:
        shown = ", ".join(f"{v:.4g}" for v in list(numbers.ravel())[:8])
        rows.append(f'<tr data-node="{html.escape(name)}"><td>{html.escape(name)}</td>'
                    f"<td>{html.escape(what)}</td><td>{html.escape(shown)}</td></tr>")

    net = values.bp.network
    row(net.input, "input", values.forward[net.input])
    for layer in net.layers:
        row(layer.name, "forward value", values.forward[layer.name])
        row(layer.name, f"{delta_name(layer.name)} = ∂ℓ/∂{layer.name}", values.delta[layer.name])
    for param, grad in values.gradient.items():
        row(param, f"∂ℓ/∂{param}", grad)
    return (f"<h2>The numbers {html.escape(iteration)}</h2><p>loss ℓ = {values.loss:.6g}</p>"
            "<table><tr><th>node</th><th>what</th><th>values</th></tr>" + "".join(rows)
            + "</table>" + _paths(values))


def _paths(values: Any) -> str:
    """The worked example: the first weight's gradient as a sum over paths."""
    net = values.bp.network
    weight = net.dense[0].weight
    unit = net.units(weight)[0].name
    paths = values.paths(unit)
    items = "".join(
        f'<li data-node="{html.escape(" ".join(p.nodes))}">'
        f"{html.escape(' → '.join(p.units))}: "
        f"{html.escape(' × '.join(f'{v:.4g}' for v in p.factors))} = {p.product:.6g}</li>"
        for p in paths)
    total = sum(p.product for p in paths)
    return (f'<h3 data-node="{weight}">Sum over paths for {html.escape(unit)}</h3><ol>{items}'
            f"</ol><p>Sum over the {len(paths)} path(s): {total:.6g}; backpropagation gives "
            f"∂ℓ/∂{html.escape(unit)} = {values.gradient[weight].ravel()[0]:.6g}.</p>")


def _svg(bp: Backpropagation, values: Any) -> str:
    import matplotlib.pyplot as plt

    ax = bp.graph(values=values)
    buffer = io.StringIO()
    ax.figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None,
                                                       "Format": None, "Type": None})
    plt.close(ax.figure)
    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    return re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)


def linked_page(bp: Backpropagation, values: Any, *, title: str = "Backpropagation",
                iteration: str = "at one data point") -> str:
    """The page as HTML text: ``values`` (:func:`~calculus_ml.graph.values.values_at`) gives
    the numbers on the graph and in the table; ``iteration`` says where they were taken."""
    return page(title, (
        f"<h1>{html.escape(title)}</h1><p>Hover over or click a node of the graph, a step or "
        "a row: everything about the same node is highlighted.</p>"
        f'<div class="views"><section id="graph"><h2>The graph</h2>{_svg(bp, values)}</section>'
        f'<section id="steps">{_steps(bp)}</section>'
        f'<section id="numbers">{_numbers(values, iteration)}</section></div>'
        f"<script>{_SCRIPT}</script>\n"), head=f"<style>{_STYLE}</style>\n")


def write_linked_page(path: str | os.PathLike, bp: Backpropagation, values: Any,
                      **kw: Any) -> str:
    """Write :func:`linked_page` to ``path`` (UTF-8); return the path."""
    with open(path, "w", encoding="utf-8") as out:
        out.write(linked_page(bp, values, **kw))
    return os.fspath(path)
