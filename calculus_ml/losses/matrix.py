"""Gradients in matrix form, ``∇_w J = (2/n) Xᵀ(Xw + b𝟙 − y)``, for losses with vector parameters.

They are shown beside the index-notation derivation (``∂J/∂w_j``) of the same loss.
"""

from __future__ import annotations

import sympy
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.printing.pretty.stringpict import prettyForm

from ..functions import sigmoid

__all__ = ["ElementwiseSigmoid", "matrix_symbols", "least_squares_matrix_gradient",
           "logistic_matrix_gradient"]


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
