"""Hessian, convexity, learning-rate bound and closed form (calculus_ml.analysis).

Oracles: ``sympy.diff`` twice, Hessians and eigenvalues computed with NumPy from hand-written
losses (finite differences), ``numpy.polyfit`` and ``numpy.linalg.lstsq``, and gradient descent
run by hand on the lesson's five films.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import sympy

from calculus_ml import losses
from calculus_ml.cli import main
from calculus_ml.errors import DataError, ExpressionError
from calculus_ml.functions import dot, to_elementary
from calculus_ml.losses import Loss
from conftest import sample, written_out

FILMS = {"x": np.array([100.0, 200.0, 250.0, 325.0, 400.0]),
         "y": np.array([275.0, 300.0, 550.0, 525.0, 700.0])}
"""The lesson's five films: budget x and revenue y (millions)."""


def films_mse(m: float, b: float) -> float:
    return float(np.mean((FILMS["y"] - (m * FILMS["x"] + b)) ** 2))


def numeric_hessian(f, theta: np.ndarray, h: float = 1.0) -> np.ndarray:
    """Central second differences of ``f`` (exact for a quadratic, up to rounding)."""
    p = theta.size
    H = np.empty((p, p))
    for a in range(p):
        for b in range(p):
            ea, eb = np.eye(p)[a] * h, np.eye(p)[b] * h
            H[a, b] = (f(theta + ea + eb) - f(theta + ea - eb) - f(theta - ea + eb)
                       + f(theta - ea - eb)) / (4 * h * h)
    return H


def _component(v: sympy.Basic, k: int) -> sympy.Expr:
    return sympy.Indexed(v.base, *v.indices, k) if isinstance(v, sympy.Indexed) else v[k]


def explicit(expr: sympy.Expr, d: int = 3) -> sympy.Expr:
    """Inner products written out for ``d`` components and sums for 4 points, σ as exp."""
    def inner(a, b):
        return sympy.Add(*(_component(a, k) * _component(b, k) for k in range(1, d + 1)))

    return to_elementary(written_out(expr.replace(dot, inner)))


def agree(a: sympy.Expr, b: sympy.Expr) -> bool:
    va, vb = sample([a, b])
    ok = np.isfinite(va) & np.isfinite(vb)
    return ok.sum() > 10 and np.allclose(va[ok], vb[ok], rtol=1e-8, atol=1e-10)


# -- the Hessian -------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("name", ["mse", "ridge", "logistic", "poisson", "neuron", "polynomial"])
def test_hessian_is_sympy_diff_twice(name):
    loss = losses.get(name)
    H = loss.hessian()
    assert H.shape == (len(loss.params),) * 2 and H == H.T
    for a, va in enumerate(loss.variables):
        for b, vb in enumerate(loss.variables):
            expected = sympy.diff(loss.objective, va, vb)
            assert agree(explicit(H[a, b]), explicit(expected)), (va, vb)


@pytest.mark.slow
def test_vector_hessian_in_index_notation():
    loss = losses.get("multiple-regression")
    H = loss.hessian()
    (w_j, b) = loss.variables
    j = loss.component_index
    (k,) = {s for s in H[0, 0].free_symbols if s.name == "k"}  # the column's index
    w = sympy.IndexedBase("w", real=True)
    J = explicit(loss.objective)
    for jj, kk in ((1, 2), (2, 2)):
        got = explicit(H[0, 0].xreplace({j: jj, k: kk}))
        assert agree(got, sympy.diff(J, w[jj], w[kk]))
        assert agree(explicit(H[0, 1].xreplace({j: jj})), sympy.diff(J, w[jj], b))
    assert H[1, 1] == 2  # (1/n) Σᵢ 2 written as 2, not (2/n) Σᵢ 1


# -- convexity -------------------------------------------------------------------------------


@pytest.mark.parametrize("name, options, verdict", [
    ("mse", {}, "convex"), ("logistic", {}, "convex"), ("logistic", {"vector": True}, "convex"),
    ("multiple-regression", {}, "convex"), ("ridge", {}, "convex"), ("lasso", {}, "convex"),
    ("mae", {}, "convex"), ("hinge", {}, "convex"), ("huber", {}, "convex"),
    ("poisson", {}, "convex"), ("softmax", {}, "convex"), ("polynomial", {"degree": 3}, "convex"),
    ("neuron", {}, "not convex"), ("neuron", {"activation": "tanh"}, "not convex"),
])
def test_convexity_verdicts(name, options, verdict):
    result = losses.get(name, **options).convexity()
    assert result.verdict == verdict, result.reason
    assert result.convex is (verdict == "convex") and result.reason in str(result)


