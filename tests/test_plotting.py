"""Figures (calculus_ml.plotting): the artists drawn hold the right data.

Oracles: SymPy's own ``diff`` on expressions built here with SymPy, and the losses written out by
hand in NumPy on the lesson's five films; never the code under test.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import sympy

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")  # the test process only; the module itself never forces a backend

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import LineCollection, PathCollection  # noqa: E402
from matplotlib.contour import QuadContourSet  # noqa: E402
from matplotlib.quiver import Quiver  # noqa: E402

from calculus_ml import GradientDescent, plotting  # noqa: E402
from calculus_ml.errors import CalculusMLError, DataError, ExpressionError  # noqa: E402
from calculus_ml.losses import get  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# the lesson's five films: budget x (in $100k) and box office y
FILMS = {"x": np.array([100.0, 200.0, 250.0, 325.0, 400.0]),
         "y": np.array([275.0, 300.0, 550.0, 525.0, 700.0])}


def mse(m, b, x=FILMS["x"], y=FILMS["y"]):
    """J(m, b) = mean((y - (m x + b))²), broadcast over any shape of m and b."""
    m, b = np.asarray(m, dtype=float)[..., None], np.asarray(b, dtype=float)[..., None]
    return ((y - (m * x + b)) ** 2).mean(axis=-1)


def by_gid(ax, gid):
    found = [a for a in ax.get_children() if a.get_gid() == gid]
    assert len(found) == 1, f"expected one artist {gid!r}, found {len(found)}"
    return found[0]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


# --------------------------------------------------------------------------- import and backend


def _python(code: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in ("MPLBACKEND", "DISPLAY",
                                                              "WAYLAND_DISPLAY")}
    clean.update(env, PYTHONPATH=str(ROOT), MPLCONFIGDIR=clean.get("MPLCONFIGDIR", "/tmp/mpl"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=clean,
                         cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


@pytest.mark.slow
def test_import_calculus_ml_does_not_import_matplotlib():
    code = ("import sys, calculus_ml; calculus_ml.derive; calculus_ml.GradientDescent; "
            "print('matplotlib' in sys.modules)")
    assert _python(code) == "False"


@pytest.mark.slow
def test_backend_is_agg_headless_and_a_chosen_backend_is_kept(monkeypatch):
    show = ("import sys, calculus_ml.plotting, matplotlib; "
            "print(matplotlib.get_backend().lower(), 'matplotlib.pyplot' in sys.modules)")
    assert _python(show) == "agg False"  # headless; and pyplot only once a figure is made
    chosen = []
    monkeypatch.setattr(matplotlib, "use", chosen.append)
    monkeypatch.delitem(sys.modules, "matplotlib.pyplot")
    for env, backend in [({}, "qtagg"), ({"MPLBACKEND": "pdf"}, None),
                         ({"DISPLAY": ":0"}, None), ({}, None)]:
        for name in ("MPLBACKEND", "DISPLAY", "WAYLAND_DISPLAY"):
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setattr(matplotlib.rcParams, "_get_backend_or_none", lambda: backend,
                            raising=False)
        plotting.base._choose_backend()
    assert chosen == (["Agg"] if sys.platform.startswith("linux") else [])  # the last case only


# --------------------------------------------------------------------------- tangent


def test_tangent_line_is_f_x0_plus_slope_times_x_minus_x0():
    x = sympy.Symbol("x")
    f = x**3 - 2 * x
    x0 = 1.5
    f0, slope = float(f.subs(x, x0)), float(sympy.diff(f, x).subs(x, x0))  # = 1.375, 4.75
    ax = plotting.tangent("x^3 - 2*x", x0)
    curve, line = by_gid(ax, "function"), by_gid(ax, "tangent")
    t = np.asarray(line.get_xdata())
    np.testing.assert_allclose(line.get_ydata(), f0 + slope * (t - x0), rtol=1e-12)
    u = np.asarray(curve.get_xdata())
    np.testing.assert_allclose(curve.get_ydata(), u**3 - 2 * u, rtol=1e-12, atol=1e-12)
    assert u.min() < x0 < u.max()
    (note,) = ax.texts
    assert note.get_text().startswith("slope") and "4.75" in note.get_text()
    assert "2" in ax.get_title() and ax.get_legend() is not None and ax.figure is not None


def test_tangent_takes_a_sympy_expression_a_variable_and_limits():
    t, a = sympy.symbols("t a")
    ax = plotting.tangent(sympy.exp(t) * 2, 0.0, var="t", xlim=(-1, 2), ylim=(0, 5))
    line = by_gid(ax, "tangent")
    np.testing.assert_allclose(line.get_ydata(), 2 + 2 * np.asarray(line.get_xdata()))
    assert ax.get_xlim() == (-1, 2) and ax.get_ylim() == (0, 5)
    with pytest.raises(ExpressionError, match="var="):
        plotting.tangent(a * t, 1.0)
    with pytest.raises(ExpressionError, match="no real value"):
        plotting.tangent("log(x)", -1.0)


# --------------------------------------------------------------------------- cost curve


def test_cost_curve_on_the_five_films_with_steps_and_tangent():
    steps = [0.0, 1.0, 1.5, 1.8]
    ax = plotting.cost_curve(get("mse"), "m", data=FILMS, fixed={"b": 50.0}, steps=steps,
                             show_tangent=True)
    curve = by_gid(ax, "cost")
    m = np.asarray(curve.get_xdata())
    np.testing.assert_allclose(curve.get_ydata(), mse(m, 50.0), rtol=1e-12)
    assert m.min() < 0.0 and m.max() > 1.8  # the steps are inside the window
    marks = by_gid(ax, "steps")
    np.testing.assert_array_equal(marks.get_xdata(), steps)
    np.testing.assert_allclose(marks.get_ydata(), mse(steps, 50.0), rtol=1e-12)
    arrows = by_gid(ax, "arrows")
    assert isinstance(arrows, Quiver)
    J = mse(steps, 50.0)
    np.testing.assert_allclose(arrows.get_offsets(), np.c_[steps[:-1], J[:-1]])
    np.testing.assert_allclose(arrows.U, np.diff(steps))
    np.testing.assert_allclose(arrows.V, np.diff(J), rtol=1e-12)
    # the tangent at the first step: slope dJ/dm = mean(-2 x (y - m x - b)) at m = 0, b = 50
    slope = np.mean(-2 * FILMS["x"] * (FILMS["y"] - 50.0))
    tangent = by_gid(ax, "tangent")
    u = np.asarray(tangent.get_xdata())
    np.testing.assert_allclose(tangent.get_ydata(), J[0] + slope * u, rtol=1e-9)
    assert f"{slope:.4g}" in tangent.get_label()
    assert "b" in ax.get_title() and "50" in ax.get_title()  # the parameter held fixed
    assert "J" in ax.get_ylabel() and "m" in ax.get_xlabel()


def test_cost_curve_default_window_reaches_the_minimum():
    ax = plotting.cost_curve("mse", "m", data=FILMS)  # b held at 0
    assert plotting.cost_curve("mse", "m", data=FILMS, ylim=(0, 1e5)).get_ylim() == (0, 1e5)
    curve = by_gid(ax, "cost")
    m, J = np.asarray(curve.get_xdata()), np.asarray(curve.get_ydata())
    best = (FILMS["x"] @ FILMS["y"]) / (FILMS["x"] @ FILMS["x"])  # argmin of J(m, 0)
    assert m.min() < best < m.max() and 0 < np.argmin(J) < len(J) - 1


def test_cost_curve_hyperparameters_and_stable_log_loss():
    data = {"x": np.array([-2.0, -1.0, 1.0, 2.0]), "y": np.array([0.0, 0.0, 1.0, 1.0])}
    ax = plotting.cost_curve("logistic", "w", data=data, xlim=(0, 60))
    curve = by_gid(ax, "cost")
    w = np.asarray(curve.get_xdata())[:, None]
    z = w * data["x"]  # log-loss = softplus(z) - y z, written independently
    np.testing.assert_allclose(curve.get_ydata(), (np.logaddexp(0, z) - data["y"] * z).mean(1),
                               rtol=1e-9, atol=1e-300)
    assert np.isfinite(curve.get_ydata()).all()
    ax = plotting.cost_curve("ridge", "m", data={**FILMS, "lam": 1000.0}, fixed={"b": 10.0})
    curve = by_gid(ax, "cost")
    m = np.asarray(curve.get_xdata())
    np.testing.assert_allclose(curve.get_ydata(), mse(m, 10.0) + 1000.0 * m**2, rtol=1e-12)


def test_cost_curve_refuses_bad_input():
    with pytest.raises(ExpressionError, match="not a parameter"):
        plotting.cost_curve("mse", "w", data=FILMS)
    with pytest.raises(DataError, match="missing data 'y'"):  # numeric's validator
        plotting.cost_curve("mse", "m", data={"x": FILMS["x"]})
    with pytest.raises(DataError, match="unknown name 'lam'"):
        plotting.cost_curve("mse", "m", data={**FILMS, "lam": 1.0})
    with pytest.raises(DataError, match="finite"):
        plotting.cost_curve("mse", "m", data={"x": [1.0, np.nan], "y": [1.0, 2.0]})
    with pytest.raises(ExpressionError, match="vectors"):
        plotting.cost_curve("multiple-regression", "b", data=FILMS)


# --------------------------------------------------------------------------- contour, surface


def test_contour_levels_and_lines_are_J_on_the_grid():
    path = [(0.0, 0.0), (1.0, 20.0), (1.5, 40.0), (1.6, 60.0)]
    ax = plotting.contour(get("mse"), ("m", "b"), data=FILMS, path=path, levels=12,
                          xlim=(-0.5, 2.5), ylim=(-50, 150))
    cs = by_gid(ax, "cost")
    assert isinstance(cs, QuadContourSet)
    M, B = np.meshgrid(np.linspace(-0.5, 2.5, 100), np.linspace(-50, 150, 100))
    J = mse(M, B)
    assert cs.zmin == pytest.approx(J.min(), rel=1e-12)
    assert cs.zmax == pytest.approx(J.max(), rel=1e-12)
    expected = J.min() + (J.max() - J.min()) * np.linspace(0, 1, 13)[1:] ** 2
    np.testing.assert_allclose(cs.levels, expected, rtol=1e-12)
    for level, contour_path in zip(cs.levels, cs.get_paths()):  # every vertex lies on its level
        v = contour_path.vertices
        if len(v):
            np.testing.assert_allclose(mse(v[:, 0], v[:, 1]), level, rtol=2e-3,
                                       atol=1e-3 * (J.max() - J.min()))
    line = by_gid(ax, "path")
    np.testing.assert_array_equal(np.c_[line.get_xdata(), line.get_ydata()], path)
    arrows = by_gid(ax, "arrows")
    np.testing.assert_allclose(arrows.get_offsets(), np.array(path)[:-1])
    np.testing.assert_allclose(np.c_[arrows.U, arrows.V], np.diff(path, axis=0))
    assert len(ax.figure.axes) == 2  # the axes and its colour bar
    assert "m" in ax.get_xlabel() and "b" in ax.get_ylabel()


def test_contour_default_window_holds_the_least_squares_minimum():
    ax = plotting.contour("mse", data=FILMS, levels=[5e3, 1e4, 5e4])
    np.testing.assert_array_equal(by_gid(ax, "cost").levels, [5e3, 1e4, 5e4])
    m, b = np.polyfit(FILMS["x"], FILMS["y"], 1)
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    assert x0 < m < x1 and y0 < b < y1


@pytest.mark.slow
def test_contour_of_many_samples_from_the_sums_matches_J():
    rng = np.random.default_rng(5)
    x = rng.uniform(0, 4, 4000)
    y = 3 + 50 * x + rng.normal(0, 3, x.size)
    ax = plotting.contour("mse", data={"x": x, "y": y}, levels=[1e2, 1e3],
                          xlim=(40, 60), ylim=(-10, 10))  # 10⁴ grid points × 4000 samples
    cs = by_gid(ax, "cost")
    M, B = np.meshgrid(np.linspace(40, 60, 100), np.linspace(-10, 10, 100))
    J = np.array([mse(M[r], B[r], x, y) for r in range(100)])  # row by row: 4000 × 100 each
    assert cs.zmin == pytest.approx(J.min(), rel=1e-9)
    assert cs.zmax == pytest.approx(J.max(), rel=1e-9)
    for level, contour_path in zip(cs.levels, cs.get_paths()):
        v = contour_path.vertices
        np.testing.assert_allclose(mse(v[:, 0], v[:, 1], x, y), level, rtol=5e-3)


@pytest.mark.slow
def test_surface_lifts_the_path_onto_J():
    path = np.array([(0.0, 0.0), (1.0, 20.0), (1.5, 40.0)])
    ax = plotting.surface("mse", data=FILMS, path=path)
    assert ax.name == "3d"
    assert by_gid(ax, "cost").__class__.__name__ == "Poly3DCollection"
    xs, ys, zs = by_gid(ax, "path").get_data_3d()
    np.testing.assert_array_equal(np.c_[xs, ys], path)
    np.testing.assert_allclose(zs, mse(path[:, 0], path[:, 1]), rtol=1e-12)
    with pytest.raises(ValueError, match="3-D"):
        plotting.surface("mse", data=FILMS, ax=plt.figure().add_subplot())


# --------------------------------------------------------------------------- a real fit


@pytest.fixture(scope="module")
def fit():
    data = {"x": FILMS["x"] / 100, "y": FILMS["y"]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return data, GradientDescent(get("mse"), learning_rate=0.05, max_iter=40).fit(**data)


@pytest.mark.slow
def test_plots_take_a_fitted_gradient_descent(fit):
    data, gd = fit
    ax = plotting.loss_history(gd)
    np.testing.assert_array_equal(by_gid(ax, "loss").get_ydata(), gd.loss_history_)
    (twin,) = [a for a in ax.figure.axes if a is not ax]
    np.testing.assert_array_equal(by_gid(twin, "grad_norm").get_ydata(), gd.grad_norm_history_)
    ax = plotting.contour("mse", data=data, path=gd)
    line = by_gid(ax, "path")
    np.testing.assert_array_equal(line.get_xdata(), gd.params_history_["m"])
    np.testing.assert_array_equal(line.get_ydata(), gd.params_history_["b"])
    ax = plotting.cost_curve("mse", "m", data=data, steps=gd)
    np.testing.assert_array_equal(by_gid(ax, "steps").get_xdata(), gd.params_history_["m"])
    ax = plotting.fitted_line(data["x"], data["y"], model=gd)
    line = by_gid(ax, "fit")
    t = np.asarray(line.get_xdata())
    np.testing.assert_allclose(line.get_ydata(), gd.params_["m"] * t + gd.params_["b"])


# --------------------------------------------------------------------------- loss history


def test_loss_history_log_scale_only_past_two_decades():
    history = 1e4 * 0.5 ** np.arange(20)
    ax = plotting.loss_history(list(history), grad_norm=np.sqrt(history))
    np.testing.assert_array_equal(by_gid(ax, "loss").get_xdata(), np.arange(20))
    np.testing.assert_array_equal(by_gid(ax, "loss").get_ydata(), history)
    (twin,) = [a for a in ax.figure.axes if a is not ax]
    np.testing.assert_array_equal(by_gid(twin, "grad_norm").get_ydata(), np.sqrt(history))
    assert ax.get_yscale() == "log" and twin.get_yscale() == "log"  # 5.7 and 2.9 decades
    assert len(ax.get_legend().get_texts()) == 2
    ax = plotting.loss_history([5.0, 4.0, 3.5, 3.4])
    assert ax.get_yscale() == "linear" and len(ax.figure.axes) == 1
    with pytest.raises(DataError):
        plotting.loss_history([])


# --------------------------------------------------------------------------- fitted line


def test_fitted_line_scatter_line_and_residuals():
    m, b = np.polyfit(FILMS["x"], FILMS["y"], 1)
    ax = plotting.fitted_line(FILMS["x"], FILMS["y"], slope=m, intercept=b)
    points = by_gid(ax, "data")
    assert isinstance(points, PathCollection)
    np.testing.assert_array_equal(points.get_offsets(), np.c_[FILMS["x"], FILMS["y"]])
    line = by_gid(ax, "fit")
    t = np.asarray(line.get_xdata())
    np.testing.assert_allclose(line.get_ydata(), m * t + b, rtol=1e-12)
    assert t.min() < 100 and t.max() > 400
    residuals = by_gid(ax, "residuals")
    assert isinstance(residuals, LineCollection)
    for (p, q), x, y in zip(residuals.get_segments(), FILMS["x"], FILMS["y"]):
        np.testing.assert_allclose([p, q], [[x, y], [x, m * x + b]], rtol=1e-12)
    ax = plotting.fitted_line([0, 1, 2], [1, 2, 5], model=lambda t: np.asarray(t) ** 2 + 1,
                              residuals=False)
    line = by_gid(ax, "fit")
    np.testing.assert_allclose(line.get_ydata(), np.asarray(line.get_xdata()) ** 2 + 1)
    assert not [a for a in ax.get_children() if a.get_gid() == "residuals"]
    with pytest.raises(ValueError):
        plotting.fitted_line([1, 2], [3, 4])


# --------------------------------------------------------------------------- slices


def test_slices_of_3xy_one_line_per_slice_with_constant_slopes():
    x, y = sympy.symbols("x y")
    f = 3 * x * y
    at = [1, 3, 6, 9]
    ax = plotting.slices("3*x*y", x=("x", -5, 5), at=("y", at))
    for k, c in enumerate(at):
        line = by_gid(ax, f"slice {k}")
        u = np.asarray(line.get_xdata())
        expected = sympy.lambdify(x, f.subs(y, c))(u)
        np.testing.assert_allclose(line.get_ydata(), expected, rtol=1e-12)
        assert u.min() == -5 and u.max() == 5
        assert f"y = {c}" in line.get_label().replace("$", "")
    assert len(ax.get_legend().get_texts()) == len(at)
    slopes = [sympy.diff(f, x).subs(y, c) for c in at]  # 3, 9, 18, 27
    notes = [t.get_text() for t in ax.texts]
    assert len(notes) == len(at)
    assert all(note.rstrip("$").endswith(f"= {s}") for note, s in zip(notes, slopes))


def test_slices_slope_annotated_only_where_constant():
    ax = plotting.slices("x^2*y", at=("y", [1, 2]))
    assert len(ax.texts) == 0 and len(ax.get_lines()) == 2
    np.testing.assert_allclose(by_gid(ax, "slice 1").get_ydata(),
                               2 * np.asarray(by_gid(ax, "slice 1").get_xdata()) ** 2)


# --------------------------------------------------------------------------- ax= and save


@pytest.mark.parametrize("draw", [
    lambda ax: plotting.tangent("x^2", 1.0, ax=ax),
    lambda ax: plotting.cost_curve("mse", "m", data=FILMS, ax=ax),
    lambda ax: plotting.contour("mse", data=FILMS, ax=ax),
    lambda ax: plotting.loss_history([3.0, 2.0, 1.0], ax=ax),
    lambda ax: plotting.fitted_line(FILMS["x"], FILMS["y"], slope=1.0, ax=ax),
    lambda ax: plotting.slices("3*x*y", ax=ax),
], ids=["tangent", "cost_curve", "contour", "loss_history", "fitted_line", "slices"])
def test_draws_into_the_given_axes(draw):
    figure, (left, right) = plt.subplots(1, 2)
    assert draw(right) is right and right.has_data() and not left.has_data()
    assert plt.get_fignums() == [figure.number]  # no new figure


@pytest.mark.slow
def test_save_writes_png_and_svg_atomically(tmp_path):
    ax = plotting.tangent("x^2", 1.0)
    written = plotting.save(ax, tmp_path / "tangent.png")
    assert written == [tmp_path / "tangent.png", tmp_path / "tangent.svg"]
    assert (tmp_path / "tangent.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    svg = (tmp_path / "tangent.svg").read_bytes()
    assert svg.startswith(b"<?xml") and b"<svg" in svg[:2000]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tangent.png", "tangent.svg"]
    assert plotting.save(ax.figure, tmp_path / "again", formats=("pdf",)) == [
        tmp_path / "again.pdf"]
    assert (tmp_path / "again.pdf").read_bytes().startswith(b"%PDF")


def test_save_leaves_nothing_half_written(tmp_path, monkeypatch):
    ax = plotting.tangent("x^2", 1.0)
    (tmp_path / "keep.png").write_bytes(b"old")

    def broken(out, **kwargs):
        out.write(b"\x89PNG partial")
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(ax.figure, "savefig", broken)
    with pytest.raises(RuntimeError, match="disk on fire"):
        plotting.save(ax, tmp_path / "keep.png", formats=("png",))
    assert [p.name for p in tmp_path.iterdir()] == ["keep.png"]
    assert (tmp_path / "keep.png").read_bytes() == b"old"  # the old file is untouched
    monkeypatch.undo()
    with pytest.raises(CalculusMLError, match="cannot write"):
        plotting.save(ax, tmp_path / "missing" / "dir.png")
    with pytest.raises(ValueError, match="format"):
        plotting.save(ax, tmp_path / "x", formats=("doc",))
    assert [p.name for p in tmp_path.iterdir()] == ["keep.png"]
