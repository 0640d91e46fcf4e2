"""A :class:`~calculus_ml.losses.Loss` lowered to what the code generator needs.

:class:`_Model` validates the loss's symbols and names each one by a generated identifier
(``p_0`` for parameters, ``d_0`` for data, ``h_0`` for hyperparameters), replaces every
``dot(a, b)`` by a placeholder (a per-sample column ``X @ w``, a row-wise product of two data
vectors, or a scalar product of two parameter vectors), and takes the loss apart:

* the per-sample term ℓ and its value with stable logarithms (:func:`_stable_logs`);
* each parameter's gradient as :class:`_Reduction` objects, sums over the samples, a vector
  parameter's gradient being linear in the data vectors;
* the penalty and its gradient, which involve no data;
* when ℓ is a polynomial in the parameters, :meth:`_Model.polynomial`: its terms as a scalar
  coefficient times a data monomial, the source of the sufficient statistics.

Nothing is multiplied out that would grow past :data:`~calculus_ml.symbolic.MAX_TERMS` terms
(estimated beforehand): such a loss takes the general path, its gradient printed as it is.

:class:`_Layout` says where each parameter sits in the flat parameter vector.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import sympy

from ..caching import remembered
from ..functions import dot, multiplied_out, sigmoid, softplus
from ..losses.matrix import softmax_classes
from ..symbolic import check_time, smallest, within_terms
from .codegen import CompileError, _check_printable

_MAX_POLY_TERMS = 400  # beyond this many monomials the general path is cheaper to generate


@dataclass(frozen=True)
class _Reduction:
    """One sum over samples: ``Σᵢ expr`` (``vector is None``), ``Σᵢ expr·vector_i`` (d,), or
    with a ``second`` data vector the weighted Gram matrix ``Σᵢ expr·vector_i second_iᵀ`` (d, d)."""

    expr: sympy.Expr
    vector: sympy.Symbol | None = None
    second: sympy.Symbol | None = None


# --------------------------------------------------------------------------- the lowered loss


class _Model:
    """A loss taken apart for code generation: symbols validated and given safe identifiers.

    Each ``dot(a, b)`` becomes a placeholder: ``dot(w, x)`` of a parameter and a data vector is a
    per-sample column ``X @ w``; two data vectors give a row-wise product; two parameter vectors
    a scalar.
    """

    def __init__(self, loss: Any):
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
        self._loss = loss
        self.classes = softmax_classes(loss)  # then the kernels are the index form's (.indexed)
        if self.classes is None:  # lowered now, so that the gradients' dots join the arrays
            self._lowered  # noqa: B018
        self.arrays = frozenset(s for s in self.data if s not in vectors) | frozenset(
            self.linear) | frozenset(self.rowwise)

    @functools.cached_property
    def _lowered(self) -> tuple[sympy.Expr, dict, dict]:
        """``(value_term, grad_terms, grad_penalty)`` from the verified derivation.

        Lowered at construction, except for a loss compiled from its index form: then only when
        something other than its kernels asks for them.
        """
        sample_grad = self._loss.sample_gradient()
        penalty_grad = self._loss.penalty_gradient() if self.penalty != 0 else {}
        return (_stable_logs(self.term),
                {p: self._split(sample_grad[p], p, True) for p in self.params},
                {p: self._split(penalty_grad.get(p, sympy.Integer(0)), p, False)
                 for p in self.params})

    @property
    def value_term(self) -> sympy.Expr:
        """J's per-sample term, logs written stably."""
        return self._lowered[0]

    @property
    def grad_terms(self) -> dict[sympy.Symbol, list[_Reduction]]:
        """The per-sample gradient of each parameter, as reductions over the data."""
        return self._lowered[1]

    @property
    def grad_penalty(self) -> dict[sympy.Symbol, list[_Reduction]]:
        """The penalty's gradient of each parameter, as reductions."""
        return self._lowered[2]

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
        grad = grad.replace(lambda e: isinstance(e, sympy.Piecewise), _as_clip)
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
        rest = sympy.piecewise_fold(rest)
        if rest != 0 and (not within_terms(rest) or sympy.expand(rest) != 0):
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
        if not within_terms(self.term):
            return None
        check_time()
        expanded = multiplied_out(self.term)
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


