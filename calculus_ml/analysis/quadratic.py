"""Quadratic losses: the Hessian, the learning-rate bound and the minimiser on data.

* :func:`hessian` -- the symbolic Hessian of ``J`` over the sums (index notation for vectors).
* :func:`is_quadratic` -- whether ``J`` is a polynomial of degree at most 2 in the parameters.
* :func:`learning_rate_bound` -- ``2/λ_max(H)`` for a quadratic ``J``: gradient descent with a
  constant rate converges exactly when the rate is below it.
* :func:`solve` -- the minimiser of a quadratic ``J`` on data (``∇J = Hθ + g₀ = 0``).

The parameters are read as polynomial generators (:class:`Flat`): a token per ``dot(w, x)``, and
``‖w‖`` per vector parameter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy

from ..errors import DataError, ExpressionError
from ..functions import dot
from ..losses import Loss
from ..symbolic import differentiate, fresh_symbol, tidy, within_terms

__all__ = ["hessian", "is_quadratic", "learning_rate_bound", "solve", "Flat", "flat_form",
           "prepared_gradient", "quadratic_parts"]


def hessian(loss: Loss) -> sympy.Matrix:
    """The symbolic Hessian ``∂²J/∂θₐ∂θ_b`` over ``n`` data points, rows and columns in
    :attr:`Loss.variables` order.

    For a vector parameter ``w`` the row is ``w_j`` and the column ``w_k``: the entry
    ``∂²J/∂w_j∂w_k`` stands for the ``d × d`` block, e.g. ``(2/n) Σᵢ x_ij x_ik`` for least squares.
    """
    k = _second_index(loss)
    columns = [v.base[k] if isinstance(v, sympy.Indexed) else v for v in loss.variables]
    rows = []
    for var in loss.variables:
        first = differentiate(loss.objective, var)
        rows.append([tidy(differentiate(first, col)) for col in columns])
    return sympy.Matrix(rows)


def _second_index(loss: Loss) -> sympy.Symbol:
    taken = {str(s) for s in loss.objective.free_symbols} | {loss.component_index.name}
    return fresh_symbol(("k", "l", "p", "q", "r"), taken, integer=True, positive=True)


@dataclass(frozen=True)
class Flat:
    """An expression in plain generators: the scalar parameters, one token ``t`` per
    ``dot(w, x)`` (linear in ``w``) and one ``s_w`` per vector parameter ``w``, ``dot(w, w) = s_w²``
    (``back`` maps tokens and ``s_w²`` to their dots, ``norms`` each vector to its ``s_w``)."""

    expr: sympy.Expr
    gens: tuple[sympy.Symbol, ...]
    back: dict[sympy.Expr, sympy.Expr]
    norms: dict[sympy.Symbol, sympy.Symbol]

    def shown(self, expr: sympy.Expr) -> sympy.Expr:
        """``expr`` with the dots put back."""
        return expr.xreplace(self.back)


def flat_form(expr: sympy.Expr, loss: Loss) -> Flat:
    params = set(loss.params)
    norms = {p: sympy.Dummy(f"‖{p}‖", real=True) for p in params & loss.vectors}
    replace = {}
    for call in expr.atoms(dot):
        a, b = call.args
        if a in norms and b in norms:
            replace[call] = norms[a] * norms[b]
        elif a in norms or b in norms:
            replace[call] = sympy.Dummy(f"({sympy.sstr(call)})", real=True)
    tokens = tuple(t for t in replace.values() if t.is_Symbol)
    scalars = tuple(p for p in loss.params if p not in norms)
    back = {t: call for call, t in replace.items()}
    return Flat(expr.xreplace(replace), scalars + tuple(norms.values()) + tokens, back, norms)


def is_quadratic(loss: Loss) -> bool:
    """Whether ``J`` is a polynomial of degree at most 2 in the parameters (``∇J`` linear);
    False also when ``J`` is too large to multiply out (see
    :func:`~calculus_ml.symbolic.within_terms`)."""
    flat = flat_form(loss.term + loss.penalty, loss)
    if not within_terms(flat.expr):
        return False
    poly = flat.expr.as_poly(*flat.gens)
    return poly is not None and poly.total_degree() <= 2


# -- quadratic losses on data: the Hessian, the learning-rate bound, the minimiser ----------


def prepared_gradient(loss: Loss, data: Mapping[str, Any]):
    from ..numeric import compiled_for

    return compiled_for(loss).prepare(**data)


def quadratic_parts(loss: Loss, data: Mapping[str, Any]):
    """``(H, g₀, prepared)`` with ``∇J(θ) = Hθ + g₀`` exactly, for a quadratic ``J``.

    Raises
    ------
    DataError
        For malformed data, or data so large that ``H`` or ``g₀`` overflow.
    """
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is refused below
        prepared = prepared_gradient(loss, data)
        zero = np.zeros(prepared.size)
        g0 = prepared.grad(zero)
        columns = [prepared.grad(unit) - g0 for unit in np.eye(prepared.size)]
        H = np.array(columns).T
        H = (H + H.T) / 2
    _require_finite(H, g0)
    return H, g0, prepared


def _require_finite(*arrays: np.ndarray) -> None:
    if not all(np.isfinite(a).all() for a in arrays):
        raise DataError("the data are too large for floating point here: sums over them "
                        "overflow (past about 1e308); rescale them, e.g. to thousands")


def learning_rate_bound(loss: Loss, **data: Any) -> float | None:
    """The largest stable constant learning rate of gradient descent, ``2/λ_max(H)``.

    For a quadratic ``J`` the Hessian ``H`` depends only on the data, and gradient descent
    ``θ ← θ − η∇J`` converges for every start exactly when ``0 < η < 2/λ_max``.

    Parameters
    ----------
    loss : Loss
    **data : array_like or float
        The data arrays by name (``(n, d)`` for a vector) and the hyperparameters' values.

    Returns
    -------
    float or None
        The bound; None when ``J`` is not quadratic or ``H`` has no positive eigenvalue.

    Raises
    ------
    DataError
        For missing or malformed data.
    """
    if not is_quadratic(loss):
        return None
    H, _, _ = quadratic_parts(loss, data)
    top = float(np.linalg.eigvalsh(H)[-1])
    return 2 / top if top > 0 else None


def solve(loss: Loss, **data: Any) -> dict[str, float | np.ndarray]:
    """The minimiser of a quadratic ``J`` on the data: the solution of ``∇J = Hθ + g₀ = 0``.

    Returns
    -------
    dict
        ``{name: value}``, a ``(d,)`` array for a vector parameter.

    Raises
    ------
    ExpressionError
        When ``∇J = 0`` is not linear in the parameters (no closed form: use gradient descent).
    DataError
        For missing or malformed data, or data that do not determine a unique minimum
        (a singular or indefinite Hessian, e.g. every ``x`` equal).
    """
    if not is_quadratic(loss):
        raise ExpressionError(f"∇J = 0 is not linear in the parameters of {loss.name}: "
                              "no closed form (use gradient descent)")
    H, g0, prepared = quadratic_parts(loss, data)
    eigenvalues = np.linalg.eigvalsh(H)
    if eigenvalues[0] <= 1e-12 * max(1.0, abs(eigenvalues[-1])):
        raise DataError("these data do not determine a unique minimum: the normal equations "
                        "are singular or J is unbounded below (Hessian eigenvalues "
                        f"{eigenvalues[0]:.3g} to {eigenvalues[-1]:.3g}); e.g. all x equal, or "
                        "fewer points than parameters")
    with np.errstate(over="ignore", invalid="ignore"):
        theta = np.linalg.solve(H, -g0)
    _require_finite(theta)
    return prepared.unflatten(theta)
