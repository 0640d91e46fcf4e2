"""A loss over data, ``J(θ) = (1/n) Σᵢ ℓ(θ; xᵢ, yᵢ) + penalty(θ)``: the data model.

A :class:`Loss` holds the per-sample term ℓ, the parameters θ to learn, the names of the data
summed over, how the terms are reduced (mean or sum) and an optional penalty on the parameters
that is not summed over data. Symbols that are neither parameters nor data (``lam``, ``delta``)
are hyperparameters, held constant. Vectors enter through ``dot(w, x)``: every name used as an
argument of ``dot`` is a vector of dimension ``d``, and a vector parameter ``w`` is derived
component by component, ``∂J/∂w_j``, with the data row ``xᵢ`` and its component ``x_ij``.

Its gradient is read from its verified derivation, the steps a reader sees: the numeric
compiler (:mod:`calculus_ml.numeric`) takes the per-sample derivative from there. Second-order
questions (Hessian, convexity, closed form) are answered in :mod:`calculus_ml.analysis`; the
methods here only lead there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import cached_property
from typing import Any

import sympy

from ..derivation import Derivation, check_detail, derivation_of
from ..errors import ExpressionError
from ..functions import dot
from ..parsing import normalized_name, parse, parse_expression
from ..steps.rewrites import typed_over_data
from ..symbolic import Reduce, data_index, fresh_symbol, over_data, vector

__all__ = ["Loss", "LABEL_DOMAINS"]

LABEL_DOMAINS = {
    "binary": "0 or 1",
    "sign": "-1 or +1",
    "nonnegative": "at least 0",
    "one-hot": "one-hot: in each row one of them is 1 and the others 0",
}
"""The values a label may be restricted to (:attr:`Loss.labels`), each with how it reads."""


class Loss:
    """A loss over data, ready to be derived, compiled and minimised.

    Parameters
    ----------
    expression : str or sympy.Expr
        The per-sample term ℓ, e.g. ``"(y - (m*x + b))**2"``; text is parsed safely.
    params : list of str
        The parameters θ (the model's levers), in the order gradients are returned.
    data : list of str
        The per-sample data names (features and target).
    reduce : {"mean", "sum"}
        ``J`` averages (default) or sums the per-sample terms.
    regularization : str or sympy.Expr, optional
        A penalty on the parameters added once, not per sample (``"lam*m**2"``).
    name, title : str, optional
        A short identifier and a one-line human description.
    prediction : str or sympy.Expr, optional
        The model's prediction for one sample (``"m*x + b"``), when it has one.
    notes : sequence of str, optional
        Caveats shown with the derivation, e.g. where a derivative does not exist.
    matrix_gradient : dict or callable, optional
        ``{parameter name: matrix expression}``: the gradient in matrix form (``X`` the ``n × d``
        data matrix), for losses with vector parameters; or a function returning it, called
        when the form is first asked for.
    labels : dict, optional
        ``{data name: domain}``, a domain of :data:`LABEL_DOMAINS`: the values the loss is
        meant for (the log-loss needs ``y`` in {0, 1}). Data outside it are refused wherever the
        loss meets data (:func:`calculus_ml.numeric.compile_gradient` checks them). Several
        names marked ``"one-hot"`` are one one-hot label, a column per class.

    Raises
    ------
    ExpressionError
        For unsafe text, an empty parameter or data list, a name that does not occur, a name
        that is both a parameter and data, data inside the penalty, or a label that is not data
        or whose domain is unknown. (A vector used outside
        ``dot`` is refused when the loss is derived: see :attr:`objective`.)
    """

    def __init__(
        self,
        expression: str | sympy.Expr,
        params: Iterable[str],
        data: Iterable[str],
        reduce: Reduce = "mean",
        regularization: str | sympy.Expr | None = None,
        name: str | None = None,
        title: str | None = None,
        prediction: str | sympy.Expr | None = None,
        *,
        notes: Iterable[str] = (),
        matrix_gradient: (
            Mapping[str, sympy.Basic] | Callable[[], Mapping[str, sympy.Basic]] | None
        ) = None,
        labels: Mapping[str, str] | None = None,
    ):
        if reduce not in ("mean", "sum"):
            raise ExpressionError(f"reduce must be 'mean' or 'sum', not {reduce!r}")
        term, penalty = parse(expression), parse("0" if regularization is None else regularization)
        self.term, self.penalty = term.expr, penalty.expr
        self._typed = (term.typed, penalty.typed)
        self.prediction = None if prediction is None else parse_expression(prediction)
        self.reduce = reduce
        self.name = name or "custom"
        self.title = title or f"J = {self.reduce} of {sympy.sstr(self.term)}"
        self.notes = tuple(notes)
        self._matrix_gradient = matrix_gradient
        known = {s.name: s for s in self.term.free_symbols | self.penalty.free_symbols}
        self.params = _symbols(params, known, "parameter")
        self.data = _symbols(data, {s.name: s for s in self.term.free_symbols}, "data name")
        both = set(self.params) & set(self.data)
        if both:
            names = ", ".join(sorted(s.name for s in both))
            raise ExpressionError(f"{names} cannot be both a parameter and data")
        if self.penalty.free_symbols & set(self.data):
            raise ExpressionError("the penalty may only involve parameters and constants, not data")
        self.labels = _labels(labels or {}, {s.name for s in self.data})

    def _check_vectors(self) -> None:
        expr = self.term + self.penalty
        for call in expr.atoms(dot):
            if not all(arg.is_Symbol for arg in call.args):
                raise ExpressionError(f"dot takes two vector names, not {call}")
        outside = expr.xreplace({c: sympy.Dummy() for c in expr.atoms(dot)}).free_symbols
        misused = outside & self.vectors
        if misused:
            names = ", ".join(sorted(s.name for s in misused))
            raise ExpressionError(
                f"{names} is a vector (an argument of dot) and appears outside dot")

    @cached_property
    def matrix_gradient(self) -> dict[str, sympy.Basic] | None:
        """The gradient in matrix form, ``{parameter name: matrix expression}``, if given."""
        form = self._matrix_gradient
        form = form() if callable(form) else form
        return dict(form) if form else None

    @property
    def vectors(self) -> frozenset[sympy.Symbol]:
        """The symbols used as arguments of ``dot``: vectors of dimension ``d``."""
        expr = self.term + self.penalty
        return frozenset(a for call in expr.atoms(dot) for a in call.args if a.is_Symbol)

    @property
    def hyperparameters(self) -> tuple[sympy.Symbol, ...]:
        """Symbols that are neither parameters nor data, held constant (``lam``, ``delta``)."""
        free = (self.term + self.penalty).free_symbols - set(self.params) - set(self.data)
        return tuple(sorted(free, key=lambda s: s.name))

    @cached_property
    def objective(self) -> sympy.Expr:
        """``J`` as one SymPy expression: the reduced sum over ``i = 1..n`` plus the penalty.

        Data ``x`` become ``xᵢ`` (a vector ``x`` the row ``xᵢ``); a vector parameter ``w`` becomes
        the :class:`~sympy.IndexedBase` ``w`` whose components ``w_j`` are differentiated by.

        Raises
        ------
        ExpressionError
            If ``dot`` has an argument that is not a name, or a vector is used outside ``dot``.
        """
        self._check_vectors()
        total = over_data(self.term, self.data, self.reduce) + self.penalty
        return total.xreplace({v: vector(v) for v in self.vectors & set(self.params)})

    @cached_property
    def component_index(self) -> sympy.Symbol:
        """The index ``j`` of a vector parameter's component ``w_j``."""
        taken = {str(s) for s in self.objective.free_symbols}
        return fresh_symbol(("j", "k", "l", "p", "q"), taken, integer=True, positive=True)

    @cached_property
    def variables(self) -> tuple[sympy.Symbol | sympy.Indexed, ...]:
        """What ``J`` is differentiated by: each scalar θ, and ``w_j`` for each vector ``w``."""
        j = self.component_index
        return tuple(vector(p)[j] if p in self.vectors else p for p in self.params)

    def derive(self, *, verify: bool = True, detail: str = "standard") -> Derivation:
        """The step-by-step derivation of ``∂J/∂θ`` for every parameter θ (``∂J/∂w_j`` for a
        vector ``w``), every step checked against ``sympy.diff`` unless ``verify=False``, its
        displays at ``detail`` (see :func:`~calculus_ml.derive`)."""
        check_detail(detail)
        derivation = derivation_of(self.objective, self.variables, term=self.term, verify=verify,
                                   shown=self.shown)
        derivation.detail = detail
        if self.shown is not None:
            derivation.shown_term = self._typed[0]
        return derivation

    @cached_property
    def shown(self) -> sympy.Expr | None:
        """``J`` as its text was typed (the terms in their order, ``y − (m x + b)``), for display;
        None for a loss with a vector parameter, shown in SymPy's form."""
        if self.vectors & set(self.params):
            return None
        typed_term, typed_penalty = self._typed
        total = typed_over_data(typed_term, over_data(self.term, self.data, self.reduce), self.data)
        return total if self.penalty == 0 else sympy.Add(total, typed_penalty, evaluate=False)

    @cached_property
    def derivation(self) -> Derivation:
        """The verified derivation, built once: the gradient shown, and the one compiled."""
        return self.derive()

    def gradient(self) -> dict[sympy.Basic, sympy.Expr]:
        """The symbolic gradient ``{θ: ∂J/∂θ}`` over ``n`` data points, keyed by
        :attr:`variables` (``w_j`` for a vector ``w``)."""
        return self.derivation.results

    def sample_gradient(self) -> dict[sympy.Symbol, sympy.Expr]:
        """``{θ: ∂ℓ/∂θ}`` for one sample, in the plain data symbols, read from the verified
        derivation (the ``sum_over_data`` step's substep).

        For a vector parameter ``w`` the entry is the gradient vector: ``∂ℓ/∂w_j`` with each
        component ``x_j`` (and ``w_j``) written as the vector ``x`` (``w``), so an expression
        in which ``x`` stands for the vector.
        """
        return {theta: self._plain(self.derivation.parts(var)[0])
                for theta, var in zip(self.params, self.variables)}

    def penalty_gradient(self) -> dict[sympy.Symbol, sympy.Expr]:
        """``{θ: ∂penalty/∂θ}`` from the verified derivation, vectors as in
        :meth:`sample_gradient`."""
        return {theta: self._plain(self.derivation.parts(var)[1])
                for theta, var in zip(self.params, self.variables)}

    def _plain(self, expr: sympy.Expr) -> sympy.Expr:
        """``expr`` of the derivation in the loss's own symbols: ``xᵢ``, ``x_ij`` become ``x``
        and ``w``, ``w_j`` become ``w``; common factors collected."""
        plain: dict[sympy.Basic, sympy.Basic] = {}
        if expr.has(sympy.Indexed):
            i = data_index(self.objective)[0] if self.objective.has(sympy.Sum) else None
            j = self.component_index
            for s in self.data:
                plain[vector(s)[i]] = s
                plain[vector(s)[i, j]] = s
            for p in self.vectors & set(self.params):
                plain[vector(p)[j]] = p
        for p in self.vectors & set(self.params):
            plain[vector(p)] = p
        return sympy.factor_terms(_replaced(expr, plain))

    def gradient_function(self, backend: str = "numpy", **kw: Any):
        """The compiled numeric gradient, :func:`calculus_ml.numeric.compile_gradient`."""
        from ..numeric import compile_gradient

        return compile_gradient(self, backend=backend, **kw)

    # -- second order and closed form: calculus_ml.analysis --------------------------------

    def hessian(self) -> sympy.Matrix:
        """The symbolic Hessian of ``J`` over the sums; see
        :func:`~calculus_ml.analysis.hessian`."""
        from ..analysis import hessian

        return hessian(self)

    def convexity(self, data: Mapping[str, Any] | None = None):
        """Whether ``J`` is convex, and why; see :func:`~calculus_ml.analysis.convexity`."""
        from ..analysis import convexity

        return convexity(self, data)

    def learning_rate_bound(self, **data: Any) -> float | None:
        """``2/λ_max(H)`` on the data, for a quadratic ``J``, else None; see
        :func:`~calculus_ml.analysis.learning_rate_bound`."""
        from ..analysis import learning_rate_bound

        return learning_rate_bound(self, **data)

    def closed_form(self):
        """The minimiser in closed form, step by step; see
        :func:`~calculus_ml.analysis.closed_form`."""
        from ..analysis import closed_form

        return closed_form(self)

    def solve(self, **data: Any) -> dict[str, float | Any]:
        """The minimiser on the data, ``{name: value}``; see
        :func:`~calculus_ml.analysis.solve`."""
        from ..analysis import solve

        return solve(self, **data)

    def __repr__(self) -> str:
        names = ", ".join(p.name for p in self.params)
        return f"<Loss {self.name}: {self.title} (params {names})>"


def _labels(labels: Mapping[str, str], data: set[str]) -> dict[str, str]:
    for name, domain in labels.items():
        if name not in data:
            raise ExpressionError(f"label {name!r} is not data of the loss "
                                  f"({', '.join(sorted(data))})")
        if domain not in LABEL_DOMAINS:
            raise ExpressionError(f"label {name!r}: unknown domain {domain!r} (choose from "
                                  f"{', '.join(LABEL_DOMAINS)})")
    return dict(labels)


def _symbols(names: Iterable[str], known: dict[str, sympy.Symbol], kind: str) -> tuple:
    if isinstance(names, str):
        names = [names]
    names = list(names)
    if not names:
        raise ExpressionError(f"a loss needs at least one {kind}")
    out = []
    for name in names:
        if not isinstance(name, str):
            name = getattr(name, "name", name)
        if isinstance(name, str):
            name = normalized_name(name)  # as the expression's names are: ｘ is x
        if name not in known:
            found = ", ".join(sorted(known)) or "none"
            raise ExpressionError(
                f"{kind} {name!r} does not occur in the loss (its symbols: {found})")
        if known[name] not in out:
            out.append(known[name])
    return tuple(out)


def _replaced(expr: sympy.Basic, mapping: dict[sympy.Basic, sympy.Basic]) -> sympy.Basic:
    """``expr.xreplace(mapping)``, with each rewritten comparison put as ``lhs − rhs ≷ 0``:
    SymPy's evaluation of a piece whose condition is, e.g., ``e^{tanh b} − 3y ≥ b + m x − y``
    never ends."""
    if expr in mapping:
        return mapping[expr]
    if not expr.args:
        return expr
    args = [_replaced(a, mapping) for a in expr.args]
    if args == list(expr.args):
        return expr
    if isinstance(expr, sympy.core.relational.Relational):
        return expr.func(args[0] - args[1], 0)
    return expr.func(*args)
