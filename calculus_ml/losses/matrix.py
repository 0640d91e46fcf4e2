"""Gradients in matrix form, ``∇_w J = (2/n) Xᵀ(Xw + b𝟙 − y)``, for losses with vector parameters.

They are shown beside the index-notation derivation (``∂J/∂w_j``) of the same loss.
"""

from __future__ import annotations

import sympy
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.printing.pretty.stringpict import prettyForm

from ..caching import remembered
from ..errors import ExpressionError
from ..functions import sigmoid
from ..steps.zero import vanishes

__all__ = ["ElementwiseSigmoid", "matrix_symbols", "least_squares_matrix_gradient",
           "logistic_matrix_gradient", "softmax_index_form", "softmax_term",
           "verified_softmax_index_form", "softmax_classes"]


class ElementwiseSigmoid(ElementwiseApplyFunction):
    """The sigmoid applied to every entry of a column: ``ElementwiseSigmoid(sigmoid, A)``,
    printed ``σ(A)``."""

    def _latex(self, printer, *args):
        return rf"\sigma\left({printer._print(self.expr)}\right)"

    def _pretty(self, printer, *args):
        return prettyForm(*prettyForm(*printer._print(self.expr).parens()).left("σ"))


def matrix_symbols() -> dict[str, sympy.Basic]:
    """The matrix forms' symbols: ``X`` (n × d), ``w`` (d × 1), ``y`` (n × 1), ``b``, ``lam``,
    ``n``, ``d`` and the column of ones ``𝟙`` (n × 1)."""
    n, d = sympy.symbols("n d", integer=True, positive=True)
    return {
        "X": sympy.MatrixSymbol("X", n, d), "w": sympy.MatrixSymbol("w", d, 1),
        "y": sympy.MatrixSymbol("y", n, 1), "b": sympy.Symbol("b", real=True),
        "lam": sympy.Symbol("lam", real=True), "n": n, "d": d, "1": sympy.OneMatrix(n, 1),
    }


def least_squares_matrix_gradient(ridge: bool) -> dict[str, sympy.MatrixExpr]:
    """``∇_w J = (2/n) Xᵀ(Xw + b𝟙 − y) [+ 2λw]`` and ``∂J/∂b = (2/n) 𝟙ᵀ(Xw + b𝟙 − y)``."""
    s = matrix_symbols()
    residual = s["X"] * s["w"] + s["b"] * s["1"] - s["y"]
    grad_w = 2 / s["n"] * s["X"].T * residual
    if ridge:
        grad_w = grad_w + 2 * s["lam"] * s["w"]
    return {"w": grad_w, "b": 2 / s["n"] * s["1"].T * residual}


def logistic_matrix_gradient() -> dict[str, sympy.MatrixExpr]:
    """``∇_w J = Xᵀ(σ(Xw + b𝟙) − y)/n`` and ``∂J/∂b = 𝟙ᵀ(σ(Xw + b𝟙) − y)/n``."""
    s = matrix_symbols()
    error = ElementwiseSigmoid(sigmoid, s["X"] * s["w"] + s["b"] * s["1"]) - s["y"]
    return {"w": s["X"].T * error / s["n"], "b": s["1"].T * error / s["n"]}


# --------------------------------------------------------------------------- softmax by class


def softmax_index_form() -> dict[str, sympy.Expr]:
    """The softmax cross-entropy of one sample in index notation, with logits ``z_c``.

    ``ℓ = log Σ_e exp(z_e) − Σ_e y_e z_e``; ``p_c = exp(z_c) / Σ_e exp(z_e)``;
    ``∂ℓ/∂z_c = p_c − y_c``; ``∂²ℓ/∂z_c∂z_e = p_c δ_ce − p_c p_e``; and for the logits
    ``z_c = w_c x + b_c`` the chain factors ``∂z_c/∂w_c = x``, ``∂z_c/∂b_c = 1``. Keys ``loss``,
    ``p``, ``grad``, ``hess``, ``chain`` (a dict by parameter name), and the symbols ``c``,
    ``e``, ``k``, ``z``, ``y``, ``P``, ``x``, ``w``, ``b`` (``P`` the indexed probabilities).
    """
    c, e, k = sympy.symbols("c e k", integer=True, positive=True)
    z, y, P, w, b = (sympy.IndexedBase(name, real=True) for name in ("z", "y", "P", "w", "b"))
    x = sympy.Symbol("x", real=True)
    logit = w[c] * x + b[c]
    total = sympy.Sum(sympy.exp(z[e]), (e, 1, k))
    return {
        "loss": sympy.log(total) - sympy.Sum(y[e] * z[e], (e, 1, k)),
        "p": sympy.exp(z[c]) / total,
        "grad": P[c] - y[c],
        "hess": P[c] * sympy.KroneckerDelta(c, e) - P[c] * P[e],
        "chain": {"w": sympy.diff(logit, w[c]), "b": sympy.diff(logit, b[c])},
        "c": c, "e": e, "k": k, "z": z, "y": y, "P": P, "x": x, "w": w, "b": b,
    }


