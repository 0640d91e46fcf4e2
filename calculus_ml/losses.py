"""Losses over data, ``J(θ) = (1/n) Σᵢ ℓ(θ; xᵢ, yᵢ) + penalty(θ)``, and a catalogue of them.

A :class:`Loss` holds the per-sample term ℓ, the parameters θ to learn, the names of the data
summed over, how the terms are reduced (mean or sum) and an optional penalty on the parameters
that is not summed over data. Symbols that are neither parameters nor data (``lam``, ``delta``)
are hyperparameters, held constant. Vectors enter through ``dot(w, x)``: every name used as an
argument of ``dot`` is a vector of dimension ``d``, and a vector parameter ``w`` is derived
component by component, ``∂J/∂w_j``, with the data row ``xᵢ`` and its component ``x_ij``.

The catalogue: :func:`names` lists the named losses, :func:`get` builds one (``get("polynomial",
degree=3)``), :func:`describe` gives its one-line description and options.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property, partial
from typing import Any

import sympy
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.printing.pretty.stringpict import prettyForm

from .derivation import Derivation, Reduce, derivation_of, over_data
from .errors import ExpressionError
from .functions import dot, sigmoid
from .parsing import parse_expression
from .steps.rules import component

__all__ = ["Loss", "names", "get", "describe", "differentiate", "matrix_symbols", "Entry"]


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

    Raises
    ------
    ExpressionError
        For unsafe text, an empty parameter or data list, a name that does not occur, a name
        that is both a parameter and data, or data inside the penalty. (A vector used outside
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
    ):
        if reduce not in ("mean", "sum"):
            raise ExpressionError(f"reduce must be 'mean' or 'sum', not {reduce!r}")
        self.term = parse_expression(expression)
        self.penalty = (sympy.Integer(0) if regularization is None
                        else parse_expression(regularization))
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
        return total.xreplace({v: _vector(v) for v in self.vectors & set(self.params)})

    @cached_property
    def component_index(self) -> sympy.Symbol:
        """The index ``j`` of a vector parameter's component ``w_j``."""
        taken = {str(s) for s in self.objective.free_symbols}
        name = next(c for c in ("j", "k", "l", "p", "q") if c not in taken)
        return sympy.Symbol(name, integer=True, positive=True)

    @cached_property
    def variables(self) -> tuple[sympy.Symbol | sympy.Indexed, ...]:
        """What ``J`` is differentiated by: each scalar θ, and ``w_j`` for each vector ``w``."""
        j = self.component_index
        return tuple(_vector(p)[j] if p in self.vectors else p for p in self.params)

    def derive(self, *, verify: bool = True) -> Derivation:
        """The step-by-step derivation of ``∂J/∂θ`` for every parameter θ (``∂J/∂w_j`` for a
        vector ``w``), every step checked against ``sympy.diff`` unless ``verify=False``."""
        return derivation_of(self.objective, self.variables, term=self.term, verify=verify)

    @cached_property
    def _derivation(self) -> Derivation:
        return self.derive()

    def gradient(self) -> dict[sympy.Basic, sympy.Expr]:
        """The symbolic gradient ``{θ: ∂J/∂θ}`` over ``n`` data points, keyed by
        :attr:`variables` (``w_j`` for a vector ``w``)."""
        return self._derivation.results

    def sample_gradient(self) -> dict[sympy.Symbol, sympy.Expr]:
        """``{θ: ∂ℓ/∂θ}`` for one sample, in the plain data symbols.

        For a vector parameter ``w`` the entry is the gradient vector: terms of ``dot(w, x)``
        contribute ``∂ℓ/∂(w·x) · x`` (so an expression in which ``x`` stands for the vector).
        """
        return {theta: sympy.factor_terms(differentiate(self.term, theta)) for theta in self.params}

    def penalty_gradient(self) -> dict[sympy.Symbol, sympy.Expr]:
        """``{θ: ∂penalty/∂θ}``, vectors handled as in :meth:`sample_gradient`."""
        return {theta: sympy.factor_terms(differentiate(self.penalty, theta))
                for theta in self.params}

    def gradient_function(self, backend: str = "numpy", **kw: Any):
        """The compiled numeric gradient, :func:`calculus_ml.numeric.compile_gradient`."""
        from .numeric import compile_gradient

        return compile_gradient(self, backend=backend, **kw)

    # -- second order and closed form (see calculus_ml.second_order) ---------------------------

    def hessian(self) -> sympy.Matrix:
        """The symbolic Hessian of ``J`` over the sums; see
        :func:`~calculus_ml.second_order.hessian`."""
        from .second_order import hessian

        return hessian(self)

    def convexity(self, data: Mapping[str, Any] | None = None):
        """Whether ``J`` is convex, and why; see :func:`~calculus_ml.second_order.convexity`."""
        from .second_order import convexity

        return convexity(self, data)

    def learning_rate_bound(self, **data: Any) -> float | None:
        """``2/λ_max(H)`` on the data, for a quadratic ``J``, else None; see
        :func:`~calculus_ml.second_order.learning_rate_bound`."""
        from .second_order import learning_rate_bound

        return learning_rate_bound(self, **data)

    def closed_form(self):
        """The minimiser in closed form, step by step; see
        :func:`~calculus_ml.second_order.closed_form`."""
        from .second_order import closed_form

        return closed_form(self)

    def solve(self, **data: Any) -> dict[str, float | Any]:
        """The minimiser on the data, ``{name: value}``; see
        :func:`~calculus_ml.second_order.solve`."""
        from .second_order import solve

        return solve(self, **data)

    def __repr__(self) -> str:
        names = ", ".join(p.name for p in self.params)
        return f"<Loss {self.name}: {self.title} (params {names})>"


