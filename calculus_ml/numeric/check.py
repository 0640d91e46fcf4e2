"""The gradient check: the compiled gradient against finite differences of the compiled value.

An independent test of code generation: the value kernel and the gradient kernels are printed
from different expressions (ℓ and its derivatives), so a mistake in either shows as a mismatch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .compiled import CompiledGradient, compiled_for


@dataclass(frozen=True)
class GradientCheck:
    """The compiled gradient beside central finite differences of the compiled loss value."""

    analytic: np.ndarray
    numeric: np.ndarray
    relative_error: float
    tolerance: float

    @property
    def ok(self) -> bool:
        """Whether :attr:`relative_error` is within :attr:`tolerance`."""
        return bool(self.relative_error <= self.tolerance)

    def __repr__(self) -> str:
        verdict = "ok" if self.ok else "MISMATCH"
        return (f"<GradientCheck {verdict}: relative error {self.relative_error:.2e} "
                f"(tolerance {self.tolerance:.0e})>")


def check_gradient(loss: Any, params: Any, *, tolerance: float = 1e-6,
                   step: float | None = None, **data: Any) -> GradientCheck:
    """Compare the compiled gradient of ``loss`` with central finite differences.

    Parameters
    ----------
    loss : Loss or CompiledGradient
        The loss (compiled on the general path) or an already compiled gradient.
    params : dict or array
        Where to compare, as for :meth:`CompiledGradient.grad`.
    tolerance : float
        The largest acceptable ``‖g - g_fd‖ / max(‖g‖, ‖g_fd‖)``.
    step : float, optional
        The finite-difference step, relative to ``max(1, |θₖ|)``; default ``ε^(1/3)``.
    **data
        Data arrays and hyperparameter values.

    Returns
    -------
    GradientCheck
        ``analytic``, ``numeric``, ``relative_error`` and ``ok``.
    """
    compiled = loss if isinstance(loss, CompiledGradient) else compiled_for(
        loss, sufficient_statistics=False)
    prepared = compiled.prepare(**data)
    theta = prepared.flatten(params)
    analytic = np.asarray(prepared.grad(theta), dtype=float)
    h0 = np.finfo(float).eps ** (1 / 3) if step is None else float(step)
    numeric = np.empty_like(analytic)
    for k in range(theta.size):
        h = h0 * max(1.0, abs(theta[k]))
        up, down = theta.copy(), theta.copy()
        up[k] += h
        down[k] -= h
        numeric[k] = (prepared.general_value(up) - prepared.general_value(down)) / (
            up[k] - down[k])
    scale = max(np.linalg.norm(analytic), np.linalg.norm(numeric))
    error = float(np.linalg.norm(analytic - numeric) / scale) if scale > 0 else 0.0
    return GradientCheck(analytic, numeric, error, tolerance)
