"""Networks as losses: the compiled gradient against central finite differences, training on
the bundled data, the graph picture against the verified steps, and the linked page offline.

Oracles: central finite differences of the compiled value (itself checked against the loss
written out by SymPy), accuracy on labelled data, ``sympy.diff`` of the layer equations for
every edge label, and the HTML page's own attributes.
"""

from __future__ import annotations

import functools
import html
import re
import time

import numpy as np
import pytest
import sympy

from calculus_ml import losses
from calculus_ml.datasets import bundled, moons, xor
from calculus_ml.errors import CalculusMLError, DataError
from calculus_ml.graph.values import values_at
from calculus_ml.optimize.optimizers import adam, gradient_descent, momentum

CASES = [([2, 3, 1], "tanh", "logistic"), ([2, 4, 1], "sigmoid", "mse"),
         ([2, 3, 1], "relu", "logistic"), ([2, 3, 3], "tanh", "softmax"),
         ([2, 3, 2, 1], "tanh", "mse")]


@functools.lru_cache(maxsize=None)
def mlp(layers: tuple, activation: str, output: str) -> losses.NetworkLoss:
    return losses.get("mlp", layers=list(layers), activation=activation, output=output)


def targets(y: np.ndarray, output: str, k: int) -> np.ndarray:
    return np.eye(k)[y.astype(int) % k] if output == "softmax" else y


def test_the_bundled_csv_files_are_the_generated_sets():
    for name, make in (("moons", moons), ("xor", xor)):
        shipped, made = bundled(name), make()
        np.testing.assert_array_equal(shipped["x"], made["x"])
        np.testing.assert_array_equal(shipped["y"], made["y"])
    with pytest.raises(DataError, match="no bundled data set"):
        bundled("iris")


@pytest.mark.slow
@pytest.mark.parametrize("layers, activation, output", CASES)
def test_compiled_gradient_equals_central_differences(layers, activation, output):
    loss = mlp(tuple(layers), activation, output)
    compiled = loss.compiled()
    rng = np.random.default_rng(len(layers) + layers[1])
    x = rng.normal(size=(7, 2))
    y = targets(rng.integers(0, layers[-1] + 1, size=7).astype(float), output, layers[-1])
    theta = rng.normal(size=compiled.size)
    grad = compiled.grad(theta, x, y)
    h = 1e-5
    fd = np.array([(compiled.value(theta + h * e, x, y) - compiled.value(theta - h * e, x, y))
                   / (2 * h) for e in np.eye(compiled.size)])
    assert np.max(np.abs(grad - fd)) <= 1e-8 * max(1.0, np.max(np.abs(grad)))
    assert compiled.value(theta, x, y) == pytest.approx(
        _by_hand(compiled.unpack(theta), x, y, activation, output), rel=1e-12)


def _by_hand(p: dict, x: np.ndarray, y: np.ndarray, activation: str, output: str) -> float:
    """The network's mean loss, a forward pass written here with NumPy."""
    act = {"tanh": np.tanh, "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
           "relu": lambda z: np.maximum(z, 0)}[activation]
    a, layer = x, 1
    while f"W{layer + 1}" in p:
        a, layer = act(a @ p[f"W{layer}"].T + p[f"b{layer}"]), layer + 1
    z = a @ p[f"W{layer}"].T + p[f"b{layer}"]
    if output == "softmax":
        return float(np.mean(np.log(np.exp(z).sum(axis=1)) - (y * z).sum(axis=1)))
    z, y = z[:, 0], np.ravel(y)
    if output == "mse":
        return float(np.mean((y - z) ** 2))
    s = 1 / (1 + np.exp(-z))
    return float(np.mean(-y * np.log(s) - (1 - y) * np.log(1 - s)))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["moons", "xor"])
