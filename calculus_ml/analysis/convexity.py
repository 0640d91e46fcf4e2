"""Whether ``J`` is convex, and why.

The symbolic argument writes the per-sample term as ``f(u₁, ..., u_r)`` of forms ``u`` affine in
the parameters, so its Hessian is ``Jᵤᵀ ∇²f Jᵤ``: positive semidefinite when ``∇²f`` is (for one
form, when ``f'' ≥ 0``; kinked terms by the rules |affine|, max of convex, nonnegative multiples
and sums). A one-point data set where ``f'' < 0`` shows a loss is not convex. On given data the
eigenvalues of the Hessian decide for a quadratic ``J``. Hyperparameters (``lam``, ``delta``) are
taken to be nonnegative.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import sympy

from ..functions import to_elementary
from ..losses import Loss
from ..numeric import finite_difference
from ..steps.real import real_value
from ..symbolic import KINKED, within_terms
from .quadratic import Flat, flat_form, is_quadratic, prepared_gradient, quadratic_parts

__all__ = ["Convexity", "convexity", "Verdict"]

Verdict = Literal["convex", "not convex", "undetermined"]


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

    def __repr__(self) -> str:
        reason = self.reason if len(self.reason) <= 70 else self.reason[:69] + "…"
        return f"<Convexity: {self.verdict}: {reason}>"

    def _repr_html_(self) -> str:
        from ..render.display import verdict_html

        return verdict_html(self)

    def _repr_markdown_(self) -> str:
        from ..render.display import verdict_markdown

        return verdict_markdown(self)

    def _repr_latex_(self) -> str:
        from ..render.display import verdict_latex

        return verdict_latex(self)


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
        H, _, _ = quadratic_parts(loss, data)
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
    prepared = prepared_gradient(loss, data)
    rng = np.random.default_rng(0)
    for _ in range(8):
        theta = rng.normal(scale=2.0, size=prepared.size)
        H = finite_difference.hessian(prepared.grad, theta)
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
    flat = flat_form(expr, loss)
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
    if f.has(*KINKED):
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
    poly = expr.as_poly(*gens) if within_terms(expr) else None  # a 60th power is not affine
    if poly is not None and poly.total_degree() <= 1:
        factor, form = expr.as_independent(*gens, as_Add=False)
        if form.could_extract_minus_sign():
            factor, form = -factor, -form
        if form not in forms:
            forms[form] = sympy.Symbol(f"u{len(forms) + 1}", real=True)
        return factor * forms[form]
    return expr.func(*(_with_forms(a, gens, forms) for a in expr.args))


def _norms_shown(form: sympy.Expr, flat: Flat) -> str:
    """A form as text, ``‖w‖`` for a vector's norm and dots put back."""
    return sympy.sstr(flat.shown(form))


def _unsupported_dots(flat: Flat) -> bool:
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
    poly = e.as_poly(*us) if within_terms(e) else None
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
    if len(us) == 1 and not e.has(*KINKED) and _nonnegative(sympy.diff(e, us[0], 2)):
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
