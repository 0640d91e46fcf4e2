"""Pieces of generated source that every kernel shares: the function frame, unpacking the flat
parameters, the penalty, the chunk loop with its buffers, and sums over a chunk as dot products.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

import sympy

from .codegen import _Printer
from .model import _Layout, _Model


def _function(signature: str, inner: list[str]) -> str:
    """The source of ``def signature:`` with the body lines ``inner``."""
    return "\n".join([f"def {signature}:"] + ["    " + line for line in inner])


def _unpack(model: _Model, layout: _Layout) -> list[str]:
    """Source lines binding parameters and hyperparameters to their identifiers."""
    lines = ["_tl = theta.tolist()"]
    for p, (start, stop), vector in zip(model.params, layout.offsets(), layout.is_vector):
        name = model.ident[p]
        lines.append(f"{name} = theta[{start}:{stop}]" if vector else f"{name} = _tl[{start}]")
    lines += [f"{model.ident[h]} = H[{k}]" for k, h in enumerate(model.hyper)]
    for z, (a, b) in model.scalar_dots.items():
        lines.append(f"{model.ident[z]} = float(numpy.dot({model.ident[a]}, {model.ident[b]}))")
    return lines


def _pack(model: _Model, layout: _Layout, parts: Mapping[sympy.Symbol, str]) -> list[str]:
    """Source lines assembling the flat gradient ``_g`` from per-parameter source expressions."""
    if not any(layout.is_vector):  # one call: the cheapest for a few scalars
        return [f"_g = numpy.array([{', '.join(parts[p] for p in model.params)}])"]
    lines = [f"_g = numpy.empty({layout.total()})"]
    for p, (start, stop), vector in zip(model.params, layout.offsets(), layout.is_vector):
        target = f"_g[{start}:{stop}]" if vector else f"_g[{start}]"
        lines.append(f"{target} = {parts[p]}")
    return lines


def _penalty_parts(model: _Model, printer: _Printer) -> tuple[str, dict[sympy.Symbol, str]]:
    """Source for the penalty and for each parameter's penalty gradient (``"0"`` when none)."""
    value = printer.doprint(model.penalty) if model.penalty != 0 else "0.0"
    parts = {}
    for p, reductions in model.grad_penalty.items():
        terms = []
        for r in reductions:
            if r.expr == 0:
                continue
            coef = printer.doprint(r.expr)
            terms.append(f"({coef})*{model.ident[r.vector]}" if r.vector is not None else coef)
        parts[p] = " + ".join(terms) or "0.0"
    return value, parts


def _scale(model: _Model) -> str:
    """The source line setting ``_scale``, the factor of the sums over samples (1/n for a mean)."""
    return "_scale = 1.0 / n" if model.reduce == "mean" else "_scale = 1.0"


def _dummies(prefix: str):
    """Fresh real symbols ``prefix0``, ``prefix1``..., for ``sympy.cse``."""
    return (sympy.Dummy(f"{prefix}{k}", real=True) for k in itertools.count())


# --------------------------------------------------------------------------- the chunk loop


def _whole_data(model: _Model) -> list[str]:
    """Source lines binding the whole data arrays ``D_k`` and their number of rows ``n``."""
    return [f"D_{k} = D[{k}]" for k in range(len(model.data))] + ["n = D_0.shape[0]"]


def _buffers(printer: _Printer, rows: str = "n") -> str:
    """The source line allocating the chunk buffers, once per pass over ``rows`` rows."""
    return f"_T = numpy.empty(({max(printer.n_buffers, 1)}, min(chunk, {rows})))"


def _chunk_loop(model: _Model, printer: _Printer, body: list[str], start: str = "0",
                stop: str = "n") -> list[str]:
    """The loop over chunks: slice the data, take a view of each buffer ``t_b``, run ``body``.

    ``start`` is a multiple of ``chunk`` and ``stop`` one too, or ``n``: no slice crosses it.
    """
    loop = [f"{model.ident[s]} = D_{k}[_lo:_lo + chunk]" for k, s in enumerate(model.data)]
    loop += [f"_m = {model.ident[model.data[0]]}.shape[0]"]
    loop += [f"t_{b} = _T[{b}, :_m]" for b in range(printer.n_buffers)]
    return [f"for _lo in range({start}, {stop}, chunk):"] + ["    " + line for line in loop + body]