def differentiate(expr: sympy.Expr, var: sympy.Basic) -> sympy.Expr:
    """``∂expr/∂var`` with ``sympy.diff``, inner products and sums over data handled.

    ``var`` is a symbol, or a component ``w[j]`` of a vector parameter. Each ``dot(a, b)``
    contributes ``∂f/∂(a·b)`` times ``b`` (``a`` is the symbol ``var``) or ``b_j`` (``a`` is the
    vector ``w``); a sum over data is differentiated term by term.
    """
    sums = {s: sympy.Dummy(real=True) for s in expr.atoms(sympy.Sum)}
    flat = expr.xreplace(sums)
    calls = {call: sympy.Dummy(real=True) for call in flat.atoms(dot)}
    flat = flat.xreplace(calls)
    total = sympy.diff(flat, var)
    for call, z in calls.items():
        total += sympy.diff(flat, z) * _dot_derivative(call, var)
    for s, z in sums.items():
        total += sympy.diff(flat, z) * sympy.Sum(differentiate(s.function, var), *s.limits)
    back = {z: c for c, z in calls.items()} | {z: s for s, z in sums.items()}
    return total.xreplace(back)


def _dot_derivative(call: dot, var: sympy.Basic) -> sympy.Expr:
    """``∂(a·b)/∂var``: ``b`` for ``var = a`` a vector symbol, ``b_j`` for ``var = a_j``."""
    a, b = call.args
    if isinstance(var, sympy.Indexed):
        (j,) = var.indices
        return sympy.Add(*(component(o, j) for v, o in ((a, b), (b, a)) if v == var.base))
    return sympy.Add(*(o for v, o in ((a, b), (b, a)) if v == var))


def _vector(symbol: sympy.Symbol) -> sympy.IndexedBase:
    return sympy.IndexedBase(symbol.name, real=True)


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
        if name not in known:
            found = ", ".join(sorted(known)) or "none"
            raise ExpressionError(
                f"{kind} {name!r} does not occur in the loss (its symbols: {found})")
        if known[name] not in out:
            out.append(known[name])
    return tuple(out)


