"""Compiled numeric gradients of a :class:`~calculus_ml.losses.Loss`, and a gradient check.

:func:`compile_gradient` turns a loss into NumPy code with no Python loop over samples:

* **General path.** The per-sample term ℓ and its derivatives (from ``loss.sample_gradient()``)
  are simplified, common subexpressions are computed once (``sympy.cse``) and the result is
  printed by a subclass of SymPy's NumPy printer as in-place statements (``out=``) on chunks of
  :data:`CHUNK_BYTES`, so temporaries stay in cache; sums over samples are dot products
  (``x @ r``, ``r @ X``), never ``mean(x*r)``.
* **Sufficient statistics.** When ℓ is a polynomial in the parameters (mse, ridge, polynomial and
  multiple regression), J depends on the data only through a few sums (Σx, Σxy, XᵀX, Xᵀy, ...).
  They are found symbolically (ℓ expanded as a polynomial in the parameters: its coefficients are
  data monomials), computed in one pass by :meth:`CompiledGradient.prepare`, and every later
  evaluation costs the same whatever the number of samples.

Only validated symbols reach code generation: every symbol is mapped to a generated identifier
(``p_0``, ``d_1``, ``h_0``...) and code is printed from the SymPy tree, never from user text; the
printed source is compiled in one place, :func:`_compile_source`, and kept on ``.source``.

Hyperparameters (``lam``, ``delta``...) are passed as keyword arguments beside the data:
``grad(params, x=x, y=y, lam=0.1)``.
"""

from __future__ import annotations

import functools
import itertools
import linecache
import math
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy
from sympy.printing.codeprinter import PrintMethodNotImplementedError
from sympy.printing.numpy import NumPyPrinter

from .errors import CalculusMLError, DataError
from .functions import dot, sigmoid, softplus

__all__ = ["compile_gradient", "compiled_for", "check_gradient", "CompiledGradient",
           "PreparedGradient", "GradientCheck", "CompileError", "CHUNK_BYTES", "MAX_CHUNK_ROWS"]

CHUNK_BYTES = 1 << 19
"""Bytes of data plus temporaries handled per chunk (512 KiB: inside a core's L2 cache)."""

MAX_CHUNK_ROWS = 8192
"""At most this many rows per chunk: OpenBLAS runs a dot product of more than 10,000 entries on
several threads, which costs more than it saves on chunks already in cache (and much more on a
busy machine)."""

_MAX_POLY_TERMS = 400  # beyond this many monomials the general path is cheaper to generate


class CompileError(CalculusMLError, NotImplementedError):
    """A loss that calculus_ml cannot compile to NumPy (an unsupported function or form)."""


# --------------------------------------------------------------------------- symbolic model


@dataclass(frozen=True)
class _Reduction:
    """One sum over samples: ``Σᵢ expr`` (``vector is None``) or ``Σᵢ expr·vector_i`` (d,)."""

    expr: sympy.Expr
    vector: sympy.Symbol | None = None