def test_neuron_witness_has_negative_curvature():
    """The reason's one-point data set (y = 0, u = w x + b = 1): its Hessian, by finite
    differences of the loss written in NumPy, has a negative eigenvalue."""
    reason = losses.get("neuron").convexity().reason
    assert "y = 0, u = 1" in reason

    def loss(theta):  # x = 1, y = 0
        return (0 - 1 / (1 + np.exp(-(theta[0] * 1 + theta[1])))) ** 2

    H = numeric_hessian(loss, np.array([0.5, 0.5]), h=1e-4)
    assert np.linalg.eigvalsh(H)[0] < -1e-3


def test_softmax_convexity_agrees_with_numeric_hessians():
    rng = np.random.default_rng(5)
    x, labels = rng.normal(size=6), rng.integers(0, 3, 6)
    y = np.eye(3)[labels]

    def loss(theta):
        z = np.outer(x, theta[:3]) + theta[3:]
        return np.mean(np.log(np.exp(z).sum(axis=1)) - (y * z).sum(axis=1))

    for _ in range(5):
        H = numeric_hessian(loss, rng.normal(size=6), h=1e-3)
        assert np.linalg.eigvalsh(H)[0] > -1e-6


@pytest.mark.slow
def test_convexity_on_data():
    result = losses.get("mse").convexity(FILMS)
    x = FILMS["x"]
    expected = np.linalg.eigvalsh(2 * np.array([[np.mean(x * x), np.mean(x)], [np.mean(x), 1]]))
    assert result.verdict == "convex" and "positive definite" in result.reason
    np.testing.assert_allclose(result.eigenvalues, expected, rtol=1e-9)
    saddle = Loss("m*b*x", ["m", "b"], ["x"])
    assert saddle.convexity().verdict == "not convex"
    assert saddle.convexity({"x": np.array([1.0, 2.0])}).verdict == "not convex"
    rng = np.random.default_rng(2)
    neuron = losses.get("neuron").convexity({"x": rng.normal(size=20), "y": rng.normal(size=20)})
    assert neuron.verdict == "not convex" and "negative eigenvalue" in neuron.reason


# -- the learning-rate bound -----------------------------------------------------------------


def test_learning_rate_bound_on_the_films():
    bound = losses.get("mse").learning_rate_bound(**FILMS)
    H = numeric_hessian(lambda t: films_mse(*t), np.array([1.0, 100.0]))
    assert bound == pytest.approx(2 / np.linalg.eigvalsh(H)[-1], rel=1e-9)


@pytest.mark.parametrize("factor, converges", [(0.98, True), (1.02, False)])
def test_gradient_descent_converges_exactly_below_the_bound(factor, converges):
    rate = factor * losses.get("mse").learning_rate_bound(**FILMS)
    x, y = FILMS["x"], FILMS["y"]
    theta = np.array([0.0, 0.0])
    for _ in range(3000):
        r = theta[0] * x + theta[1] - y
        theta = theta - rate * np.array([2 * np.mean(r * x), 2 * np.mean(r)])
    assert (films_mse(*theta) < films_mse(0, 0)) is converges


@pytest.mark.slow
def test_learning_rate_bound_with_hyperparameters_and_vectors():
    rng = np.random.default_rng(11)
    x, y = rng.normal(size=30), rng.normal(size=30)
    lam = 0.4
    H = 2 * np.array([[np.mean(x * x) + lam, np.mean(x)], [np.mean(x), 1]])
    ridge = losses.get("ridge").learning_rate_bound(x=x, y=y, lam=lam)
    assert ridge == pytest.approx(2 / np.linalg.eigvalsh(H)[-1], rel=1e-9)
    X = rng.normal(size=(30, 3))
    A = np.column_stack([X, np.ones(30)])
    bound = losses.get("multiple-regression").learning_rate_bound(x=X, y=y)
    assert bound == pytest.approx(2 / np.linalg.eigvalsh(2 / 30 * A.T @ A)[-1], rel=1e-9)
    assert losses.get("logistic").learning_rate_bound(x=x, y=y) is None
    with pytest.raises(DataError):
        losses.get("ridge").learning_rate_bound(x=x, y=y)  # lam missing


# -- the closed form, numerically --------------------------------------------------------------


def test_solve_gives_the_least_squares_line_of_the_films():
    slope, intercept = np.polyfit(FILMS["x"], FILMS["y"], 1)
    for name in ("mse", "rss"):
        fit = losses.get(name).solve(**FILMS)
        assert fit == pytest.approx({"m": slope, "b": intercept}, rel=1e-10)


