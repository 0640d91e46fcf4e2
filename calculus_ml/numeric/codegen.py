"""From SymPy expressions to NumPy source, and the one place that source is compiled.

The code generator knows three things:

* **What it can print.** :func:`_check_printable` refuses, before any printing, nodes the
  generated code cannot evaluate (sums, undefined functions, ...); :class:`CompileError` is the
  package's error for such losses.
* **How to print.** :class:`_Printer`, a subclass of SymPy's NumPy printer, prints every symbol
  as its generated identifier (``p_0``, ``d_1``, ``h_0``...) and never user text. ``doprint``
  gives a scalar expression; :meth:`_Printer.emit` gives in-place statements (``out=``) that
  leave an array expression in a preallocated chunk buffer, so the loop over chunks allocates
  nothing.
* **How to run it.** :func:`_compile_source` compiles printer output into a namespace of
  functions; it is the only call of ``compile`` in the package.
"""

from __future__ import annotations

import functools
import itertools
import linecache
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import sympy
from sympy.printing.numpy import NumPyPrinter

from ..errors import CalculusMLError
from ..functions import sigmoid, softplus
from .threads import on_cores


# --------------------------------------------------------------------------- what can be printed


class CompileError(CalculusMLError, NotImplementedError):
    """A loss that calculus_ml cannot compile to NumPy (an unsupported function or form)."""


_LOGIC = (sympy.logic.boolalg.Boolean, sympy.core.relational.Relational,
          sympy.functions.elementary.piecewise.ExprCondPair)
_EXTRA_FUNCTIONS = (sigmoid, softplus, sympy.Heaviside, sympy.Piecewise, sympy.Max, sympy.Min)


def _check_printable(expr: sympy.Expr) -> None:
    """Refuse nodes the generated code cannot evaluate (sums, undefined functions, ...)."""
    known = NumPyPrinter().known_functions
    for node in sympy.preorder_traversal(expr):
        if node.is_Symbol or node.is_Number or node.is_NumberSymbol or isinstance(node, _LOGIC):
            continue
        if node.is_Add or node.is_Mul or node.is_Pow:
            continue
        if isinstance(node, _EXTRA_FUNCTIONS) or (
                isinstance(node, sympy.Function) and type(node).__name__ in known):
            continue
        raise CompileError(f"cannot compile {type(node).__name__} ({sympy.sstr(node)[:60]})")


# --------------------------------------------------------------------------- the printer


