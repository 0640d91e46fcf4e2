"""The public objects: :func:`compile_gradient` and what it returns.

:func:`compile_gradient` lowers a loss (:mod:`.model`), prints its functions (:mod:`.kernels`)
and compiles them (:func:`.codegen._compile_source`) into a :class:`CompiledGradient`, which
takes parameters by name and data as keyword arguments. :meth:`CompiledGradient.prepare`
validates the data once (:mod:`.validation`) and returns a :class:`PreparedGradient`: calls on
flat parameter arrays with nothing checked or converted per call, which is what optimizers use.
:func:`compiled_for` remembers the last few compiled losses.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from sympy.printing.codeprinter import PrintMethodNotImplementedError

from ..caching import BoundedMemo
from ..symbolic import check_time, time_budget
from .codegen import CompileError, _compile_source
from .kernels import _program
from .statistics import _describe, _gradient_is_affine
from .model import _Layout, _Model
from .prepared import PreparedGradient
from .validation import _check_finite, _flatten, _validate, check_labels, is_dask


def compile_gradient(loss: Any, backend: str = "numpy", sufficient_statistics: bool | str = "auto",
                     *, time_limit: float | None = None) -> CompiledGradient:
    """Compile ``loss`` into fast NumPy functions of its value and gradient.

    Parameters
    ----------
    loss : calculus_ml.losses.Loss
        The loss to compile.
    backend : {"numpy", "numba"}
        The generated code: chunked NumPy, or one fused parallel loop over the rows compiled by
        Numba (:mod:`calculus_ml.numeric.fused`; ``pip install "calculus_ml[fast]"``).
    sufficient_statistics : {"auto", True, False}
        Use the sums over the data (Σx, Σxy, XᵀX, ...) instead of the data themselves when ℓ is a
        polynomial in the parameters: ``"auto"`` when possible, ``True`` to require it (a
        :class:`CompileError` otherwise), ``False`` never.
    time_limit : float, optional
        Seconds the compilation (with the loss's derivation, if not derived yet) may take
        (default :data:`calculus_ml.symbolic.TIME_LIMIT`; ``math.inf`` for no limit).

    Returns
    -------
    CompiledGradient
        ``grad(params, **data)``, ``value``, ``value_and_grad``, ``prepare``, ``source``.

    Raises
    ------
    CompileError
        For a loss whose form or functions the code generator does not handle.
    BudgetError
        For a loss too large to derive, or past ``time_limit``.
    """
    if backend not in ("numpy", "numba"):
        raise ValueError(f"backend must be 'numpy' or 'numba', not {backend!r}")
    if sufficient_statistics not in ("auto", True, False):
        raise ValueError("sufficient_statistics must be 'auto', True or False, "
                         f"not {sufficient_statistics!r}")
    try:
        with time_budget(time_limit):
            compiled = _compile(loss, sufficient_statistics)
        if backend == "numba":
            from .fused import fuse

            compiled = fuse(compiled)
        return compiled
    except PrintMethodNotImplementedError as error:  # a node _check_printable let through
        raise CompileError(f"cannot compile: {str(error).splitlines()[0]}") from None


def _compile(loss: Any, sufficient_statistics: bool | str) -> CompiledGradient:
    """:func:`compile_gradient` once its arguments are checked."""
    model = _Model(loss)
    layout = _Layout(model)
    poly = model.polynomial() if sufficient_statistics is not False else None
    if sufficient_statistics is True and poly is None:
        raise CompileError(f"{getattr(loss, 'name', 'the loss')} is not a polynomial in its "
                           "parameters: no sufficient statistics")
    check_time()
    source, buffers, stats = _program(model, layout, poly, getattr(loss, "prediction", None))
    check_time()
    compiled = CompiledGradient(loss, model, layout, source, _compile_source(source), buffers, stats)
    compiled._affine = stats is not None and _gradient_is_affine(model, poly)
    return compiled


_RECENT: BoundedMemo[tuple[Any, CompiledGradient]] = BoundedMemo(16)


def compiled_for(loss: Any, sufficient_statistics: bool | str = "auto",
                 backend: str = "numpy") -> CompiledGradient:
    """:func:`compile_gradient`, remembered for the last few losses (compiling takes SymPy time)."""
    key = (id(loss), sufficient_statistics, backend)
    hit = _RECENT.get(key)
    if hit is not None and hit[0] is loss:
        return hit[1]
    compiled = compile_gradient(loss, backend, sufficient_statistics=sufficient_statistics)
    _RECENT.put(key, (loss, compiled))  # holding the loss keeps its id from being reused
    return compiled


# --------------------------------------------------------------------------- the public objects


class CompiledGradient:
    """A loss compiled to NumPy: ``grad(params, **data)``, ``value``, ``value_and_grad``.

    ``params`` is a dict ``{name: value}`` or a flat array in :attr:`param_names` order (a vector
    parameter contributes ``d`` entries, ``d`` read from the data). Data are arrays: ``(n,)`` per
    scalar name, ``(n, d)`` for a vector name (``(n,)`` is taken as ``d = 1``). Hyperparameters are
    keyword arguments beside the data: ``grad(params, x=x, y=y, lam=0.1)``.

    Validated data (and, on the sufficient-statistics path, their sums) are cached for the last
    set of array objects seen; changing an array in place between calls is not detected — call
    :meth:`prepare` again, or pass a new array.

    On the sufficient-statistics path J itself is a difference of large sums (Σy² − 2mΣxy + ...),
    so when J is tiny next to Σy²/n its last digits are lost to cancellation (the gradient is
    not affected that way); :meth:`PreparedGradient.general_value` sums the data instead.

    Attributes
    ----------
    source : str
        The generated Python source (printer output), for reading.
    param_names, data_names, hyperparameter_names : tuple of str
        The names, in the order used by flat parameter vectors and the data.
    sufficient_statistics : bool
        Whether evaluations use sums of the data (``statistics`` names them) or the data.
    """

    backend: str = "numpy"
    """The generated code: ``"numpy"``, or ``"numba"`` (see :mod:`.fused`)."""

    def __init__(self, loss, model, layout, source, namespace, buffers, stats):
        self.loss = loss
        self._model, self._layout, self._ns, self._buffers = model, layout, namespace, buffers
        self.source: str = source
        self.param_names: tuple[str, ...] = layout.names
        self.data_names: tuple[str, ...] = tuple(s.name for s in model.data)
        self.hyperparameter_names: tuple[str, ...] = tuple(h.name for h in model.hyper)
        self.vector_names: frozenset[str] = frozenset(
            s.name for s in model.vector_params + model.vector_data)
        self.sufficient_statistics: bool = stats is not None
        self.statistics: tuple[str, ...] = tuple(_describe(s) for s in stats or ())
        self._cache: tuple | None = None
        self._hess: tuple | None = None
        self._affine = False  # J quadratic in the parameters: see statistics._gradient_is_affine
        # NaN and ±inf propagate into every sum they enter (inf − inf and inf·0 give NaN), so
        # when each data array enters some statistic, finite statistics mean finite data
        covered = set().union(*(s.data.free_symbols | set(s.vectors) for s in stats or ()))
        self._finite_from_statistics = stats is not None and covered >= set(model.data)

    def __repr__(self) -> str:
        name = getattr(self.loss, "name", "loss")
        path = (f"sufficient statistics {', '.join(self.statistics)}"
                if self.sufficient_statistics else "chunked NumPy")
        return (f"<CompiledGradient of {name}: params ({', '.join(self.param_names)}), "
                f"data ({', '.join(self.data_names)}); {path}>")

    def prepare(self, **data: Any) -> PreparedGradient:
        """Validate ``data`` (and hyperparameters) once, compute any statistics: a fast gradient.

        Raises
        ------
        DataError
            For missing or unknown names, mismatched lengths, empty, non-finite or wrongly shaped
            arrays, a hyperparameter that is not a finite number, or labels outside the values
            the loss is meant for (``loss.labels``).
        """
        if any(is_dask(value) for value in data.values()):
            from .distributed import prepare_dask

            return prepare_dask(self, data)
        fused = self._finite_from_statistics
        arrays, hyper, d = _validate(self._model, data, check_finite=not fused)
        prepared = PreparedGradient(self, arrays, hyper, d,
                                    use_statistics=self.sufficient_statistics)
        if fused and prepared.statistics is None:  # refused: NaN, ±inf, or sums overflowed
            for name, arr in zip(self.data_names, arrays):
                _check_finite(name, arr)
        check_labels(self.loss, dict(zip(self.data_names, arrays)))
        return prepared

    def grad(self, params: Any, **data: Any) -> np.ndarray:
        """The gradient ∇J at ``params``, flat, in :attr:`param_names` order."""
        prepared = self._prepared(data)
        return prepared.grad(prepared.flatten(params))

    __call__ = grad

    def value(self, params: Any, **data: Any) -> float:
        """The loss J at ``params``."""
        prepared = self._prepared(data)
        return prepared.value(prepared.flatten(params))

    loss_function = value

    def value_and_grad(self, params: Any, **data: Any) -> tuple[float, np.ndarray]:
        """``(J, ∇J)`` at ``params``, sharing the work between them."""
        prepared = self._prepared(data)
        return prepared.value_and_grad(prepared.flatten(params))

    def hessian(self, params: Any, **data: Any) -> np.ndarray:
        """The Hessian ∇²J at ``params``: a ``(size, size)`` array in :attr:`param_names` order.

        Raises
        ------
        CompileError
            For a loss whose gradient has no second derivative to compile (a kink).
        """
        prepared = self._prepared(data)
        return prepared.value_grad_hess(prepared.flatten(params))[2]

    def _second_order(self) -> tuple[Any, str]:
        """The compiled ``_value_grad_hess`` and its source (compiled on first use, then kept)."""
        if self._hess is None:
            from .hessian import _hessian_source

            with time_budget(None):
                source = _hessian_source(self._model, self._layout)
            self._hess = (_compile_source(source)["_value_grad_hess"], source)
        return self._hess

    def validate(self, **data: Any) -> dict[str, Any]:
        """``data`` checked and converted to float arrays (vectors ``(n, d)``), as a dict.

        Raises
        ------
        DataError
            As :meth:`prepare` does.
        """
        arrays, hyper, _ = _validate(self._model, data)
        out = {s.name: a for s, a in zip(self._model.data, arrays)}
        check_labels(self.loss, out)
        out.update((h.name, v) for h, v in zip(self._model.hyper, hyper))
        return out

    def predict(self, params: Any, **features: Any) -> np.ndarray:
        """The loss's prediction for each row of ``features`` (needs ``loss.prediction``).

        Raises
        ------
        CompileError
            When the loss has no prediction.
        DataError
            For missing or malformed features.
        """
        if "_predict" not in self._ns:
            raise CompileError(f"{getattr(self.loss, 'name', 'this loss')} has no prediction")
        needed = frozenset(self.loss.prediction.free_symbols)
        arrays, hyper, d = _validate(self._model, features, only=needed)
        theta = _flatten(self._layout, d, params)
        if d is None and self._model.vector_params:  # no vector among the features: from θ
            d = (theta.size - len(self.param_names) + len(self._model.vector_params)) // len(
                self._model.vector_params)
        n = next((a.shape[0] for a in arrays if a is not None), None)
        out = self._ns["_predict"](theta, hyper, arrays, d or 0)
        return np.broadcast_to(out, (n,)).copy() if n is not None else np.asarray(out)

    def _prepared(self, data: Mapping[str, Any]) -> PreparedGradient:
        hyper_names = set(self.hyperparameter_names)
        if all(isinstance(v, np.ndarray) for k, v in data.items() if k not in hyper_names):
            try:
                key = tuple(sorted((k, float(v) if k in hyper_names else id(v))
                                   for k, v in data.items()))
            except (TypeError, ValueError):
                key = None
            cached = self._cache
            if key is not None and cached is not None and cached[0] == key:
                return cached[2]
            prepared = self.prepare(**data)
            if key is not None:  # keep the arrays alive, so their ids stay theirs
                self._cache = (key, dict(data), prepared)
            return prepared
        return self.prepare(**data)