@pytest.mark.parametrize("reduce", ["mean", "sum"])
def test_ridge_solution_is_the_ridge_normal_equations(reduce):
    rng = np.random.default_rng(3)
    n, lam = 25, 0.3
    x, y = rng.normal(size=n), rng.normal(size=n)
    loss = Loss("(y - (m*x + b))**2", ["m", "b"], ["x", "y"], reduce=reduce,
                regularization="lam*m**2")
    scale = n if reduce == "mean" else 1  # (1/n) Σ r² + λm²  ⇔  Σ r² + nλm²
    A = np.vstack([np.column_stack([x, np.ones(n)]), [np.sqrt(scale * lam), 0.0]])
    expected = np.linalg.lstsq(A, np.r_[y, 0.0], rcond=None)[0]
    fit = loss.solve(x=x, y=y, lam=lam)
    np.testing.assert_allclose([fit["m"], fit["b"]], expected, rtol=1e-10)


@pytest.mark.slow
def test_vector_solutions_match_lstsq():
    rng = np.random.default_rng(4)
    n, d, lam = 40, 3, 0.2
    X, y = rng.normal(size=(n, d)), rng.normal(size=n)
    A = np.column_stack([X, np.ones(n)])
    fit = losses.get("multiple-regression").solve(x=X, y=y)
    np.testing.assert_allclose(np.r_[fit["w"], fit["b"]],
                               np.linalg.lstsq(A, y, rcond=None)[0], rtol=1e-10)
    penalised = np.vstack([A, np.column_stack([np.sqrt(n * lam) * np.eye(d), np.zeros(d)])])
    fit = losses.get("ridge", vector=True).solve(x=X, y=y, lam=lam)
    np.testing.assert_allclose(np.r_[fit["w"], fit["b"]],
                               np.linalg.lstsq(penalised, np.r_[y, np.zeros(d)], rcond=None)[0],
                               rtol=1e-10)


@pytest.mark.slow
def test_polynomial_solution_matches_polyfit():
    rng = np.random.default_rng(6)
    x = rng.uniform(-2, 2, 30)
    y = 1 - x + 0.5 * x**3 + rng.normal(0, 0.1, 30)
    fit = losses.get("polynomial", degree=3).solve(x=x, y=y)
    np.testing.assert_allclose([fit["w3"], fit["w2"], fit["w1"], fit["b"]], np.polyfit(x, y, 3),
                               rtol=1e-8)


def test_solve_errors():
    with pytest.raises(DataError, match="unique minimum"):
        losses.get("mse").solve(x=np.ones(4), y=np.arange(4.0))
    with pytest.raises(ExpressionError, match="not linear"):
        losses.get("logistic").solve(**FILMS)


# -- the closed form, step by step -----------------------------------------------------------


def _on_films(expr: sympy.Expr, means: dict) -> float:
    expr = written_out(expr.xreplace(means), n=5)
    values = {sympy.IndexedBase(name, real=True)[k]: FILMS[name][k - 1]
              for name in ("x", "y") for k in range(1, 6)}
    return float(expr.xreplace(values))


@pytest.mark.slow
def test_means_form_of_the_line_is_polyfit():
    closed = losses.get("mse").closed_form()
    assert [s.title for s in closed.steps] == [
        "set the gradient to zero", "the normal equations", "written out with sums", "solve",
        "in terms of the means"]
    line = closed.steps[-1]
    means = {f.math.lhs: f.math.rhs for f in line.facts}
    (m_eq, b_eq) = line.equations
    m = _on_films(m_eq.rhs, means)
    b = _on_films(b_eq.rhs.xreplace({m_eq.lhs: m}), means)
    np.testing.assert_allclose([m, b], np.polyfit(FILMS["x"], FILMS["y"], 1), rtol=1e-12)


@pytest.mark.slow
def test_sums_form_of_the_normal_equations_holds_at_the_solution():
    closed = losses.get("ridge").closed_form()
    (equation,) = closed.steps[2].equations
    lam = sympy.Symbol("lam", real=True)
    matrix, theta = equation.lhs.args
    fit = losses.get("ridge").solve(**FILMS, lam=0.5)
    at = {lam: 0.5, sympy.Symbol("n", integer=True, positive=True): 5,
          **{p: fit[p.name] for p in theta}}
    lhs = np.array([_on_films(e, at) for e in (matrix * theta)], dtype=float)
    rhs = np.array([_on_films(e, at) for e in equation.rhs], dtype=float)
    np.testing.assert_allclose(lhs, rhs, rtol=1e-10)


def test_vector_closed_form_is_in_matrix_form():
    closed = losses.get("multiple-regression").closed_form()
    titles = [s.title for s in closed.steps]
    assert "written out with sums" not in titles and "in terms of the means" not in titles
    normal = closed.steps[1]
    facts = {f.label: f.math for f in normal.facts}
    assert isinstance(facts["data matrix"].rhs, sympy.BlockMatrix)
    (equation,) = normal.equations
    Phi = sympy.MatrixSymbol("Phi", sympy.Symbol("n", integer=True, positive=True),
                             sympy.Symbol("d", integer=True, positive=True) + 1)
    assert equation.rhs.has(Phi.T)


