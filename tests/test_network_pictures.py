"""Moving and interactive pictures of descent (calculus_ml.plotting.animation, .interactive).

Oracles: Pillow reading the written GIF back, the HTML player's own markup, and gradient
descent on the line's mean squared error written here with NumPy.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from calculus_ml import losses
from calculus_ml.datasets import lesson_data
from calculus_ml.errors import CalculusMLError

DATA = lesson_data(n=10)


def by_hand(start, rate, steps):
    """Gradient descent on J(m, b) = mean((y - (m x + b))²), written out."""
    x, y = DATA["x"], DATA["y"]
    m, b = start
    path = [(m, b)]
    for _ in range(steps):
        r = m * x + b - y
        m, b = m - rate * 2 * np.mean(r * x), b - rate * 2 * np.mean(r)
        path.append((m, b))
    return np.array(path)


@pytest.mark.slow
def test_descent_path_is_gradient_descent():
    from calculus_ml.plotting.interactive import descent_path

    path = descent_path(losses.get("mse"), ["m", "b"], data=DATA, start=[1.0, -2.0],
                        learning_rate=0.2, steps=6)
    np.testing.assert_allclose(path, by_hand((1.0, -2.0), 0.2, 6), rtol=1e-10)


@pytest.mark.slow
def test_a_diverging_descent_path_stops_at_its_last_finite_point():
    from calculus_ml.plotting.interactive import descent_path

    with np.errstate(over="ignore", invalid="ignore"):
        expected = by_hand((1.0, -2.0), 50.0, 200)
    assert not np.all(np.isfinite(expected))  # the hand-written descent does diverge
    path = descent_path(losses.get("mse"), ["m", "b"], data=DATA, start=[1.0, -2.0],
                        learning_rate=50.0, steps=200)
    assert np.all(np.isfinite(path)) and 1 < len(path) < len(expected)
    np.testing.assert_allclose(path, expected[:len(path)], rtol=1e-8)


@pytest.mark.slow
def test_animate_descent_writes_a_gif_and_an_offline_player(tmp_path):
    from PIL import Image

    from calculus_ml.plotting.animation import animate_descent, descent_frames

    path = by_hand((0.0, 0.0), 0.3, 4)
    animate_descent("mse", ["m", "b"], data=DATA, path=path, out=tmp_path / "d.gif")
    with Image.open(tmp_path / "d.gif") as gif:
        assert gif.n_frames == len(path)
    animate_descent("mse", ["m"], data=DATA, path=path[:, :1], fixed={"b": 3.0},
                    out=tmp_path / "d.html")
    page = (tmp_path / "d.html").read_text(encoding="utf-8")
    assert "<script" in page and not re.search(r'(src|href)="https?:', page)
    with pytest.raises(CalculusMLError, match=".gif, .html or .mp4"):
        animate_descent("mse", ["m", "b"], data=DATA, path=path, out=tmp_path / "d.avi")
    figure = descent_frames("mse", ["m", "b"], data=DATA, path=path, count=3)
    drawn = [line for ax in figure.axes for line in ax.get_lines() if line.get_gid() == "path"]
    assert [len(line.get_xdata()) for line in drawn] == [1, 3, 5]


@pytest.mark.slow
def test_sliders_redraw_the_path(monkeypatch):
    pytest.importorskip("ipywidgets")
    import IPython.display

    from calculus_ml.plotting.interactive import interactive_descent

    shown = []
    monkeypatch.setattr(IPython.display, "display", shown.append)
    box = interactive_descent(losses.get("mse"), ["m", "b"], data=DATA, start=[0.0, 0.0],
                              steps=3)
    rate, count, *starts, output = box.children
    assert [s.description for s in starts] == ["start m", "start b"]
    count.value = 5  # a redraw with the new number of steps
    (path,) = [line for ax in shown[-1].axes for line in ax.get_lines()
               if line.get_gid() == "path"]
    expected = by_hand((0.0, 0.0), rate.value, 5)
    np.testing.assert_allclose(np.column_stack(path.get_data()), expected, rtol=1e-10)


@pytest.mark.slow
def test_decision_boundary_of_a_trained_network():
    from calculus_ml.datasets import bundled
    from calculus_ml.optimize.optimizers import adam
    from calculus_ml.plotting import decision_boundary

    net = losses.get("mlp", layers=[2, 8, 1]).compiled()
    data = bundled("xor")
    theta = adam(lambda t, i: net.grad(t, data["x"], data["y"]), net.initial(0), 0.05, 300)
    ax = decision_boundary(net, theta, data["x"], data["y"])
    predicted = net.predict(theta, data["x"])[:, 0] > 0.5
    accuracy = np.mean(predicted == data["y"])
    assert accuracy > 0.95 and f"{accuracy:.1%}" in ax.get_title()
    assert {"data"} <= {c.get_gid() for c in ax.collections}