class _Printer(NumPyPrinter):
    """SymPy's NumPy printer, with generated identifiers and in-place chunk statements.

    ``doprint`` prints a scalar expression. :meth:`emit` prints an array expression as a list of
    statements that write it into a preallocated chunk buffer (``numpy.add(a, b, out=t)``), so
    that the loop over chunks allocates nothing; buffers are recycled as soon as they are free.
    """

    def __init__(self, ident: Mapping[sympy.Symbol, str], arrays: frozenset,
                 vector_data: frozenset = frozenset()):
        super().__init__({"fully_qualified_modules": True, "strict": True})
        self.ident = dict(ident)
        self.arrays = set(arrays)
        self.vector_data = vector_data  # for dot(x, w) in predictions
        self.prelude: list[str] = []  # statements evaluated once per call (no per-sample data)
        self._hoisted: dict[sympy.Expr, str] = {}
        self._free: list[str] = []
        self._decays: dict[sympy.Expr, str] = {}  # u: buffer holding exp(−|u|)
        self.n_buffers = 0

    # -- leaves --------------------------------------------------------------------------------

    def _print_Symbol(self, expr):
        try:
            return self.ident[expr]
        except KeyError:
            raise CompileError(f"internal error: symbol {expr} has no identifier") from None

    _print_Dummy = _print_Symbol

    def _print_Rational(self, expr):
        return repr(float(expr))

    def _print_Float(self, expr):
        return repr(float(expr))

    def _print_And(self, expr):
        """Nested ``numpy.logical_and``: it broadcasts a scalar condition against a column of
        samples, which ``logical_and.reduce`` of the tuple does not."""
        return self._nested("numpy.logical_and", expr.args)

    def _print_Or(self, expr):
        return self._nested("numpy.logical_or", expr.args)

    def _print_Max(self, expr):
        """Nested ``numpy.maximum``: elementwise between arrays and numbers alike (SymPy's
        ``amax`` of a tuple fails when a number meets an array)."""
        return self._nested("numpy.maximum", expr.args)

    def _print_Min(self, expr):
        return self._nested("numpy.minimum", expr.args)

    def _nested(self, function: str, args) -> str:
        text = self._print(args[0])
        for arg in args[1:]:
            text = f"{function}({text}, {self._print(arg)})"
        return text

    def _print_Piecewise(self, expr):
        """Nested ``numpy.where`` (``numpy.select`` refuses a literal ``True`` condition)."""
        if expr.args[-1].cond != sympy.true:
            raise CompileError(f"cannot compile {sympy.sstr(expr)[:60]}: it has no 'otherwise'")
        text = self._print(expr.args[-1].expr)
        for value, cond in reversed(expr.args[:-1]):
            text = f"numpy.where({self._print(cond)}, {self._print(value)}, {text})"
        return text

    def _print_dot(self, expr):  # only in predictions: whole arrays, not chunks
        (a, b), data = expr.args, self.vector_data
        if a in data and b in data:
            return f"numpy.einsum('ij,ij->i', {self._print(a)}, {self._print(b)})"
        if a in data or b in data:
            x, w = (a, b) if a in data else (b, a)
            return f"numpy.dot({self._print(x)}, {self._print(w)})"
        return f"numpy.dot({self._print(a)}, {self._print(b)})"

    def _print_Heaviside(self, expr):
        h0 = _heaviside_at_zero(expr)
        return f"numpy.heaviside({self._print(expr.args[0])}, {self._print(h0)})"

    # -- helpers for the in-place emitter ---------------------------------------------------

    def is_array(self, expr: sympy.Expr) -> bool:
        return bool(expr.free_symbols & self.arrays)

    def scalar(self, expr: sympy.Expr) -> str:
        """A name (or literal) for a scalar expression, hoisted out of the chunk loop."""
        if expr.is_Number or expr.is_Symbol:
            return self.doprint(expr)
        if expr not in self._hoisted:
            name = f"s_{len(self._hoisted)}"
            self.prelude.append(f"{name} = {self.doprint(expr)}")
            self._hoisted[expr] = name
        return self._hoisted[expr]

    def buffer(self) -> str:
        if self._free:
            return self._free.pop()
        self.n_buffers += 1
        return f"t_{self.n_buffers - 1}"

    def release(self, name: str | None) -> None:
        if name is not None and name.startswith("t_") and name not in self._free:
            self._free.append(name)

    def operand(self, expr: sympy.Expr, out: list[str]) -> tuple[str, str | None]:
        """``(name, temporary)``: a name holding ``expr`` and the buffer to release after use."""
        if expr.is_Symbol or not self.is_array(expr):
            return (self.doprint(expr) if expr.is_Symbol else self.scalar(expr)), None
        t = self.buffer()
        self.emit(expr, t, out)
        return t, t

    # -- the in-place emitter ----------------------------------------------------------------

    def emit(self, expr: sympy.Expr, t: str, out: list[str]) -> None:
        """Append statements that leave the array expression ``expr`` in buffer ``t``."""
        if expr.is_Symbol:
            out.append(f"numpy.copyto({t}, {self.doprint(expr)})")
        elif not self.is_array(expr):
            out.append(f"{t}.fill({self.scalar(expr)})")
        elif expr.is_Add:
            self._emit_add(expr, t, out)
        elif expr.is_Mul:
            self._emit_mul(expr, t, out)
        elif expr.is_Pow:
            self._emit_pow(expr, t, out)
        elif isinstance(expr, (sigmoid, softplus)):
            self._emit_logistic(expr, t, out)
        elif isinstance(expr, sympy.Function) and len(expr.args) == 1 and type(
                expr) in _UNARY:
            src = self._unary_into(expr.args[0], t, out)
            for line in _UNARY[type(expr)]:
                out.append(line.format(a=src, t=t))
                src = t
        elif isinstance(expr, (sympy.Max, sympy.Min)):
            ufunc = "numpy.maximum" if isinstance(expr, sympy.Max) else "numpy.minimum"
            first, *others = sorted(expr.args, key=self.is_array, reverse=True)
            src = self._unary_into(first, t, out)
            for arg in others:
                name, tmp = self.operand(arg, out)
                out.append(f"{ufunc}({src}, {name}, out={t})")
                self.release(tmp)
                src = t
        elif isinstance(expr, sympy.Heaviside):
            h0 = _heaviside_at_zero(expr)
            src = self._unary_into(expr.args[0], t, out)
            out.append(f"numpy.heaviside({src}, {self.scalar(h0)}, out={t})")
        else:  # Piecewise and friends: NumPy's own printer; allocates, but correct
            out.append(f"{t}[...] = {self.doprint(expr)}")

    def _emit_logistic(self, expr: sympy.Expr, t: str, out: list[str]) -> None:
        """σ(u) or softplus(u) into ``t`` through ``e = exp(−|u|) ≤ 1``: one exponential, never
        an overflow. softplus(u) = max(u, 0) + log1p(e); σ(u) = ½ + sign(u)·(1/(1 + e) − ½)."""
        arg = expr.args[0]
        src = self._unary_into(arg, t, out)
        shared = self._decays.pop(arg, None)  # σ(u) and softplus(u) of one u share e
        if shared is None:
            shared = self._decays[arg] = self.buffer()  # kept until the other one uses it
            out += [f"numpy.{f}({a}, out={shared})"
                    for f, a in (("absolute", src), ("negative", shared), ("exp", shared))]
        e = self.buffer()
        if isinstance(expr, softplus):
            out += [f"numpy.log1p({shared}, out={e})", f"numpy.maximum({src}, 0.0, out={t})",
                    f"numpy.add({t}, {e}, out={t})"]
        else:
            out += [f"numpy.add({shared}, 1.0, out={e})", f"numpy.divide(1.0, {e}, out={e})",
                    f"numpy.subtract({e}, 0.5, out={e})", f"numpy.copysign({e}, {src}, out={t})",
                    f"numpy.add({t}, 0.5, out={t})"]
        self.release(e)
        if arg not in self._decays:
            self.release(shared)

    def _unary_into(self, arg: sympy.Expr, t: str, out: list[str]) -> str:
        """The name to read ``arg`` from: a leaf's own name, else ``t`` after computing it."""
        if arg.is_Symbol and self.is_array(arg):
            return self.doprint(arg)
        self.emit(arg, t, out)
        return t

    def _emit_add(self, expr: sympy.Expr, t: str, out: list[str]) -> None:
        arrays = [a for a in expr.args if self.is_array(a)]
        scalars = [a for a in expr.args if not self.is_array(a)]
        arrays.sort(key=lambda a: _leafish(a) is not None)  # compound terms first, into t
        first, *rest = arrays
        leaf = _leafish(first)
        if leaf is not None and rest and _leafish(rest[0]) is not None:
            (s1, a1), (s2, a2) = leaf, _leafish(rest.pop(0))
            if s1 == 1 and abs(s2) == 1:
                op = "numpy.add" if s2 == 1 else "numpy.subtract"
                out.append(f"{op}({self.doprint(a1)}, {self.doprint(a2)}, out={t})")
            else:
                self.emit(first, t, out)
                rest.insert(0, s2 * a2)
        elif leaf is not None and leaf[0] == 1 and scalars:
            out.append(f"numpy.add({self.doprint(leaf[1])}, "
                       f"{self.scalar(sympy.Add(*scalars))}, out={t})")
            scalars = []
        else:
            self.emit(first, t, out)
        for term in rest:
            leaf = _leafish(term)
            if leaf is not None and abs(leaf[0]) == 1:
                op = "numpy.add" if leaf[0] == 1 else "numpy.subtract"
                out.append(f"{op}({t}, {self.doprint(leaf[1])}, out={t})")
            else:
                name, tmp = self.operand(term, out)
                out.append(f"numpy.add({t}, {name}, out={t})")
                self.release(tmp)
        if scalars:
            out.append(f"numpy.add({t}, {self.scalar(sympy.Add(*scalars))}, out={t})")

    def _emit_mul(self, expr: sympy.Expr, t: str, out: list[str]) -> None:
        coeff = sympy.Mul(*[a for a in expr.args if not self.is_array(a)])
        factors = [a for a in expr.args if self.is_array(a)]
        divisors = [f.base for f in factors if f.is_Pow and f.exp == -1]
        factors = [f for f in factors if not (f.is_Pow and f.exp == -1)]
        if not factors:
            factors, divisors = [sympy.Pow(divisors[0], -1)], divisors[1:]
        factors.sort(key=lambda a: a.is_Symbol)  # compound factors first, into t
        first, *rest = factors
        if first.is_Symbol and rest and rest[0].is_Symbol:
            out.append(f"numpy.multiply({self.doprint(first)}, {self.doprint(rest.pop(0))}, "
                       f"out={t})")
        elif first.is_Symbol and coeff != 1:
            out.append(f"numpy.multiply({self.doprint(first)}, {self.scalar(coeff)}, out={t})")
            coeff = sympy.Integer(1)
        else:
            self.emit(first, t, out)
        for factor in rest:
            name, tmp = self.operand(factor, out)
            out.append(f"numpy.multiply({t}, {name}, out={t})")
            self.release(tmp)
        for divisor in divisors:
            name, tmp = self.operand(divisor, out)
            out.append(f"numpy.divide({t}, {name}, out={t})")
            self.release(tmp)
        if coeff == -1:
            out.append(f"numpy.negative({t}, out={t})")
        elif coeff != 1:
            out.append(f"numpy.multiply({t}, {self.scalar(coeff)}, out={t})")

    def _emit_pow(self, expr: sympy.Expr, t: str, out: list[str]) -> None:
        base, exp = expr.args
        if self.is_array(exp):
            base_name, tmp = self.operand(base, out)
            self.emit(exp, t, out)
            out.append(f"numpy.power({base_name}, {t}, out={t})")
            self.release(tmp)
            return
        if base.is_Symbol:
            src = self.doprint(base)
        else:
            self.emit(base, t, out)
            src = t
        if exp == 2:
            out.append(f"numpy.multiply({src}, {src}, out={t})")
        elif exp == -1:
            out.append(f"numpy.divide(1.0, {src}, out={t})")
        elif exp == sympy.Rational(1, 2):
            out.append(f"numpy.sqrt({src}, out={t})")
        elif exp == 3:
            if src != t:
                out.append(f"numpy.multiply({src}, {src}, out={t})")
            else:
                u = self.buffer()
                out.append(f"numpy.multiply({t}, {t}, out={u})")
                out.append(f"numpy.multiply({u}, {t}, out={t})")
                self.release(u)
                return
            out.append(f"numpy.multiply({t}, {src}, out={t})")
        else:
            out.append(f"numpy.power({src}, {self.scalar(exp)}, out={t})")


