"""Losses over data and the catalogue (calculus_ml.losses) against independent oracles.

Oracles: ``sympy.diff`` on every step node (through ``check_step``), central finite differences of
``J`` evaluated on random data with sums and inner products written out by hand, and hand-written
NumPy matrix formulas.
"""

from __future__ import annotations

import functools
import json
import zlib

import numpy as np
import pytest
import sympy

import calculus_ml
from calculus_ml import losses
from calculus_ml.cli import main
from calculus_ml.errors import ExpressionError
from calculus_ml.functions import dot, to_elementary
from calculus_ml.losses import Loss
from calculus_ml.steps.verify import check_step
from conftest import distinct_steps, written_out

N, D = 4, 3  # data points and vector dimension used when evaluating
REQUIRED = ["mse", "rss", "mae", "huber", "ridge", "lasso", "polynomial", "multiple-regression",
            "logistic", "softmax", "hinge", "poisson", "neuron"]
VARIANTS = [(name, {}) for name in losses.names()] + [
    ("logistic", {"vector": True}), ("ridge", {"vector": True}), ("polynomial", {"degree": 3}),
    ("softmax", {"k": 2}), ("neuron", {"activation": "tanh"}), ("hinge", {"vector": True}),
    ("poisson", {"vector": True}),
]
IDS = [name + "".join(f"-{k}={v}" for k, v in options.items()) for name, options in VARIANTS]


@functools.lru_cache(maxsize=None)
def catalogue_loss(name: str, options: tuple = ()) -> Loss:
    """One loss object per variant, so each derivation is built once per session."""
    return losses.get(name, **dict(options))


def variant(name: str, options: dict) -> Loss:
    return catalogue_loss(name, tuple(sorted(options.items())))


# -- evaluating J and its gradient on concrete data, independently of the package ------------


def _component(v: sympy.Basic, k: int) -> sympy.Expr:
    if isinstance(v, sympy.Indexed):
        return sympy.Indexed(v.base, *v.indices, k)
    return v[k]


def write_out(expr: sympy.Expr) -> sympy.Expr:
    """Sums over data written out for ``N`` points, ``dot(a, b)`` as ``Σₖ a_k b_k`` for ``D``."""
    expr = expr.replace(dot, lambda a, b: sympy.Add(*(_component(a, k) * _component(b, k)
                                                      for k in range(1, D + 1))))
    return to_elementary(written_out(expr, N))


def random_point(loss: Loss, rng) -> tuple[dict, dict]:
    """``(data, params)``: random arrays by name (``(N, D)`` for vectors), 0.7 for each
    hyperparameter."""
    data = {s.name: rng.normal(size=(N, D) if s in loss.vectors else N) for s in loss.data}
    data.update((h.name, 0.7) for h in loss.hyperparameters)
    params = {p.name: 0.5 * rng.normal(size=D if p in loss.vectors else ()) for p in loss.params}
    return data, params


def value(expr: sympy.Expr, values: dict) -> float:
    """``expr`` (written out) at the values: arrays are indexed from 1, like ``x[i, k]``."""
    subs = {}
    indexed = expr.atoms(sympy.Indexed)
    for atom in indexed:
        array = values[atom.base.label.name]
        subs[atom] = float(array[tuple(int(k) - 1 for k in atom.indices)])
    labels = {atom.base.label for atom in indexed}
    subs.update({s: float(values[s.name]) for s in expr.free_symbols - labels
                 if s.name in values and not isinstance(s, sympy.Indexed)})
    return float(expr.xreplace(subs).evalf())


def finite_differences(J: sympy.Expr, values: dict, params: list[str], h: float = 1e-6) -> list:
    out = []
    for name in params:
        flat = np.atleast_1d(values[name]).astype(float)
        for k in range(flat.size):
            up, down = flat.copy(), flat.copy()
            up[k] += h
            down[k] -= h
            shape = np.shape(values[name])
            out.append((value(J, {**values, name: up.reshape(shape)})
                        - value(J, {**values, name: down.reshape(shape)})) / (2 * h))
    return out


