"""Statistics kernels, when ℓ is a polynomial in the parameters: ``_stats(D, d, chunk)`` computes
the sums the loss depends on (Σx, Σxy, XᵀX, Xᵀy, ...) in one pass, and ``_stat_eval(theta, H, S,
d)`` evaluates J and ∇J from those sums alone, at a cost that does not depend on the number of
samples. When J is of degree at most two in the parameters (:func:`_gradient_is_affine`: least
squares, ridge), its gradient is affine, ``∇J(θ) = Aθ + g₀``, and the prepared gradient reads
``A`` and ``g₀`` from the statistics once instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy

from .codegen import _Printer
from .model import _Layout, _Model
from .source import _function, _unpack, _pack, _penalty_parts, _scale, _dummies, _whole_data, _buffers, _chunk_loop, _bind_columns, _bind_subexpressions, _sum, _matvec


@dataclass(frozen=True)
class _Statistic:
    """``Σᵢ data_i`` (no vectors), ``Σᵢ data_i xᵢ`` (d,) or ``Σᵢ data_i xᵢ zᵢᵀ`` (d, d)."""

    data: sympy.Expr
    vectors: tuple[sympy.Symbol, ...]


def _gradient_is_affine(model: _Model, poly: list) -> bool:
    """Whether J (the mean of ℓ, with its penalty) has degree at most two in the parameters.

    ``poly`` is :meth:`_Model.polynomial`: each term's placeholders ``dot(w, x)`` add one degree,
    its scalar coefficient the degree of its scalar parameters; in the penalty a ``dot(w, v)``
    counts two. A penalty with a parameter vector anywhere else (``|w|``) is not affine.
    """
    s = sympy.Dummy("s")
    scaled = {p: s * p for p in model.params if p not in model.vector_params}
    scaled.update({z: s**2 * z for z in model.scalar_dots})

    def degree(expr: sympy.Expr) -> int:
        as_poly = expr.xreplace(scaled).as_poly(s)
        return 3 if as_poly is None else as_poly.degree()

    if model.penalty.free_symbols & set(model.vector_params):
        return False
    return degree(model.penalty) <= 2 and all(
        len(links) + degree(scalar) <= 2 for scalar, _, links in poly)


def _describe(stat: _Statistic) -> str:
    """``"n"``, ``"Σx*y"``, ``"Σy·x"`` or ``"Σxxᵀ"``: a statistic as a reader would write it."""
    data = "" if stat.data == 1 else sympy.sstr(stat.data)
    vectors = [v.name for v in stat.vectors]
    if len(vectors) == 2:
        vectors[1] += "ᵀ"
    if not vectors:
        return f"Σ{data}" if data else "n"
    return "Σ" + (f"{data}·" if data else "") + "".join(vectors)


def _statistics_kernels(model: _Model, layout: _Layout, poly: list
                        ) -> tuple[str, str, int, list[_Statistic]]:
    """Sources of ``_stats(D, d, chunk)`` (one pass) and ``_stat_eval(theta, H, S, d)``.

    Returns ``(stats source, eval source, n_buffers of _stats, statistics)``.
    """
    stats: list[_Statistic] = []
    contractions: dict[tuple, sympy.Dummy] = {}  # (stat index, params) -> T symbol
    objective = sympy.Integer(0)  # Σ ℓ with each contracted statistic as a symbol T
    for scalar, data, links in poly:
        stat = _Statistic(data, tuple(model.linear[z][1] for z in links))
        if stat not in stats:
            stats.append(stat)
        key = (stats.index(stat), tuple(model.linear[z][0] for z in links))
        if key not in contractions:
            contractions[key] = sympy.Dummy(f"T{len(contractions)}", real=True)
        objective += scalar * contractions[key]
    stats_source, n_buffers = _statistics_pass(model, stats)
    eval_source = _statistics_evaluation(model, layout, stats, contractions, objective)
    return stats_source, eval_source, n_buffers, stats


def _statistics_pass(model: _Model, stats: list[_Statistic]) -> tuple[str, int]:
    """Source of ``_stats(D, d, chunk)``: every statistic in one chunked pass over the data.

    Returns ``(source, n_buffers)``. The function returns ``(n, S_0, S_1, ...)``.
    """
    nontrivial = [s.data for s in stats if s.data != 1]
    replacements, reduced = sympy.cse(nontrivial, symbols=_dummies("c"), optimizations="basic")
    reduced_of = dict(zip(nontrivial, reduced))
    printer = _Printer(model.ident, model.arrays)
    body: list[str] = []
    used = set().union(set(), *(e.free_symbols for e in reduced + [v for _, v in replacements]))
    _bind_columns(model, printer, used, body)  # row-wise products only: data have no X @ w
    _bind_subexpressions(printer, replacements, body)  # all per sample: data monomials
    init, finals = [], []
    for k, stat in enumerate(stats):
        names = [model.ident[v] for v in stat.vectors]
        expr = reduced_of.get(stat.data, sympy.Integer(1))
        if not names:
            if stat.data == 1:
                finals.append(f"S_{k} = float(n)")
                continue
            init.append(f"S_{k} = 0.0")
            body.append(f"S_{k} += {_sum(printer, expr, body)}")
        elif len(names) == 1:
            init.append(f"S_{k} = numpy.zeros(d)")
            if stat.data != 1:
                body.append(f"S_{k} += {_matvec(printer, expr, names[0], body)}")
            else:  # a BLAS product: sum(axis=0) over a row-major chunk is 4x slower
                if "_ones = numpy.ones(min(chunk, n))" not in init:
                    init.append("_ones = numpy.ones(min(chunk, n))")
                body.append(f"S_{k} += numpy.dot(_ones[:_m], {names[0]})")
        else:
            init.append(f"S_{k} = numpy.zeros((d, d))")
            if stat.data == 1:
                body.append(f"S_{k} += numpy.dot({names[0]}.T, {names[1]})")
            else:
                name, tmp = printer.operand(expr, body)
                body.append(f"S_{k} += numpy.dot({names[0]}.T, {name}[:, None]*{names[1]})")
                printer.release(tmp)
    inner = _whole_data(model) + printer.prelude + init
    if body:
        inner += [_buffers(printer)] + _chunk_loop(model, printer, body)
    inner += finals + [f"return (n, {', '.join(f'S_{k}' for k in range(len(stats)))})"]
    return _function("_stats(D, d, chunk)", inner), printer.n_buffers


def _statistics_evaluation(model: _Model, layout: _Layout, stats: list[_Statistic],
                           contractions: dict[tuple, sympy.Dummy], objective: sympy.Expr) -> str:
    """Source of ``_stat_eval(theta, H, S, d)``: ``(J, ∇J)`` from the statistics alone.

    A statistic paired with parameter vectors is contracted with them first (``T = Sᵀw`` or
    ``T = wᵀS v``); ``objective`` is the sum of the loss in terms of those contractions, and the
    gradient of a vector parameter is ``Σ ∂objective/∂T · ∂T/∂w``.
    """
    ev = _Printer(model.ident, frozenset())  # arrays' own .dot: numpy.dot's dispatch costs more
    inner = _unpack(model, layout) + ["n = S[0]"]
    inner += [f"S_{k} = S[{k + 1}]" for k in range(len(stats))]
    vector_parts: dict[sympy.Symbol, list[tuple[sympy.Dummy, str]]] = {
        p: [] for p in model.vector_params}  # w: [(T, source of ∂T/∂w)]
    for j, ((k, params), T) in enumerate(contractions.items()):
        ev.ident[T] = f"S_{k}" if not params else f"T_{j}"
        if not params:
            continue
        if len(params) == 1:
            inner.append(f"{ev.ident[T]} = float(S_{k}.dot({model.ident[params[0]]}))")
            vector_parts[params[0]].append((T, f"S_{k}"))
        else:
            w, v = (model.ident[p] for p in params)
            V = f"V_{ev.ident[T]}"
            inner += [f"{V} = S_{k}.dot({v})", f"{ev.ident[T]} = float({w}.dot({V}))"]
            symmetric = stats[k].vectors[0] == stats[k].vectors[1]
            if params[0] == params[1]:
                vector_parts[params[0]].append(
                    (T, f"2.0*{V}" if symmetric else f"({V} + {w}.dot(S_{k}))"))
            else:
                vector_parts[params[1]].append((T, f"{w}.dot(S_{k})"))
                vector_parts[params[0]].append((T, V))
    scalar_exprs = [objective] + [sympy.diff(objective, p) for p in model.params
                                  if p not in model.vector_params]
    coefs = [(p, T, part, sympy.diff(objective, T))
             for p, items in vector_parts.items() for T, part in items]
    replacements, reduced = sympy.cse(scalar_exprs + [c[3] for c in coefs],
                                      symbols=_dummies("c"), optimizations="basic")
    for k, (c, expr) in enumerate(replacements):
        ev.ident[c] = f"c_{k}"
        inner.append(f"c_{k} = {ev.doprint(expr)}")
    inner.append(_scale(model))
    penalty_value, penalty_grads = _penalty_parts(model, ev)
    inner.append(f"J = _scale*({ev.doprint(reduced[0])}) + {penalty_value}")
    scalar_grads = iter(reduced[1:len(scalar_exprs)])
    vector_coefs = iter(reduced[len(scalar_exprs):])
    parts = {}
    for p in model.params:
        if p in model.vector_params:  # the scale joins each scalar factor: fewer array passes
            pieces = [f"(_scale*({ev.doprint(next(vector_coefs))}))*{part}"
                      for q, _, part, _ in coefs if q == p]
            pieces += [penalty_grads[p]] if penalty_grads[p] != "0.0" or not pieces else []
            parts[p] = " + ".join(pieces)
        else:
            parts[p] = f"_scale*({ev.doprint(next(scalar_grads))}) + {penalty_grads[p]}"
    inner += _pack(model, layout, parts) + ["return J, _g"]
    return _function("_stat_eval(theta, H, S, d)", inner)