class _Model:
    """A loss taken apart for code generation: symbols validated and given safe identifiers.

    Each ``dot(a, b)`` becomes a placeholder: ``dot(w, x)`` of a parameter and a data vector is a
    per-sample column ``X @ w``; two data vectors give a row-wise product; two parameter vectors
    a scalar.
    """

    def __init__(self, loss: Any):
        self.loss = loss
        self.params = tuple(loss.params)
        self.data = tuple(loss.data)
        self.hyper = tuple(loss.hyperparameters)
        self.reduce = loss.reduce
        vectors = frozenset(loss.vectors)
        for sym in self.params + self.data + self.hyper:
            if not isinstance(sym, sympy.Symbol):
                raise CompileError(f"cannot compile: {sym!r} is not a plain symbol")
        if vectors & set(self.hyper):
            names = ", ".join(sorted(s.name for s in vectors & set(self.hyper)))
            raise CompileError(f"cannot compile: vector hyperparameter {names} (pass it as data)")
        self.vector_params = tuple(p for p in self.params if p in vectors)
        self.vector_data = tuple(s for s in self.data if s in vectors)
        if self.vector_params and not self.vector_data:
            raise CompileError("cannot compile: a vector parameter needs a vector of data "
                               "(dot(w, x)) to set its dimension d")
        self.ident: dict[sympy.Symbol, str] = {}
        for prefix, group in (("p", self.params), ("d", self.data), ("h", self.hyper)):
            for k, sym in enumerate(group):
                self.ident[sym] = f"{prefix}_{k}"
        self.linear: dict[sympy.Dummy, tuple[sympy.Symbol, sympy.Symbol]] = {}  # z: (w, x)
        self.rowwise: dict[sympy.Dummy, tuple[sympy.Symbol, sympy.Symbol]] = {}  # q: (x, x')
        self.scalar_dots: dict[sympy.Dummy, tuple[sympy.Symbol, sympy.Symbol]] = {}  # s: (w, v)
        self._dots: dict[sympy.Expr, sympy.Dummy] = {}

        self.term = self.lower(loss.term, per_sample=True)
        self.penalty = self.lower(loss.penalty, per_sample=False)
        self.value_term = _stable_logs(self.term)
        sample_grad = loss.sample_gradient()
        penalty_grad = loss.penalty_gradient() if self.penalty != 0 else {}
        self.grad_terms = {p: self._split(sample_grad[p], p, True) for p in self.params}
        self.grad_penalty = {
            p: self._split(penalty_grad.get(p, sympy.Integer(0)), p, False) for p in self.params
        }
        self.arrays = frozenset(s for s in self.data if s not in vectors) | frozenset(
            self.linear) | frozenset(self.rowwise)

    # -- dot placeholders and vector gradients -------------------------------------------------

    def lower(self, expr: sympy.Expr, per_sample: bool) -> sympy.Expr:
        """``expr`` with every ``dot`` replaced by its placeholder, validated for printing."""
        mapping = {}
        for call in expr.atoms(dot):
            mapping[call] = self._placeholder(call, per_sample)
        flat = expr.xreplace(mapping) if mapping else expr
        allowed = (set(self.params) | set(self.hyper) | set(self.scalar_dots)) - set(
            self.vector_params)
        if per_sample:
            allowed |= set(self.data) - set(self.vector_data) | set(self._dots.values())
        stray = flat.free_symbols - allowed
        if stray:
            names = ", ".join(sorted(s.name for s in stray))
            where = "outside dot(...)" if stray & (set(self.vector_params) | set(
                self.vector_data)) else "here"
            raise CompileError(f"cannot compile: {names} cannot be used {where}")
        _check_printable(flat)
        return flat

    def _placeholder(self, call: sympy.Expr, per_sample: bool) -> sympy.Dummy:
        if call in self._dots:
            return self._dots[call]
        a, b = call.args
        if not (a.is_Symbol and b.is_Symbol):
            raise CompileError(f"cannot compile {call}: dot takes two vector names")
        kinds = {s: ("param" if s in self.vector_params else "data" if s in self.vector_data
                     else None) for s in (a, b)}
        if None in kinds.values():
            raise CompileError(f"cannot compile {call}: its arguments must be vectors")
        k = len(self._dots)
        z = sympy.Dummy(f"z{k}", real=True)
        if kinds[a] == kinds[b] == "param":
            self.scalar_dots[z], self.ident[z] = (a, b), f"s_dot{k}"
        elif kinds[a] == kinds[b] == "data":
            self.rowwise[z], self.ident[z] = (a, b), f"z_{k}"
        else:
            w, x = (a, b) if kinds[a] == "param" else (b, a)
            self.linear[z], self.ident[z] = (w, x), f"z_{k}"
        if not per_sample and z not in self.scalar_dots:
            raise CompileError(f"cannot compile {call}: the penalty may not involve data")
        self._dots[call] = z
        return z

    def _split(self, grad: sympy.Expr, theta: sympy.Symbol, per_sample: bool) -> list[_Reduction]:
        """``∂/∂θ`` as reductions; a vector θ's gradient is linear in bare vector symbols."""
        if theta not in self.vector_params:
            return [_Reduction(_cheapest(self.lower(grad, per_sample)))]
        calls = {call: self._placeholder(call, per_sample) for call in grad.atoms(dot)}
        flat = grad.xreplace(calls)
        bare = sorted(flat.free_symbols & (set(self.vector_params) | set(self.vector_data)),
                      key=lambda s: s.name)
        parts, rest = [], flat
        for v in bare:
            coef = sympy.diff(flat, v)
            if coef.has(v):
                raise CompileError(f"cannot compile ∂/∂{theta}: not linear in the vector {v}")
            parts.append(_Reduction(_cheapest(self.lower(coef, per_sample)), v))
            rest -= coef * v
        if sympy.expand(rest) != 0:
            raise CompileError(f"cannot compile ∂/∂{theta}: a scalar where a vector belongs")
        return parts

    # -- sufficient statistics --------------------------------------------------------------

    def polynomial(self) -> list[tuple[sympy.Expr, sympy.Expr, tuple]] | None:
        """ℓ as ``[(scalar coefficient, data monomial, linear placeholders)]``, or ``None``.

        The scalar coefficient holds the parameters and hyperparameters, the data monomial the
        per-sample data, and the placeholders (at most two, each ``dot(w, x)``) pair a parameter
        vector with a data vector. ``None`` when ℓ is not a polynomial in the parameters.
        """
        if self.term.free_symbols & set(self.scalar_dots):
            return None
        gens = set(p for p in self.params if p not in self.vector_params) | set(self.linear)
        hyper = set(self.hyper)
        for node in sympy.preorder_traversal(self.term):
            if isinstance(node, sympy.Function) or (node.is_Pow and not (
                    node.exp.is_Integer and node.exp >= 0)):
                if node.free_symbols & gens:
                    return None
        expanded = sympy.expand(self.term, deep=True, log=False, power_exp=False,
                                power_base=False, multinomial=True, mul=True)
        terms = sympy.Add.make_args(expanded)
        if len(terms) > _MAX_POLY_TERMS:
            return None
        out = []
        for term in terms:
            scalar, data, links = sympy.Integer(1), sympy.Integer(1), []
            for factor in sympy.Mul.make_args(term):
                base, exp = factor.as_base_exp()
                if base in gens and base in self.linear:
                    if not (exp.is_Integer and exp > 0):
                        return None
                    links += [base] * int(exp)
                elif factor.free_symbols <= gens | hyper or factor.is_Number:
                    scalar *= factor
                elif not factor.free_symbols & (gens | hyper):
                    data *= factor
                else:
                    return None
            if len(links) > 2:
                return None
            out.append((scalar, data, tuple(sorted(links, key=str))))
        return out


