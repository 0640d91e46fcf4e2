"""Data bound to a compiled loss: :class:`PreparedGradient`, the calls optimizers use.

:meth:`.CompiledGradient.prepare` validates the data once and returns one; it holds the arrays
(or, for a loss polynomial in its parameters, their sufficient statistics) and calls the compiled
kernels on flat parameter vectors, chunk by chunk, with nothing checked or converted per call.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import DataError
from .finite_difference import hessian
from .threads import on_cores
from .validation import _flatten

if TYPE_CHECKING:
    from .compiled import CompiledGradient


class PreparedGradient:
    """A :class:`CompiledGradient` bound to validated data: calls on flat parameter arrays.

    This is what optimizers use: ``grad(theta)``, ``value(theta)``, ``value_and_grad(theta)``
    with ``theta`` a flat float array, nothing validated or converted per call.
    """

    def __init__(self, compiled: CompiledGradient, arrays: tuple, hyper: tuple,
                 d: int | None, use_statistics: bool, statistics: tuple | None = None):
        self.compiled = compiled
        self.arrays, self.hyper, self.d = arrays, hyper, d
        self.n: int = arrays[0].shape[0]
        ns = compiled._ns
        self._chunk = _chunks(compiled, arrays)
        self._batch_kernel = ns.get("_grad_batch")  # softmax's index form has none
        self._dd = d or 0
        self.size: int = compiled._layout.size(d)
        self.statistics = None
        self.quadratic: QuadraticForm | None = None  # J itself, when of degree two
        if use_statistics and statistics is None:
            with np.errstate(over="ignore", invalid="ignore"):  # refused just below
                statistics = _statistics(ns["_stats"], arrays, self._dd, self._chunk["_stats"])
        if use_statistics and all(np.isfinite(s).all() for s in statistics):
            # (sums past float64's range, as Σx² of x ~ 1e160, keep the data path, whose
            # products of residuals may still be finite)
            self.statistics = statistics
            stat_eval, stats = ns["_stat_eval"], self.statistics
            # evaluation from the sums only: these replace the methods of the general path
            self.value_and_grad = lambda theta: stat_eval(theta, hyper, stats, self._dd)
            if compiled._affine and self.size <= _AFFINE_MAX_SIZE:
                self.quadratic = _quadratic(self.value_and_grad, self.size)
                self.value_and_grad = self.quadratic.value_and_grad
            evaluate = self.value_and_grad
            self.grad = lambda theta: evaluate(theta)[1]
            self.value = lambda theta: float(evaluate(theta)[0])

    @property
    def hessian_matrix(self) -> np.ndarray | None:
        """∇²J when it is constant (a quadratic J on its statistics), else None."""
        return None if self.quadratic is None else self.quadratic.A

    @property
    def param_names(self) -> tuple[str, ...]:
        return self.compiled.param_names

    def _run(self, kernel: str, theta: np.ndarray):
        """Call the chunked function ``kernel`` on all the data."""
        return self.compiled._ns[kernel](theta, self.hyper, self.arrays, self._dd,
                                         self._chunk[kernel])

    def value(self, theta: np.ndarray) -> float:
        """J at the flat parameters ``theta``."""
        return float(self._run("_value", theta))

    def grad(self, theta: np.ndarray) -> np.ndarray:
        """∇J at the flat parameters ``theta``."""
        return self._run("_grad", theta)

    def value_and_grad(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """``(J, ∇J)`` at the flat parameters ``theta``."""
        return self._run("_value_and_grad", theta)

    def value_grad_hess(self, theta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """``(J, ∇J, ∇²J)`` at the flat parameters ``theta``, in one pass over the data.

        On the sufficient-statistics path the Hessian is the central difference of the exact
        gradient (for a quadratic J, the constant ``A`` read once, see :func:`_quadratic`).
        """
        if self.statistics is not None:
            return self._statistics_hessian(theta)
        kernel, _ = self.compiled._second_order()
        J, g, H = kernel(theta, self.hyper, self.arrays, self._dd, _HESSIAN_CHUNK_ROWS)
        return float(J), g, H

    def _statistics_hessian(self, theta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        J, g = self.value_and_grad(theta)
        if self.hessian_matrix is not None:
            return float(J), g, self.hessian_matrix.copy()
        H = hessian(self.grad, theta)
        return float(J), g, (H + H.T) / 2

    def grad_rows(self, theta: np.ndarray, start: int, stop: int) -> np.ndarray:
        """∇ of the loss over rows ``start:stop`` only (a mini-batch), on the general path."""
        rows = [a[start:stop] for a in self.arrays]
        if self._batch_kernel is not None and stop - start <= self._chunk["_grad"]:
            return self._batch_kernel(theta, self.hyper, rows, self._dd)
        return self.compiled._ns["_grad"](theta, self.hyper, rows, self._dd, self._chunk["_grad"])

    def batch_epoch(self, batch: int) -> Callable[[np.ndarray, np.random.Generator, float], None]:
        """``epoch(theta, rng, rate)``: one epoch of stochastic gradient descent, ``batch`` rows
        per step ``θ ← θ − η g`` over the rows in the order ``rng.permutation(n)``, ``theta``
        updated in place.

        The NumPy twin of :func:`.fused.sgd_epoch`: the rows are copied in the order once, then
        each step is one call of the mini-batch kernel, with nothing else called per step.
        """
        steps = self._batch_steps(batch)

        def epoch(theta: np.ndarray, rng: np.random.Generator, rate: float) -> None:
            order = rng.permutation(self.n)
            steps(theta, [np.take(a, order, axis=0) for a in self.arrays], rate)  # 2× a[order]

        return epoch

    def _batch_steps(self, batch: int) -> Callable[[np.ndarray, list, float], None]:
        """``steps(theta, rows, rate)``: ``θ ← θ − η g`` for each run of ``batch`` of ``rows``
        (arrays in memory, the last run shorter), ``g`` from the mini-batch kernel (the chunked
        ``_grad`` for batches longer than a chunk)."""
        hyper, d = self.hyper, self._dd
        kernel, chunk = self._batch_kernel, self._chunk["_grad"]
        if kernel is None or batch > chunk:
            general = self.compiled._ns["_grad"]

            def kernel(theta, hyper, rows, d):
                return general(theta, hyper, rows, d, chunk)

        def steps(theta: np.ndarray, rows: list, rate: float) -> None:
            for lo in range(0, rows[0].shape[0], batch):
                theta -= rate * kernel(theta, hyper, [a[lo:lo + batch] for a in rows], d)

        return steps

    def general_value(self, theta: np.ndarray) -> float:
        """J from the data themselves, even when statistics are used (no cancellation)."""
        return float(self._run("_value", theta))

    def subset(self, rows: slice | np.ndarray) -> PreparedGradient:
        """The same loss on some rows of the data (a mini-batch), on the general path."""
        arrays = tuple(np.ascontiguousarray(a[rows]) for a in self.arrays)
        if arrays[0].shape[0] == 0:
            raise DataError("a batch of the data is empty")
        return PreparedGradient(self.compiled, arrays, self.hyper, self.d, use_statistics=False)

    def flatten(self, params: Any) -> np.ndarray:
        """A dict ``{name: value}`` or an array as the flat float parameter vector."""
        return _flatten(self.compiled._layout, self.d, params)

    def spans(self) -> dict[str, slice]:
        """Where each parameter sits in the flat vector: ``{name: slice}``."""
        return self.compiled._layout.spans(self._dd)

    def unflatten(self, theta: np.ndarray) -> dict[str, float | np.ndarray]:
        """The flat vector ``theta`` as ``{name: float or (d,) array}``."""
        vectors = dict(zip(self.compiled._layout.names, self.compiled._layout.is_vector))
        return {name: np.array(theta[span], dtype=float) if vectors[name] else float(
            theta[span.start]) for name, span in self.spans().items()}


@dataclass(frozen=True)
class QuadraticForm:
    """J(θ) = J_c + g_c·δ + ½ δᵀAδ with δ = θ − θ_c: a loss of degree two in its parameters, the
    centre ``θ_c`` its minimiser (``g_c`` is then zero up to rounding, or the least-squares
    residual when ``A`` is singular)."""

    A: np.ndarray
    centre: np.ndarray
    gc: np.ndarray
    Jc: float

    def value_and_grad(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """``(J, ∇J)``: ``J_c + δ·(g_c + Aδ/2)`` and ``Aδ + g_c``, one product with ``A``."""
        delta = theta - self.centre
        g = self.A.dot(delta) + self.gc
        return self.Jc + 0.5 * float(delta.dot(g + self.gc)), g

    @functools.cached_property
    def eigen(self) -> tuple[np.ndarray, np.ndarray]:
        """``(λ, Q)`` with ``A = Q diag(λ) Qᵀ``."""
        return np.linalg.eigh(self.A)


def _quadratic(value_and_grad: Any, size: int) -> QuadraticForm:
    """A quadratic J as its :class:`QuadraticForm`, read from its ``value_and_grad``.

    Each column of ``A`` is read from ``value_and_grad`` itself: the central difference
    ``(∇J(t eₖ) − ∇J(−t eₖ))/2t``, exact for an affine gradient up to rounding, which ``t = 2¹⁰``
    keeps a thousand times below the rounding of ``∇J(0)``. The centre ``θ_c`` is the minimiser
    (least squares, for a singular ``A``), where ``J_c`` and ``g_c`` come from ``value_and_grad``:
    near the minimum nothing large then cancels. One step costs one product with ``A``, whatever
    the number and form of the statistics.
    """
    origin = np.zeros(size)
    _, g0 = value_and_grad(origin)
    A = np.empty((size, size))
    unit = np.zeros(size)
    for k in range(size):
        unit[k] = _COLUMN_STEP
        A[:, k] = (value_and_grad(unit)[1] - value_and_grad(-unit)[1]) / (2 * _COLUMN_STEP)
        unit[k] = 0.0
    A = (A + A.T) / 2
    centre = np.linalg.lstsq(A, -g0, rcond=None)[0] if np.isfinite(A).all() else origin
    centre = centre if np.isfinite(centre).all() else origin
    Jc, gc = value_and_grad(centre)
    return QuadraticForm(A, centre, gc, float(Jc))


_COLUMN_STEP = 1024.0


def _statistics(stats: Any, arrays: tuple, d: int, chunk: int) -> tuple:
    """The sufficient statistics of all rows, from ``stats(D, d, chunk)`` (the ``_stats`` kernel),
    the rows split between the cores (:func:`.threads.on_cores`)."""
    columns = sum(1 if a.ndim == 1 else a.shape[1] for a in arrays)
    return on_cores(lambda lo, hi: stats(tuple(a[lo:hi] for a in arrays), d, chunk),
                    arrays[0].shape[0], chunk, columns)


_AFFINE_MAX_SIZE = 128
"""Reading ``A`` takes ``2·size`` evaluations, each ``O(size²)`` on the statistics; up to this
many parameters that is a few milliseconds. Beyond it each evaluation is dominated by its own
``d × d`` products, which the affine form would not make cheaper."""


_HESSIAN_CHUNK_ROWS = 4096
"""Rows per chunk of the Hessian pass, whatever its width: its ~25 NumPy calls per chunk cost
more than cache misses below this (measured: 2× the time at 1,024 rows), and above it OpenBLAS
runs the chunk's weighted Gram product ``Xᵀ diag(s) X`` on several threads (4× the time at
8,192 rows on a busy 2-core machine)."""


def _chunks(compiled: CompiledGradient, arrays: tuple) -> dict[str, int]:
    """Rows per chunk of each compiled pass over ``arrays`` (see :func:`_chunk_rows`)."""
    width = sum(1 if a.ndim == 1 else a.shape[1] for a in arrays)
    return {name: _chunk_rows(width + b) for name, b in compiled._buffers.items()}


def _chunk_rows(columns: int) -> int:
    """Rows per chunk for a pass reading and writing ``columns`` floats per row.

    As many rows as fit in :data:`~calculus_ml.numeric.CHUNK_BYTES`, at least 64 and at most
    :data:`~calculus_ml.numeric.MAX_CHUNK_ROWS`. Both limits are read from the package when data
    are prepared, so setting ``calculus_ml.numeric.CHUNK_BYTES`` takes effect from the next
    :meth:`CompiledGradient.prepare`.
    """
    package = sys.modules[__package__]
    return min(package.MAX_CHUNK_ROWS, max(64, package.CHUNK_BYTES // (8 * columns)))
