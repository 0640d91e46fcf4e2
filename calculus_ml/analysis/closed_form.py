"""The minimiser of a least-squares loss in closed form, step by step.

Where ``∇J = 0`` is linear in the parameters (least squares, with or without a quadratic
penalty): ``∇J = 0``, the normal equations, their sums over the data, their solution and, for a
line, the means form. Each formula is checked against the derived gradient when built.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import sympy

from ..errors import ExpressionError, VerificationError
from ..losses import Loss
from ..steps.rules import Fact
from ..symbolic import concretize_sums, data_index, indexed, tidy
from .quadratic import flat_form

__all__ = ["ClosedForm", "SolutionStep", "closed_form"]


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

    def to_text(self, *, width: int | None = None, ascii: bool = False) -> str:
        """Unicode (or ``ascii``) text for a terminal, ``width`` columns wide (default: the
        terminal's)."""
        from ..render.text import render_solution

        return render_solution(self, width=width, ascii=ascii)

    def to_latex(self) -> str:
        """LaTeX for a document body (``amsmath``)."""
        from ..render.latex import render_solution

        return render_solution(self)

    def to_markdown(self) -> str:
        """Markdown with ``$$`` display math."""
        from ..render.markdown import render_solution

        return render_solution(self)

    def to_dict(self) -> dict:
        """The JSON structure as Python objects."""
        from ..render.json import solution_to_dict

        return solution_to_dict(self)

    def to_json(self, indent: int | None = 2) -> str:
        """The JSON document."""
        from ..render.json import render_solution

        return render_solution(self, indent=indent)

    def to_html(self) -> str:
        """HTML with MathML: the numbered steps."""
        from ..render.html import render_solution

        return render_solution(self)

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return f"<ClosedForm of {self.loss.name}: {len(self.steps)} steps; print() shows them>"

    def _repr_html_(self) -> str:
        from ..render.display import solution_html

        return solution_html(self)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def _repr_latex_(self) -> str:
        from ..render.display import solution_latex

        return solution_latex(self)


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
    flat = flat_form(loss.term, loss)
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
    flat = flat_form(loss.penalty, loss)
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


def _indexed(expr: sympy.Expr, loss: Loss) -> sympy.Expr:
    """``expr`` in the plain data symbols, written for data point ``i``."""
    i, _ = data_index(loss.objective)
    return expr.xreplace({s: indexed(s, i) for s in loss.data})


def _weight(loss: Loss, lsq: _LeastSquares) -> sympy.Expr:
    """``N/(2c)``, the penalty's weight in the normal equations."""
    _, n = data_index(loss.objective)
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
    i, n = data_index(loss.objective)
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
    i, n = data_index(loss.objective)
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
    i, n = data_index(loss.objective)
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