def _stable_logs(expr: sympy.Expr) -> sympy.Expr:
    """Rewrite ``log(σ(u))``, ``log(1 - σ(u))`` and ``log(1 + eᵘ)`` through softplus.

    ``log σ(u) = u - softplus(u)`` and ``log(1 - σ(u)) = -softplus(u)``, with softplus evaluated
    as ``logaddexp(0, u)``: no ``log(0)`` for large ``|u|``.
    """

    def stable(arg):
        if isinstance(arg, sigmoid):
            return arg.args[0] - softplus(arg.args[0])
        if arg.is_Add and len(arg.args) == 2 and sympy.S.One in arg.args:
            other = arg - 1
            if isinstance(-other, sigmoid):
                return -softplus((-other).args[0])
            if isinstance(other, sympy.exp):
                return softplus(other.args[0])
        return sympy.log(arg)

    return _cheapest(expr.replace(sympy.log, stable)) if expr.has(sympy.log) else expr


@functools.lru_cache(maxsize=512)
def _cheapest(expr: sympy.Expr) -> sympy.Expr:
    """The cheapest of ``expr``, its expansion and the expansion's factored terms (by op count)."""
    expanded = sympy.expand(expr, deep=True, log=False, power_exp=False, power_base=False)
    candidates = [expr, expanded, sympy.factor_terms(expanded)]
    return min(candidates, key=lambda e: sympy.count_ops(e))


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


# --------------------------------------------------------------------------- printing


class _Printer(NumPyPrinter):
    """SymPy's NumPy printer, with generated identifiers and in-place chunk statements.

    ``doprint`` prints a scalar expression. :meth:`emit` prints an array expression as a list of
    statements that write it into a preallocated chunk buffer (``numpy.add(a, b, out=t)``), so
    that the loop over chunks allocates nothing; buffers are recycled as soon as they are free.
    """

    def __init__(self, ident: Mapping[sympy.Symbol, str], arrays: frozenset):
        super().__init__({"fully_qualified_modules": True, "strict": True})
        self.ident = dict(ident)
        self.arrays = set(arrays)
        self.prelude: list[str] = []  # statements evaluated once per call (no per-sample data)
        self._hoisted: dict[sympy.Expr, str] = {}
        self._free: list[str] = []
        self.n_buffers = 0
        self.vector_data: frozenset = frozenset()  # for dot(x, w) in predictions

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

    def _print_sigmoid(self, expr):
        return f"_sigmoid({self._print(expr.args[0])})"

    def _print_softplus(self, expr):
        return f"numpy.logaddexp(0.0, {self._print(expr.args[0])})"

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
        h0 = expr.args[1] if len(expr.args) > 1 else sympy.Rational(1, 2)
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
            h0 = expr.args[1] if len(expr.args) > 1 else sympy.Rational(1, 2)
            src = self._unary_into(expr.args[0], t, out)
            out.append(f"numpy.heaviside({src}, {self.scalar(h0)}, out={t})")
        else:  # Piecewise and friends: NumPy's own printer; allocates, but correct
            out.append(f"{t}[...] = {self.doprint(expr)}")

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
    sympy.exp: ["numpy.exp({a}, out={t})"],
    sympy.log: ["numpy.log({a}, out={t})"],
    sympy.Abs: ["numpy.absolute({a}, out={t})"],
    sympy.sign: ["numpy.sign({a}, out={t})"],
    sympy.tanh: ["numpy.tanh({a}, out={t})"],
    sympy.sin: ["numpy.sin({a}, out={t})"],
    sympy.cos: ["numpy.cos({a}, out={t})"],
    # σ(u) = (1 + tanh(u/2))/2: four passes in cache, and no overflow for large |u|
    sigmoid: ["numpy.multiply({a}, 0.5, out={t})", "numpy.tanh({t}, out={t})",
              "numpy.multiply({t}, 0.5, out={t})", "numpy.add({t}, 0.5, out={t})"],
    softplus: ["numpy.logaddexp(0.0, {a}, out={t})"],
}


def _sigmoid(z):
    """The logistic sigmoid for scalars and arrays, without overflow."""
    return 0.5 * np.tanh(0.5 * z) + 0.5


# --------------------------------------------------------------------------- code generation


class _Layout:
    """Where each parameter sits in the flat vector: scalars take 1 slot, vectors ``d``."""

    def __init__(self, model: _Model):
        self.names = tuple(p.name for p in model.params)
        self.is_vector = tuple(p in model.vector_params for p in model.params)

    def offsets(self) -> list[tuple[str, str]]:
        """``(start, stop)`` source expressions in ``d`` for each parameter."""
        spans, n_scalar, n_vector = [], 0, 0
        for vector in self.is_vector:
            start = _affine(n_scalar, n_vector)
            n_scalar, n_vector = n_scalar + (not vector), n_vector + vector
            spans.append((start, _affine(n_scalar, n_vector)))
        return spans

    def size(self, d: int | None) -> int:
        n_vector = sum(self.is_vector)
        return len(self.names) - n_vector + n_vector * (d or 0)


def _affine(a: int, b: int) -> str:
    return str(a) if b == 0 else (f"{b}*d" if a == 0 else f"{a} + {b}*d")


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
    total = _affine(len(layout.names) - sum(layout.is_vector), sum(layout.is_vector))
    lines = [f"_g = numpy.empty({total})"]
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