def stable_log(arg: sympy.Expr) -> sympy.Expr:
    """``log(arg)``, through softplus where that avoids ``log(0)`` for large ``|u|``.

    ``log σ(u) = u − softplus(u)``, ``log(1 − σ(u)) = −softplus(u)`` and
    ``log(1 + eᵘ) = softplus(u)``; softplus is evaluated as ``max(u, 0) + log1p(e^(−|u|))``.
    The one such rewrite of the package: the kernels and the plots' grids both use it.
    """
    if isinstance(arg, sigmoid):
        return arg.args[0] - softplus(arg.args[0])
    if arg.is_Add and len(arg.args) == 2 and sympy.S.One in arg.args:
        other = arg - 1
        if isinstance(-other, sigmoid):
            return -softplus((-other).args[0])
        if isinstance(other, sympy.exp):
            return softplus(other.args[0])
    return sympy.log(arg)


def _stable_logs(expr: sympy.Expr) -> sympy.Expr:
    """``expr`` with every ``log`` rewritten by :func:`stable_log`, then simplified."""
    return _cheapest(expr.replace(sympy.log, stable_log)) if expr.has(sympy.log) else expr


def _as_clip(piecewise: sympy.Piecewise) -> sympy.Expr:
    """``k·u`` where ``|u| ≤ δ``, ``k·δ·sign(u)`` elsewhere (δ > 0) as ``k·clip(u, −δ, δ)``.

    The gradient of the Huber loss is this kink; ``Max``/``Min`` print as two in-place ufuncs
    where ``Piecewise`` prints as ``where`` of two whole arrays. Anything else is left as it is.
    """
    (e1, cond), *rest = piecewise.args
    if len(rest) != 1 or rest[0].cond != sympy.true or not cond.is_Relational or len(
            cond.atoms(sympy.Abs)) != 1:
        return piecewise
    (absolute,) = cond.atoms(sympy.Abs)
    u = absolute.args[0]
    if isinstance(cond, sympy.GreaterThan):
        delta = cond.lhs - cond.rhs + absolute
    elif isinstance(cond, sympy.LessThan):
        delta = cond.rhs - cond.lhs + absolute
    else:
        return piecewise
    if delta.has(sympy.Abs) or delta.is_positive is not True or not within_terms(e1):
        return piecewise
    k = sympy.cancel(e1 / u)
    if k.has(u) or sympy.expand(rest[0].expr - k * delta * sympy.sign(u)) != 0:
        return piecewise
    return k * sympy.Max(-delta, sympy.Min(u, delta))


@remembered(maxsize=512)
def _cheapest(expr: sympy.Expr) -> sympy.Expr:
    """The cheapest of ``expr``, its expansion and the expansion's factored terms (by op count);
    ``expr`` itself when its expansion would be too long."""
    if not within_terms(expr):
        return expr
    expanded = multiplied_out(expr)
    return smallest(expr, expanded, sympy.factor_terms(expanded))


# --------------------------------------------------------------------------- the flat vector


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

    def total(self) -> str:
        """The length of the flat vector, as a source expression in ``d``."""
        n_vector = sum(self.is_vector)
        return _affine(len(self.names) - n_vector, n_vector)

    def size(self, d: int | None) -> int:
        """The length of the flat vector when vectors have ``d`` entries."""
        n_vector = sum(self.is_vector)
        return len(self.names) - n_vector + n_vector * (d or 0)

    def spans(self, d: int) -> dict[str, slice]:
        """Where each parameter sits in the flat vector: ``{name: slice}``."""
        out, k = {}, 0
        for name, vector in zip(self.names, self.is_vector):
            width = d if vector else 1
            out[name] = slice(k, k + width)
            k += width
        return out


def _affine(a: int, b: int) -> str:
    """``a + b*d`` as source, without the zero terms."""
    return str(a) if b == 0 else (f"{b}*d" if a == 0 else f"{a} + {b}*d")
