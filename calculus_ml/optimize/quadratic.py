"""Gradient descent on a quadratic loss, a block of steps at a time, in closed form.

For J(θ) = J_c + g_c·δ + ½ δᵀAδ, δ = θ − θ_c (least squares and ridge on their sufficient
statistics, :class:`~calculus_ml.numeric.prepared.QuadraticForm`), a step θ ← θ − η∇J is linear.
In the eigenvectors of A = QΛQᵀ each coordinate e = Qᵀδ moves on its own, e ← ρe − ηv with
ρ = 1 − ηλ and v = Qᵀg_c, so that after k steps

    e_k = ρᵏ e₀ − ηv (1 − ρᵏ)/(ηλ)        (e_k = e₀ − kηv where λ = 0).

The iterates of a block of steps, their gradients and losses are then a few array operations,
not a few per step: the same path as the step-by-step loop, to rounding.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["closed_form_steps", "quadratic_descent", "BLOCK_STEPS"]

BLOCK_STEPS = 256
"""Steps computed at once; between blocks the run checks where it stands, as each step would."""


def closed_form_steps(form: Any, x0: np.ndarray, rate: float, steps: int
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The points θ₀ = ``x0``, θ₁ … θ_steps of gradient descent at ``rate`` on ``form`` (a
    :class:`~calculus_ml.numeric.prepared.QuadraticForm`), with their gradients and losses.

    Returns
    -------
    thetas, grads : ndarray, shape (steps + 1, p)
    values : ndarray, shape (steps + 1,)
    """
    lam, Q = form.eigen
    u, v = Q.T @ (x0 - form.centre), Q.T @ form.gc
    k = np.arange(steps + 1.0)[:, None]
    h = rate * lam  # ηλ, and ρ = 1 − h
    shrinking = h < 1  # 0 < ρ: ρᵏ and 1 − ρᵏ through log1p/expm1, exact even for ηλ ~ 1e-18
    log_rho = np.log1p(-np.where(shrinking, h, 0.0))
    power = np.where(shrinking, np.exp(k * log_rho), np.power(1 - h, k))
    one_minus = np.where(shrinking, -np.expm1(k * log_rho), 1 - power)
    flat = h == 0
    geometric = np.where(flat, k, one_minus / np.where(flat, 1.0, h))  # Σ_{j<k} ρʲ
    e = power * u - rate * geometric * v
    deltas = e @ Q.T
    grads = (e * lam) @ Q.T + form.gc
    values = form.Jc + 0.5 * np.einsum("ij,ij->i", deltas, grads + form.gc)
    return form.centre + deltas, grads, values


def quadratic_descent(form: Any, x0: np.ndarray, rate: float, max_iter: int,
                      value_and_grad: Callable, record: Callable, history: tuple[list, list, list],
                      tol: float) -> tuple[np.ndarray, bool, int]:
    """Gradient descent at a fixed ``rate`` for ``max_iter`` steps, a block at a time.

    Each block's first point goes through the fit's ``record(x, i, g)`` (after one real
    ``value_and_grad(x)``), with every check a step makes. When the block's losses are finite
    and never rise, its other points are appended to ``history`` (losses, gradient norms,
    parameters) directly, up to the first gradient norm at or below ``tol``; otherwise they go
    through ``record`` one by one, which raises on divergence as the loop would.

    Returns
    -------
    x : ndarray
        The last point reached (where the run stopped, or after ``max_iter`` steps).
    stopped : bool
        Whether the run stopped before ``max_iter`` (``record`` or ``tol``).
    appended : int
        The points appended without ``record``: each stands for one gradient evaluation.
    """
    losses, norms, thetas = history
    x, i, appended = np.array(x0, dtype=float), 0, 0
    while i < max_iter:
        steps = min(BLOCK_STEPS, max_iter - i)
        _, g = value_and_grad(x)
        if record(x, i, g):
            return x, True, appended
        xs, gs, Js = closed_form_steps(form, x, rate, steps)
        block_norms = np.sqrt(np.einsum("ij,ij->i", gs, gs))
        rest = slice(1, steps)  # the block's points after its first, before its last step
        if np.isfinite(Js).all() and np.isfinite(block_norms).all() and not (
                np.diff(np.r_[losses[-1], Js[rest]]) > 0).any():
            done = np.flatnonzero(block_norms[rest] <= tol)
            end = 1 + (done[0] + 1 if done.size else steps - 1)
            losses.extend(Js[1:end].tolist())
            norms.extend(block_norms[1:end].tolist())
            thetas.extend(xs[1:end])
            appended += end - 1
            if done.size:
                return xs[end - 1].copy(), True, appended
        else:
            for j in range(1, steps):
                if record(xs[j], i + j, gs[j], Js[j]):
                    return xs[j].copy(), True, appended
        x, i = xs[steps].copy(), i + steps
    return x, False, appended
