"""Values on grids of points, for plots: an expression of a few symbols, and the cost of a loss.

:func:`grid_function` turns an expression into a broadcasting NumPy function. It is printed by
the code generator's printer (:class:`.codegen._Printer`, which prints σ and softplus in their
own NumPy form) and compiled by :func:`.codegen._compile_source`, like the gradient kernels, with
the plots' own order of operations:

* ``log σ(u)`` and ``log(1 − σ(u))`` become ``u − softplus(u)`` and ``−softplus(u)``
  (:func:`.model.stable_log`), without re-simplifying the rest;
* common subexpressions are computed once (``sympy.cse``), and the arguments are named so that
  SymPy prints the operands of sums and products last argument first. The printed order fixes
  the order of floating-point operations, so the numbers drawn do not depend on anything else;
* float literals keep the 15 significant digits plots have always printed.

:class:`GridCost` is J of a loss with scalar parameters on fixed data, evaluated on parameter
grids in blocks of grid points × samples (or, for a loss polynomial in its parameters and many
samples, from the means of its coefficients).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import sympy
from sympy.printing.codeprinter import PrintMethodNotImplementedError
from sympy.printing.numpy import NumPyPrinter

from ..errors import DataError, ExpressionError
from .codegen import _compile_source, _Printer
from .compiled import compiled_for
from .finite_difference import value_derivatives
from .model import stable_log
from .validation import _validate

_CHUNK = 1 << 20  # grid points × samples evaluated at once (8 MiB per temporary)


# --------------------------------------------------------------------------- expressions


class _GridPrinter(_Printer):
    """The code generator's printer, with float literals as plots have always printed them."""

    _print_Float = NumPyPrinter._print_Float  # 15 significant digits


def grid_function(expr: sympy.Expr, symbols: Sequence[sympy.Symbol]) -> Callable[..., Any]:
    """``expr`` as a broadcasting NumPy function of ``symbols``, the only symbols allowed.

    Parameters
    ----------
    expr : sympy.Expr
        The expression.
    symbols : sequence of sympy.Symbol
        The function's arguments, in order.

    Returns
    -------
    callable
        ``f(*arrays)``, broadcasting its arguments like NumPy (a constant comes back as a number).

    Raises
    ------
    ExpressionError
        When ``expr`` has another symbol, or a function NumPy cannot evaluate.
    """
    stray = expr.free_symbols - set(symbols)
    if stray:
        names = ", ".join(sorted(map(str, stray)))
        raise ExpressionError(f"cannot evaluate {expr}: {names} has no value")
    width = len(str(len(symbols)))
    args = [sympy.Dummy(f"a{k:0{width}d}") for k in range(len(symbols))]
    expr = expr.xreplace(dict(zip(symbols, args))).replace(sympy.log, stable_log)
    expr = expr.replace(lambda e: isinstance(e, (sympy.Max, sympy.Min)),
                        lambda e: e.rewrite(sympy.Piecewise))
    shared, expr = sympy.cse(expr, list=False)
    kind = sympy.Dummy if shared else sympy.Symbol  # they sort differently against pi and e
    last_first = {a: kind(f"a{len(args) - 1 - k:0{width}d}") for k, a in enumerate(args)}
    ident = {last_first[a]: f"a_{k}" for k, a in enumerate(args)}
    ident.update({name: f"c_{k}" for k, (name, _) in enumerate(shared)})
    printer = _GridPrinter(ident, frozenset())
    try:
        lines = [f"    {ident[name]} = {printer.doprint(value.xreplace(last_first))}"
                 for name, value in shared]
        lines.append(f"    return {printer.doprint(expr.xreplace(last_first))}")
    except PrintMethodNotImplementedError as error:
        raise ExpressionError(f"cannot evaluate {expr}: {str(error).splitlines()[0]}") from None
    source = f"def grid_function({', '.join(ident[last_first[a]] for a in args)}):\n"
    return _compile_source(source + "\n".join(lines) + "\n")["grid_function"]


def curve(expr: sympy.Expr, x: sympy.Symbol, grid: np.ndarray) -> np.ndarray:
    """The values of ``expr``, a function of ``x`` alone, at the points of ``grid`` (floats)."""
    with np.errstate(all="ignore"):
        return np.broadcast_to(np.asarray(grid_function(expr, [x])(grid), dtype=float),
                               grid.shape)


# --------------------------------------------------------------------------- the cost