def test_adam_reaches_95_percent_in_seconds(name):
    loss = mlp((2, 8, 1), "tanh", "logistic")
    compiled = loss.compiled()
    data = bundled(name)
    start = time.perf_counter()
    theta = adam(lambda t, i: compiled.grad(t, data["x"], data["y"]), compiled.initial(0),
                 learning_rate=0.05, max_iter=400)
    took = time.perf_counter() - start
    accuracy = np.mean((compiled.predict(theta, data["x"])[:, 0] > 0.5) == data["y"])
    assert accuracy > 0.95 and took < 5


@pytest.mark.slow
def test_every_optimizer_and_mini_batches_lower_the_loss():
    loss = mlp((2, 3, 1), "tanh", "logistic")
    compiled = loss.compiled()
    data = bundled("moons")
    x, y = data["x"], data["y"]
    rng = np.random.default_rng(0)
    batches = [rng.choice(len(y), 32, replace=False) for _ in range(300)]
    start = compiled.initial(1)
    before = compiled.value(start, x, y)
    for run in (lambda g: gradient_descent(g, start, 0.5, 300),
                lambda g: momentum(g, start, 0.1, 300),
                lambda g: adam(g, start, 0.05, 300)):
        full = run(lambda t, i: compiled.grad(t, x, y))
        batch = run(lambda t, i: compiled.grad(t, x[batches[i]], y[batches[i]]))
        assert compiled.value(full, x, y) < 0.6 * before
        assert compiled.value(batch, x, y) < 0.8 * before


def _unit_edges() -> tuple[dict, dict]:
    """The 2-3-2 tanh softmax network written out here by hand: each unit's equation, and
    for each edge of the graph its unit edges ``(indices, from unit, to unit)``."""
    def s(name: str) -> sympy.Symbol:
        return sympy.Symbol(name, real=True)

    J, K, C = range(1, 4), range(1, 3), range(1, 3)
    eq = {}
    for j in J:
        eq[s(f"z1_{j}")] = sum(s(f"W1_{j}_{k}") * s(f"x_{k}") for k in K) + s(f"b1_{j}")
        eq[s(f"a1_{j}")] = sympy.tanh(s(f"z1_{j}"))
    for c in C:
        eq[s(f"z2_{c}")] = sum(s(f"W2_{c}_{j}") * s(f"a1_{j}") for j in J) + s(f"b2_{c}")
    eq[s("ℓ")] = (sympy.log(sum(sympy.exp(s(f"z2_{c}")) for c in C))
                  - sum(s(f"y_{c}") * s(f"z2_{c}") for c in C))
    edges = {
        ("W1", "z1"): [({"j": j, "k": k}, f"W1_{j}_{k}", f"z1_{j}") for j in J for k in K],
        ("x", "z1"): [({"j": j, "k": k}, f"x_{k}", f"z1_{j}") for j in J for k in K],
        ("b1", "z1"): [({"j": j}, f"b1_{j}", f"z1_{j}") for j in J],
        ("z1", "a1"): [({"j": j}, f"z1_{j}", f"a1_{j}") for j in J],
        ("W2", "z2"): [({"c": c, "j": j}, f"W2_{c}_{j}", f"z2_{c}") for c in C for j in J],
        ("a1", "z2"): [({"c": c, "j": j}, f"a1_{j}", f"z2_{c}") for c in C for j in J],
        ("b2", "z2"): [({"c": c}, f"b2_{c}", f"z2_{c}") for c in C],
        ("z2", "ℓ"): [({"c": c}, f"z2_{c}", "ℓ") for c in C],
    }
    return eq, edges


def _label_at(label: sympy.Expr, indices: dict) -> sympy.Expr:
    """An index-form label at concrete units, written out here: indices and K set, sums done,
    ``W2[c, j]`` the symbol ``W2_c_j``."""
    values = {**indices, "K": 2}
    expr = label.xreplace({v: values[v.name] for v in label.free_symbols if v.name in values})
    expr = expr.doit()
    return expr.xreplace({a: sympy.Symbol("_".join([a.base.label.name, *map(str, a.indices)]),
                                          real=True) for a in expr.atoms(sympy.Indexed)})