def _general_kernel(model: _Model, layout: _Layout, name: str, value: bool, grad: bool):
    """Source of ``name(theta, H, D, d, chunk)``: one chunked pass over the data.

    Returns ``(source, n_buffers)``. The function returns ``J``, the flat gradient, or both.
    """
    outputs: list[tuple[str, _Reduction]] = []  # (accumulator, reduction)
    if value:
        outputs.append(("a_v", _Reduction(model.value_term)))
    if grad:
        for k, p in enumerate(model.params):
            for j, r in enumerate(model.grad_terms[p]):
                outputs.append((f"a_{k}_{j}", r))
    exprs = [r.expr for _, r in outputs]
    replacements, reduced = sympy.cse(exprs, symbols=_dummies("c"), optimizations="basic")
    printer = _Printer(model.ident, model.arrays)
    body: list[str] = []
    used = set().union(*(e.free_symbols for e in reduced + [v for _, v in replacements]))
    for z, (w, x) in model.linear.items():
        if z in used:
            printer.ident[z] = buf = printer.buffer()
            body.append(f"numpy.dot({model.ident[x]}, {model.ident[w]}, out={buf})")
    for z, (x1, x2) in model.rowwise.items():
        if z in used:
            printer.ident[z] = buf = printer.buffer()
            body.append(f"numpy.einsum('ij,ij->i', {model.ident[x1]}, {model.ident[x2]}, "
                        f"out={buf})")
    for k, (c, expr) in enumerate(replacements):
        if printer.is_array(expr):
            printer.arrays.add(c)
            printer.ident[c] = buf = printer.buffer()
            printer.emit(expr, buf, body)
        else:
            printer.ident[c] = f"c_{k}"
            printer.prelude.append(f"c_{k} = {printer.doprint(expr)}")
    init, epilogue_terms = [], {}
    for (acc, r), expr in zip(outputs, reduced):
        if r.vector is not None and r.vector in model.vector_data:
            init.append(f"{acc} = numpy.zeros(d)")
            body.append(f"{acc} += {_matvec(printer, expr, model.ident[r.vector], body)}")
        else:
            init.append(f"{acc} = 0.0")
            body.append(f"{acc} += {_sum(printer, expr, body)}")
        param_vector = r.vector is not None and r.vector not in model.vector_data
        epilogue_terms[acc] = f"{acc}*{model.ident[r.vector]}" if param_vector else acc

    penalty_value, penalty_grads = _penalty_parts(model, printer)
    lines = [f"def {name}(theta, H, D, d, chunk):"]
    inner = _unpack(model, layout)
    inner += [f"D_{k} = D[{k}]" for k in range(len(model.data))]
    inner += ["n = D_0.shape[0]"]
    inner += printer.prelude
    inner += [f"_T = numpy.empty(({max(printer.n_buffers, 1)}, min(chunk, n)))"]
    inner += init
    inner += ["for _lo in range(0, n, chunk):"]
    loop = [f"{model.ident[s]} = D_{k}[_lo:_lo + chunk]" for k, s in enumerate(model.data)]
    loop += [f"_m = {model.ident[model.data[0]]}.shape[0]"]
    loop += [f"t_{b} = _T[{b}, :_m]" for b in range(printer.n_buffers)]
    inner += ["    " + line for line in loop + body]
    inner += ["_scale = 1.0 / n" if model.reduce == "mean" else "_scale = 1.0"]
    if value:
        inner.append(f"J = _scale*a_v + {penalty_value}")
    if grad:
        parts = {}
        for k, p in enumerate(model.params):
            accs = [epilogue_terms[f"a_{k}_{j}"] for j in range(len(model.grad_terms[p]))]
            data_part = f"_scale*({' + '.join(accs)})" if accs else "0.0"
            parts[p] = f"{data_part} + {penalty_grads[p]}"
        inner += _pack(model, layout, parts)
    inner.append("return " + ", ".join(["J"] * value + ["_g"] * grad))
    return "\n".join(lines + ["    " + line for line in inner]), printer.n_buffers


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


def _scaled(printer: _Printer, coeff: sympy.Expr, piece: str) -> str:
    if coeff == 1:
        return piece
    return f"-{piece}" if coeff == -1 else f"{printer.scalar(coeff)}*{piece}"


def _dummies(prefix: str):
    return (sympy.Dummy(f"{prefix}{k}", real=True) for k in itertools.count())


@dataclass(frozen=True)
class _Statistic:
    """``Σᵢ data_i`` (no vectors), ``Σᵢ data_i xᵢ`` (d,) or ``Σᵢ data_i xᵢ zᵢᵀ`` (d, d)."""

    data: sympy.Expr
    vectors: tuple[sympy.Symbol, ...]