def _leafish(expr: sympy.Expr) -> tuple[sympy.Expr, sympy.Symbol] | None:
    """``(c, a)`` when ``expr`` is ``c·a`` for a number ``c`` and a symbol ``a``, else None."""
    if expr.is_Symbol:
        return sympy.Integer(1), expr
    if expr.is_Mul and len(expr.args) == 2 and expr.args[0].is_Number and expr.args[1].is_Symbol:
        return expr.args[0], expr.args[1]
    return None


_UNARY = {  # in-place statements for one-argument functions of {a}, leaving the result in {t}
    function: [f"numpy.{name}({{a}}, out={{t}})"] for function, name in (
        (sympy.exp, "exp"), (sympy.log, "log"), (sympy.Abs, "absolute"), (sympy.sign, "sign"),
        (sympy.tanh, "tanh"), (sympy.sin, "sin"), (sympy.cos, "cos"))}


def _heaviside_at_zero(expr: sympy.Heaviside) -> sympy.Expr:
    """The value of ``Heaviside(u, h0)`` at ``u = 0``: ``h0``, or SymPy's default 1/2."""
    return expr.args[1] if len(expr.args) > 1 else sympy.Rational(1, 2)


# --------------------------------------------------------------------------- compiling


_SOURCE_COUNTER = itertools.count()


def _compile_source(source: str) -> dict[str, Any]:
    """Compile generated source into a namespace holding its functions.

    This is the one place generated code is compiled. ``source`` is printer output only: every
    name in it is a generated identifier (``p_0``, ``d_1``, ``t_2``), every number was printed
    from a SymPy number, and every function is ``numpy.*`` (or the package's
    :func:`.threads.on_cores`, which runs a pass on parts of the rows); no user text
    reaches it. The source is registered with :mod:`linecache` so tracebacks show its lines.
    """
    filename = f"<calculus_ml-gradient-{next(_SOURCE_COUNTER)}>"
    namespace: dict[str, Any] = {"numpy": np, "functools": functools, "math": math,
                                 "_on_cores": on_cores}
    code = compile(source, filename, "exec")
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(code, namespace)  # noqa: S102 - printer output only, see the docstring
    return namespace