@pytest.mark.slow
def test_each_edge_label_is_its_verified_step():
    from calculus_ml.plotting.graph import draw_graph, to_dot
    from calculus_ml.steps.verify import verify_tree

    loss = mlp((2, 3, 2), "tanh", "softmax")
    bp = loss.backpropagation()
    ax = draw_graph(bp)
    labels = {t.get_gid(): t.get_text() for t in ax.texts if (t.get_gid() or "").startswith("e")}
    assert set(labels) == {f"edge-{key}" for key in bp.edges}
    eq, unit_edges = _unit_edges()
    assert {(e.source, e.target) for e in bp.edges.values()} == set(unit_edges)
    rng = np.random.default_rng(3)
    point = {v: rng.normal() for e in eq.values() for v in e.free_symbols if v not in eq}
    for unit, e in eq.items():  # the units in order: each one's equation at the point
        point[unit] = float(e.xreplace(point))
    for key, edge in bp.edges.items():
        verify_tree(edge.step)  # raises on a false step
        assert labels[f"edge-{key}"] in (f"${sympy.latex(edge.result)}$", sympy.sstr(edge.result))
        for indices, source, target in unit_edges[(edge.source, edge.target)]:
            expected = sympy.diff(eq[sympy.Symbol(target, real=True)],
                                  sympy.Symbol(source, real=True))
            assert float(_label_at(edge.result, indices).xreplace(point)) == pytest.approx(
                float(expected.xreplace(point)), rel=1e-12, abs=1e-14), (key, indices)
        assert f'label="{sympy.sstr(edge.result)}"' in to_dot(bp)


@pytest.mark.slow
def test_the_linked_page_makes_no_network_request(tmp_path):
    from calculus_ml.handout.linked import write_linked_page

    loss = mlp((2, 3, 1), "tanh", "logistic")
    bp, compiled = loss.backpropagation(), loss.compiled()
    theta = compiled.initial(2)
    values = values_at(bp, compiled.unpack(theta), [0.5, -0.2], [1.0])
    page = (tmp_path / "page.html")
    write_linked_page(page, bp, values)
    text = page.read_text(encoding="utf-8")
    links = re.findall(r'\b(?:src|href|xlink:href|action|data)\s*=\s*"([^"]*)"', text)
    assert not [link for link in links if not link.startswith("#")]
    assert not re.search(r"https?://[^\s\"']*\"", re.sub(r'xmlns(:\w+)?="[^"]*"', "", text))
    for word in ("fetch(", "XMLHttpRequest", "<link", "@import", "<iframe", "WebSocket"):
        assert word not in text
    for node in [net for net in [bp.network.input] + [la.name for la in bp.network.layers]]:
        assert f'id="node-{node}"' in text and f'data-node="{node}"' in text
    for key in bp.edges:
        assert f'data-key="{html.escape(key)}"' in text


@pytest.mark.slow
def test_graphviz_svg_or_a_clear_error():
    pytest.importorskip("graphviz")
    import shutil

    from calculus_ml.plotting.graph import to_svg

    bp = mlp((2, 2, 1), "tanh", "mse").backpropagation(verify=False)
    if shutil.which("dot"):
        from xml.etree import ElementTree

        ids = {e.get("id") for e in ElementTree.fromstring(to_svg(bp)).iter()}
        assert {"node-z1", "node-W1", "edge-z1<-W1"} <= ids  # dot writes them as entities
    else:
        with pytest.raises(CalculusMLError, match="'dot' program"):
            to_svg(bp)


NET = 'loss = "mlp"\noptions = { layers = [2, 2, 1] }\nshow = "none"\n[[section.plot]]\n'