def _statistics_kernels(model: _Model, layout: _Layout, poly) -> tuple[str, str, int, list]:
    """Sources of ``_stats(D, d, chunk)`` (one pass) and ``_stat_eval(theta, H, S, d)``."""
    stats: list[_Statistic] = []
    contractions: dict[tuple, sympy.Dummy] = {}  # (stat index, params) -> T symbol
    objective = sympy.Integer(0)
    for scalar, data, links in poly:
        stat = _Statistic(data, tuple(model.linear[z][1] for z in links))
        if stat not in stats:
            stats.append(stat)
        key = (stats.index(stat), tuple(model.linear[z][0] for z in links))
        if key not in contractions:
            contractions[key] = sympy.Dummy(f"T{len(contractions)}", real=True)
        objective += scalar * contractions[key]

    # the one pass over the data
    nontrivial = [s.data for s in stats if s.data != 1]
    replacements, reduced = sympy.cse(nontrivial, symbols=_dummies("c"), optimizations="basic")
    reduced_of = dict(zip(nontrivial, reduced))
    printer = _Printer(model.ident, model.arrays)
    body: list[str] = []
    used = set().union(set(), *(e.free_symbols for e in reduced + [v for _, v in replacements]))
    for z, (x1, x2) in model.rowwise.items():
        if z in used:
            printer.ident[z] = buf = printer.buffer()
            body.append(f"numpy.einsum('ij,ij->i', {model.ident[x1]}, {model.ident[x2]}, "
                        f"out={buf})")
    for k, (c, expr) in enumerate(replacements):
        printer.arrays.add(c)
        printer.ident[c] = buf = printer.buffer()
        printer.emit(expr, buf, body)
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
            body.append(f"S_{k} += {_matvec(printer, expr, names[0], body)}" if stat.data != 1
                        else f"S_{k} += {names[0]}.sum(axis=0)")
        else:
            init.append(f"S_{k} = numpy.zeros((d, d))")
            if stat.data == 1:
                body.append(f"S_{k} += numpy.dot({names[0]}.T, {names[1]})")
            else:
                name, tmp = printer.operand(expr, body)
                body.append(f"S_{k} += numpy.dot({names[0]}.T, {name}[:, None]*{names[1]})")
                printer.release(tmp)
    lines = ["def _stats(D, d, chunk):"]
    inner = [f"D_{k} = D[{k}]" for k in range(len(model.data))] + ["n = D_0.shape[0]"]
    inner += printer.prelude + init
    if body:
        inner += [f"_T = numpy.empty(({max(printer.n_buffers, 1)}, min(chunk, n)))",
                  "for _lo in range(0, n, chunk):"]
        loop = [f"{model.ident[s]} = D_{k}[_lo:_lo + chunk]" for k, s in enumerate(model.data)]
        loop += [f"_m = {model.ident[model.data[0]]}.shape[0]"]
        loop += [f"t_{b} = _T[{b}, :_m]" for b in range(printer.n_buffers)]
        inner += ["    " + line for line in loop + body]
    inner += finals + [f"return (n, {', '.join(f'S_{k}' for k in range(len(stats)))})"]
    stats_source = "\n".join(lines + ["    " + line for line in inner])

    # evaluation from the statistics: cost independent of n
    ev = _Printer(model.ident, frozenset())
    inner = _unpack(model, layout) + ["n = S[0]"]
    inner += [f"S_{k} = S[{k + 1}]" for k in range(len(stats))]
    vector_parts: dict[sympy.Symbol, list[tuple[sympy.Dummy, str]]] = {
        p: [] for p in model.vector_params}
    for j, ((k, params), T) in enumerate(contractions.items()):
        ev.ident[T] = f"S_{k}" if not params else f"T_{j}"
        if not params:
            continue
        if len(params) == 1:
            inner.append(f"{ev.ident[T]} = float(numpy.dot(S_{k}, {model.ident[params[0]]}))")
            vector_parts[params[0]].append((T, f"S_{k}"))
        else:
            w, v = (model.ident[p] for p in params)
            V = f"V_{ev.ident[T]}"
            inner += [f"{V} = numpy.dot(S_{k}, {v})", f"{ev.ident[T]} = float(numpy.dot({w}, {V}))"]
            symmetric = stats[k].vectors[0] == stats[k].vectors[1]
            if params[0] == params[1]:
                vector_parts[params[0]].append(
                    (T, f"2.0*{V}" if symmetric else f"({V} + numpy.dot({w}, S_{k}))"))
            else:
                vector_parts[params[1]].append((T, f"numpy.dot({w}, S_{k})"))
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
    inner += ["_scale = 1.0 / n" if model.reduce == "mean" else "_scale = 1.0"]
    penalty_value, penalty_grads = _penalty_parts(model, ev)
    inner.append(f"J = _scale*({ev.doprint(reduced[0])}) + {penalty_value}")
    scalar_grads = iter(reduced[1:len(scalar_exprs)])
    vector_coefs = iter(reduced[len(scalar_exprs):])
    parts = {}
    for p in model.params:
        if p in model.vector_params:
            pieces = [f"({ev.doprint(next(vector_coefs))})*{part}"
                      for q, _, part, _ in coefs if q == p]
            parts[p] = f"_scale*({' + '.join(pieces) or '0.0'}) + {penalty_grads[p]}"
        else:
            parts[p] = f"_scale*({ev.doprint(next(scalar_grads))}) + {penalty_grads[p]}"
    inner += _pack(model, layout, parts) + ["return J, _g"]
    eval_source = "\n".join(["def _stat_eval(theta, H, S, d):"] + ["    " + l for l in inner])
    return stats_source, eval_source, printer.n_buffers, stats


_SOURCE_COUNTER = itertools.count()


