"""Helpers of the estimator: a loss by name, the summary's rows, counted evaluations, the error of
a diverging fit, a learning rate to suggest, and the progress bar."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import losses
from ..errors import CalculusMLError, DivergenceError, quoted
from ..numeric import PreparedGradient
from .optimizers import estimate_stable_rate

__all__ = ["as_loss", "rows", "summary_text", "counting", "divergence", "suggest_rate",
           "Progress"]


def as_loss(loss: Any) -> Any:
    """``loss`` itself, or the catalogue's loss of that name.

    Raises
    ------
    ExpressionError
        For a name that is not in the catalogue.
    TypeError
        For something that is neither a loss nor a name.
    """
    if isinstance(loss, str):
        return losses.get(loss)
    if not all(hasattr(loss, name) for name in ("term", "params", "data")):
        raise TypeError(f"loss must be a calculus_ml.losses.Loss or the name of a catalogue loss "
                        f"({', '.join(losses.names())}), not {quoted(loss)}")
    return loss


def rows(name: str, value: Any, exact: Any):
    """``(label, fitted, closed form or None)`` per scalar, ``w[0]``, ``w[1]``, ... per vector."""
    if np.ndim(value) == 0:
        return [(name, float(value), None if exact is None else float(exact))]
    exact = [None] * np.size(value) if exact is None else np.ravel(exact)
    return [(f"{name}[{k}]", float(v), None if e is None else float(e))
            for k, (v, e) in enumerate(zip(np.ravel(value), exact))]


def summary_text(fit: Any, closed_form: dict | None = None) -> str:
    """A fitted estimator as text: parameters (beside ``closed_form`` ones), iterations, loss."""
    status = "converged" if fit.converged_ else "not converged"
    rate = "" if fit.learning_rate_ is None else f", learning rate {fit.learning_rate_:g}"
    lines = [f"loss: {getattr(fit.loss, 'name', 'loss')}",
             f"method: {fit.method_}{rate}",
             f"iterations: {fit.n_iter_} ({status}; gradient norm "
             f"{fit.grad_norm_history_[-1]:.3g})",
             f"final loss: {fit.loss_history_[-1]:.10g}", ""]
    header = f"{'parameter':<12}{'fitted':>18}"
    lines.append(header + (f"{'closed form':>18}" if closed_form else ""))
    for name, value in fit.params_.items():
        for label, v, exact in rows(name, value, (closed_form or {}).get(name)):
            cells = f"{label:<12}{v:>18.10g}"
            lines.append(cells + (f"{exact:>18.10g}" if exact is not None else ""))
    return "\n".join(lines)


def counting(fit: Any, prepared: PreparedGradient) -> dict[str, Callable]:
    """The prepared functions, counting their evaluations into ``fit.n_fev_``, ``n_gev_``..."""

    def value_and_grad(x):
        fit.n_fev_ += 1
        fit.n_gev_ += 1
        return prepared.value_and_grad(x)

    def value_grad_hess(x):
        fit.n_hev_ += 1
        fit.n_fev_ += 1
        fit.n_gev_ += 1
        return prepared.value_grad_hess(x)

    return {"value_and_grad": value_and_grad, "value_grad_hess": value_grad_hess}


def divergence(method: str, k: int, J: float, J0: float, used: float | None,
               rate: float | None, rises: int | None = None) -> DivergenceError:
    """The error of a fit that diverged at iteration ``k`` (or oscillated: its loss rose
    ``rises`` times), with ``rate``, a learning rate that works, suggested when it is below the
    one ``used``."""
    if rises is not None:
        message = (f"{method} oscillates: by iteration {k} the loss rose {rises} times "
                   "instead of falling")
    elif not math.isfinite(J) or J > J0:
        what = (f"the loss became {J}" if not math.isfinite(J) else
                f"the loss grew to {J:.6g} (from {J0:.6g})")
        message = f"{method} diverged at iteration {k}: {what}"
    else:
        message = f"{method} diverged at iteration {k}: the gradient became non-finite"
    if rate is not None and used is not None and rate < used:
        message += f"; learning_rate={used:g} is too large, try learning_rate={rate:.3g}"
    error = DivergenceError(message)
    error.iteration, error.loss = k, J
    error.suggested_learning_rate = rate
    return error


def suggest_rate(loss: Any, prepared: PreparedGradient, theta0: np.ndarray,
                 fit_data: dict | None) -> float | None:
    """Half of ``loss.learning_rate_bound`` (2/λ_max) when it applies, else a numeric 1/λ_max."""
    bound = getattr(loss, "learning_rate_bound", None)
    rate = None
    if callable(bound) and fit_data is not None:  # None: the data are not the fit's units
        try:
            value = bound(**fit_data)  # None where it does not apply (J not quadratic)
        except (ArithmeticError, ValueError, TypeError, NotImplementedError, CalculusMLError):
            value = None
        if value is not None and math.isfinite(float(value)) and float(value) > 0:
            rate = float(value) / 2
    if rate is None:
        rate = estimate_stable_rate(prepared.grad, theta0)
    return float(f"{rate:.3g}") if rate is not None else None


class Progress:
    """A one-line progress bar on stderr, only on a terminal; no dependency."""

    def __init__(self, mode: bool | str, total: int, stream: Any = None):
        self.stream = sys.stderr if stream is None else stream
        isatty = getattr(self.stream, "isatty", None)
        self.enabled = mode is not False and bool(isatty and isatty())
        self.delay = 0.0 if mode is True else 0.5
        self.total, self.start, self.last, self.shown = total, time.monotonic(), 0.0, False

    def update(self, k: int, loss: float) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.start < self.delay or now - self.last < 0.1:
            return
        self.last, self.shown = now, True
        filled = int(20 * k / max(self.total, 1))
        self.stream.write(f"\rfit [{'#' * filled}{'.' * (20 - filled)}] "
                          f"{k}/{self.total}  loss {loss:.6g} ")
        self.stream.flush()

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r" + " " * 60 + "\r")
            self.stream.flush()