def symbolic_gradient(loss: Loss, values: dict) -> list:
    """The package's ∂J/∂θ (∂J/∂w_j for j = 1..D) evaluated at ``values``."""
    out = []
    for var, grad in loss.gradient().items():
        if isinstance(var, sympy.Indexed):
            (j,) = var.indices
            out += [value(write_out(grad.xreplace({j: k})), values) for k in range(1, D + 1)]
        else:
            out.append(value(write_out(grad), values))
    return out


# -- the catalogue -----------------------------------------------------------------------------


def test_catalogue_has_the_required_losses():
    assert set(REQUIRED) <= set(losses.names())
    for name in losses.names():
        entry = losses.describe(name)
        assert entry.description and "\n" not in entry.description
        assert losses.get(name).name == name


def test_predictions_where_there_is_one():
    m, x, b = sympy.symbols("m x b", real=True)
    assert losses.get("mse").prediction == m * x + b
    assert losses.get("logistic", vector=True).prediction.has(dot)
    assert losses.get("softmax").prediction is None


@pytest.mark.parametrize("name, options, message", [
    ("svm", {}, "unknown loss 'svm' \\(choose from mse, rss"),
    ("mse", {"degree": 2}, "loss 'mse' has no option 'degree' \\(it takes no options\\)"),
    ("polynomial", {"k": 2}, "has no option 'k' \\(it takes degree=2\\)"),
    ("polynomial", {"degree": 0}, "degree must be an integer from 1 to 10"),
    ("polynomial", {"degree": 2.5}, "degree must be an integer"),
    ("softmax", {"k": 1}, "k must be an integer from 2 to 10"),
    ("neuron", {"activation": "relu"}, "activation must be one of sigmoid, tanh"),
    ("logistic", {"vector": "yes"}, "vector must be True or False"),
])
def test_get_errors(name, options, message):
    with pytest.raises(ExpressionError, match=message):
        losses.get(name, **options)


def test_options_shape_the_loss():
    cubic = losses.get("polynomial", degree=3)
    assert [p.name for p in cubic.params] == ["w1", "w2", "w3", "b"]
    four = losses.get("softmax", k=4)
    assert len(four.params) == 8 and len(four.data) == 5
    assert losses.get("logistic", vector=True).vectors == {sympy.Symbol("w", real=True),
                                                            sympy.Symbol("x", real=True)}


@pytest.mark.slow
@pytest.mark.parametrize("name, options", VARIANTS, ids=IDS)
def test_every_step_of_every_catalogue_loss_is_true(name, options):
    loss = variant(name, options)
    derivation = loss.derivation
    assert [str(v) for v in derivation.variables] == [str(v) for v in loss.variables]
    checked = 0
    for _, root in derivation:
        for step in distinct_steps(root):
            check_step(step)
            checked += 1
    assert checked >= 2 * len(loss.params)


@pytest.mark.slow
@pytest.mark.parametrize("name, options", VARIANTS, ids=IDS)
def test_gradient_matches_finite_differences(name, options):
    loss = variant(name, options)
    rng = np.random.default_rng(zlib.crc32(repr((name, options)).encode()))
    data, params = random_point(loss, rng)
    values = {**data, **params}
    J = write_out(loss.objective)
    expected = finite_differences(J, values, [p.name for p in loss.params])
    np.testing.assert_allclose(symbolic_gradient(loss, values), expected, rtol=1e-5, atol=1e-7)


def test_derivation_shows_the_sum_the_mean_and_the_chain_rule():
    derivation = losses.get("ridge").derive()
    rules = [s.rule for s in derivation["m"].walk()]
    for rule in ("sum", "constant_multiple", "sum_over_data", "chain", "power"):
        assert rule in rules
    i, n = sympy.symbols("i n", integer=True, positive=True)
    (total,) = derivation.expression.atoms(sympy.Sum)
    assert total.limits == ((i, 1, n),)
    assert sympy.Indexed(sympy.IndexedBase("x", real=True), i) in derivation.expression.atoms(
        sympy.Indexed)