# -- the catalogue ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """A named loss of the catalogue: a description, option defaults and a builder."""

    name: str
    description: str
    build: Callable[..., Loss]
    options: Mapping[str, Any] = field(default_factory=dict)


_CATALOGUE: dict[str, Entry] = {}


def _entry(name: str, description: str, **options: Any) -> Callable:
    def register(build: Callable[..., Loss]) -> Callable[..., Loss]:
        _CATALOGUE[name] = Entry(name, description, build, options)
        return build

    return register


def names() -> list[str]:
    """The names of the catalogue's losses, in catalogue order."""
    return list(_CATALOGUE)


def describe(name: str) -> Entry:
    """The catalogue entry ``name`` (description and option defaults).

    Raises
    ------
    ExpressionError
        For a name not in the catalogue.
    """
    if name not in _CATALOGUE:
        raise ExpressionError(f"unknown loss {name!r} (choose from {', '.join(_CATALOGUE)})")
    return _CATALOGUE[name]


def get(name: str, **options: Any) -> Loss:
    """Build the catalogue's loss ``name``, e.g. ``get("mse")`` or ``get("softmax", k=4)``.

    Raises
    ------
    ExpressionError
        For an unknown name (the message lists the catalogue), an option the loss does not
        take, or a bad option value.
    """
    entry = describe(name)
    for option in options:
        if option not in entry.options:
            takes = ", ".join(f"{k}={v!r}" for k, v in entry.options.items()) or "no options"
            raise ExpressionError(f"loss {name!r} has no option {option!r} (it takes {takes})")
    loss = entry.build(**{**entry.options, **options})
    loss.name = name
    return loss


def _option(value: Any, name: str, kind: type, least: int | None = None, choices=()) -> Any:
    if kind is int and (isinstance(value, bool) or not isinstance(value, int) or value < least):
        raise ExpressionError(f"option {name} must be an integer ≥ {least}, not {value!r}")
    if kind is bool and not isinstance(value, bool):
        raise ExpressionError(f"option {name} must be True or False, not {value!r}")
    if choices and value not in choices:
        raise ExpressionError(f"option {name} must be one of {', '.join(choices)}, not {value!r}")
    return value


def _linear(vector: bool, slope: str = "w") -> str:
    _option(vector, "vector", bool)
    return "dot(w, x) + b" if vector else f"{slope}*x + b"


_KINK = "{what} has no derivative where {where}; there the package uses the subgradient {used}."


@_entry("mse", "mean squared error of the regression line y = m x + b (the lesson's model)")
def _mse() -> Loss:
    return Loss("(y - (m*x + b))**2", ["m", "b"], ["x", "y"], title=describe("mse").description,
                prediction="m*x + b")


@_entry("rss", "residual sum of squares of the line y = m x + b (a sum, not a mean)")
def _rss() -> Loss:
    return Loss("(y - (m*x + b))**2", ["m", "b"], ["x", "y"], reduce="sum",
                title=describe("rss").description, prediction="m*x + b")


@_entry("mae", "mean absolute error of the line y = m x + b")
def _mae() -> Loss:
    note = _KINK.format(what="|yᵢ − (m xᵢ + b)|", where="a residual is 0 (yᵢ = m xᵢ + b)",
                        used="sign(0) = 0 (that point does not pull the line)")
    return Loss("abs(y - (m*x + b))", ["m", "b"], ["x", "y"], title=describe("mae").description,
                prediction="m*x + b", notes=[note])


