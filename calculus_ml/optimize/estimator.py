"""The estimator :class:`GradientDescent`: fit a loss's parameters, keeping the history.

``GradientDescent(loss).fit(x=x, y=y)`` compiles the :class:`~calculus_ml.losses.Loss` (through
:func:`calculus_ml.numeric.compiled_for`), runs one of the plain optimizers of
:mod:`calculus_ml.optimize.optimizers` on it, and records J, ‖∇J‖ and the parameters after each
iteration; it detects divergence and suggests a stable learning rate.
"""

from __future__ import annotations

import math
import numbers
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import losses
from ..errors import CalculusMLError, ConvergenceWarning, DivergenceError, quoted
from ..numeric import PreparedGradient, compiled_for
from ..numeric.curvature import hessian_function
from ..numeric.scaling import Standardization, linear_form
from .damped_newton import newton
from .optimizers import OPTIMIZERS, SCHEDULES, estimate_stable_rate

__all__ = ["GradientDescent"]

_SEEDS = (np.random.Generator, np.random.BitGenerator, np.random.SeedSequence)
"""What ``random_state`` may be besides None or an integer: what seeds NumPy's generators."""
_PATIENCE = 10  # iterations of growing loss (above the starting loss) that count as divergence


# --------------------------------------------------------------------------- the estimator


