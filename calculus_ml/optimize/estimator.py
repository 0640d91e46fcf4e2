"""The estimator :class:`GradientDescent`: fit a loss's parameters, keeping the history.

``GradientDescent(loss).fit(x=x, y=y)`` compiles the :class:`~calculus_ml.losses.Loss` (through
:func:`calculus_ml.numeric.compiled_for`), runs Newton's method, L-BFGS or one of the plain
optimizers of :mod:`calculus_ml.optimize.optimizers` on it, and records J, ‖∇J‖ and the
parameters after each iteration; it detects divergence and oscillation and suggests a stable
learning rate.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import BudgetError, ConvergenceWarning, quoted
from ..numeric import CompileError, PreparedGradient, compiled_for
from ..numeric.scaling import Standardization, StandardizedGradient, linear_form
from .epochs import epoch_sgd
from .lbfgs import lbfgs
from .optimizers import METHODS, OPTIMIZERS, SCHEDULES
from .quadratic import quadratic_descent
from .reporting import Progress as _Progress
from .reporting import as_loss as _as_loss
from .reporting import counting, divergence, summary_text
from .reporting import suggest_rate as _suggest_rate
from .second_order import descent_with_line_search, newton

__all__ = ["GradientDescent"]

_SEEDS = (np.random.Generator, np.random.BitGenerator, np.random.SeedSequence)
"""What ``random_state`` may be besides None or an integer: what seeds NumPy's generators."""
_PATIENCE = 10  # iterations of growing loss (above the starting loss) that count as divergence
_NEWTON_MAX_SIZE = 2000  # parameters beyond which "auto" does not choose Newton (an O(p³) solve)
_SELF_STEPPING = ("newton", "lbfgs")  # methods that choose their own steps
_PLAIN_STEPS = ("gd", "sgd", "minibatch")  # θ ← θ − η g: with batches, an epoch per call


# --------------------------------------------------------------------------- the estimator