def softmax_term(x: sympy.Symbol, weights: list, biases: list, labels: list) -> sympy.Expr:
    """The per-sample softmax cross-entropy written out for ``len(weights)`` classes."""
    logits = [w * x + b for w, b in zip(weights, biases)]
    return sympy.log(sympy.Add(*map(sympy.exp, logits))) - sympy.Add(
        *[y * z for y, z in zip(labels, logits)])


@remembered(maxsize=4)
def verified_softmax_index_form(classes: int = 3) -> dict[str, sympy.Expr]:
    """:func:`softmax_index_form`, its derivatives checked against ``sympy.diff`` of the loss
    written out for ``classes`` classes (every ``∂ℓ/∂w_c``, ``∂ℓ/∂b_c`` and second derivative).

    Raises
    ------
    ExpressionError
        When a derivative of the index form differs from ``sympy.diff`` (a bug, never data).
    """
    form = softmax_index_form()
    c, e, x = form["c"], form["e"], form["x"]
    names = {name: sympy.symbols(f"{name}1:{classes + 1}", real=True) for name in "wby"}
    logits = [w * x + b for w, b in zip(names["w"], names["b"])]
    term = softmax_term(x, list(names["w"]), list(names["b"]), list(names["y"]))
    total = sympy.Add(*map(sympy.exp, logits))

    def concrete(expr: sympy.Expr, i: int, j: int = 0) -> sympy.Expr:
        at = {c: i + 1, e: j + 1}
        values = {form["P"][n + 1]: sympy.exp(logits[n]) / total for n in range(classes)}
        values.update({form["y"][n + 1]: names["y"][n] for n in range(classes)})
        return expr.subs(at).xreplace(values)

    for i in range(classes):
        for kind, var in (("w", names["w"][i]), ("b", names["b"][i])):
            first = concrete(form["grad"] * form["chain"][kind], i)
            if not vanishes(sympy.diff(term, var) - first):
                raise ExpressionError(f"softmax index form: ∂ℓ/∂{var} differs from sympy.diff")
        for j in range(classes):
            second = concrete(form["hess"], i, j)
            if not vanishes(sympy.diff(term, names["b"][i], names["b"][j]) - second):
                raise ExpressionError("softmax index form: ∂²ℓ/∂z_c∂z_e differs from sympy.diff")
    return form


def softmax_classes(loss) -> int | None:
    """The number of classes ``k`` when ``loss`` is the catalogue's softmax cross-entropy
    (parameters ``w1…wk, b1…bk``, data ``x, y1…yk``, a mean, no penalty), else None."""
    params, data = [p.name for p in loss.params], [s.name for s in loss.data]
    k = len(params) // 2
    if (k < 2 or params != [f"w{c}" for c in range(1, k + 1)] + [f"b{c}" for c in range(1, k + 1)]
            or data != ["x"] + [f"y{c}" for c in range(1, k + 1)] or loss.reduce != "mean"
            or loss.penalty != 0 or loss.hyperparameters or loss.vectors):
        return None
    x, weights, biases, labels = loss.data[0], loss.params[:k], loss.params[k:], loss.data[1:]
    logits = [w * x + b for w, b in zip(weights, biases)]
    logs = [t for t in sympy.Add.make_args(loss.term) if isinstance(t, sympy.log)]
    if len(logs) != 1:
        return None
    exps = sympy.Add.make_args(logs[0].args[0])  # compared without building k exponentials
    if len(exps) != k or not all(isinstance(a, sympy.exp) for a in exps) or {
            a.args[0] for a in exps} != set(logits):
        return None
    linear = -sympy.Add(*[y * z for y, z in zip(labels, logits)])
    return k if loss.term - logs[0] == linear else None