def _compile_source(source: str) -> dict[str, Any]:
    """Compile generated source into a namespace holding its functions.

    This is the one place generated code is compiled. ``source`` is printer output only: every
    name in it is a generated identifier (``p_0``, ``d_1``, ``t_2``), every number was printed
    from a SymPy number, and every function is ``numpy.*`` or :func:`_sigmoid`; no user text
    reaches it. The source is registered with :mod:`linecache` so tracebacks show its lines.
    """
    filename = f"<calculus_ml-gradient-{next(_SOURCE_COUNTER)}>"
    namespace: dict[str, Any] = {"numpy": np, "functools": functools, "math": math,
                                 "_sigmoid": _sigmoid}
    code = compile(source, filename, "exec")
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(code, namespace)  # noqa: S102 - printer output only, see the docstring
    return namespace


def compile_gradient(loss: Any, backend: str = "numpy",
                     sufficient_statistics: bool | str = "auto") -> CompiledGradient:
    """Compile ``loss`` into fast NumPy functions of its value and gradient.

    Parameters
    ----------
    loss : calculus_ml.losses.Loss
        The loss to compile.
    backend : {"numpy"}
        The array library of the generated code (NumPy only, for now).
    sufficient_statistics : {"auto", True, False}
        Use the sums over the data (Σx, Σxy, XᵀX, ...) instead of the data themselves when ℓ is a
        polynomial in the parameters: ``"auto"`` when possible, ``True`` to require it (a
        :class:`CompileError` otherwise), ``False`` never.

    Returns
    -------
    CompiledGradient
        ``grad(params, **data)``, ``value``, ``value_and_grad``, ``prepare``, ``source``.

    Raises
    ------
    CompileError
        For a loss whose form or functions the code generator does not handle.
    """
    if backend != "numpy":
        raise ValueError(f"backend must be 'numpy', not {backend!r}")
    if sufficient_statistics not in ("auto", True, False):
        raise ValueError("sufficient_statistics must be 'auto', True or False, "
                         f"not {sufficient_statistics!r}")
    try:
        return _compile(loss, sufficient_statistics)
    except PrintMethodNotImplementedError as error:  # a node _check_printable let through
        raise CompileError(f"cannot compile: {str(error).splitlines()[0]}") from None


def _compile(loss: Any, sufficient_statistics: bool | str) -> CompiledGradient:
    model = _Model(loss)
    layout = _Layout(model)
    poly = model.polynomial() if sufficient_statistics is not False else None
    if sufficient_statistics is True and poly is None:
        raise CompileError(f"{getattr(loss, 'name', 'the loss')} is not a polynomial in its "
                           "parameters: no sufficient statistics")
    sources, buffers = [_header(model)], {}
    for name, value, grad in (("_value", True, False), ("_grad", False, True),
                              ("_value_and_grad", True, True)):
        source, buffers[name] = _general_kernel(model, layout, name, value, grad)
        sources.append(source)
    stats = None
    if poly is not None:
        stats_source, eval_source, buffers["_stats"], stats = _statistics_kernels(
            model, layout, poly)
        sources += [stats_source, eval_source]
    if getattr(loss, "prediction", None) is not None:
        sources.append(_prediction_source(model, layout, loss.prediction))
    source = "\n\n\n".join(sources) + "\n"
    return CompiledGradient(loss, model, layout, source, _compile_source(source), buffers, stats)


def _prediction_source(model: _Model, layout: _Layout, prediction: sympy.Expr) -> str:
    """Source of ``_predict(theta, H, D, d)``: the model's prediction for every row at once."""
    stray = prediction.free_symbols - set(model.params) - set(model.data) - set(model.hyper)
    if stray:
        raise CompileError(f"the prediction uses {', '.join(sorted(map(str, stray)))}, "
                           "which the loss does not")
    _check_printable(prediction.xreplace({c: sympy.Dummy() for c in prediction.atoms(dot)}))
    printer = _Printer(model.ident, frozenset())
    printer.vector_data = frozenset(model.vector_data)
    inner = _unpack(model, layout) + [f"{model.ident[s]} = D[{k}]"
                                     for k, s in enumerate(model.data)]
    inner.append(f"return {printer.doprint(prediction)}")
    return "\n".join(["def _predict(theta, H, D, d):"] + ["    " + line for line in inner])


_RECENT: OrderedDict[tuple[int, Any], tuple[Any, CompiledGradient]] = OrderedDict()


def compiled_for(loss: Any, sufficient_statistics: bool | str = "auto") -> CompiledGradient:
    """:func:`compile_gradient`, remembered for the last few losses (compiling takes SymPy time)."""
    key = (id(loss), sufficient_statistics)
    hit = _RECENT.get(key)
    if hit is not None and hit[0] is loss:
        _RECENT.move_to_end(key)
        return hit[1]
    compiled = compile_gradient(loss, sufficient_statistics=sufficient_statistics)
    _RECENT[key] = (loss, compiled)  # holding the loss keeps its id from being reused
    while len(_RECENT) > 16:
        _RECENT.popitem(last=False)
    return compiled


