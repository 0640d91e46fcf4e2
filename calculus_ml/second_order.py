"""Second order and closed form of a :class:`~calculus_ml.losses.Loss`.

* :func:`hessian` -- the symbolic Hessian of ``J`` over the sums (index notation for vectors).
* :func:`convexity` -- convex / not convex / undetermined, with the reason. The symbolic argument
  writes the per-sample term as ``f(u₁, ..., u_r)`` of forms ``u`` affine in the parameters, so
  its Hessian is ``Jᵤᵀ ∇²f Jᵤ``: positive semidefinite when ``∇²f`` is (for one form, when
  ``f'' ≥ 0``; kinked terms by the rules |affine|, max of convex, nonnegative multiples and sums).
  A one-point data set where ``f'' < 0`` shows a loss is not convex. On given data the
  eigenvalues of the Hessian decide for a quadratic ``J``.
* :func:`learning_rate_bound` -- ``2/λ_max(H)`` for a quadratic ``J``: gradient descent with a
  constant rate converges exactly when the rate is below it.
* :func:`closed_form` and :func:`solve` -- where ``∇J = 0`` is linear in the parameters (least
  squares, with or without a quadratic penalty): the normal equations step by step, and their
  numeric solution on data.

Hyperparameters (``lam``, ``delta``) are taken to be nonnegative in the symbolic arguments.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import sympy

from .derivation import tidy
from .errors import DataError, ExpressionError, VerificationError
from .functions import dot, to_elementary
from .losses import Loss, differentiate
from .steps.rules import Fact
from .steps.verify import concretize_sums, real_value

__all__ = ["hessian", "convexity", "learning_rate_bound", "closed_form", "solve", "Convexity",
           "ClosedForm", "SolutionStep", "is_quadratic"]

Verdict = Literal["convex", "not convex", "undetermined"]
_KINKED = (sympy.Abs, sympy.Max, sympy.Min, sympy.Piecewise, sympy.sign, sympy.Heaviside)


# -- the Hessian -------------------------------------------------------------------------------


def hessian(loss: Loss) -> sympy.Matrix:
    """The symbolic Hessian ``∂²J/∂θₐ∂θ_b`` over ``n`` data points, rows and columns in
    :attr:`Loss.variables` order.

    For a vector parameter ``w`` the row is ``w_j`` and the column ``w_k``: the entry
    ``∂²J/∂w_j∂w_k`` stands for the ``d × d`` block, e.g. ``(2/n) Σᵢ x_ij x_ik`` for least squares.
    """
    k = _second_index(loss)
    columns = [v.base[k] if isinstance(v, sympy.Indexed) else v for v in loss.variables]
    rows = []
    for var in loss.variables:
        first = differentiate(loss.objective, var)
        rows.append([tidy(differentiate(first, col)) for col in columns])
    return sympy.Matrix(rows)


def _second_index(loss: Loss) -> sympy.Symbol:
    taken = {str(s) for s in loss.objective.free_symbols} | {loss.component_index.name}
    name = next(c for c in ("k", "l", "p", "q", "r") if c not in taken)
    return sympy.Symbol(name, integer=True, positive=True)


# -- the parameters as polynomial generators ------------------------------------------------


@dataclass(frozen=True)
class _Flat:
    """An expression in plain generators: the scalar parameters, one token ``t`` per
    ``dot(w, x)`` (linear in ``w``) and one ``s_w`` per vector parameter ``w``, ``dot(w, w) = s_w²``
    (``back`` maps tokens and ``s_w²`` to their dots, ``norms`` each vector to its ``s_w``)."""

    expr: sympy.Expr
    gens: tuple[sympy.Symbol, ...]
    back: dict[sympy.Expr, sympy.Expr]
    norms: dict[sympy.Symbol, sympy.Symbol]

    def shown(self, expr: sympy.Expr) -> sympy.Expr:
        """``expr`` with the dots put back."""
        return expr.xreplace(self.back)


def _flat(expr: sympy.Expr, loss: Loss) -> _Flat:
    params = set(loss.params)
    norms = {p: sympy.Dummy(f"‖{p}‖", real=True) for p in params & loss.vectors}
    replace = {}
    for call in expr.atoms(dot):
        a, b = call.args
        if a in norms and b in norms:
            replace[call] = norms[a] * norms[b]
        elif a in norms or b in norms:
            replace[call] = sympy.Dummy(f"({sympy.sstr(call)})", real=True)
    tokens = tuple(t for t in replace.values() if t.is_Symbol)
    scalars = tuple(p for p in loss.params if p not in norms)
    back = {t: call for call, t in replace.items()}
    return _Flat(expr.xreplace(replace), scalars + tuple(norms.values()) + tokens, back, norms)


def is_quadratic(loss: Loss) -> bool:
    """Whether ``J`` is a polynomial of degree at most 2 in the parameters (``∇J`` linear)."""
    flat = _flat(loss.term + loss.penalty, loss)
    poly = flat.expr.as_poly(*flat.gens)
    return poly is not None and poly.total_degree() <= 2


# -- quadratic losses on data: the Hessian, the learning-rate bound, the minimiser ----------


def _prepared(loss: Loss, data: Mapping[str, Any]):
    from .numeric import compiled_for

    return compiled_for(loss).prepare(**data)


def _quadratic_parts(loss: Loss, data: Mapping[str, Any]):
    """``(H, g₀, prepared)`` with ``∇J(θ) = Hθ + g₀`` exactly, for a quadratic ``J``."""
    prepared = _prepared(loss, data)
    zero = np.zeros(prepared.size)
    g0 = prepared.grad(zero)
    columns = [prepared.grad(unit) - g0 for unit in np.eye(prepared.size)]
    H = np.array(columns).T
    return (H + H.T) / 2, g0, prepared


def learning_rate_bound(loss: Loss, **data: Any) -> float | None:
    """The largest stable constant learning rate of gradient descent, ``2/λ_max(H)``.

    For a quadratic ``J`` the Hessian ``H`` depends only on the data, and gradient descent
    ``θ ← θ − η∇J`` converges for every start exactly when ``0 < η < 2/λ_max``.

    Parameters
    ----------
    loss : Loss
    **data : array_like or float
        The data arrays by name (``(n, d)`` for a vector) and the hyperparameters' values.

    Returns
    -------
    float or None
        The bound; None when ``J`` is not quadratic or ``H`` has no positive eigenvalue.

    Raises
    ------
    DataError
        For missing or malformed data.
    """
    if not is_quadratic(loss):
        return None
    H, _, _ = _quadratic_parts(loss, data)
    top = float(np.linalg.eigvalsh(H)[-1])
    return 2 / top if top > 0 else None


def solve(loss: Loss, **data: Any) -> dict[str, float | np.ndarray]:
    """The minimiser of a quadratic ``J`` on the data: the solution of ``∇J = Hθ + g₀ = 0``.

    Returns
    -------
    dict
        ``{name: value}``, a ``(d,)`` array for a vector parameter.

    Raises
    ------
    ExpressionError
        When ``∇J = 0`` is not linear in the parameters (no closed form: use gradient descent).
    DataError
        For missing or malformed data, or data that do not determine a unique minimum
        (a singular or indefinite Hessian, e.g. every ``x`` equal).
    """
    if not is_quadratic(loss):
        raise ExpressionError(f"∇J = 0 is not linear in the parameters of {loss.name}: "
                              "no closed form (use gradient descent)")
    H, g0, prepared = _quadratic_parts(loss, data)
    eigenvalues = np.linalg.eigvalsh(H)
    if eigenvalues[0] <= 1e-12 * max(1.0, abs(eigenvalues[-1])):
        raise DataError("these data do not determine a unique minimum: the normal equations "
                        "are singular or J is unbounded below (Hessian eigenvalues "
                        f"{eigenvalues[0]:.3g} to {eigenvalues[-1]:.3g}); e.g. all x equal, or "
                        "fewer points than parameters")
    return prepared.unflatten(np.linalg.solve(H, -g0))


# -- convexity -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Convexity:
    """A verdict on the convexity of ``J``, with the reason (and the Hessian's eigenvalues when
    they were computed from data)."""

    verdict: Verdict
    reason: str
    eigenvalues: np.ndarray | None = field(default=None, compare=False)

    @property
    def convex(self) -> bool | None:
        """True, False, or None when undetermined."""
        return {"convex": True, "not convex": False}.get(self.verdict)

    def __str__(self) -> str:
        return f"{self.verdict}: {self.reason}"


def convexity(loss: Loss, data: Mapping[str, Any] | None = None) -> Convexity:
    """Whether ``J`` is convex in its parameters, and why.

    Parameters
    ----------
    loss : Loss
    data : dict, optional
        Data arrays and hyperparameter values. Without data the verdict is about every data set
        (hyperparameters taken nonnegative); with data, about ``J`` on these data: for a quadratic
        ``J`` the eigenvalues of its Hessian decide, otherwise a symbolic proof or a point of
        negative curvature.

    Returns
    -------
    Convexity
    """
    if data is not None and is_quadratic(loss):
        H, _, _ = _quadratic_parts(loss, data)
        eigenvalues = np.linalg.eigvalsh(H)
        tol = 1e-10 * max(1.0, abs(eigenvalues).max())
        shown = ", ".join(f"{e:.4g}" for e in eigenvalues)
        if eigenvalues[0] >= -tol:
            strict = "positive definite" if eigenvalues[0] > tol else "positive semidefinite"
            return Convexity("convex", f"J is quadratic and its Hessian on these data is {strict} "
                             f"(eigenvalues {shown})", eigenvalues)
        return Convexity("not convex", "J is quadratic and its Hessian on these data has a "
                         f"negative eigenvalue (eigenvalues {shown})", eigenvalues)
    symbolic = _symbolic_convexity(loss)
    if data is None or symbolic.verdict == "convex":
        return symbolic
    return _curvature_search(loss, data, symbolic)


def _curvature_search(loss: Loss, data: Mapping[str, Any], symbolic: Convexity) -> Convexity:
    """Look for negative curvature of ``J`` on the data at a few random parameter points."""
    prepared = _prepared(loss, data)
    rng = np.random.default_rng(0)
    for _ in range(8):
        theta = rng.normal(scale=2.0, size=prepared.size)
        H = np.empty((prepared.size, prepared.size))
        for k in range(prepared.size):
            step = np.zeros(prepared.size)
            step[k] = 1e-5 * max(1.0, abs(theta[k]))
            H[:, k] = (prepared.grad(theta + step) - prepared.grad(theta - step)) / (2 * step[k])
        eigenvalues = np.linalg.eigvalsh((H + H.T) / 2)
        if eigenvalues[0] < -1e-5 * max(1.0, abs(eigenvalues).max()):
            point = ", ".join(f"{v:.3g}" for v in theta)
            return Convexity("not convex", f"on these data the Hessian at θ = ({point}) has the "
                             f"negative eigenvalue {eigenvalues[0]:.4g}", eigenvalues)
    return Convexity("undetermined", f"{symbolic.reason}; on these data no negative curvature "
                     "was found at 8 random parameter points")


def _symbolic_convexity(loss: Loss) -> Convexity:
    parts = [("each data point's term", loss.term)]
    if loss.penalty != 0:
        parts.append(("the penalty", loss.penalty))
    reasons = []
    for label, expr in parts:
        verdict, why = _part_convexity(expr, loss)
        if verdict == "convex":
            reasons.append(f"{label} is convex: {why}")
        elif verdict == "not convex" and loss.penalty == 0:
            return Convexity("not convex", f"{label} is not convex: {why}")
        else:
            return Convexity("undetermined", f"no proof that {label} is convex: {why}")
    joined = "; ".join(reasons)
    return Convexity("convex", f"{joined}; a nonnegative combination of convex functions is convex")


def _part_convexity(expr: sympy.Expr, loss: Loss) -> tuple[Verdict, str]:
    flat = _flat(expr, loss)
    forms: dict[sympy.Expr, sympy.Symbol] = {}
    f = _with_forms(flat.expr, flat.gens, forms)
    if f.has(*flat.gens) or _unsupported_dots(flat):
        return "undetermined", "the parameters do not enter only through forms affine in them"
    if not forms:
        return "convex", "it does not depend on the parameters"
    if len(forms) == 1:  # one form: call it u
        (form,) = forms
        f = f.xreplace({forms[form]: sympy.Symbol("u", real=True)})
        forms[form] = sympy.Symbol("u", real=True)
    us = tuple(forms.values())
    shown = ", ".join(f"{u} = {_norms_shown(z, flat)}" for z, u in forms.items())
    where = f"with {shown} affine in the parameters"
    positive = {h: sympy.Symbol(h.name, positive=True) for h in loss.hyperparameters}
    f = f.xreplace(positive)
    if len(us) == 1 and isinstance(f, sympy.Piecewise):
        return _piecewise_convexity(f, us[0], where)
    if f.has(*_KINKED):
        if "convex" in _curvature(f, us):
            return "convex", f"{sympy.sstr(f)} is convex in {', '.join(map(str, us))} " \
                f"(|affine|, max of convex and nonnegative multiples are convex), {where}"
        return "undetermined", f"{sympy.sstr(f)} has kinks the convexity rules do not cover"
    if len(us) == 1:
        (u,) = us
        second = sympy.diff(f, u, 2)
        if _nonnegative(second):
            return "convex", (f"it is f({u}) = {sympy.sstr(f)} {where}, and f''({u}) = "
                              f"{sympy.sstr(sympy.factor(second))} ≥ 0, so its Hessian "
                              f"f''({u}) ∇{u} ∇{u}ᵀ is positive semidefinite")
        witness = _negative_point(sympy.Matrix([[second]]), us)
        if witness:
            return "not convex", (f"it is f({u}) = {sympy.sstr(f)} {where}, and f''({u}) < 0 "
                                  f"at {witness}, a one-point data set whose Hessian "
                                  f"f''({u}) ∇{u} ∇{u}ᵀ has a negative eigenvalue")
        return "undetermined", f"f''({u}) = {sympy.sstr(second)} could not be shown ≥ 0"
    names = ", ".join(map(str, us))
    curvature = sympy.hessian(f, us)
    _, pivots = curvature.LDLdecomposition(hermitian=False)
    if all(_nonnegative(pivots[k, k]) for k in range(len(us))):
        return "convex", (f"it is f({names}) {where}, and the Hessian of f has an LDLᵀ "
                          "factorisation with nonnegative pivots, so it is positive "
                          "semidefinite, and so is Jᵤᵀ ∇²f Jᵤ")
    jacobian = sympy.Matrix([[sympy.diff(z, g) for g in flat.gens] for z in forms])
    witness = _negative_point(curvature, us) if jacobian.rank() == len(us) else None
    if witness:
        return "not convex", (f"it is f({names}) {where} (independent forms), and the Hessian "
                              f"of f has a negative eigenvalue at {witness}")
    return "undetermined", "the Hessian of f could not be shown positive semidefinite"


def _piecewise_convexity(f: sympy.Piecewise, u: sympy.Symbol, where: str) -> tuple[Verdict, str]:
    """Convex if every piece is convex and the pieces meet with equal values and slopes wherever
    a condition changes (then ``f'`` is continuous and nondecreasing)."""
    pieces = [e for e, _ in f.args]
    if any("convex" not in _curvature(p, (u,)) for p in pieces):
        return "undetermined", f"a piece of {sympy.sstr(f)} could not be shown convex"
    relations = [r for _, c in f.args for r in c.atoms(sympy.core.relational.Relational)]
    try:
        edges = {e for r in relations for e in sympy.solve(r.lhs - r.rhs, u)}
    except (NotImplementedError, TypeError, ValueError):
        edges = None
    if edges is None or any(e.has(u) for e in edges):
        return "undetermined", f"the kinks of {sympy.sstr(f)} could not be located"
    for edge, (p, q) in itertools.product(edges, itertools.combinations(pieces, 2)):
        for order in (0, 1):
            if sympy.simplify(sympy.diff(p - q, u, order).subs(u, edge)) != 0:
                return "undetermined", f"the pieces of {sympy.sstr(f)} do not meet smoothly"
    shown = ", ".join(sympy.sstr(e) for e in sorted(edges, key=sympy.default_sort_key))
    return "convex", (f"it is f(u) = {sympy.sstr(f)} {where}; each piece is convex and the "
                      f"pieces meet with equal values and slopes at u = {shown}, so f' is "
                      "continuous and nondecreasing")


def _with_forms(expr: sympy.Basic, gens: tuple, forms: dict) -> sympy.Basic:
    """``expr`` with each maximal subexpression affine in ``gens`` (its constant factor and sign
    kept outside) replaced by a placeholder ``u1``, ``u2``, ..."""
    if not expr.has(*gens) or not isinstance(expr, sympy.Expr):
        return expr if not expr.has(*gens) else expr.func(
            *(_with_forms(a, gens, forms) for a in expr.args))
    poly = expr.as_poly(*gens)
    if poly is not None and poly.total_degree() <= 1:
        factor, form = expr.as_independent(*gens, as_Add=False)
        if form.could_extract_minus_sign():
            factor, form = -factor, -form
        if form not in forms:
            forms[form] = sympy.Symbol(f"u{len(forms) + 1}", real=True)
        return factor * forms[form]
    return expr.func(*(_with_forms(a, gens, forms) for a in expr.args))


def _norms_shown(form: sympy.Expr, flat: _Flat) -> str:
    """A form as text, ``‖w‖`` for a vector's norm and dots put back."""
    return sympy.sstr(flat.shown(form))


def _unsupported_dots(flat: _Flat) -> bool:
    """``dot(w, v)`` of two vector parameters, or a vector both in ``dot(w, w)`` and in a linear
    ``dot(w, x)``: the argument needs ``‖w‖`` (a function of ``‖w‖`` only is convex exactly
    when it is convex in ``‖w‖`` as a number) or forms linear in ``w``, not both."""
    if any(not t.is_Symbol and call.args[0] != call.args[1] for t, call in flat.back.items()):
        return True
    linear = {a for t, call in flat.back.items() if t.is_Symbol for a in call.args}
    normed = {v for v, s in flat.norms.items() if flat.expr.has(s)}
    return bool(normed & linear)


def _curvature(e: sympy.Expr, us: tuple) -> set[str]:
    """What the rules prove of ``e`` in ``us``: a subset of ``{"convex", "concave"}``."""
    if not e.has(*us):
        return {"convex", "concave"}
    poly = e.as_poly(*us)
    if poly is not None and poly.total_degree() <= 1:
        return {"convex", "concave"}
    if e.is_Add:
        return set.intersection(*(_curvature(a, us) for a in e.args))
    if e.is_Mul:
        c, rest = e.as_independent(*us, as_Add=False)
        if c == 1:
            return set()
        inner = _curvature(rest, us)
        if _nonnegative(c):
            return inner
        if _nonnegative(-c):
            return {{"convex": "concave", "concave": "convex"}[k] for k in inner}
        return set()
    if isinstance(e, sympy.Abs):
        return {"convex"} if _curvature(e.args[0], us) == {"convex", "concave"} else set()
    if isinstance(e, (sympy.Max, sympy.Min)):
        wanted = "convex" if isinstance(e, sympy.Max) else "concave"
        return {wanted} if all(wanted in _curvature(a, us) for a in e.args) else set()
    if len(us) == 1 and not e.has(*_KINKED) and _nonnegative(sympy.diff(e, us[0], 2)):
        return {"convex"}
    return set()


def _nonnegative(expr: sympy.Expr) -> bool:
    """Whether SymPy proves ``expr ≥ 0`` for real symbols (after writing σ with ``exp``)."""
    if expr.is_nonnegative:
        return True
    rewritten = sympy.factor(sympy.together(to_elementary(sympy.factor(expr))))
    return bool(rewritten.is_nonnegative)


_TRIAL_VALUES = (0.0, 1.0, -1.0, 2.0, 0.5, -0.5, -2.0)
_FORM_VALUES = (0.0, 1.0, -1.0, 2.0, -2.0, 3.0, -3.0, 0.5, -0.5)


def _negative_point(curvature: sympy.Matrix, us: tuple[sympy.Symbol, ...]) -> str | None:
    """A point (the forms ``us`` and data values) where the Hessian of ``f`` in the forms
    (``1 × 1``, ``f''``, for one form) has a negative eigenvalue, as text; None if no trial point
    has one."""
    others = sorted(curvature.free_symbols - set(us), key=lambda s: s.name)
    if len(others) + len(us) > 5:
        return None
    data_values = _TRIAL_VALUES if len(us) == 1 else _TRIAL_VALUES[:4]
    form_values = _FORM_VALUES if len(us) == 1 else _TRIAL_VALUES[:4]
    for values in itertools.product(*[data_values] * len(others), *[form_values] * len(us)):
        point = dict(zip([*others, *us], values))
        entries = [real_value(entry, point) for entry in curvature]
        if None in entries:
            continue
        lowest = np.linalg.eigvalsh(np.reshape(entries, curvature.shape))[0]
        if lowest < -1e-9:
            shown = ", ".join(f"{s} = {v:g}" for s, v in point.items())
            what = "f''" if len(us) == 1 else "eigenvalue"
            return f"{shown} ({what} = {lowest:.3g})"
    return None


# -- the closed form -------------------------------------------------------------------------


@dataclass(frozen=True)
class SolutionStep:
    """One step of a closed-form solution: a title, a sentence, equations and facts."""

    title: str
    explanation: str
    equations: tuple[sympy.Basic, ...]
    facts: tuple[Fact, ...] = ()


@dataclass(frozen=True)
class ClosedForm:
    """The minimiser of a least-squares loss, step by step: ``∇J = 0``, the normal equations,
    their solution (and, for a line, the means form). Each formula is checked against the
    derived gradient when built."""

    loss: Loss
    steps: tuple[SolutionStep, ...]

    def to_text(self) -> str:
        """Unicode text for a terminal."""
        from .render.text import render_solution

        return render_solution(self)

    def to_latex(self) -> str:
        """LaTeX for a document body (``amsmath``)."""
        from .render.latex import render_solution

        return render_solution(self)

    def to_markdown(self) -> str:
        """Markdown with ``$$`` display math."""
        from .render.markdown import render_solution

        return render_solution(self)

    def to_dict(self) -> dict:
        """The JSON structure as Python objects."""
        from .render.json import solution_to_dict

        return solution_to_dict(self)

    def to_json(self, indent: int | None = 2) -> str:
        """The JSON document."""
        from .render.json import render_solution

        return render_solution(self, indent=indent)

    def __str__(self) -> str:
        return self.to_text()


@dataclass(frozen=True)
class _LeastSquares:
    """``ℓ = c (φᵀθ − t)²`` and ``penalty = ½ θᵀPθ``: scale ``c``, features ``φ`` by parameter
    (a vector parameter's feature is its data vector), target ``t`` and the penalty's Hessian
    ``P`` by parameter pair (a vector's diagonal entry multiplies ``I_d``)."""

    scale: sympy.Expr
    features: dict[sympy.Symbol, sympy.Expr]
    target: sympy.Expr
    penalty: dict[tuple[sympy.Symbol, sympy.Symbol], sympy.Expr]


def _least_squares(loss: Loss) -> _LeastSquares | None:
    flat = _flat(loss.term, loss)
    scale, square = flat.expr.as_independent(*flat.gens, as_Add=False)
    if not (square.is_Pow and square.exp == 2) or flat.norms and square.has(*flat.norms.values()):
        return None
    z = square.base
    poly = z.as_poly(*flat.gens)
    if poly is None or poly.total_degree() != 1:
        return None
    offset = z.xreplace({g: 0 for g in flat.gens})
    if not offset.could_extract_minus_sign():
        z, offset = -z, -offset  # so that z = φᵀθ − t with t = y, not −y
    features = {}
    for p in loss.params:
        if p in loss.vectors:
            tokens = [t for t, call in flat.back.items() if t.is_Symbol and p in call.args]
            if len(tokens) != 1 or sympy.diff(z, tokens[0]) != 1:
                return None
            (features[p],) = set(flat.back[tokens[0]].args) - {p}
        else:
            features[p] = sympy.diff(z, p)
    penalty = _penalty_hessian(loss)
    return None if penalty is None else _LeastSquares(scale, features, -offset, penalty)


def _penalty_hessian(loss: Loss) -> dict | None:
    """The penalty's Hessian by parameter pair, for a penalty that is a quadratic form in the
    scalar parameters and ``‖w‖²`` (no linear part, no ``dot(w, x)``); None otherwise."""
    flat = _flat(loss.penalty, loss)
    if flat.expr != 0:
        poly = flat.expr.as_poly(*flat.gens)
        if poly is None or any(sum(m) != 2 for m in poly.monoms()):
            return None
        if any(t.is_Symbol for t in flat.back):
            return None
    gen = {p: flat.norms.get(p, p) for p in loss.params}
    return {
        (a, b): sympy.diff(flat.expr, gen[a], gen[b])  # s² = ‖w‖²: ∂²/∂s² is I_d's factor
        if (a == b or not loss.vectors & {a, b}) else sympy.Integer(0)
        for a, b in itertools.product(loss.params, repeat=2)
    }


def closed_form(loss: Loss) -> ClosedForm:
    """The minimiser of a least-squares loss, step by step.

    Applies when the per-sample term is ``c (φᵀθ − t)²`` (features ``φ`` and target ``t`` from the
    data, e.g. ``φ = (x, 1)``, ``t = y`` for the line) and the penalty, if any, a quadratic form
    ``½ θᵀPθ``: mse, rss, ridge, polynomial, multiple regression. With ``N = n`` for a mean
    (``1`` for a sum) and ``Φ`` the matrix of rows ``φᵢᵀ``, ``∇J = 0`` are the normal equations
    ``(ΦᵀΦ + (N/2c) P) θ = Φᵀt``. For the line they are solved in means:
    ``m = Σ(xᵢ − x̄)(yᵢ − ȳ) / Σ(xᵢ − x̄)²`` and ``b = ȳ − m x̄``.

    Raises
    ------
    ExpressionError
        For a loss of another form (no closed form here: use gradient descent).
    VerificationError
        If a formula disagrees with the derived gradient (a bug).
    """
    lsq = _least_squares(loss)
    if lsq is None:
        raise ExpressionError(f"{loss.name} has no closed form here: it is not least squares "
                              "c·(φᵀθ − t)² with a quadratic penalty (use gradient descent)")
    gradient = loss.gradient()
    steps = [_zero_gradient_step(loss, gradient), _normal_equations_step(loss, lsq)]
    if not loss.vectors:
        steps.append(_sums_step(loss, lsq, gradient))
    steps.append(_solution_step(loss, lsq))
    line = _line_step(loss, lsq, gradient)
    if line is not None:
        steps.append(line)
    return ClosedForm(loss, tuple(steps))


def _data_index(loss: Loss) -> tuple[sympy.Symbol, sympy.Symbol]:
    """``(i, n)``: the summation index and the number of data points of ``J``."""
    (total,) = loss.objective.atoms(sympy.Sum)
    index, _, n = total.limits[0]
    return index, n


def _indexed(expr: sympy.Expr, loss: Loss) -> sympy.Expr:
    """``expr`` in the plain data symbols, written for data point ``i``."""
    i, _ = _data_index(loss)
    return expr.xreplace({s: sympy.IndexedBase(s.name, real=True)[i] for s in loss.data})


def _weight(loss: Loss, lsq: _LeastSquares) -> sympy.Expr:
    """``N/(2c)``, the penalty's weight in the normal equations."""
    _, n = _data_index(loss)
    return (n if loss.reduce == "mean" else 1) / (2 * lsq.scale)


def _zero_gradient_step(loss: Loss, gradient: dict) -> SolutionStep:
    return SolutionStep(
        "set the gradient to zero",
        "At a minimum every partial derivative of J is 0; J is convex here, so a point where "
        "they all vanish is a minimum.",
        tuple(sympy.Eq(g, 0) for g in gradient.values()),
    )


def _matrix_names(loss: Loss, lsq: _LeastSquares):
    """``(Φ, θ, t, P, facts)``: the matrix symbols of the normal equations and what they are."""
    i, n = _data_index(loss)
    d = sympy.Symbol("d", integer=True, positive=True)
    width = sum(d if p in loss.vectors else 1 for p in loss.params)
    Phi, theta = sympy.MatrixSymbol("Phi", n, width), sympy.MatrixSymbol("theta", width, 1)
    t, P = sympy.MatrixSymbol("t", n, 1), sympy.MatrixSymbol("P", width, width)
    if loss.vectors:
        blocks = [sympy.MatrixSymbol(str(p), d, 1) if p in loss.vectors else sympy.Matrix([[p]])
                  for p in loss.params]
        columns = [sympy.MatrixSymbol(str(lsq.features[p]).upper(), n, d) if p in loss.vectors
                   else sympy.OneMatrix(n, 1) if lsq.features[p] == 1
                   else sympy.MatrixSymbol(f"phi_{p}", n, 1) for p in loss.params]
        facts = [Fact("parameters", sympy.Eq(theta, sympy.BlockMatrix([[b] for b in blocks]))),
                 Fact("data matrix", sympy.Eq(Phi, sympy.BlockMatrix([columns])))]
    else:
        row = sympy.Matrix([[_indexed(lsq.features[p], loss) for p in loss.params]])
        facts = [Fact("parameters", sympy.Eq(theta, sympy.Matrix(loss.params))),
                 Fact("row i of the design matrix",
                      sympy.Eq(sympy.MatrixSymbol("phi_i", width, 1).T, row, evaluate=False))]
    facts.append(Fact("target", sympy.Eq(sympy.Indexed(sympy.IndexedBase("t"), i),
                                         _indexed(lsq.target, loss))))
    if any(v != 0 for v in lsq.penalty.values()):
        facts.append(Fact("penalty Hessian", sympy.Eq(P, _penalty_matrix(loss, lsq, d))))
    return Phi, theta, t, P, facts


def _penalty_matrix(loss: Loss, lsq: _LeastSquares, d: sympy.Symbol) -> sympy.Basic:
    if not loss.vectors:
        return sympy.Matrix([[lsq.penalty[a, b] for b in loss.params] for a in loss.params])
    return sympy.BlockDiagMatrix(*(
        lsq.penalty[p, p] * sympy.Identity(d) if p in loss.vectors
        else sympy.Matrix([[lsq.penalty[p, p]]]) for p in loss.params))


def _system(loss: Loss, lsq: _LeastSquares):
    """``(A, rhs, facts)`` of the normal equations ``A θ = rhs`` in matrix symbols."""
    Phi, theta, t, P, facts = _matrix_names(loss, lsq)
    A = Phi.T * Phi
    if any(v != 0 for v in lsq.penalty.values()):
        A = A + _weight(loss, lsq) * P
    return A, theta, Phi.T * t, facts


def _normal_equations_step(loss: Loss, lsq: _LeastSquares) -> SolutionStep:
    A, theta, rhs, facts = _system(loss, lsq)
    return SolutionStep(
        "the normal equations",
        "Each data point's term is (a multiple of) the square of a residual that is linear in "
        "the parameters, so the gradient is linear in them: setting it to zero is a linear "
        "system, the normal equations, in the matrices below.",
        (sympy.Eq(sympy.MatMul(A, theta), rhs),),
        tuple(facts),
    )


def _sums_step(loss: Loss, lsq: _LeastSquares, gradient: dict) -> SolutionStep:
    """The normal equations written out with sums over the data, checked against ``∇J``."""
    i, n = _data_index(loss)
    phi = [_indexed(lsq.features[p], loss) for p in loss.params]
    target = _indexed(lsq.target, loss)
    weight = _weight(loss, lsq)
    matrix = sympy.Matrix([[tidy(sympy.Sum(fa * fb, (i, 1, n))) + weight * lsq.penalty[a, b]
                            for fb, b in zip(phi, loss.params)]
                           for fa, a in zip(phi, loss.params)])
    rhs = sympy.Matrix([tidy(sympy.Sum(f * target, (i, 1, n))) for f in phi])
    theta = sympy.Matrix(loss.params)
    for k, g in enumerate(gradient.values()):
        residual = weight * g - (matrix * theta - rhs)[k]
        if sympy.expand(concretize_sums(residual)) != 0:
            raise VerificationError(f"the normal equation for {loss.params[k]} disagrees with ∇J")
    return SolutionStep(
        "written out with sums",
        "The same equations with each matrix entry written as a sum over the data points.",
        (sympy.Eq(sympy.MatMul(matrix, theta, evaluate=False), rhs),),
    )


def _solution_step(loss: Loss, lsq: _LeastSquares) -> SolutionStep:
    A, theta, rhs, _ = _system(loss, lsq)
    return SolutionStep(
        "solve",
        "When the matrix is invertible (enough data points, not all on a lower-dimensional "
        "set) the solution is unique.",
        (sympy.Eq(theta, sympy.MatMul(sympy.Inverse(A), rhs)),),
    )


def _line_step(loss: Loss, lsq: _LeastSquares, gradient: dict) -> SolutionStep | None:
    """For ``φ = (u, 1)`` with an unpenalised intercept: ``b = t̄ − m ū`` and
    ``m = Σ(uᵢ − ū)(tᵢ − t̄) / (Σ(uᵢ − ū)² + (N/2c) P_mm)``, checked against ``∇J``."""
    if loss.vectors or len(loss.params) != 2:
        return None
    m, b = sorted(loss.params, key=lambda p: lsq.features[p] == 1)
    u, t = lsq.features[m], lsq.target
    if lsq.features[b] != 1 or any(lsq.penalty[key] != 0 for key in ((b, b), (m, b))) \
            or not (u in loss.data and t in loss.data):
        return None
    i, n = _data_index(loss)
    ui, ti = _indexed(u, loss), _indexed(t, loss)
    ubar, tbar = sympy.Symbol(f"{u}bar", real=True), sympy.Symbol(f"{t}bar", real=True)
    slope = sympy.Sum((ui - ubar) * (ti - tbar), (i, 1, n)) / (
        sympy.Sum((ui - ubar) ** 2, (i, 1, n)) + _weight(loss, lsq) * lsq.penalty[m, m])
    intercept = tbar - m * ubar
    means = {ubar: sympy.Sum(ui, (i, 1, n)) / n, tbar: sympy.Sum(ti, (i, 1, n)) / n}
    solution = {m: slope.xreplace(means), b: intercept.xreplace(means)}
    solution[b] = solution[b].xreplace({m: solution[m]})
    for g in gradient.values():
        if sympy.cancel(concretize_sums(g.xreplace(solution))) != 0:
            raise VerificationError("the means form of the line disagrees with ∇J")
    return SolutionStep(
        "in terms of the means",
        f"Divide the equation for {b} by n and solve it for {b}; substitute that into the "
        f"equation for {m}, and write its sums with deviations from the means (the sum of "
        f"the deviations of {u} is 0).",
        (sympy.Eq(m, slope), sympy.Eq(b, intercept)),
        tuple(Fact("where", sympy.Eq(bar, mean)) for bar, mean in means.items()),
    )