@_entry("huber", "Huber loss of the line y = m x + b: squared near 0, absolute beyond δ")
def _huber() -> Loss:
    m, b, x, y = sympy.symbols("m b x y", real=True)
    delta = sympy.Symbol("delta", positive=True)
    r = y - (m * x + b)
    term = sympy.Piecewise((r**2 / 2, sympy.Abs(r) <= delta),
                           (delta * (sympy.Abs(r) - delta / 2), True))
    note = ("The Huber loss is differentiable everywhere (its pieces meet with equal slopes ±δ "
            "at |r| = δ), but its second derivative jumps there; at |r| = δ exactly the "
            "quadratic piece's formula is used. The slope of |r| at r = 0 is never needed.")
    return Loss(term, ["m", "b"], ["x", "y"], title=describe("huber").description,
                prediction=m * x + b, notes=[note])


@_entry("ridge", "squared error of a line (or of w·x + b) plus the ridge penalty λ‖slope‖²",
        vector=False)
def _ridge(vector: bool) -> Loss:
    penalty = "lam*dot(w, w)" if vector else "lam*m**2"
    linear = _linear(vector, "m")
    return Loss(f"(y - ({linear}))**2", ["w" if vector else "m", "b"], ["x", "y"],
                regularization=penalty, title=describe("ridge").description, prediction=linear,
                matrix_gradient=partial(_least_squares_matrix_gradient, ridge=True)
                if vector else None)


@_entry("lasso", "squared error of the line y = m x + b plus the lasso penalty λ|m|")
def _lasso() -> Loss:
    note = _KINK.format(what="The penalty λ|m|", where="m = 0",
                        used="sign(0) = 0 (the penalty adds no slope at m = 0)")
    return Loss("(y - (m*x + b))**2", ["m", "b"], ["x", "y"], regularization="lam*abs(m)",
                title=describe("lasso").description, prediction="m*x + b", notes=[note])


@_entry("polynomial", "squared error of a polynomial of degree k in x (w_k x^k + ... + w1 x + b)",
        degree=2)
def _polynomial(degree: int) -> Loss:
    _option(degree, "degree", int, least=1)
    prediction = " + ".join([f"w{p}*x**{p}" for p in range(degree, 1, -1)] + ["w1*x", "b"])
    params = [f"w{p}" for p in range(1, degree + 1)] + ["b"]
    return Loss(f"(y - ({prediction}))**2", params, ["x", "y"],
                title=f"squared error of a polynomial of degree {degree} in x",
                prediction=prediction)


@_entry("multiple-regression", "mean squared error of y = w·x + b, x a vector of d features")
def _multiple_regression() -> Loss:
    return Loss("(y - (dot(w, x) + b))**2", ["w", "b"], ["x", "y"],
                title=describe("multiple-regression").description, prediction="dot(w, x) + b",
                matrix_gradient=partial(_least_squares_matrix_gradient, ridge=False))


@_entry("logistic", "log-loss of the probability p = σ(w x + b) (σ(w·x + b) with vector=True)",
        vector=False)
def _logistic(vector: bool) -> Loss:
    z = _linear(vector)
    return Loss(f"-y*log(sigmoid({z})) - (1 - y)*log(1 - sigmoid({z}))", ["w", "b"], ["x", "y"],
                title=describe("logistic").description, prediction=f"sigmoid({z})",
                matrix_gradient=_logistic_matrix_gradient if vector else None)


@_entry("softmax", "cross-entropy of k classes, logits z_c = w_c x + b_c, one-hot y_c", k=3)
def _softmax(k: int) -> Loss:
    _option(k, "k", int, least=2)
    logits = [f"(w{c}*x + b{c})" for c in range(1, k + 1)]
    term = (f"log({' + '.join(f'exp{z}' for z in logits)}) - ("
            + " + ".join(f"y{c}*{z}" for c, z in enumerate(logits, 1)) + ")")
    params = [f"w{c}" for c in range(1, k + 1)] + [f"b{c}" for c in range(1, k + 1)]
    data = ["x"] + [f"y{c}" for c in range(1, k + 1)]
    return Loss(term, params, data, title=f"cross-entropy of {k} classes (softmax of the logits)")


