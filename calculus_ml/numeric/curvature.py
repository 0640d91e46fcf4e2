"""The Hessian of a loss on data, from the verified gradient: what Newton's method needs.

The compiled gradient of each parameter is a sum over samples ``Σᵢ rᵢ`` or ``Σᵢ rᵢ xᵢ``, with the
per-sample coefficient ``r`` a function of the scalar parameters and of the columns ``zᵢ = w·xᵢ``
(the ``dot`` placeholders of :class:`~.model._Model`). Differentiating ``r`` once more by those
generators gives every block of the Hessian as a sum over samples again:
``Σᵢ ∂r/∂b`` (scalar by scalar), ``Xᵀ ∂r/∂b`` and ``Xᵀ diag(∂r/∂z) X'`` (vector by vector), so
the ``n × d`` weighted matrix is never formed beyond one chunk of rows.

* :func:`hessian_kernels` -- the compiled ``_hess(theta, H, D, d, chunk)`` (the data part,
  unscaled: ``Σᵢ ∇²ℓᵢ``), and :func:`penalty_kernel` ``_penalty(theta, H, d)`` (the penalty and
  its gradient), for a :class:`~.compiled.CompiledGradient`; cached per compiled loss.
* :func:`penalty_hessian` -- the penalty's Hessian by central differences of its gradient (exact
  for the quadratic penalties of the catalogue, up to rounding).
* :func:`hessian_function` -- ``hessian(theta)`` on in-memory data (a
  :class:`~.compiled.PreparedGradient`); :mod:`.distributed` runs the same kernel per Dask block.

The Hessian holds almost everywhere: a kink (``|u|``, ``max(0, u)``) contributes no curvature
(its Dirac delta is dropped), as a subgradient method would take it.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import numpy as np
import sympy

from .codegen import CompileError, _compile_source, _Printer
from .source import _dummies, _function, _pack, _penalty_parts, _unpack

HESSIAN_CHUNK_ROWS = 1 << 15
"""Rows per chunk of the Hessian pass: the chunk's weighted copy of ``X`` stays small."""

_KERNELS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_PENALTIES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def hessian_kernels(compiled: Any) -> dict[str, Any]:
    """``{"_hess": ..., "source": ...}`` for ``compiled`` (generated once).

    Raises
    ------
    CompileError
        When a gradient depends on a vector parameter other than through ``dot(w, x)`` with data
        (e.g. ``dot(w, v)`` of two parameters inside the sum).
    """
    cached = _KERNELS.get(compiled)
    if cached is None:
        source = hessian_source(compiled._model, compiled._layout)
        cached = dict(_compile_source(source), source=source)
        _KERNELS[compiled] = cached
    return cached