def _header(model: _Model) -> str:
    """A comment naming each identifier (names that are not plain identifiers print as ``?``)."""

    def show(sym):
        return sym.name if sym.name.isidentifier() and sym.name.isascii() else "?"

    pairs = [f"{model.ident[s]} = {show(s)}" for s in model.params + model.data + model.hyper]
    pairs += [f"{model.ident[z]} = dot({show(a)}, {show(b)})"
              for dots in (model.linear, model.rowwise, model.scalar_dots)
              for z, (a, b) in dots.items()]
    return "# generated by calculus_ml.numeric; " + "; ".join(pairs)


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
            arrays, or a hyperparameter that is not a finite number.
        """
        arrays, hyper, d = _validate(self._model, data)
        return PreparedGradient(self, arrays, hyper, d, use_statistics=self.sufficient_statistics)

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

    def validate(self, **data: Any) -> dict[str, Any]:
        """``data`` checked and converted to float arrays (vectors ``(n, d)``), as a dict.

        Raises
        ------
        DataError
            As :meth:`prepare` does.
        """
        arrays, hyper, _ = _validate(self._model, data)
        out = {s.name: a for s, a in zip(self._model.data, arrays)}
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


class PreparedGradient:
    """A :class:`CompiledGradient` bound to validated data: calls on flat parameter arrays.

    This is what optimizers use: ``grad(theta)``, ``value(theta)``, ``value_and_grad(theta)``
    with ``theta`` a flat float array, nothing validated or converted per call.
    """

    def __init__(self, compiled: CompiledGradient, arrays: tuple, hyper: tuple,
                 d: int | None, use_statistics: bool):
        self.compiled = compiled
        self.arrays, self.hyper, self.d = arrays, hyper, d
        self.n: int = arrays[0].shape[0]
        ns = compiled._ns
        width = sum(1 if a.ndim == 1 else a.shape[1] for a in arrays)
        self._chunk = {name: min(MAX_CHUNK_ROWS, max(64, CHUNK_BYTES // (8 * (width + b))))
                       for name, b in compiled._buffers.items()}
        self._dd = d or 0
        self.size: int = compiled._layout.size(d)
        self.statistics = None
        if use_statistics:
            self.statistics = ns["_stats"](arrays, self._dd, self._chunk["_stats"])
            stat_eval, stats = ns["_stat_eval"], self.statistics
            # evaluation from the sums only: these replace the methods of the general path
            self.value_and_grad = lambda theta: stat_eval(theta, hyper, stats, self._dd)
            self.grad = lambda theta: stat_eval(theta, hyper, stats, self._dd)[1]
            self.value = lambda theta: float(stat_eval(theta, hyper, stats, self._dd)[0])

    @property
    def param_names(self) -> tuple[str, ...]:
        return self.compiled.param_names

    def _run(self, kernel: str, theta: np.ndarray):
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

    def grad_rows(self, theta: np.ndarray, start: int, stop: int) -> np.ndarray:
        """∇ of the loss over rows ``start:stop`` only (a mini-batch), on the general path."""
        arrays = tuple(a[start:stop] for a in self.arrays)
        return self.compiled._ns["_grad"](theta, self.hyper, arrays, self._dd,
                                          self._chunk["_grad"])

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
        out, k = {}, 0
        for name, vector in zip(self.compiled._layout.names, self.compiled._layout.is_vector):
            width = self._dd if vector else 1
            out[name] = slice(k, k + width)
            k += width
        return out

    def unflatten(self, theta: np.ndarray) -> dict[str, float | np.ndarray]:
        """The flat vector ``theta`` as ``{name: float or (d,) array}``."""
        vectors = dict(zip(self.compiled._layout.names, self.compiled._layout.is_vector))
        return {name: np.array(theta[span], dtype=float) if vectors[name] else float(
            theta[span.start]) for name, span in self.spans().items()}


def _flatten(layout: _Layout, d: int | None, params: Any) -> np.ndarray:
    """``params`` (a dict by name, or an array) as a flat float array in layout order."""
    if not isinstance(params, Mapping):
        theta = np.array(params, dtype=float).ravel()
        if d is not None and theta.shape != (layout.size(d),):
            labels = [f"{n}[{d}]" if v else n for n, v in zip(layout.names, layout.is_vector)]
            raise DataError(f"params must be {layout.size(d)} numbers ({', '.join(labels)}), "
                            f"not {theta.size}")
        return theta
    named = {getattr(k, "name", k): v for k, v in params.items()}
    unknown = sorted(set(named) - set(layout.names))
    missing = [n for n in layout.names if n not in named]
    if unknown or missing:
        raise DataError(f"params must name exactly {', '.join(layout.names)}"
                        + (f"; missing {', '.join(missing)}" if missing else "")
                        + (f"; unknown {', '.join(unknown)}" if unknown else ""))
    pieces = []
    for name, vector in zip(layout.names, layout.is_vector):
        value = np.asarray(named[name], dtype=float)
        want = ((d if d is not None else value.size),) if vector else ()
        if value.shape != want:
            raise DataError(f"parameter {name} must have shape {want}, not {value.shape}")
        pieces.append(value.ravel())
    return np.concatenate(pieces)


def _describe(stat: _Statistic) -> str:
    """``"n"``, ``"Σx*y"``, ``"Σy·x"`` or ``"Σxxᵀ"``: a statistic as a reader would write it."""
    data = "" if stat.data == 1 else sympy.sstr(stat.data)
    vectors = [v.name for v in stat.vectors]
    if len(vectors) == 2:
        vectors[1] += "ᵀ"
    if not vectors:
        return f"Σ{data}" if data else "n"
    return "Σ" + (f"{data}·" if data else "") + "".join(vectors)


def _validate(model: _Model, data: Mapping[str, Any], only: frozenset | None = None
              ) -> tuple[tuple, tuple, int | None]:
    """Check and convert the data and hyperparameters; never modifies the caller's arrays.

    With ``only`` (a set of symbols), just those names are required and converted; the others
    come back as ``None``.
    """
    needed = [s for s in model.data if only is None or s in only]
    names = [s.name for s in needed]
    hyper_names = [h.name for h in model.hyper if only is None or h in only]
    unknown = sorted(set(data) - {s.name for s in model.data} - {h.name for h in model.hyper})
    if unknown:
        expected = f"data {', '.join(names)}" + (
            f" and hyperparameters {', '.join(hyper_names)}" if hyper_names else "")
        raise DataError(f"unknown name {unknown[0]!r}: the loss takes {expected}")
    for name in names:
        if name not in data:
            raise DataError(f"missing data {name!r}: the loss needs {', '.join(names)}")
    for name in hyper_names:
        if name not in data:
            raise DataError(f"missing hyperparameter {name!r}: pass it beside the data, "
                            f"e.g. {name}=0.1")
    arrays, n, d = [], None, None
    first = None
    for sym in model.data:
        if sym not in needed:
            arrays.append(None)
            continue
        name, vector = sym.name, sym in model.vector_data
        try:
            raw = np.asarray(data[name])
            if raw.dtype.kind not in "biuf":
                raise TypeError(raw.dtype)
            arr = np.ascontiguousarray(raw, dtype=np.float64)
        except (TypeError, ValueError):
            raise DataError(f"{name} must be an array of real numbers") from None
        if vector and arr.ndim == 1:
            arr = arr.reshape(-1, 1)
        want = 2 if vector else 1
        if arr.ndim != want:
            shape = "(n, d)" if vector else "(n,)"
            raise DataError(f"{name} must be a {want}-D array of shape {shape}, "
                            f"not shape {arr.shape}")
        if arr.shape[0] == 0 or arr.size == 0:
            raise DataError(f"{name} is empty: there is nothing to fit")
        if n is None:
            n, first = arr.shape[0], name
        elif arr.shape[0] != n:
            raise DataError(f"{name} has {arr.shape[0]} rows but {first} has {n}")
        if vector:
            if d is None:
                d = arr.shape[1]
            elif arr.shape[1] != d:
                raise DataError(f"{name} has {arr.shape[1]} columns; other vectors have {d}")
        finite = np.isfinite(arr)
        if not finite.all():
            row = int(np.argmin(finite.reshape(arr.shape[0], -1).all(axis=1)))
            raise DataError(f"{name} contains NaN or infinite values (first at row {row})")
        arrays.append(arr)
    hyper = []
    for name in (h.name for h in model.hyper):
        if name not in hyper_names:
            hyper.append(None)
            continue
        try:
            value = float(data[name])
        except (TypeError, ValueError):
            raise DataError(f"hyperparameter {name} must be a number") from None
        if not math.isfinite(value):
            raise DataError(f"hyperparameter {name} must be finite, not {value}")
        hyper.append(value)
    return tuple(arrays), tuple(hyper), d


# --------------------------------------------------------------------------- gradient check


@dataclass(frozen=True)
class GradientCheck:
    """The compiled gradient beside central finite differences of the compiled loss value."""

    analytic: np.ndarray
    numeric: np.ndarray
    relative_error: float
    tolerance: float

    @property
    def ok(self) -> bool:
        """Whether :attr:`relative_error` is within :attr:`tolerance`."""
        return bool(self.relative_error <= self.tolerance)

    def __repr__(self) -> str:
        verdict = "ok" if self.ok else "MISMATCH"
        return (f"<GradientCheck {verdict}: relative error {self.relative_error:.2e} "
                f"(tolerance {self.tolerance:.0e})>")


def check_gradient(loss: Any, params: Any, *, tolerance: float = 1e-6,
                   step: float | None = None, **data: Any) -> GradientCheck:
    """Compare the compiled gradient of ``loss`` with central finite differences.

    Parameters
    ----------
    loss : Loss or CompiledGradient
        The loss (compiled on the general path) or an already compiled gradient.
    params : dict or array
        Where to compare, as for :meth:`CompiledGradient.grad`.
    tolerance : float
        The largest acceptable ``‖g - g_fd‖ / max(‖g‖, ‖g_fd‖)``.
    step : float, optional
        The finite-difference step, relative to ``max(1, |θₖ|)``; default ``ε^(1/3)``.
    **data
        Data arrays and hyperparameter values.

    Returns
    -------
    GradientCheck
        ``analytic``, ``numeric``, ``relative_error`` and ``ok``.
    """
    compiled = loss if isinstance(loss, CompiledGradient) else compiled_for(
        loss, sufficient_statistics=False)
    prepared = compiled.prepare(**data)
    theta = prepared.flatten(params)
    analytic = np.asarray(prepared.grad(theta), dtype=float)
    h0 = np.finfo(float).eps ** (1 / 3) if step is None else float(step)
    numeric = np.empty_like(analytic)
    for k in range(theta.size):
        h = h0 * max(1.0, abs(theta[k]))
        up, down = theta.copy(), theta.copy()
        up[k] += h
        down[k] -= h
        numeric[k] = (prepared.general_value(up) - prepared.general_value(down)) / (
            up[k] - down[k])
    scale = max(np.linalg.norm(analytic), np.linalg.norm(numeric))
    error = float(np.linalg.norm(analytic - numeric) / scale) if scale > 0 else 0.0
    return GradientCheck(analytic, numeric, error, tolerance)