@pytest.mark.slow
def test_closed_form_renders_in_every_format():
    closed = losses.get("ridge").closed_form()
    text, tex, md = closed.to_text(), closed.to_latex(), closed.to_markdown()
    for step in closed.steps:
        assert step.title in text
        assert step.title[1:] in tex and step.title[1:] in md
    assert r"\bar{x}" in tex and "$$" in md and "Φ" in text
    doc = json.loads(closed.to_json())
    assert doc["loss"] == "ridge"
    eq = sympy.sympify(doc["steps"][-1]["equations"][1]["math_srepr"])
    assert eq == closed.steps[-1].equations[1]


def test_no_closed_form_for_other_losses():
    for name in ("logistic", "mae", "lasso"):
        with pytest.raises(ExpressionError, match="no closed form"):
            losses.get(name).closed_form()


# -- the command line on the films -------------------------------------------------------------


def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


FILM_VALUES = ["--values", "x=100,200,250,325,400", "y=275,300,550,525,700"]


@pytest.mark.slow
def test_cli_solves_the_films(capsys, tmp_path):
    status, out, err = run(capsys, "derive", "--loss", "mse", "--solve", *FILM_VALUES,
                           "--format", "json")
    assert status == 0 and err == ""
    doc = json.loads(out)
    numbers = {item["label"]: item["math"] for item in doc["on_the_data"] if isinstance(item, dict)}
    slope, intercept = np.polyfit(FILMS["x"], FILMS["y"], 1)
    assert float(numbers["m"]) == pytest.approx(slope, rel=1e-6)
    assert float(numbers["b"]) == pytest.approx(intercept, rel=1e-6)
    H = numeric_hessian(lambda t: films_mse(*t), np.array([1.0, 100.0]))
    assert float(numbers["eta_max"]) == pytest.approx(2 / np.linalg.eigvalsh(H)[-1], rel=1e-5)
    assert doc["closed_form"]["steps"][-1]["title"] == "in terms of the means"

    path = tmp_path / "films.csv"
    path.write_text("budget,revenue\n" + "\n".join(
        f"{a:g},{b:g}" for a, b in zip(FILMS["x"], FILMS["y"])) + "\n")
    status, out, _ = run(capsys, "derive", "--loss", "mse", "--solve", "--csv", str(path),
                         "--x", "budget", "--y", "revenue")
    assert status == 0 and "in terms of the means" in out and "1.4410377" in out


@pytest.mark.parametrize("fmt, marker", [
    ("text", "Convexity\n─"), ("latex", r"\paragraph{Hessian.}"), ("markdown", "### Convexity")])
@pytest.mark.slow
def test_cli_hessian_and_convexity(capsys, fmt, marker):
    status, out, _ = run(capsys, "derive", "--loss", "logistic", "--hessian", "--convexity",
                         "--format", fmt)
    assert status == 0 and marker in out and "convex: " in out


@pytest.mark.slow
@pytest.mark.parametrize("argv, message", [
    (["derive", "--loss", "logistic", "--solve"], "no closed form"),
    (["derive", "--loss", "mse", "--solve", "--values", "x=1,2", "y"], "NAME=VALUE"),
    (["derive", "--loss", "mse", "--solve", "--values", "x=1,1,1", "y=1,2,3"], "unique minimum"),
    (["derive", "--loss", "mse", "--solve", "--csv", "missing.csv", "--x", "a", "--y", "b"],
     "cannot read"),
])
def test_cli_analysis_errors(capsys, argv, message):
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and message in err


@pytest.mark.slow
def test_convexity_of_a_high_power_is_quick_and_right():
    """(y − (a x + b + c))⁶⁰ is never multiplied out (it has ~10⁵ terms): the verdict comes from
    its affine form, and a finite-difference Hessian on data agrees (no negative eigenvalue)."""
    import time

    from calculus_ml.numeric import compile_gradient, finite_difference

    loss = Loss("(y - (a*x + b + c))**6", ["ａ", "b", "c"], ["x", "y"])  # ｘ-style names fold
    assert loss.convexity().verdict == "convex"
    big = Loss("(y - (a*x + b + c))**60", ["a", "b", "c"], ["x", "y"])
    start = time.perf_counter()
    assert big.convexity().verdict == "convex"
    assert time.perf_counter() - start < 5
    rng = np.random.default_rng(1)
    data = {"x": rng.normal(size=20) / 4, "y": rng.normal(size=20) / 4}
    prepared = compile_gradient(loss).prepare(**data)
    for theta in rng.normal(scale=0.3, size=(3, 3)):
        H = finite_difference.hessian(prepared.grad, theta)
        assert np.linalg.eigvalsh((H + H.T) / 2)[0] > -1e-6
