"""Gradient descent and its relatives, with history and divergence detection.

Two layers, as in autograd and scikit-learn:

* **Plain optimizers** — :func:`gradient_descent`, :func:`momentum`, :func:`nesterov` and
  :func:`adam` — take a gradient callable ``grad(x, i)`` (``i`` is the step number, which a
  stochastic gradient uses to pick its batch), a start ``x0`` and ``callback(x, i, g)``, called
  before each step with the point, the step number and the gradient there; a callback that
  returns ``True`` stops the run. They know nothing of SymPy or losses.
* **The estimator** :class:`GradientDescent` compiles a :class:`~calculus_ml.losses.Loss`, runs one
  of those optimizers on it and keeps the history: ``GradientDescent(loss).fit(x=x, y=y)``.
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
import sympy

from .errors import CalculusMLError, ConvergenceWarning, DivergenceError
from .functions import dot
from .numeric import PreparedGradient, compiled_for

__all__ = ["GradientDescent", "gradient_descent", "momentum", "nesterov", "adam",
           "estimate_stable_rate"]

Grad = Callable[[np.ndarray, int], np.ndarray]
Callback = Callable[[np.ndarray, int, np.ndarray], Any]
Rate = float | Callable[[int], float]


# --------------------------------------------------------------------------- plain optimizers


def _rate(learning_rate: Rate) -> Callable[[int], float]:
    return learning_rate if callable(learning_rate) else (lambda i: learning_rate)


def gradient_descent(grad: Grad, x0: np.ndarray, learning_rate: Rate = 0.01,
                     max_iter: int = 100, callback: Callback | None = None) -> np.ndarray:
    """Plain (or, with a stochastic ``grad``, stochastic) gradient descent: ``x ← x − η g``.

    ``learning_rate`` is a number or a function of the step number. Returns the last ``x``.
    """
    rate, x = _rate(learning_rate), np.array(x0, dtype=float)
    for i in range(max_iter):
        g = grad(x, i)
        if callback is not None and callback(x, i, g):
            break
        x = x - rate(i) * g
    return x


def momentum(grad: Grad, x0: np.ndarray, learning_rate: Rate = 0.01, max_iter: int = 100,
             mass: float = 0.9, callback: Callback | None = None) -> np.ndarray:
    """Heavy-ball momentum: ``v ← β v − η g``, ``x ← x + v``."""
    rate, x = _rate(learning_rate), np.array(x0, dtype=float)
    velocity = np.zeros_like(x)
    for i in range(max_iter):
        g = grad(x, i)
        if callback is not None and callback(x, i, g):
            break
        velocity = mass * velocity - rate(i) * g
        x = x + velocity
    return x


def nesterov(grad: Grad, x0: np.ndarray, learning_rate: Rate = 0.01, max_iter: int = 100,
             mass: float = 0.9, callback: Callback | None = None) -> np.ndarray:
    """Nesterov's accelerated gradient, in the form that needs the gradient at ``x`` only.

    ``v ← β v + g``, ``x ← x − η (g + β v)``: the look-ahead step written so that each gradient
    is taken at the point the history records.
    """
    rate, x = _rate(learning_rate), np.array(x0, dtype=float)
    velocity = np.zeros_like(x)
    for i in range(max_iter):
        g = grad(x, i)
        if callback is not None and callback(x, i, g):
            break
        velocity = mass * velocity + g
        x = x - rate(i) * (g + mass * velocity)
    return x


def adam(grad: Grad, x0: np.ndarray, learning_rate: Rate = 0.001, max_iter: int = 100,
         b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8,
         callback: Callback | None = None) -> np.ndarray:
    """Adam (Kingma & Ba, 2015): steps scaled by running moments of the gradient."""
    rate, x = _rate(learning_rate), np.array(x0, dtype=float)
    m, v = np.zeros_like(x), np.zeros_like(x)
    for i in range(max_iter):
        g = grad(x, i)
        if callback is not None and callback(x, i, g):
            break
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1 ** (i + 1)), v / (1 - b2 ** (i + 1))
        x = x - rate(i) * m_hat / (np.sqrt(v_hat) + eps)
    return x


def estimate_stable_rate(grad: Callable[[np.ndarray], np.ndarray], x: np.ndarray,
                         iterations: int = 50, seed: int = 0) -> float | None:
    """``1/λ_max`` of the Hessian at ``x``: a learning rate at which gradient descent is stable.

    λ_max comes from power iteration on finite-difference Hessian-vector products,
    ``H v ≈ (∇J(x + h v) − ∇J(x − h v)) / 2h``; exact for quadratic losses (up to rounding).
    Returns ``None`` when the curvature is not positive or not finite.
    """
    x = np.asarray(x, dtype=float)
    v = np.random.default_rng(seed).standard_normal(x.size)
    v /= np.linalg.norm(v)
    h = 1e-4 * max(1.0, float(np.linalg.norm(x)))
    lam = 0.0
    for _ in range(iterations):
        hv = (grad(x + h * v) - grad(x - h * v)) / (2 * h)
        norm = float(np.linalg.norm(hv))
        if not math.isfinite(norm) or norm == 0:
            return None
        new = float(v @ hv)
        v = hv / norm
        if abs(new - lam) <= 1e-6 * abs(new):
            lam = new
            break
        lam = new
    return 1.0 / lam if lam > 0 and math.isfinite(lam) else None


_OPTIMIZERS = {"gd": gradient_descent, "sgd": gradient_descent, "minibatch": gradient_descent,
               "momentum": momentum, "nesterov": nesterov, "adam": adam}
_SCHEDULES = {  # (rate, max_iter) -> rate at iteration k
    "constant": lambda rate, total: (lambda k: rate),
    "inverse": lambda rate, total: (lambda k: rate / (1.0 + 10.0 * k / total)),
    "exponential": lambda rate, total: (lambda k: rate * 0.01 ** (k / total)),
}
_PATIENCE = 10  # iterations of growing loss (above the starting loss) that count as divergence


# --------------------------------------------------------------------------- the estimator


class GradientDescent:
    """Fit a loss's parameters by gradient descent (or SGD, momentum, Nesterov, Adam).

    Parameters
    ----------
    loss : calculus_ml.losses.Loss
        The loss to minimise; it is compiled once (see :func:`calculus_ml.compile_gradient`).
    learning_rate : float
        The step size η (the starting one, with a ``schedule``).
    max_iter : int
        The most iterations: steps for full-batch methods, epochs (passes over the shuffled
        data) for ``"sgd"``, ``"minibatch"`` or a ``batch_size``.
    tol : float
        Converged once the full gradient's norm ``‖∇J‖`` is at most ``tol`` (the slope is flat).
    method : {"gd", "sgd", "minibatch", "momentum", "nesterov", "adam"}
        The update rule; ``"sgd"`` uses one sample per step, ``"minibatch"`` ``batch_size``
        (default 32). Adam uses ``momentum`` as β₁ and β₂ = 0.999.
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
        self.loss = loss
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
        if self.method not in _OPTIMIZERS:
            raise ValueError(f"method must be one of {', '.join(map(repr, _OPTIMIZERS))}, "
                             f"not {self.method!r}")
        if self.batch_size is not None and not (isinstance(
                self.batch_size, numbers.Integral) and not isinstance(self.batch_size, bool)
                                               and self.batch_size >= 1):
            raise ValueError(f"batch_size must be None or a positive integer, "
                             f"not {self.batch_size!r}")
        if self.method == "sgd" and self.batch_size not in (None, 1):
            raise ValueError("method='sgd' takes one sample per step; use method='minibatch' "
                             f"for batch_size={self.batch_size}")
        if not (self.schedule is None or callable(self.schedule) or (
                isinstance(self.schedule, str) and self.schedule in _SCHEDULES)):
            raise ValueError(f"schedule must be None, one of {', '.join(map(repr, _SCHEDULES))} "
                             f"or a callable, not {self.schedule!r}")
        if not (real(self.momentum) and 0 <= self.momentum < 1):
            raise ValueError(f"momentum must be in [0, 1), not {self.momentum!r}")
        if not isinstance(self.standardize, (bool, np.bool_)):
            raise ValueError(f"standardize must be True or False, not {self.standardize!r}")
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
            scaler = _Standardizer(self.loss, clean)
            fit_data = scaler.transform(clean)
        prepared = compiled.prepare(**fit_data)
        theta0 = np.zeros(prepared.size) if self.init is None else prepared.flatten(self.init)
        if scaler is not None:
            theta0 = scaler.to_fitted(theta0, prepared)
        with np.errstate(over="ignore", invalid="ignore"):
            thetas = self._descend(prepared, theta0, fit_data)
        if scaler is not None:
            thetas = scaler.to_original(thetas, prepared)
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
                 else _SCHEDULES[self.schedule or "constant"](self.learning_rate, self.max_iter))
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

        optimizer = _OPTIMIZERS[method]
        options = {"mass": self.momentum} if method in ("momentum", "nesterov") else (
            {"b1": self.momentum} if method == "adam" else {})
        try:
            x = optimizer(grad, theta0, learning_rate=lambda i: sched(i // per_epoch),
                          max_iter=self.max_iter * per_epoch, callback=record, **options)
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


# --------------------------------------------------------------------------- standardization


class _Standardizer:
    """Features rescaled to mean 0 and standard deviation 1, and the exact map back.

    For a prediction ``g(Σⱼ mⱼ xⱼ + b)`` (each slope a parameter, ``w·x`` for a vector), fitting
    ``m'`` and ``b'`` on ``x' = (x − μ)/σ`` is the same model as ``m = m'/σ``,
    ``b = b' − Σ m' μ/σ`` on ``x``. Without an intercept the features are only scaled.
    """

    def __init__(self, loss: Any, clean: dict):
        self.slopes, self.intercept = _linear_form(loss)
        moved = {m for m, _ in self.slopes} | ({self.intercept} if self.intercept else set())
        if getattr(loss.penalty, "free_symbols", set()) & moved:
            raise ValueError("standardize=True would change what the penalty penalises "
                             "(it acts on the rescaled parameters); standardize the data "
                             "yourself, or fit without it")
        _check_equivalent(loss, self.slopes, self.intercept)
        self.mean, self.scale = {}, {}
        for _, x in self.slopes:
            column = clean[x.name]
            axis_mean = column.mean(axis=0) if self.intercept is not None else 0.0 * column[0]
            spread = column.std(axis=0)
            self.mean[x.name] = axis_mean
            self.scale[x.name] = np.where(spread > 0, spread, 1.0)

    def transform(self, clean: dict) -> dict:
        """A copy of ``clean`` with the features standardized (the caller's arrays untouched)."""
        out = dict(clean)
        for _, x in self.slopes:
            out[x.name] = (clean[x.name] - self.mean[x.name]) / self.scale[x.name]
        return out

    def to_original(self, thetas: np.ndarray, prepared: PreparedGradient) -> np.ndarray:
        """Rows of fitted parameters (standardized units) in the original units."""
        spans, out = prepared.spans(), np.array(thetas, dtype=float)
        shift = np.zeros(out.shape[0])
        for m, x in self.slopes:
            span = spans[m.name]
            out[:, span] = thetas[:, span] / self.scale[x.name]
            shift += (out[:, span] * self.mean[x.name]).sum(axis=1)
        if self.intercept is not None:
            out[:, spans[self.intercept.name]] -= shift[:, None]
        return out

    def to_fitted(self, theta: np.ndarray, prepared: PreparedGradient) -> np.ndarray:
        """Parameters in original units as standardized-unit parameters (the inverse map)."""
        spans, out = prepared.spans(), np.array(theta, dtype=float)
        for m, x in self.slopes:
            span = spans[m.name]
            if self.intercept is not None:
                out[spans[self.intercept.name]] += float(np.sum(theta[span] * self.mean[x.name]))
            out[span] = theta[span] * self.scale[x.name]
        return out


def _linear_form(loss: Any) -> tuple[list, sympy.Symbol | None]:
    """``([(slope, feature), ...], intercept)`` of a prediction ``g(Σ m x + b)``."""
    prediction = getattr(loss, "prediction", None)
    if prediction is None:
        raise ValueError("standardize=True needs a loss with a prediction, to know its features")
    while isinstance(prediction, sympy.Function) and len(prediction.args) == 1 and not isinstance(
            prediction, dot):
        prediction = prediction.args[0]
    params, data = set(loss.params), set(loss.data)
    slopes, intercept = [], None
    for term in sympy.Add.make_args(prediction):
        if isinstance(term, dot) and len(term.free_symbols & params) == 1:
            m, x = sorted(term.args, key=lambda s: s not in params)
            slopes.append((m, x))
        elif term.is_Mul and len(term.args) == 2 and {type(a) for a in term.args} <= {
                sympy.Symbol} and set(term.args) & params and set(term.args) & data:
            m, x = sorted(term.args, key=lambda s: s not in params)
            slopes.append((m, x))
        elif term in params and intercept is None:
            intercept = term
        else:
            raise ValueError("standardize=True needs a prediction linear in its features, "
                             f"like m*x + b or dot(w, x) + b; this one has the term {term}")
    if not slopes:
        raise ValueError("standardize=True: the prediction has no feature to standardize")
    if len({m for m, _ in slopes}) < len(slopes) or len({x for _, x in slopes}) < len(slopes):
        raise ValueError("standardize=True needs one parameter per feature")
    return slopes, intercept


def _check_equivalent(loss: Any, slopes: list, intercept: sympy.Symbol | None) -> None:
    """Check symbolically that rescaling features and parameters leaves ℓ unchanged.

    Vectors are checked through one component (``dot(w, x)`` as ``w·x``): the map acts on each
    component alike.
    """
    surrogate = {call: call.args[0] * call.args[1] for call in loss.term.atoms(dot)}
    term = loss.term.xreplace(surrogate)
    swap, shift = {}, sympy.Integer(0)
    for k, (m, x) in enumerate(slopes):
        mu = sympy.Symbol(f"_mu{k}", real=True) if intercept is not None else sympy.Integer(0)
        sigma = sympy.Symbol(f"_sigma{k}", positive=True)
        swap[x] = sigma * x + mu
        swap[m] = m / sigma
        shift += m * mu / sigma
    if intercept is not None:
        swap[intercept] = intercept - shift
    if sympy.expand(term.xreplace(swap) - term) != 0:
        raise ValueError("standardize=True: rescaling the features changes this loss beyond its "
                         "prediction; fit without it")


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