@_entry("hinge", "hinge loss max(0, 1 − y (w x + b)) of a linear classifier, y = ±1",
        vector=False)
def _hinge(vector: bool) -> Loss:
    z = _linear(vector)
    note = _KINK.format(what="max(0, 1 − yᵢ zᵢ)", where="yᵢ zᵢ = 1 (zᵢ the score)",
                        used="0, the slope of the flat piece (the first piece listed)")
    return Loss(f"max(0, 1 - y*({z}))", ["w", "b"], ["x", "y"], title=describe("hinge").description,
                prediction=z, notes=[note])


@_entry("poisson", "Poisson regression: negative log-likelihood of the rate exp(w x + b)",
        vector=False)
def _poisson(vector: bool) -> Loss:
    z = _linear(vector)
    return Loss(f"exp({z}) - y*({z})", ["w", "b"], ["x", "y"],
                title=describe("poisson").description, prediction=f"exp({z})")


@_entry("neuron", "squared error of one neuron, y ≈ σ(w x + b) (or tanh)", activation="sigmoid",
        vector=False)
def _neuron(activation: str, vector: bool) -> Loss:
    _option(activation, "activation", str, choices=("sigmoid", "tanh"))
    prediction = f"{activation}({_linear(vector)})"
    return Loss(f"(y - {prediction})**2", ["w", "b"], ["x", "y"],
                title=describe("neuron").description, prediction=prediction)


# -- matrix forms ------------------------------------------------------------------------------


class ElementwiseSigmoid(ElementwiseApplyFunction):
    """The sigmoid applied to every entry of a column: ``ElementwiseSigmoid(sigmoid, A)``,
    printed ``σ(A)``."""

    def _latex(self, printer, *args):
        return rf"\sigma\left({printer._print(self.expr)}\right)"

    def _pretty(self, printer, *args):
        return prettyForm(*prettyForm(*printer._print(self.expr).parens()).left("σ"))


def matrix_symbols() -> dict[str, sympy.Basic]:
    """The matrix forms' symbols: ``X`` (n × d), ``w`` (d × 1), ``y`` (n × 1), ``b``, ``lam``,
    ``n``, ``d`` and the column of ones ``𝟙`` (n × 1)."""
    n, d = sympy.symbols("n d", integer=True, positive=True)
    return {
        "X": sympy.MatrixSymbol("X", n, d), "w": sympy.MatrixSymbol("w", d, 1),
        "y": sympy.MatrixSymbol("y", n, 1), "b": sympy.Symbol("b", real=True),
        "lam": sympy.Symbol("lam", real=True), "n": n, "d": d, "1": sympy.OneMatrix(n, 1),
    }


def _least_squares_matrix_gradient(ridge: bool) -> dict[str, sympy.MatrixExpr]:
    """``∇_w J = (2/n) Xᵀ(Xw + b𝟙 − y) [+ 2λw]`` and ``∂J/∂b = (2/n) 𝟙ᵀ(Xw + b𝟙 − y)``."""
    s = matrix_symbols()
    residual = s["X"] * s["w"] + s["b"] * s["1"] - s["y"]
    grad_w = 2 / s["n"] * s["X"].T * residual
    if ridge:
        grad_w = grad_w + 2 * s["lam"] * s["w"]
    return {"w": grad_w, "b": 2 / s["n"] * s["1"].T * residual}


def _logistic_matrix_gradient() -> dict[str, sympy.MatrixExpr]:
    """``∇_w J = Xᵀ(σ(Xw + b𝟙) − y)/n`` and ``∂J/∂b = 𝟙ᵀ(σ(Xw + b𝟙) − y)/n``."""
    s = matrix_symbols()
    error = ElementwiseSigmoid(sigmoid, s["X"] * s["w"] + s["b"] * s["1"]) - s["y"]
    return {"w": s["X"].T * error / s["n"], "b": s["1"].T * error / s["n"]}