class GridCost:
    """J of a loss with scalar parameters on fixed data: a NumPy function of parameter grids.

    Parameters
    ----------
    loss : calculus_ml.losses.Loss
        A loss without vectors.
    data : mapping
        Its data arrays by name, and its hyperparameters' values (checked by
        :mod:`calculus_ml.numeric.validation`).
    fixed : mapping, optional
        Values of parameters that are not on a grid (default 0).

    Attributes
    ----------
    params : tuple of sympy.Symbol
        The parameters; ``names`` their names.
    fixed : dict
        ``name → float`` for every parameter.
    """

    vector_data = ()  # what the validator needs to know besides ``data`` and ``hyper``

    def __init__(self, loss: Any, data: Mapping[str, Any], fixed: Mapping[str, float] | None):
        if loss.vectors:
            raise ExpressionError("plots need scalar parameters; this loss uses dot(...) vectors")
        self.loss, self.params = loss, tuple(loss.params)
        self.names = [p.name for p in self.params]
        self.data, self.hyper = tuple(loss.data), tuple(loss.hyperparameters)
        self._arrays, self._hyper, _ = _validate(self, data)
        self._given, self.n = dict(data), self._arrays[0].size
        if set(fixed or {}) - set(self.names):
            raise DataError(f"fixed must name parameters among {', '.join(self.names)}")
        self.fixed = {n: float((fixed or {}).get(n, 0.0)) for n in self.names}
        self._term = grid_function(loss.term, self.params + self.data + self.hyper)
        self._penalty = grid_function(loss.penalty, self.params + self.hyper)
        self._sums: list[tuple[tuple[int, ...], float]] | None = None
        try:  # ℓ polynomial in θ: J = Σ_k mean(c_k(data))·θ^k, each mean computed once
            terms = sympy.Poly(loss.term, *self.params).terms()
        except sympy.PolynomialError:
            return
        scale = 1 if loss.reduce == "mean" else self.n
        self._sums = [(powers, scale * float(np.mean(np.broadcast_to(grid_function(
            c, self.data + self.hyper)(*self._arrays, *self._hyper), (self.n,)))))
            for powers, c in terms]

    def parameter(self, name: str) -> sympy.Symbol:
        """The parameter called ``name``."""
        if name not in self.names:
            names = ", ".join(self.names)
            raise ExpressionError(f"{name!r} is not a parameter (they are {names})")
        return self.params[self.names.index(name)]

    def __call__(self, **values: Any) -> np.ndarray:
        """J at ``{name: array}`` (the others at their fixed values), in the arrays' shape."""
        grids = np.broadcast_arrays(*(np.asarray(values.get(n, self.fixed[n]), dtype=float)
                                      for n in self.names))
        flat = [g.reshape(-1, 1) for g in grids]
        k = flat[0].shape[0]
        total = np.zeros(k)
        with np.errstate(all="ignore"):
            if self._sums is not None and k * self.n > 8 * _CHUNK:  # many samples: the sums
                for powers, mean in self._sums:
                    total += mean * np.prod([f[:, 0] ** e for f, e in zip(flat, powers)], axis=0)
            else:
                rows = max(1, _CHUNK // k)
                for start in range(0, self.n, rows):  # grid × chunk of samples, one call each
                    block = [a[None, start:start + rows] for a in self._arrays]
                    term = self._term(*flat, *block, *self._hyper)
                    total += np.broadcast_to(term, (k, block[0].shape[1])).sum(axis=1)
                total /= self.n if self.loss.reduce == "mean" else 1
            total += np.ravel(self._penalty(*(f[:, 0] for f in flat), *self._hyper))
        return total.reshape(grids[0].shape)

    def gradient(self, **values: float) -> np.ndarray:
        """∇J (the compiled gradient) at the fixed values, ``values`` replacing some of them."""
        return compiled_for(self.loss).grad({**self.fixed, **values}, **self._given)

    def minimum_near(self, names: Sequence[str]) -> np.ndarray:
        """The minimiser over ``names`` of the quadratic through J around the fixed point.

        Exact for a quadratic J such as mse; the fixed values themselves when that quadratic has
        no minimum.
        """
        base = np.array([self.fixed[n] for n in names])
        g, h = value_derivatives(lambda point: float(self(**dict(zip(names, point)))), base)
        if not (np.isfinite(h).all() and np.isfinite(g).all()
                and np.all(np.linalg.eigvalsh(h) > 0)):
            return base
        return base - np.linalg.solve(h, g)