class GradientDescent:
    """Fit a loss's parameters by gradient descent (or SGD, momentum, Nesterov, Adam).

    Parameters
    ----------
    loss : calculus_ml.losses.Loss or str
        The loss to minimise, or the name of a catalogue loss (``"mse"``); it is compiled once
        (see :func:`calculus_ml.compile_gradient`).
    learning_rate : float or "auto"
        The step size η (the starting one, with a ``schedule``). ``"auto"`` (the default):
        gradient descent finds its step at every iteration by backtracking (Armijo), the other
        first-order methods start from ``1/λ_max`` of the Hessian at the start (Adam from
        0.001); Newton and L-BFGS always choose their own steps.
    max_iter : int
        The most iterations: steps for full-batch methods, epochs (passes over the shuffled
        data) for ``"sgd"``, ``"minibatch"`` or a ``batch_size``.
    tol : float
        Converged once the full gradient's norm ``‖∇J‖`` is at most ``tol`` (the slope is flat);
        for ``"newton"`` once the Newton step (the estimated distance to the minimum) is at most
        ``tol`` in every coordinate, for ``"lbfgs"`` every gradient entry.
    method : {"auto", "newton", "lbfgs", "gd", "sgd", "minibatch", "momentum", "nesterov", \
"adam"}
        The update rule. ``"newton"``: ``θ ← θ − t H⁻¹∇J`` with the loss's compiled Hessian,
        damped where it is not positive definite and with a backtracking step ``t``, so it
        cannot diverge. ``"lbfgs"``: SciPy's L-BFGS-B on the compiled value and gradient.
        ``"auto"`` (the default): ``"newton"`` when neither a learning rate nor a batch size is
        given and the loss has a compiled Hessian (no kinks), else ``"gd"``. ``"sgd"`` uses one
        sample per step, ``"minibatch"`` ``batch_size`` (default 32). Adam uses ``momentum`` as
        β₁ and β₂ = 0.999.
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
    backend : {"numpy", "numba"}
        The compiled code; ``"numba"`` also makes each epoch of ``"sgd"`` and ``"minibatch"``
        (or ``"gd"`` with a ``batch_size``) one compiled loop.

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
        Whether the method's convergence test (see ``tol``) was met.
    method_ : str
        The method that ran (``"auto"`` resolved).
    learning_rate_ : float or None
        The rate first-order methods used (with ``"auto"``: the one they found or settled on).
    n_fev_, n_gev_, n_hev_ : int
        Evaluations of J, of the gradient (full or mini-batch) and of the Hessian.
    grad_norm_ : float
        ``‖∇J‖`` at the fitted parameters.

    Examples
    --------
    >>> fit = GradientDescent(loss, learning_rate=0.1).fit(x=x, y=y)  # doctest: +SKIP
    >>> fit.params_, fit.n_iter_                                      # doctest: +SKIP
    """

    def __init__(self, loss: Any, learning_rate: float | str = "auto", max_iter: int = 1000,
                 tol: float = 1e-6, method: str = "auto", batch_size: int | None = None,
                 schedule: str | Callable[[int], float] | None = None, momentum: float = 0.9,
                 standardize: bool = False, random_state: Any = None,
                 callback: Callable | None = None, progress: bool | str = "auto",
                 init: Any = None, backend: str = "numpy"):
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
        self.backend = backend

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

        def whole(value, least):
            return isinstance(value, numbers.Integral) and not isinstance(value, bool) and (
                value >= least)

        if not (self.learning_rate == "auto" or (
                real(self.learning_rate) and self.learning_rate > 0)):
            raise ValueError(f"learning_rate must be a positive number or 'auto', "
                             f"not {self.learning_rate!r}")
        if not whole(self.max_iter, 1):
            raise ValueError(f"max_iter must be a positive integer, not {self.max_iter!r}")
        if not (real(self.tol) and self.tol >= 0):
            raise ValueError(f"tol must be a number >= 0, not {self.tol!r}")
        if not (isinstance(self.method, str) and self.method in METHODS):
            raise ValueError(f"method must be one of {', '.join(map(repr, METHODS))}, "
                             f"not {self.method!r}")
        if self.method in _SELF_STEPPING and self.batch_size is not None:
            raise ValueError(f"method={self.method!r} uses the full gradient; batch_size is for "
                             "the first-order methods")
        if self.batch_size is not None and not whole(self.batch_size, 1):
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
        if not (self.random_state is None or isinstance(self.random_state, _SEEDS) or whole(
                self.random_state, 0)):
            raise ValueError(f"random_state must be None, an integer >= 0 or a NumPy Generator, "
                             f"not {quoted(self.random_state)}")
        if self.callback is not None and not callable(self.callback):
            raise ValueError(f"callback must be callable, not {self.callback!r}")
        if self.progress not in ("auto", True, False):
            raise ValueError(f"progress must be 'auto', True or False, not {self.progress!r}")
        if self.backend not in ("numpy", "numba"):
            raise ValueError(f"backend must be 'numpy' or 'numba', not {self.backend!r}")

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
        compiled = compiled_for(self.loss, backend=self.backend)
        scaler, fit_data = None, data
        prepared = compiled.prepare(**data)
        theta0 = np.zeros(prepared.size) if self.init is None else prepared.flatten(self.init)
        if self.standardize:  # the map of parameters, not a standardized copy of the data
            form = linear_form(self.loss)
            features = {x for _, x in form.slopes}
            scaler = Standardization.fit(form, {
                name: a for name, a in zip(compiled.data_names, prepared.arrays)
                if name in features})
            theta0 = scaler.to_standardized(theta0, prepared.spans())
            prepared, fit_data = StandardizedGradient(prepared, scaler), None
        self.method_ = self._resolved_method(prepared)
        self.n_fev_ = self.n_gev_ = self.n_hev_ = 0
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
            warnings.warn(f"{self.method_} stopped at max_iter={self.max_iter} before the "
                          f"gradient norm reached tol={self.tol:g} (it is "
                          f"{self.grad_norm_history_[-1]:.3g}); raise max_iter or the "
                          "learning rate", ConvergenceWarning, stacklevel=2)
        return self

    def _resolved_method(self, prepared: PreparedGradient) -> str:
        """``self.method``, with ``"auto"`` resolved (see the class docstring)."""
        if self.method != "auto":
            return self.method
        if self.learning_rate != "auto" or self.batch_size is not None or (
                prepared.size > _NEWTON_MAX_SIZE):
            return "gd"
        try:  # the statistics path differentiates its exact gradient instead
            if prepared.statistics is None:
                prepared.compiled._second_order()
        except (CompileError, BudgetError):  # a kink, or a Hessian too large to compile in time
            return "gd"
        return "newton"

    def _descend(self, prepared: PreparedGradient, theta0: np.ndarray,
                 fit_data: dict | None) -> np.ndarray:
        """Run the optimizer; set the histories; return the parameters after each iteration."""
        n, method = prepared.n, self.method_
        counted = counting(self, prepared)
        line_search = method == "gd" and self.learning_rate == "auto" and self.schedule is None
        fixed_rate = not (line_search or method in _SELF_STEPPING)
        self.learning_rate_ = None if not fixed_rate else self.learning_rate if (
            self.learning_rate != "auto") else 0.001 if method == "adam" else (
            _suggest_rate(self.loss, prepared, theta0, fit_data) or 0.01)  # from the curvature
        stochastic = method in ("sgd", "minibatch") or self.batch_size is not None
        size = 1 if method == "sgd" else (self.batch_size or min(32, n))
        per_epoch = math.ceil(n / size) if stochastic else 1
        sched = (self.schedule if callable(self.schedule) else SCHEDULES[
            self.schedule or "constant"](self.learning_rate_ or 0.0, self.max_iter))
        losses, norms, thetas = [], [], []
        value, growing, rises, stopped = math.nan, 0, 0, False
        progress = _Progress(self.progress, self.max_iter)
        rng = np.random.default_rng(self.random_state)
        rows_of, tol, callback = prepared.grad_rows, self.tol, self.callback
        watch_rises = method == "gd" and fixed_rate and not stochastic
        gradient_test = method not in _SELF_STEPPING

        def remembering(evaluate):  # J of the last evaluation, for the history
            def evaluated(x):
                nonlocal value
                out = evaluate(x)
                value = out[0]
                return out
            return evaluated

        value_and_grad, value_grad_hess = map(remembering, (counted["value_and_grad"],
                                                            counted["value_grad_hess"]))

        def grad(x, i):
            return value_and_grad(x)[1]

        def batch_grad(x, i):  # the rows shuffled at the start of each epoch
            nonlocal rows_of
            b = i % per_epoch
            if b == 0:
                rows_of = prepared.subset(rng.permutation(n)).grad_rows
            self.n_gev_ += 1
            return rows_of(x, b * size, min(n, b * size + size))

        def record(x, i, g, J=None):  # J: the loss at x, when known (else the last evaluated)
            nonlocal value, growing, rises, stopped
            value = value if J is None else J
            if i % per_epoch:
                return False
            k = i // per_epoch
            if stochastic or g is None:  # the full loss and gradient, once per epoch
                value, g = value_and_grad(x)
            J, norm = float(value), math.sqrt(g.dot(g))
            losses.append(J)
            norms.append(norm)
            thetas.append(x.copy())
            if not (math.isfinite(J) and math.isfinite(norm)):
                self._diverged(k, J, losses[0], prepared, theta0, fit_data)
            if k and J > losses[-2]:
                growing += 1
                if growing >= _PATIENCE and J > losses[0]:
                    self._diverged(k, J, losses[0], prepared, theta0, fit_data)
                # gradient descent at a rate below 2/λ_max never raises J: rises mean oscillation
                rises += watch_rises and J > losses[-2] + 1e-9 * abs(losses[-2])
                if rises >= 2 * _PATIENCE:
                    self._diverged(k, J, losses[0], prepared, theta0, fit_data, oscillating=True)
            else:
                growing = 0
            progress.update(k, J)
            stopped = bool(callback is not None and callback(x, k, g)) or (
                norm <= tol and gradient_test)
            return stopped

        own_test = False
        try:
            if method == "newton":
                x, own_test = newton(value_grad_hess, theta0, self.max_iter, tol, record)
            elif method == "lbfgs":
                x, own_test = lbfgs(value_and_grad, theta0, self.max_iter, tol, callback=record)
            elif line_search:
                x, self.learning_rate_ = descent_with_line_search(
                    value_and_grad, theta0, self.max_iter, callback=record)
            elif watch_rises and callback is None and self.schedule in (None, "constant") and (
                    getattr(prepared, "quadratic", None) is not None):  # blocks in closed form
                x, stopped, appended = quadratic_descent(
                    prepared.quadratic, theta0, self.learning_rate_, self.max_iter,
                    value_and_grad, record, (losses, norms, thetas), tol)
                self.n_fev_, self.n_gev_ = self.n_fev_ + appended, self.n_gev_ + appended
            elif stochastic and method in _PLAIN_STEPS and isinstance(prepared, PreparedGradient):
                x = epoch_sgd(self, prepared, rng, theta0, sched, size, record)
            else:
                options = {"mass": self.momentum} if method in ("momentum", "nesterov") else (
                    {"b1": self.momentum} if method == "adam" else {})
                rate = self.learning_rate_ if self.schedule in (None, "constant") else (
                    lambda i: sched(i // per_epoch))  # constant in an epoch
                x = OPTIMIZERS[method](batch_grad if stochastic else grad, theta0,
                                       learning_rate=rate,
                                       max_iter=self.max_iter * per_epoch, callback=record,
                                       **options)
            if not stopped and not np.array_equal(x, thetas[-1]):  # record where it ended
                record(x, self.max_iter * per_epoch, None)
        finally:
            progress.close()
        self.n_iter_ = len(thetas) - 1
        self.converged_ = norms[-1] <= self.tol or own_test
        self.grad_norm_ = norms[-1]
        self.loss_history_ = np.array(losses)
        self.grad_norm_history_ = np.array(norms)
        return np.array(thetas)

    def _diverged(self, k: int, J: float, J0: float, prepared: PreparedGradient,
                  theta0: np.ndarray, fit_data: dict | None, oscillating: bool = False):
        rate = _suggest_rate(self.loss, prepared, theta0, fit_data)
        raise divergence(self.method_, k, J, J0, self.learning_rate_, rate,
                         rises=2 * _PATIENCE if oscillating else None)

    def summary(self, closed_form: dict | None = None) -> str:
        """The fit as text: parameters (beside ``closed_form`` ones, if given), iterations, loss."""
        if not hasattr(self, "params_"):
            raise ValueError("this GradientDescent is not fitted yet: call fit first")
        return summary_text(self, closed_form)

    def predict(self, **features: Any) -> np.ndarray:
        """The fitted model's prediction for each row of ``features`` (needs a prediction)."""
        if not hasattr(self, "params_"):
            raise ValueError("this GradientDescent is not fitted yet: call fit first")
        return self.compiled_.predict(self.params_, **features)