@pytest.mark.parametrize("section, message", [
    ('loss = "mse"\nshow = "backpropagation"', "backpropagation needs a network loss"),
    ('loss = "mse"\nshow = "none"\n[[section.plot]]\nkind = "graph"', "graph draws a network"),
    (f'{NET}kind = "learning_curve"\ndata = "iris"', r"data: must be one of moons, xor"),
    (f'{NET}kind = "decision_boundary"\ndata = "xor"\nsteps = 10001', r"steps: must be a whole"),
])
def test_a_spec_asks_for_a_network_where_it_needs_one(tmp_path, section, message):
    from calculus_ml.errors import SpecError
    from calculus_ml.handout.spec import load

    path = tmp_path / "net.toml"
    path.write_text(f'title = "t"\n[[section]]\nheading = "h"\n{section}\n', encoding="utf-8")
    with pytest.raises(SpecError, match=message):
        load(path)


def test_a_large_network_refuses_the_unit_by_unit_derivation_at_once():
    from calculus_ml.errors import BudgetError

    loss = losses.get("mlp", layers=[2, 8, 1])
    for ask in (loss.derive, lambda: loss.derivation, loss.gradient, loss.sample_gradient):
        start = time.perf_counter()
        with pytest.raises(BudgetError, match=r"\.backpropagation\(\)"):
            ask()
        assert time.perf_counter() - start < 2


TRAINING_SPEC = '''title = "t"
[[section]]
heading = "h"
loss = "mlp"
options = { layers = [2, 3, 1], activation = "tanh", output = "logistic" }
show = "none"
[[section.plot]]
kind = "learning_curve"
data = "moons"
steps = 200
[[section.plot]]
kind = "descent_animation"
data = "moons"
steps = 200
frames = 4
'''


def log_loss(theta: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
    """The 2-3-1 tanh network's mean log-loss, written out with NumPy (W1 row by row, b1, W2,
    b2, as the compiled network orders them)."""
    W1, b1, W2, b2 = theta[:6].reshape(3, 2), theta[6:9], theta[9:12], theta[12]
    p = 1 / (1 + np.exp(-(np.tanh(x @ W1.T + b1) @ W2 + b2)))
    return float(np.mean(-y * np.log(p) - (1 - y) * np.log(1 - p)))


@pytest.mark.slow
def test_a_handout_trains_the_network_and_embeds_its_descent(tmp_path):
    from calculus_ml import handout
    from calculus_ml.handout.training import PLAYER_FRAMES, train

    spec = tmp_path / "net.toml"
    spec.write_text(TRAINING_SPEC, encoding="utf-8")
    built = handout.build(spec)
    loss = built.spec.sections[0].loss
    t = train(loss, "moons", 0.05, 200, 0)
    data = bundled("moons")
    curve = built.figures[0][1].axes[0].lines[0].get_ydata()
    assert len(curve) == 201
    for step in (0, 100, 200):
        assert curve[step] == pytest.approx(log_loss(t.thetas[step], data["x"], data["y"]),
                                            rel=1e-10)
    assert curve[-1] < curve[0] / 2
    strip = built.figures[1][1]
    assert [ax.get_title().split(":")[0] for ax in strip.axes][0] == "step 0"
    assert len(strip.axes) == 4 and strip.axes[-1].get_title().startswith("step 200")
    handout.write(built, tmp_path / "out", ["html", "markdown", "latex"])
    page = (tmp_path / "out" / "net.html").read_text(encoding="utf-8")
    frames = re.findall(r'frames\[\d+\] = "data:image/png;base64', page)
    assert 2 <= len(frames) <= PLAYER_FRAMES
    assert re.search(r"<noscript><img src=\"net-fig2\.(?:png|svg)\"", page)
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//|@import|url\(\s*["']?https?:""",
                         page)
    for suffix in (".md", ".tex"):  # in print, the strip of frames
        assert "net-fig2" in (tmp_path / "out" / f"net{suffix}").read_text(encoding="utf-8")