def _bind_columns(model: _Model, printer: _Printer, used: set, body: list[str]) -> None:
    """Compute the ``dot`` placeholders in ``used``, per chunk, into buffers.

    ``dot(w, x)`` of a parameter and a data vector is ``X @ w``; ``dot(x, x')`` of two data
    vectors is the row-wise product.
    """
    for z, (w, x) in model.linear.items():
        if z in used:
            printer.ident[z] = buf = printer.buffer()
            body.append(f"numpy.dot({model.ident[x]}, {model.ident[w]}, out={buf})")
    for z, (x1, x2) in model.rowwise.items():
        if z in used:
            printer.ident[z] = buf = printer.buffer()
            body.append(f"numpy.einsum('ij,ij->i', {model.ident[x1]}, {model.ident[x2]}, "
                        f"out={buf})")


def _bind_subexpressions(printer: _Printer, replacements: list, body: list[str]) -> None:
    """Common subexpressions: per-sample ones into buffers, the others once per call (``c_k``)."""
    for k, (c, expr) in enumerate(replacements):
        if printer.is_array(expr):
            printer.arrays.add(c)
            printer.ident[c] = buf = printer.buffer()
            printer.emit(expr, buf, body)
        else:
            printer.ident[c] = f"c_{k}"
            printer.prelude.append(f"c_{k} = {printer.doprint(expr)}")


# --------------------------------------------------------------------------- sums over a chunk


def _sum(printer: _Printer, expr: sympy.Expr, out: list[str]) -> str:
    """Source for ``Σ expr`` over a chunk, as dot products where possible (temporaries freed)."""
    if not printer.is_array(expr):
        return f"_m*{printer.scalar(expr)}"
    terms = sympy.Add.make_args(expr) if expr.is_Add else (expr,)
    pieces, temps = [], []
    for term in terms:
        if not printer.is_array(term):
            pieces.append(f"_m*{printer.scalar(term)}")
            continue
        coeff = sympy.Mul(*[a for a in sympy.Mul.make_args(term) if not printer.is_array(a)])
        factors = [a for a in sympy.Mul.make_args(term) if printer.is_array(a)]
        if len(factors) == 1 and factors[0].is_Pow and factors[0].exp == 2:
            name, tmp = printer.operand(factors[0].base, out)
            temps.append(tmp)
            piece = f"numpy.dot({name}, {name})"
        elif len(factors) == 1:
            name, tmp = printer.operand(factors[0], out)
            temps.append(tmp)
            piece = f"{name}.sum()"
        else:
            (a, ta), (b, tb) = printer.operand(sympy.Mul(*factors[:-1]), out), printer.operand(
                factors[-1], out)
            temps += [ta, tb]
            piece = f"numpy.dot({a}, {b})"
        pieces.append(_scaled(printer, coeff, piece))
    for tmp in temps:  # only now: the pieces are read by one statement
        printer.release(tmp)
    return " + ".join(pieces)


def _matvec(printer: _Printer, expr: sympy.Expr, matrix: str, out: list[str]) -> str:
    """Source for ``Σᵢ expr_i · X_i`` over a chunk: one matrix-vector product."""
    if not printer.is_array(expr):
        return f"{printer.scalar(expr)}*{matrix}.sum(axis=0)"
    coeff = sympy.Integer(1)
    if expr.is_Mul:
        coeff = sympy.Mul(*[a for a in expr.args if not printer.is_array(a)])
        expr = sympy.Mul(*[a for a in expr.args if printer.is_array(a)])
    name, tmp = printer.operand(expr, out)
    printer.release(tmp)
    return _scaled(printer, coeff, f"numpy.dot({name}, {matrix})")


def _gram(printer: _Printer, expr: sympy.Expr, rows: str, columns: str, out: list[str]) -> str:
    """Source for ``Σᵢ expr_i · X_i Z_iᵀ`` over a chunk (``rows`` X, ``columns`` Z): the weighted
    rows go to the chunk buffer ``_W``, then one matrix product; no n × d array is made."""
    if not printer.is_array(expr):
        return _scaled(printer, expr, f"numpy.dot({rows}.T, {columns})")
    name, tmp = printer.operand(expr, out)
    out.append(f"numpy.multiply({rows}, {name}[:, None], out=_W[:_m])")
    printer.release(tmp)
    return f"numpy.dot(_W[:_m].T, {columns})"


def _scaled(printer: _Printer, coeff: sympy.Expr, piece: str) -> str:
    """``coeff·piece`` as source, without a factor 1 and with -1 as a sign."""
    if coeff == 1:
        return piece
    return f"-{piece}" if coeff == -1 else f"{printer.scalar(coeff)}*{piece}"
