"""The Hessian kernel ``_value_grad_hess(theta, H, D, d, chunk)``: J, ∇J and ∇²J in one pass.

The second derivatives are those of the verified per-sample gradient (``loss.sample_gradient()``,
as lowered by :class:`~.model._Model`), differentiated once more. A vector parameter ``w`` enters
ℓ only through placeholders ``z = dot(w, x)``, so by the chain rule

* ``∂/∂w`` of a per-sample scalar ``e`` is ``Σ_z ∂e/∂z · x`` (a matrix-vector product over the
  chunk), and
* ``∂/∂w`` of a vector gradient ``c·v`` is ``Σ_z ∂c/∂z · v xᵀ``: the weighted Gram matrix
  ``Vᵀ diag(s) X``, summed chunk by chunk through one chunk-sized buffer, never ``n × d``.

Only the blocks on and above the diagonal are summed; the others are their transposes. The
penalty's part is differentiated the same way. Losses whose gradient has no second derivative the
printer can evaluate (kinks: ``Abs``, ``Max``, ``Heaviside``) raise :class:`CompileError`.
"""

from __future__ import annotations

import sympy

from .codegen import CompileError, _check_printable, _Printer
from .indexed import _class_hessian
from .kernels import _general_kernel, _SecondOrder
from .model import _Layout, _Model, _Reduction


def _hessian_source(model: _Model, layout: _Layout) -> str:
    """The source of ``_value_grad_hess``; :class:`CompileError` when there is none."""
    if model.classes is not None:
        return _class_hessian(model)
    blocks: dict[tuple[int, int], list[str]] = {}
    sums: list[tuple[str, _Reduction]] = []
    for kp, p in enumerate(model.params):
        for r in model.grad_terms[p]:
            if (r.vector is not None and r.vector not in model.vector_data) or (
                    r.expr.free_symbols & set(model.scalar_dots)):
                raise CompileError(f"no compiled Hessian: ∂ℓ/∂{p} holds a parameter vector")
            for kq in range(kp, len(model.params)):
                for reduction in _derivatives(model, r, model.params[kq]):
                    acc = f"a_h{len(sums)}"
                    sums.append((acc, reduction))
                    blocks.setdefault((kp, kq), []).append(acc)

    def assemble(printer: _Printer) -> list[str]:
        offsets = layout.offsets()
        lines = [f"_h = numpy.zeros(({layout.total()}, {layout.total()}))"]
        penalty = _penalty_blocks(model, printer)
        for kp in range(len(model.params)):
            for kq in range(kp, len(model.params)):
                terms = [f"_scale*({' + '.join(blocks[kp, kq])})"] if (kp, kq) in blocks else []
                terms += penalty.get((kp, kq), [])
                if not terms:
                    continue
                rows, cols = (_index(offsets[k], layout.is_vector[k]) for k in (kp, kq))
                lines.append(f"_h[{rows}, {cols}] += {' + '.join(terms)}")
                if kq != kp:
                    lines.append(f"_h[{cols}, {rows}] = _h[{rows}, {cols}].T")
        return lines

    return _general_kernel(model, layout, "_value_grad_hess", True, True,
                           _SecondOrder(sums, assemble))[0]


def _index(offset: tuple[str, str], vector: bool) -> str:
    """The source index of a parameter's rows: a slice for a vector, one position for a scalar."""
    return f"{offset[0]}:{offset[1]}" if vector else offset[0]


def _derivatives(model: _Model, r: _Reduction, q: sympy.Symbol) -> list[_Reduction]:
    """The sums over samples of ``∂r/∂q``: one per placeholder of a vector ``q``."""
    if q not in model.vector_params:
        return _nonzero([_Reduction(_printable(sympy.diff(r.expr, q)), r.vector)])
    out = []
    for z, (w, x) in model.linear.items():
        if w != q:
            continue
        expr = _printable(sympy.diff(r.expr, z))
        out.append(_Reduction(expr, x) if r.vector is None else _Reduction(expr, r.vector, x))
    return _nonzero(out)


def _nonzero(reductions: list[_Reduction]) -> list[_Reduction]:
    return [r for r in reductions if r.expr != 0]


def _printable(expr: sympy.Expr) -> sympy.Expr:
    """``expr`` when the printer can evaluate it (no ``DiracDelta`` from a kink), else an error."""
    try:
        _check_printable(expr)
    except CompileError:
        raise CompileError("no compiled Hessian: the gradient has a kink (its derivative is not "
                           "a function NumPy can evaluate)") from None
    return expr


def _penalty_blocks(model: _Model, printer: _Printer) -> dict[tuple[int, int], list[str]]:
    """Source terms of the penalty's Hessian, by block ``(row param, column param)``."""
    index = {p: k for k, p in enumerate(model.params)}
    out: dict[tuple[int, int], list[str]] = {}
    for p, reductions in model.grad_penalty.items():
        for r in reductions:
            if r.expr == 0:
                continue
            if r.expr.free_symbols & (set(model.scalar_dots) | set(model.vector_params)):
                raise CompileError("no compiled Hessian: the penalty's gradient is not linear "
                                   "in the parameter vectors")
            if r.vector is not None and index[r.vector] >= index[p]:
                out.setdefault((index[p], index[r.vector]), []).append(
                    f"({printer.doprint(r.expr)})*numpy.eye(d)")
            for q in model.params:
                if q in model.vector_params or index[q] < index[p]:
                    continue
                slope = _printable(sympy.diff(r.expr, q))
                if slope == 0:
                    continue
                factor = "" if r.vector is None else f"*{model.ident[r.vector]}"
                out.setdefault((index[p], index[q]), []).append(
                    f"({printer.doprint(slope)}){factor}")
    return out