def hessian_source(model: Any, layout: Any) -> str:
    """Source of ``_hess(theta, H, D, d, chunk)`` for ``model``."""
    spans = dict(zip(model.params, layout.offsets()))
    generators = [(p, None) for p in model.params if p not in model.vector_params]
    generators += [(z, w) for z, (w, _) in model.linear.items()]  # z = w·x: columns of w
    blocks = []  # (row param, row data vector or None, column param, column vector, coefficient)
    for p in model.params:
        for r in model.grad_terms[p]:
            if r.vector is not None and r.vector not in model.vector_data:
                raise CompileError(f"no Hessian pass for ∂/∂{p}: it involves "
                                   f"{r.vector} outside dot(w, x)")
            if r.expr.free_symbols & set(model.scalar_dots):
                raise CompileError(f"no Hessian pass for ∂/∂{p}: a dot of two parameters "
                                   "inside the sum")
            for u, w in generators:
                coef = sympy.diff(r.expr, u).replace(sympy.DiracDelta, lambda *a: sympy.S.Zero)
                if coef != 0:
                    column = (u, None) if w is None else (w, model.linear[u][1])
                    blocks.append((p, r.vector, *column, coef))
    replacements, reduced = sympy.cse([b[4] for b in blocks], symbols=_dummies("c"),
                                      optimizations="basic")
    printer = _Printer(model.ident, model.arrays)
    loop = [f"{model.ident[s]} = D[{k}][_lo:_lo + chunk]" for k, s in enumerate(model.data)]
    loop.append(f"_m = {model.ident[model.data[0]]}.shape[0]")
    loop += [f"{model.ident[z]} = numpy.dot({model.ident[x]}, {model.ident[w]})"
             for z, (w, x) in model.linear.items()]
    loop += [f"{model.ident[q]} = numpy.einsum('ij,ij->i', {model.ident[a]}, {model.ident[b]})"
             for q, (a, b) in model.rowwise.items()]
    for k, (c, expr) in enumerate(replacements):
        printer.ident[c] = f"c_{k}"
        loop.append(f"c_{k} = {printer.doprint(expr)}")
    columns: dict[str, str] = {}  # printed coefficient -> the name holding its column
    for (p, row, q, column, _), coef in zip(blocks, reduced):
        printed = printer.doprint(coef)
        if printed not in columns:
            columns[printed] = f"h_{len(columns)}"
            loop.append(f"{columns[printed]} = numpy.broadcast_to({printed}, (_m,))")
        h = columns[printed]
        (a, b), (c, e) = spans[p], spans[q]
        target = f"_H[{a}:{b}, {c}:{e}]"
        if row is None and column is None:
            loop.append(f"{target} += {h}.sum()")
        elif column is None:
            loop.append(f"{target} += numpy.dot({h}, {model.ident[row]})[:, None]")
        elif row is None:
            loop.append(f"{target} += numpy.dot({h}, {model.ident[column]})[None, :]")
        else:
            loop.append(f"{target} += numpy.dot({model.ident[row]}.T, "
                        f"{h}[:, None]*{model.ident[column]})")
    hess = _unpack(model, layout) + [f"_H = numpy.zeros(({layout.total()}, {layout.total()}))",
                                      "for _lo in range(0, D[0].shape[0], chunk):"]
    hess += ["    " + line for line in loop] + ["return _H"]
    return _function("_hess(theta, H, D, d, chunk)", hess) + "\n"


def penalty_kernel(compiled: Any) -> Callable:
    """``_penalty(theta, H, d)``: the penalty (no data) and its flat gradient, compiled once."""
    cached = _PENALTIES.get(compiled)
    if cached is None:
        model, layout = compiled._model, compiled._layout
        value, grads = _penalty_parts(model, _Printer(model.ident, frozenset()))
        inner = _unpack(model, layout) + [f"J = {value}"] + _pack(model, layout, grads)
        cached = _compile_source(_function("_penalty(theta, H, d)", inner + ["return J, _g"])
                                 + "\n")["_penalty"]
        _PENALTIES[compiled] = cached
    return cached


def penalty_hessian(penalty: Callable, theta: np.ndarray, hyper: tuple, d: int) -> np.ndarray:
    """The Hessian of the penalty at ``theta``: central differences of its gradient."""
    size = theta.size
    out = np.zeros((size, size))
    for k in range(size):
        step = 1e-4 * max(1.0, abs(theta[k]))
        up, down = theta.copy(), theta.copy()
        up[k] += step
        down[k] -= step
        out[:, k] = (penalty(up, hyper, d)[1] - penalty(down, hyper, d)[1]) / (2 * step)
    return (out + out.T) / 2


def hessian_function(prepared: Any) -> Callable[[np.ndarray], np.ndarray]:
    """``hessian(theta)``: ∇²J on the data of a :class:`~.compiled.PreparedGradient`.

    Raises
    ------
    CompileError
        As :func:`hessian_kernels`.
    """
    if hasattr(prepared, "hessian"):  # data in Dask blocks: a pass of its own
        return prepared.hessian
    hess, penalty = hessian_kernels(prepared.compiled)["_hess"], penalty_kernel(prepared.compiled)
    arrays, hyper, d = prepared.arrays, prepared.hyper, prepared.d or 0
    scale = 1.0 / prepared.n if prepared.compiled.loss.reduce == "mean" else 1.0

    def hessian(theta: np.ndarray) -> np.ndarray:
        data = hess(theta, hyper, arrays, d, HESSIAN_CHUNK_ROWS)
        return scale * (data + data.T) / 2 + penalty_hessian(penalty, theta, hyper, d)

    return hessian