def test_vector_derivation_is_in_index_notation():
    loss = losses.get("multiple-regression")
    w_j, b = loss.variables
    i, n = sympy.symbols("i n", integer=True, positive=True)
    j = loss.component_index
    x = sympy.IndexedBase("x", real=True)
    assert isinstance(w_j, sympy.Indexed) and w_j.indices == (j,)
    grad = loss.gradient()[w_j]
    assert grad.has(x[i, j]) and grad.has(dot(sympy.IndexedBase("w", real=True), x[i]))
    assert "dot" in [s.rule for s in loss.derivation[w_j].walk()]
    text = loss.derivation.to_text()
    assert "w⋅xᵢ" in text.replace(" ", "") or "w⋅x_i" in text


def test_sample_gradient_contract_for_vectors():
    loss = losses.get("multiple-regression")
    w, x, y, b = sympy.symbols("w x y b", real=True)
    sample = loss.sample_gradient()
    assert sympy.expand(sample[w] - 2 * (b - y + dot(w, x)) * x) == 0
    assert sympy.expand(sample[b] - 2 * (b - y + dot(w, x))) == 0
    ridge = losses.get("ridge", vector=True)
    assert sympy.expand(ridge.penalty_gradient()[w] - 2 * sympy.Symbol("lam", real=True) * w) == 0


@pytest.mark.parametrize("name, options", [
    ("multiple-regression", {}), ("logistic", {"vector": True}), ("ridge", {"vector": True})])
@pytest.mark.slow
def test_matrix_gradient_matches_finite_differences_and_index_form(name, options):
    loss = variant(name, options)
    rng = np.random.default_rng(7)
    data, params = random_point(loss, rng)
    if name == "logistic":
        data["y"] = (data["y"] > 0).astype(float)
    symbols = losses.matrix_symbols()
    subs = {symbols["X"]: sympy.ImmutableMatrix(data["x"]), symbols["n"]: N, symbols["d"]: D,
            symbols["y"]: sympy.ImmutableMatrix(data["y"].reshape(-1, 1)),
            symbols["w"]: sympy.ImmutableMatrix(params["w"].reshape(-1, 1)),
            symbols["b"]: float(params["b"]), symbols["lam"]: 0.7}
    got = []
    for key in ("w", "b"):
        matrix = to_elementary(loss.matrix_gradient[key].subs(subs).doit().doit())
        got += [float(v) for v in sympy.Matrix(matrix).evalf()]
    values = {**data, **params}
    J = write_out(loss.objective)
    np.testing.assert_allclose(got, finite_differences(J, values, ["w", "b"]), rtol=1e-5)
    np.testing.assert_allclose(got, symbolic_gradient(loss, values), rtol=1e-10)
    if name == "multiple-regression":  # and the textbook formula, in NumPy
        X, y, w, b = data["x"], data["y"], params["w"], params["b"]
        np.testing.assert_allclose(got[:D], 2 / N * X.T @ (X @ w + b - y))


def test_matrix_gradient_latex():
    tex = sympy.latex(losses.get("multiple-regression").matrix_gradient["w"],
                      mat_symbol_style="bold")
    assert r"\mathbf{X}^{T}" in tex and r"\mathbf{1}" in tex
    assert r"\sigma\left(" in sympy.latex(losses.get("logistic", vector=True).matrix_gradient["w"])


