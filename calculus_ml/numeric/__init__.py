"""Compiled numeric gradients of a :class:`~calculus_ml.losses.Loss`, and a gradient check.

:func:`compile_gradient` turns a loss into NumPy code with no Python loop over samples:

* **General path.** The per-sample term ℓ and its derivatives (from ``loss.sample_gradient()``)
  are simplified, common subexpressions are computed once (``sympy.cse``) and the result is
  printed by a subclass of SymPy's NumPy printer as in-place statements (``out=``) on chunks of
  :data:`CHUNK_BYTES`, so temporaries stay in cache; sums over samples are dot products
  (``x @ r``, ``r @ X``), never ``mean(x*r)``. A pass runs on one thread: its NumPy calls on
  a chunk are too short for threads to share them without trading the interpreter lock.
* **Sufficient statistics.** When ℓ is a polynomial in the parameters (mse, ridge, polynomial and
  multiple regression), J depends on the data only through a few sums (Σx, Σxy, XᵀX, Xᵀy, ...).
  They are found symbolically (ℓ expanded as a polynomial in the parameters: its coefficients are
  data monomials), computed in one pass by :meth:`CompiledGradient.prepare` (its BLAS products
  release the interpreter lock, so the rows are split between the cores), and every later
  evaluation costs the same whatever the number of samples.

Only validated symbols reach code generation: every symbol is mapped to a generated identifier
(``p_0``, ``d_1``, ``h_0``...) and code is printed from the SymPy tree, never from user text; the
printed source is compiled in one place, ``codegen._compile_source``, and kept on ``.source``.

Hyperparameters (``lam``, ``delta``...) are passed as keyword arguments beside the data:
``grad(params, x=x, y=y, lam=0.1)``.

The package, in the order a loss goes through it:

``model``
    The loss lowered for code generation: validated symbols, generated identifiers, ``dot``
    placeholders, gradients as sums over samples, the polynomial form; the flat vector layout.
``codegen``
    The printer (expressions to in-place NumPy statements), what it can print, and the one
    function that compiles generated source.
``kernels``, ``source``, ``statistics``
    The source of the generated functions: general (chunked) kernels, the pieces they share,
    sufficient-statistics kernels, prediction.
``hessian``
    The kernel of J, ∇J and the Hessian in one pass (Newton's method): the verified gradient
    differentiated once more, ``Xᵀ diag(s) X`` summed chunk by chunk; compiled on first use.
``threads``
    The two passes whose BLAS products release the interpreter lock (statistics, Hessian) run
    on parts of the rows, one per core.
``compiled``
    :func:`compile_gradient`, :func:`compiled_for`, :class:`CompiledGradient` and
    :class:`PreparedGradient`.
``validation``
    Checks of data, hyperparameters and parameters: the package's one data validator.
``check``
    :func:`check_gradient`: the compiled gradient against finite differences.

Beside the compiled gradient:

``penalty``
    The penalty alone (value, gradient, Hessian), for passes that add it once on the client.
``distributed``
    Dask data: one validating pass (with the sufficient statistics), then one ``blockwise`` pass
    and tree sum per evaluation; CSV or Parquet globs as Dask arrays.
``fused``
    ``backend="numba"``: one parallel loop over the rows per loss.

``finite_difference``
    Hessians and Hessian-vector products by central differences (NumPy only).
``scaling``
    Standardized features and the exact map of fitted parameters back to the original units;
    a prepared gradient seen in standardized units without copying the data.
``grid``
    Values on grids for plots: an expression's values, and J of a loss over parameter grids.

The public names are loaded on first use, so that the NumPy-only modules (``finite_difference``,
which the SymPy-free optimizers use) can be imported without SymPy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..caching import loaded_on_first_use

__all__ = ["compile_gradient", "compiled_for", "check_gradient", "CompiledGradient",
           "PreparedGradient", "GradientCheck", "CompileError", "CHUNK_BYTES", "MAX_CHUNK_ROWS"]

_EXPORTS = {
    "compile_gradient": "compiled",
    "compiled_for": "compiled",
    "CompiledGradient": "compiled",
    "PreparedGradient": "prepared",
    "check_gradient": "check",
    "GradientCheck": "check",
    "CompileError": "codegen",
}

if TYPE_CHECKING:  # pragma: no cover
    from .check import GradientCheck, check_gradient
    from .codegen import CompileError
    from .compiled import CompiledGradient, compile_gradient, compiled_for
    from .prepared import PreparedGradient

__getattr__, __dir__ = loaded_on_first_use(__name__, _EXPORTS)


# Tuning of the chunked passes: read here each time data are prepared, so they may be changed.

CHUNK_BYTES = 1 << 19
"""Bytes of data plus temporaries handled per chunk (512 KiB: inside a core's L2 cache)."""

MAX_CHUNK_ROWS = 8192
"""At most this many rows per chunk: OpenBLAS runs a dot product of more than 10,000 entries on
several threads, which costs more than it saves on chunks already in cache (and much more on a
busy machine)."""
