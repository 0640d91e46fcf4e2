"""The fused backend: one parallel loop over the rows per loss (``pip install "calculus_ml[fast]"``).

``compile_gradient(loss, backend="numba")`` prints the same verified per-sample derivative the
NumPy kernels use (``model.grad_terms``, ``model.value_term``) as a *scalar* loop body: for each
row, the columns ``zᵢ = w·xᵢ`` as short loops over ``d``, the common subexpressions as locals, and
each gradient entry added to an accumulator. Numba compiles it with
``njit(parallel=True, fastmath=False)``; ``prange`` gives each thread a contiguous range of rows
and its own accumulators, added in a fixed order at the end. The data are read once per call,
with no temporaries: close to the time of reading them.

Data stay in their own precision: ``float32`` arrays are read as ``float32`` (half the memory
traffic) and every product and sum is in ``float64``, so the result equals the ``float64``
gradient of the ``float32``-rounded data to rounding.

A loss whose per-sample expressions Numba cannot compile raises
:class:`~.codegen.CompileError` at :func:`~.compiled.compile_gradient` time (a small call
compiles the loop at once); use the NumPy backend for it. The sufficient-statistics path, when
it applies, is unchanged: it needs no pass over the data after the first.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy

from ..functions import sigmoid, softplus
from .codegen import CompileError, _compile_source, _Printer
from .penalty import penalty_kernel
from .source import _dummies, _function


def _numba():
    try:
        import numba
    except ImportError:
        raise CompileError('backend="numba" needs Numba: pip install "calculus_ml[fast]"') from None
    return numba


class _RowPrinter(_Printer):
    """Scalar expressions of one row, for Numba: conditionals instead of ``numpy.where``."""

    def _print_Piecewise(self, expr):
        if expr.args[-1].cond != sympy.true:
            raise CompileError(f"cannot compile {sympy.sstr(expr)[:60]}: it has no 'otherwise'")
        text = f"({self._print(expr.args[-1].expr)})"
        for value, cond in reversed(expr.args[:-1]):
            text = f"(({self._print(value)}) if {self._print(cond)} else {text})"
        return text

    def _print(self, expr, **kwargs):
        """σ(u) as ``1/(1 + e⁻ᵘ)`` (before its own NumPy form, a ``tanh``): Numba's ``exp`` is
        about 3× faster than its ``tanh``, and for large ``|u|`` this gives 0 or 1 with no NaN
        (``e⁻ᵘ`` overflows to inf, ``1/inf = 0``)."""
        if isinstance(expr, sigmoid):
            return f"(1.0/(1.0 + numpy.exp(-({self._print(expr.args[0])}))))"
        if isinstance(expr, softplus):  # max(u, 0) + log1p(e^-|u|): stable, faster than logaddexp
            u = self._print(expr.args[0])
            return f"(max({u}, 0.0) + numpy.log1p(numpy.exp(-abs({u}))))"
        return super()._print(expr, **kwargs)

    def _print_Heaviside(self, expr):
        u = self._print(expr.args[0])
        h0 = self._print(expr.args[1] if len(expr.args) > 1 else sympy.Rational(1, 2))
        return f"(1.0 if ({u}) > 0 else (0.0 if ({u}) < 0 else {h0}))"

    def _print_Max(self, expr):
        return self._nested("max", [sympy.Float(a) if a.is_Number else a for a in expr.args])

    def _print_Min(self, expr):
        return self._nested("min", [sympy.Float(a) if a.is_Number else a for a in expr.args])


def fused_source(model: Any, layout: Any) -> str:
    """Source of ``_fused_vg`` (J and ∇J) and ``_fused_g`` (∇J): sums over the rows, no scale,
    no penalty; each returns the flat accumulators ``[Σℓ, ∇...]``."""
    spans = dict(zip(model.params, layout.offsets()))
    printer = _RowPrinter(model.ident, frozenset())
    vector_data = set(model.vector_data)
    for sym in model.data:
        if sym not in vector_data:
            printer.ident[sym] = f"{model.ident[sym]}[i]"
    sources = []
    for name, with_value in (("_fused_vg", True), ("_fused_g", False)):
        outputs = [(None, None, model.value_term)] if with_value else []
        outputs += [(p, r.vector, r.expr) for p in model.params for r in model.grad_terms[p]]
        replacements, reduced = sympy.cse([e for _, _, e in outputs], symbols=_dummies("c"),
                                          optimizations="basic")
        row = []
        for z, (w, x) in model.linear.items():
            row += [f"{model.ident[z]} = 0.0", "for j in range(d):",
                    f"    {model.ident[z]} += {model.ident[x]}[i, j]*{model.ident[w]}[j]"]
        for q, (a, b) in model.rowwise.items():
            row += [f"{model.ident[q]} = 0.0", "for j in range(d):",
                    f"    {model.ident[q]} += {model.ident[a]}[i, j]*{model.ident[b]}[i, j]"]
        for k, (c, expr) in enumerate(replacements):
            printer.ident[c] = f"c_{k}"
            row.append(f"c_{k} = {printer.doprint(expr)}")
        for (p, vector, _), expr in zip(outputs, reduced):
            if p is None:
                row.append(f"a[0] += {printer.doprint(expr)}")
            elif vector is None:
                row.append(f"a[1 + {spans[p][0]}] += {printer.doprint(expr)}")
            else:
                row += [f"r = {printer.doprint(expr)}", "for j in range(d):",
                        f"    a[1 + {spans[p][0]} + j] += r*{model.ident[vector]}[i, j]"]
        inner = [f"{model.ident[p]} = theta[{a}:{b}]" if v else f"{model.ident[p]} = theta[{a}]"
                 for p, (a, b), v in zip(model.params, layout.offsets(), layout.is_vector)]
        inner += [f"{model.ident[h]} = H[{k}]" for k, h in enumerate(model.hyper)]
        inner += [f"{model.ident[z]} = numpy.dot({model.ident[a]}, {model.ident[b]})"
                  for z, (a, b) in model.scalar_dots.items()]
        inner += [f"n = {model.ident[model.data[0]]}.shape[0]", "step = (n + nt - 1) // nt",
                  f"acc = numpy.zeros((nt, 1 + {layout.total()}))", "for t in prange(nt):",
                  f"    a = numpy.zeros(1 + {layout.total()})",
                  "    for i in range(t*step, min(n, (t + 1)*step)):"]
        inner += ["        " + line for line in row]
        inner += ["    acc[t] = a", "return acc.sum(axis=0)"]
        data = ", ".join(model.ident[s] for s in model.data)
        sources.append(_function(f"{name}(theta, H, {data}, d, nt)", inner))
    return "\n\n\n".join(sources) + "\n"


def fuse(compiled: Any) -> Any:
    """``compiled`` with its chunked NumPy kernels replaced by Numba's fused loops.

    Raises
    ------
    CompileError
        Without Numba, or for per-sample expressions Numba cannot compile.
    """
    numba = _numba()
    source = fused_source(compiled._model, compiled._layout)
    namespace = _compile_source(source)
    namespace["prange"] = numba.prange
    jit = numba.njit(parallel=True, fastmath=False, cache=False)
    vg, g_only = jit(namespace["_fused_vg"]), jit(namespace["_fused_g"])
    penalty = penalty_kernel(compiled)
    mean = compiled.loss.reduce == "mean"

    def run(kernel, theta, H, D, d):
        sums = kernel(theta, np.asarray(H, dtype=np.float64), *D, d, numba.get_num_threads())
        scale = 1.0 / D[0].shape[0] if mean else 1.0
        P, gP = penalty(theta, H, d)
        return scale * sums[0] + P, scale * sums[1:] + gP

    def value_and_grad(theta, H, D, d, chunk):
        return run(vg, theta, H, D, d)

    def grad(theta, H, D, d, chunk):
        return run(g_only, theta, H, D, d)[1]

    def value(theta, H, D, d, chunk):
        return run(vg, theta, H, D, d)[0]

    try:  # compile now, on one row, so that a failure is a CompileError here and not later
        one = tuple(np.zeros((1, 1) if s in compiled._model.vector_data else 1)
                    for s in compiled._model.data)
        theta = np.zeros(compiled._layout.size(1))
        H = tuple(1.0 for _ in compiled._model.hyper)
        value_and_grad(theta, H, one, 1, 0)  # ∇J alone compiles on its first call
    except numba.core.errors.NumbaError as error:
        first = str(error).strip().splitlines()[0][:120]
        raise CompileError(f"Numba cannot compile {getattr(compiled.loss, 'name', 'this loss')}"
                           f" ({first}); use backend='numpy'") from None
    compiled._ns = dict(compiled._ns, _value=value, _grad=grad, _value_and_grad=value_and_grad)
    compiled.source += "\n\n# the fused loops (backend='numba')\n" + source
    compiled.backend = "numba"
    return compiled