@pytest.mark.parametrize("name, on_kink", [
    ("mae", lambda x, m, b: m * x + b),  # a residual of 0
    ("hinge", lambda x, m, b: 1 / (m * x + b)),  # y z = 1
])
def test_notes_name_the_subgradient_used_at_the_kink(name, on_kink):
    """The notes say the package uses 0 there: the derived summands are 0 at the kink."""
    loss = losses.get(name)
    assert loss.notes and "subgradient" in loss.notes[0]
    i = sympy.Symbol("i", integer=True, positive=True)
    x, y = (sympy.IndexedBase(s, real=True)[i] for s in "xy")
    slope, b = loss.params
    at = {x: sympy.Rational(3, 10), slope: sympy.Rational(6, 5), b: sympy.Rational(2, 5)}
    at[y] = on_kink(*at.values())
    for grad in loss.gradient().values():
        (total,) = grad.atoms(sympy.Sum)
        assert total.function.xreplace(at) == 0


def test_lasso_and_huber_notes():
    lasso = losses.get("lasso")
    assert "m = 0" in lasso.notes[0]
    m = sympy.Symbol("m", real=True)
    assert lasso.penalty_gradient()[m].subs(m, 0) == 0  # sign(0) = 0, as the note says
    assert "|r| = δ" in losses.get("huber").notes[0]
    assert losses.get("mse").notes == ()


# -- Loss itself ---------------------------------------------------------------------------------


@pytest.mark.parametrize("args, message", [
    (("(y - m*x)**2", ["q"], ["x", "y"]), "parameter 'q' does not occur"),
    (("(y - m*x)**2", ["m"], ["x", "z"]), "data name 'z' does not occur"),
    (("(y - m*x)**2", ["m", "x"], ["x", "y"]), "x cannot be both a parameter and data"),
    (("(y - m*x)**2", [], ["x", "y"]), "at least one parameter"),
    (("(y - m*x)**2", ["m"], []), "at least one data name"),
])
def test_loss_errors(args, message):
    with pytest.raises(ExpressionError, match=message):
        Loss(*args)


def test_loss_refuses_data_in_the_penalty_and_bad_reduce():
    with pytest.raises(ExpressionError, match="penalty may only involve parameters"):
        Loss("(y - m*x)**2", ["m"], ["x", "y"], regularization="x*m**2")
    with pytest.raises(ExpressionError, match="reduce must be"):
        Loss("(y - m*x)**2", ["m"], ["x", "y"], reduce="median")
    with pytest.raises(ExpressionError, match="appears outside dot"):
        Loss("(y - dot(w, x))**2 + w", ["w"], ["x", "y"]).derive()


def test_custom_loss_with_penalty_derives():
    loss = Loss("(y - m*x)**2", ["m"], ["x", "y"], regularization="lam*abs(m)")
    lam, m = sympy.Symbol("lam", real=True), sympy.Symbol("m", real=True)
    assert loss.hyperparameters == (lam,)
    grad = loss.gradient()[m]
    assert grad.has(sympy.sign(m)) and not any(lam in s.free_symbols for s in grad.atoms(sympy.Sum))


def test_gradient_function_compiles(rng=np.random.default_rng(3)):
    loss = losses.get("mse")
    compiled = loss.gradient_function()
    data, params = random_point(loss, rng)
    np.testing.assert_allclose(compiled.grad(params, **data),
                               symbolic_gradient(loss, {**data, **params}), rtol=1e-10)


def test_public_access():
    assert calculus_ml.Loss is Loss
    assert calculus_ml.losses is losses


# -- command line ---------------------------------------------------------------------------------


def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_cli_lists_the_catalogue(capsys):
    status, out, _ = run(capsys, "losses")
    assert status == 0
    for name in REQUIRED:
        assert name in out
    assert losses.describe("huber").description in out


@pytest.mark.slow
def test_cli_derives_a_catalogue_loss(capsys):
    status, out, _ = run(capsys, "derive", "--loss", "mse", "--format", "json")
    assert status == 0
    doc = json.loads(out)
    assert [d["wrt"] for d in doc["derivatives"]] == ["m", "b"]
    status, out, _ = run(capsys, "derive", "--loss", "mae")
    assert status == 0 and "subgradient" in out
    status, out, _ = run(capsys, "derive", "--loss", "polynomial", "--option", "degree=3",
                         "--format", "markdown")
    assert status == 0 and "w_{3}" in out