class GradientDescent:
    """Fit a loss's parameters by gradient descent (or SGD, momentum, Nesterov, Adam).

    Parameters
    ----------
    loss : calculus_ml.losses.Loss or str
        The loss to minimise, or the name of a catalogue loss (``"mse"``); it is compiled once
        (see :func:`calculus_ml.compile_gradient`).
    learning_rate : float
        The step size η (the starting one, with a ``schedule``).
    max_iter : int
        The most iterations: steps for full-batch methods, epochs (passes over the shuffled
        data) for ``"sgd"``, ``"minibatch"`` or a ``batch_size``.
    tol : float
        Converged once the full gradient's norm ``‖∇J‖`` is at most ``tol`` (the slope is flat).
    method : {"gd", "sgd", "minibatch", "momentum", "nesterov", "adam", "newton"}
        The update rule; ``"sgd"`` uses one sample per step, ``"minibatch"`` ``batch_size``
        (default 32). Adam uses ``momentum`` as β₁ and β₂ = 0.999; ``"newton"`` steps by
        ``−H⁻¹∇J``, halved until J decreases. Dask data take the full-batch methods.
    batch_size : int, optional
        Samples per step; makes any method stochastic.
    schedule : {"constant", "inverse", "exponential"} or callable, optional
        The learning rate at iteration ``k`` of ``K = max_iter``: η; η/(1 + 10k/K) (down to
        about η/11); η·0.01^(k/K) (down to η/100); or ``schedule(k)``.
    momentum : float
        β in [0, 1) for ``"momentum"``, ``"nesterov"`` and ``"adam"``.
    standardize : bool
        Fit on features rescaled to mean 0 and standard deviation 1, then map the parameters back
        to the original units exactly (slope/σ, intercept − Σ slope·μ/σ). Needs a loss whose
        prediction is linear in its features (under a link such as σ or exp) and no penalty on
        its parameters.
    random_state : int or numpy.random.Generator, optional
        Seeds the shuffling of stochastic methods.
    callback : callable, optional
        ``callback(x, k, g)`` after each iteration's evaluation, with the flat parameters (in the
        standardized units when ``standardize=True``), the iteration and the gradient; returning
        ``True`` stops the fit.
    progress : {"auto", True, False}
        A progress bar on stderr when it is a terminal: ``"auto"`` once a fit takes over half a
        second, ``True`` at once, ``False`` never.
    init : dict or array, optional
        Starting parameters, in original units (default zeros).

    Attributes
    ----------
    params_ : dict
        The fitted parameters, ``name → float`` (or ``(d,)`` array for a vector).
    loss_history_, grad_norm_history_ : numpy.ndarray
        J and ‖∇J‖ after 0, 1, ..., ``n_iter_`` iterations.
    params_history_ : dict
        ``name → array`` of the parameters after each iteration, shape ``(n_iter_ + 1, ...)``.
    n_iter_ : int
        Iterations run.
    converged_ : bool
        Whether ``‖∇J‖ ≤ tol`` was reached.

    Examples
    --------
    >>> fit = GradientDescent(loss, learning_rate=0.1).fit(x=x, y=y)  # doctest: +SKIP
    >>> fit.params_, fit.n_iter_                                      # doctest: +SKIP
    """

    def __init__(self, loss: Any, learning_rate: float = 0.01, max_iter: int = 1000,
                 tol: float = 1e-6, method: str = "gd", batch_size: int | None = None,
                 schedule: str | Callable[[int], float] | None = None, momentum: float = 0.9,
                 standardize: bool = False, random_state: Any = None,
                 callback: Callable | None = None, progress: bool | str = "auto",
                 init: Any = None):
        self.loss = _as_loss(loss)
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.tol = tol
        self.method = method
        self.batch_size = batch_size
        self.schedule = schedule
        self.momentum = momentum
        self.standardize = standardize
        self.random_state = random_state
        self.callback = callback
        self.progress = progress
        self.init = init

    def __repr__(self) -> str:
        defaults = GradientDescent.__init__.__defaults__
        names = GradientDescent.__init__.__code__.co_varnames[2:2 + len(defaults)]
        shown = [f"{n}={getattr(self, n)!r}" for n, default in zip(names, defaults)
                 if getattr(self, n) is not default and getattr(self, n) != default]
        name = getattr(self.loss, "name", "loss")
        return f"GradientDescent({', '.join([name] + shown)})"

    # -- validation ---------------------------------------------------------------------------

    def _check_params(self) -> None:
        def real(value):
            return isinstance(value, numbers.Real) and not isinstance(value, bool) and (
                math.isfinite(value))

        if not (real(self.learning_rate) and self.learning_rate > 0):
            raise ValueError(f"learning_rate must be a positive number, not {self.learning_rate!r}")
        if not (isinstance(self.max_iter, numbers.Integral) and not isinstance(
                self.max_iter, bool) and self.max_iter >= 1):
            raise ValueError(f"max_iter must be a positive integer, not {self.max_iter!r}")
        if not (real(self.tol) and self.tol >= 0):
            raise ValueError(f"tol must be a number >= 0, not {self.tol!r}")
        if self.method not in (*OPTIMIZERS, "newton"):
            raise ValueError(f"method must be one of {', '.join(map(repr, OPTIMIZERS))} or "
                             f"'newton', not {self.method!r}")
        if self.batch_size is not None and not (isinstance(
                self.batch_size, numbers.Integral) and not isinstance(self.batch_size, bool)
                                               and self.batch_size >= 1):
            raise ValueError(f"batch_size must be None or a positive integer, "
                             f"not {self.batch_size!r}")
        if self.method == "sgd" and self.batch_size not in (None, 1):
            raise ValueError("method='sgd' takes one sample per step; use method='minibatch' "
                             f"for batch_size={self.batch_size}")
        if not (self.schedule is None or callable(self.schedule) or (
                isinstance(self.schedule, str) and self.schedule in SCHEDULES)):
            raise ValueError(f"schedule must be None, one of {', '.join(map(repr, SCHEDULES))} "
                             f"or a callable, not {self.schedule!r}")
        if not (real(self.momentum) and 0 <= self.momentum < 1):
            raise ValueError(f"momentum must be in [0, 1), not {self.momentum!r}")
        if not isinstance(self.standardize, (bool, np.bool_)):
            raise ValueError(f"standardize must be True or False, not {self.standardize!r}")
        if not (self.random_state is None or isinstance(self.random_state, _SEEDS) or (
                isinstance(self.random_state, numbers.Integral) and self.random_state >= 0
                and not isinstance(self.random_state, bool))):
            raise ValueError(f"random_state must be None, an integer >= 0 or a NumPy Generator, "
                             f"not {quoted(self.random_state)}")
        if self.callback is not None and not callable(self.callback):
            raise ValueError(f"callback must be callable, not {self.callback!r}")
        if self.progress not in ("auto", True, False):
            raise ValueError(f"progress must be 'auto', True or False, not {self.progress!r}")

    # -- fitting --------------------------------------------------------------------------------

    def fit(self, **data: Any) -> GradientDescent:
        """Fit the parameters to ``data`` (arrays by data name, hyperparameters as numbers).

        Returns
        -------
        GradientDescent
            ``self``, with ``params_`` and the histories set.

        Raises
        ------
        ValueError
            For a bad hyperparameter of the estimator.
        DataError
            For missing, mismatched, empty, non-finite or wrongly shaped data.
        DivergenceError
            When the loss becomes non-finite or keeps growing; the message suggests a learning
            rate, also on the exception as ``suggested_learning_rate``.
        """
        self._check_params()
        compiled = compiled_for(self.loss)
        scaler, fit_data = None, data
        if self.standardize:
            clean = compiled.validate(**data)
            scaler = Standardization.fit(linear_form(self.loss), clean)
            fit_data = scaler.transform(clean)
        prepared = compiled.prepare(**fit_data)
        theta0 = np.zeros(prepared.size) if self.init is None else prepared.flatten(self.init)
        if scaler is not None:
            theta0 = scaler.to_standardized(theta0, prepared.spans())
        with np.errstate(over="ignore", invalid="ignore"):
            thetas = self._descend(prepared, theta0, fit_data)
        if scaler is not None:
            thetas = scaler.to_original(thetas, prepared.spans())
        self.compiled_ = compiled
        self.params_ = prepared.unflatten(thetas[-1])
        self.params_history_ = {
            name: thetas[:, span].copy() if np.ndim(self.params_[name]) else thetas[:, span.start]
            for name, span in prepared.spans().items()}
        if not self.converged_ and self.n_iter_ >= self.max_iter:
            warnings.warn(f"{self.method} stopped at max_iter={self.max_iter} before the gradient "
                          f"norm reached tol={self.tol:g} (it is "
                          f"{self.grad_norm_history_[-1]:.3g}); raise max_iter or the "
                          "learning rate", ConvergenceWarning, stacklevel=2)
        return self

    def _descend(self, prepared: PreparedGradient, theta0: np.ndarray,
                 fit_data: dict) -> np.ndarray:
        """Run the optimizer; set the histories; return the parameters after each iteration."""
        n, method = prepared.n, self.method
        stochastic = method in ("sgd", "minibatch") or self.batch_size is not None
        size = 1 if method == "sgd" else (self.batch_size or min(32, n))
        per_epoch = math.ceil(n / size) if stochastic else 1
        sched = (self.schedule if callable(self.schedule)
                 else SCHEDULES[self.schedule or "constant"](self.learning_rate, self.max_iter))
        losses, norms, thetas = [], [], []
        value, growing, stopped = math.nan, 0, False
        progress = _Progress(self.progress, self.max_iter)
        rng = np.random.default_rng(self.random_state)
        shuffled, tol, callback = prepared, self.tol, self.callback

        def grad(x, i):
            nonlocal value, shuffled
            if not stochastic:
                value, g = prepared.value_and_grad(x)
                return g
            if i % per_epoch == 0:
                shuffled = prepared.subset(rng.permutation(n))
            b = i % per_epoch
            return shuffled.grad_rows(x, b * size, min(n, (b + 1) * size))

        def record(x, i, g):
            nonlocal value, growing, stopped
            if i % per_epoch:
                return False
            k = i // per_epoch
            if stochastic or g is None:  # the full loss and gradient, once per epoch
                value, g = prepared.value_and_grad(x)
            J, norm = float(value), math.sqrt(float(g @ g))
            losses.append(J)
            norms.append(norm)
            thetas.append(x.copy())
            if not (math.isfinite(J) and math.isfinite(norm)):
                self._diverged(k, J, losses[0], prepared, theta0, fit_data)
            growing = growing + 1 if k and J > losses[-2] else 0
            if growing >= _PATIENCE and J > losses[0]:
                self._diverged(k, J, losses[0], prepared, theta0, fit_data)
            progress.update(k, J)
            stopped = norm <= tol or bool(callback is not None and callback(x, k, g))
            return stopped

        def value_and_grad(x):
            g = grad(x, 0)  # sets the value record() reads
            return value, g
        options = {"mass": self.momentum} if method in ("momentum", "nesterov") else (
            {"b1": self.momentum} if method == "adam" else {})
        try:
            if method == "newton":
                x = newton(value_and_grad, hessian_function(prepared), theta0,
                           max_iter=self.max_iter, callback=record)
            else:
                x = OPTIMIZERS[method](grad, theta0, lambda i: sched(i // per_epoch),
                                       self.max_iter * per_epoch, callback=record, **options)
            if not stopped:  # ran all its iterations: record where it ended
                record(x, self.max_iter * per_epoch, None)
        finally:
            progress.close()
        self.n_iter_ = len(thetas) - 1
        self.converged_ = norms[-1] <= self.tol
        self.loss_history_ = np.array(losses)
        self.grad_norm_history_ = np.array(norms)
        return np.array(thetas)

    def _diverged(self, k: int, J: float, J0: float, prepared: PreparedGradient,
                  theta0: np.ndarray, fit_data: dict):
        rate = _suggest_rate(self.loss, prepared, theta0, fit_data)
        what = (f"the loss became {J}" if not math.isfinite(J) else
                f"the loss grew to {J:.6g} (from {J0:.6g})")
        if not math.isfinite(J) or J > J0:
            message = f"{self.method} diverged at iteration {k}: {what}"
        else:
            message = f"{self.method} diverged at iteration {k}: the gradient became non-finite"
        if rate is not None and rate < self.learning_rate:
            message += (f"; learning_rate={self.learning_rate:g} is too large, "
                        f"try learning_rate={rate:.3g}")
        error = DivergenceError(message)
        error.iteration, error.loss = k, J
        error.suggested_learning_rate = rate
        raise error

    def summary(self, closed_form: dict | None = None) -> str:
        """The fit as text: parameters (beside ``closed_form`` ones, if given), iterations, loss."""
        if not hasattr(self, "params_"):
            raise ValueError("this GradientDescent is not fitted yet: call fit first")
        status = "converged" if self.converged_ else "not converged"
        lines = [f"loss: {getattr(self.loss, 'name', 'loss')}",
                 f"method: {self.method}, learning rate {self.learning_rate:g}",
                 f"iterations: {self.n_iter_} ({status}; gradient norm "
                 f"{self.grad_norm_history_[-1]:.3g})",
                 f"final loss: {self.loss_history_[-1]:.10g}", ""]
        header = f"{'parameter':<12}{'fitted':>18}"
        lines.append(header + (f"{'closed form':>18}" if closed_form else ""))
        for name, value in self.params_.items():
            for label, v, exact in _rows(name, value, (closed_form or {}).get(name)):
                cells = f"{label:<12}{v:>18.10g}"
                lines.append(cells + (f"{exact:>18.10g}" if exact is not None else ""))
        return "\n".join(lines)

    def predict(self, **features: Any) -> np.ndarray:
        """The fitted model's prediction for each row of ``features`` (needs a prediction)."""
        if not hasattr(self, "params_"):
            raise ValueError("this GradientDescent is not fitted yet: call fit first")
        return self.compiled_.predict(self.params_, **features)


def _as_loss(loss: Any) -> Any:
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


def _rows(name: str, value: Any, exact: Any):
    """``(label, fitted, closed form or None)`` per scalar, ``w[0]``, ``w[1]``, ... per vector."""
    if np.ndim(value) == 0:
        return [(name, float(value), None if exact is None else float(exact))]
    exact = [None] * np.size(value) if exact is None else np.ravel(exact)
    return [(f"{name}[{k}]", float(v), None if e is None else float(e))
            for k, (v, e) in enumerate(zip(np.ravel(value), exact))]


def _suggest_rate(loss: Any, prepared: PreparedGradient, theta0: np.ndarray,
                  fit_data: dict) -> float | None:
    """Half of ``loss.learning_rate_bound`` (2/λ_max) when it applies, else a numeric 1/λ_max."""
    bound = getattr(loss, "learning_rate_bound", None)
    rate = None
    if callable(bound):
        try:
            value = bound(**fit_data)  # None where it does not apply (J not quadratic)
        except (ArithmeticError, ValueError, TypeError, NotImplementedError, CalculusMLError):
            value = None
        if value is not None and math.isfinite(float(value)) and float(value) > 0:
            rate = float(value) / 2
    if rate is None:
        rate = estimate_stable_rate(prepared.grad, theta0)
    return float(f"{rate:.3g}") if rate is not None else None


# --------------------------------------------------------------------------- progress


class _Progress:
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