def test_cli_derives_a_custom_loss_with_penalty(capsys):
    status, out, _ = run(capsys, "derive", "(y - (m*x + b))^2", "--params", "m", "b", "--data",
                         "x", "y", "--penalty", "lam*m^2", "--format", "json")
    assert status == 0
    doc = json.loads(out)
    assert "lam" in doc["expression"] and "lam" not in doc["term"]


@pytest.mark.parametrize("argv, message", [
    (["derive", "--loss", "nope"], "unknown loss 'nope'"),
    (["derive", "--loss", "mse", "--option", "degree=2"], "has no option 'degree'"),
    (["derive", "(y - m*x)^2", "--params", "q", "--data", "x", "y"], "'q' does not occur"),
    (["derive", "(y - m*x)^2", "--loss", "mse"], "not both"),
    (["derive", "--loss", "mse", "--penalty", "m^2"], "--penalty"),
])
def test_cli_loss_errors_are_one_line(capsys, argv, message):
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == ""
    assert err.startswith("calculus-ml: error: ") and err.count("\n") == 1 and message in err


@pytest.mark.parametrize("name, options", [("mse", {}), ("logistic", {}), ("ridge", {"vector": True})])
def test_the_compiled_gradient_is_the_verified_derivation(name, options):
    """Corrupting the per-sample result of the shown tree changes the compiled gradient by
    exactly the corruption: the compiler reads the verified steps, not a derivative of its own."""
    from calculus_ml import compile_gradient
    from calculus_ml.steps.rules import SumOverDataRule

    rng = np.random.default_rng(0)
    loss = losses.get(name, **options)
    data = {"x": rng.normal(size=(40, 3)) if loss.vectors else rng.normal(size=40),
            "y": (rng.random(40) < 0.5).astype(float)}
    hyper = {h.name: 0.3 for h in loss.hyperparameters}
    theta = rng.normal(size=compile_gradient(loss).prepare(**data, **hyper).size)
    honest = compile_gradient(loss, sufficient_statistics=False).grad(theta, **data, **hyper)

    b = sympy.Symbol("b", real=True)
    (summed,) = [s for s in loss.derivation[b].walk() if isinstance(s, SumOverDataRule)]
    object.__setattr__(summed.substep, "result", summed.substep.result + 1)  # a wrong step
    corrupted = compile_gradient(loss, sufficient_statistics=False).grad(theta, **data, **hyper)

    shift = np.zeros_like(honest)
    shift[-1] = 1.0  # b is the last parameter; J is a mean, so +1 per sample is +1
    np.testing.assert_allclose(corrupted, honest + shift, rtol=1e-12, atol=1e-12)


def test_catalogue_losses_declare_their_labels():
    assert losses.get("logistic").labels == {"y": "binary"}
    assert losses.get("logistic", vector=True).labels == {"y": "binary"}
    assert losses.get("hinge").labels == {"y": "sign"}
    assert losses.get("poisson").labels == {"y": "nonnegative"}
    assert losses.get("softmax", k=2).labels == {"y1": "one-hot", "y2": "one-hot"}
    assert losses.get("mse").labels == {} and losses.get("neuron").labels == {}
    assert set(losses.LABEL_DOMAINS) == {"binary", "sign", "nonnegative", "one-hot"}
    with pytest.raises(ExpressionError, match="label 'm' is not data"):
        Loss("(y - m*x)**2", ["m"], ["x", "y"], labels={"m": "binary"})
    with pytest.raises(ExpressionError, match="unknown domain 'positive'"):
        Loss("(y - m*x)**2", ["m"], ["x", "y"], labels={"y": "positive"})
