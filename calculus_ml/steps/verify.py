"""Check every step of a derivation against ``sympy.diff``.

A step is true when its result equals ``sympy.diff(expr, var)``. Sigmoid and softplus are rewritten
into ``exp``/``log`` first, so their textbook derivatives are checked rather than assumed.

Equality is proved symbolically where that is cheap, by a ladder of tests:

1. both sides are the same expression;
2. their difference vanishes as a rational function of its atoms (``exp(c·a)`` read as a power of
   one symbol per ``a``), after merging its sums over data into one sum whose summand must vanish
   (a proof for every number of data points), or else writing the sums out for a few points;
3. when a proof is insisted on, ``sympy.simplify`` of the difference is 0.

Otherwise equality is confirmed numerically at random real points, where every part of both sides
is real and finite. Kinked functions (``abs``, ``max``, pieces) agree with SymPy everywhere except
on the kink, where no derivative exists; random points miss the kink with probability one.

A step with inner products ``dot(a, b)`` (a derivative by a vector component ``w_j``) is checked
with each product written out, ``Σₖ a_k b_k`` for ``k = 1..CONCRETE_D``, and ``j = CONCRETE_J``:
SymPy differentiates the written-out sum itself.
"""

from __future__ import annotations

import math
import operator
import random
from typing import Iterator, Literal

import sympy

from ..errors import VerificationError
from ..functions import ML_FUNCTIONS, dot, to_elementary
from .rules import SimplifyRule, Step, component

Proof = Literal["symbolic", "numeric"]

N_POINTS = 5
"""Random points at which two expressions must agree numerically."""
CONCRETE_N = 3
"""Number of data points a symbolic sum is expanded to when it is checked."""
CONCRETE_D = 3
"""Number of components an inner product is written out with when it is checked."""
CONCRETE_J = 2
"""The component ``j`` (of ``1..CONCRETE_D``) at which ``d/dw_j`` is checked."""
_KINKED = (
    sympy.Piecewise, sympy.Heaviside, sympy.DiracDelta, sympy.sign, sympy.Abs, sympy.Max, sympy.Min
)


def expected_derivative(step: Step) -> sympy.Expr:
    """``sympy.diff`` of the step's expression, the oracle every step is held to (inner
    products written out, see :func:`written_out`)."""
    expr, var, _ = written_out(step)
    return _diff(_elementary(expr), var, {})


def written_out(step: Step) -> tuple[sympy.Expr, sympy.Basic, sympy.Expr]:
    """``(expr, var, result)`` of the step, each ``dot(a, b)`` written as ``Σₖ a_k b_k`` for
    ``k = 1..CONCRETE_D`` and a component index set to ``CONCRETE_J``."""
    if not isinstance(step.var, sympy.Indexed) and not step.expr.has(dot):
        return step.expr, step.var, step.result
    index = {j: CONCRETE_J for j in getattr(step.var, "indices", ())}

    def out(expr: sympy.Expr) -> sympy.Expr:
        return expr.replace(dot, _inner_product).xreplace(index)

    return out(step.expr), step.var.xreplace(index), out(step.result)


def _inner_product(a: sympy.Basic, b: sympy.Basic) -> sympy.Expr:
    return sympy.Add(*(component(a, k) * component(b, k) for k in range(1, CONCRETE_D + 1)))


def _elementary(expr: sympy.Expr) -> sympy.Expr:
    """:func:`~calculus_ml.functions.to_elementary`, applied to the ML function calls only."""
    calls = expr.atoms(*ML_FUNCTIONS)
    return expr.xreplace({c: to_elementary(c) for c in calls}) if calls else expr


def _diff(
    expr: sympy.Expr, var: sympy.Symbol, memo: dict[tuple[sympy.Expr, sympy.Symbol], sympy.Expr]
) -> sympy.Expr:
    """``sympy.diff(expr, var)``, with each sum over data differentiated term by term the way
    SymPy does it, but with the sum standing in for a variable of its own (chain rule) elsewhere:
    SymPy's assumption queries on whole sums would cost more than everything else. ``memo``
    keeps the derivatives already taken (a summand is often a step of its own)."""
    key = (expr, var)
    if key not in memo:
        sums = {s: sympy.Dummy(real=True) for s in expr.atoms(sympy.Sum)}
        flat = expr.xreplace(sums)
        terms = (
            sympy.diff(flat, d) * sympy.Sum(_diff(s.function, var, memo), *s.limits)
            for s, d in sums.items()
        )
        total = sympy.diff(flat, var) + sympy.Add(*terms)
        memo[key] = total.xreplace({d: s for s, d in sums.items()}) if sums else total
    return memo[key]


def check_step(step: Step, *, symbolic: bool = False) -> Proof:
    """Check one step and say how its equality was established.

    Parameters
    ----------
    step : Step
        The step to check; its substeps are not visited.
    symbolic : bool
        Insist on a symbolic proof (calling ``sympy.simplify`` if needed) except for kinked
        functions, whose derivatives agree with SymPy's only away from the kink.

    Raises
    ------
    VerificationError
        If the step's result is not the derivative of its expression.
    """
    return _Checker(symbolic).check(step)


def verify_tree(root: Step, *, symbolic: bool = False) -> dict[Proof, int]:
    """Check every distinct node of a step tree; return how many were proved each way.

    Substeps are checked before the step built from them, so an error names the wrong rule
    rather than a step above it.
    """
    checker = _Checker(symbolic)
    counts: dict[Proof, int] = {"symbolic": 0, "numeric": 0}
    for step in _bottom_up(root, set()):
        counts[checker.check(step)] += 1
    return counts


def _bottom_up(step: Step, seen: set[int]) -> Iterator[Step]:
    if id(step) in seen:
        return
    seen.add(id(step))
    for sub in step.substeps:
        yield from _bottom_up(sub, seen)
    yield step


class _Checker:
    """Checks steps, remembering the oracles and proofs that steps of one tree share: a simplify
    step has the expression of the step it tidies (and is true if its result equals that step's,
    once that step is checked), and a sum over data, its multiple and its summand all reduce to
    the same per-sample difference."""

    def __init__(self, symbolic: bool):
        self.symbolic = symbolic
        self.oracles: dict[tuple[sympy.Expr, sympy.Symbol], sympy.Expr] = {}
        self.vanishing: dict[sympy.Expr, bool] = {}
        self.proofs: dict[int, Proof] = {}

    def check(self, step: Step) -> Proof:
        self.proofs[id(step)] = self._proof(step)
        return self.proofs[id(step)]

    def _proof(self, step: Step) -> Proof:
        if isinstance(step, SimplifyRule) and id(step.substep) in self.proofs:
            # equal to a result already held to sympy.diff: algebra, with sigmoid left opaque
            if self.equal_symbolically(step.result, step.substep.result, thorough=False):
                return self.proofs[id(step.substep)]
        expr, var, result = written_out(step)
        expected = _diff(_elementary(expr), var, self.oracles)
        got = _elementary(result)
        kinked = _kinked(got, expected)
        if self.equal_symbolically(got, expected, thorough=self.symbolic and not kinked):
            return "symbolic"
        if self.symbolic and not kinked:
            raise VerificationError(_message(step, expected, "could not be proved equal"))
        verdict = _numeric_verdict(got, expected)
        if verdict:
            return "numeric"
        if verdict is False:
            raise VerificationError(_message(step, expected, "disagrees"))
        if expected.has(sympy.Derivative):
            raise VerificationError(_message(step, expected, "cannot be checked (no oracle)"))
        raise VerificationError(_message(step, expected, "cannot be checked (no real points)"))

    def equal_symbolically(self, a: sympy.Expr, b: sympy.Expr, *, thorough: bool) -> bool:
        if a == b:
            return True
        difference = a - b
        pieces = _merged_sums(difference) or (concretize_sums(difference),)
        if all(self.vanishes(p) for p in pieces):
            return True
        return thorough and all(sympy.simplify(p) == 0 for p in pieces)

    def vanishes(self, expr: sympy.Expr) -> bool:
        """Whether ``expr`` is 0 as a rational function of its atoms, ``exp(c·a)`` read as
        ``E_a**c``."""
        if expr == 0:
            return True
        if expr not in self.vanishing:
            numerator, _ = _exp_as_powers(expr).as_numer_denom()
            self.vanishing[expr] = sympy.expand(numerator) == 0
        return self.vanishing[expr]


def _message(step: Step, expected: sympy.Expr, what: str) -> str:
    return (
        f"{step.rule} step for d/d{step.var}[{step.expr}] {what}: "
        f"rule gives {step.result}, sympy.diff gives {expected}"
    )


def _kinked(*exprs: sympy.Expr) -> bool:
    return any(e.has(*_KINKED) for e in exprs)


# -- the symbolic ladder -----------------------------------------------------------------------


def _merged_sums(expr: sympy.Expr) -> tuple[sympy.Expr, sympy.Expr] | None:
    """``(summand, rest)`` whose vanishing proves ``expr = 0`` for every number of data points,
    when ``expr`` adds multiples of sums over the same data: ``c Σᵢ f + c' Σᵢ g + rest`` gives
    ``(f + (c'/c) g, rest)`` if ``c'/c`` is a number, else ``(c f + c' g, rest)``."""
    if not expr.has(sympy.Sum):
        return None
    limits, parts, rest = None, [], []
    for term in sympy.Add.make_args(expr):
        coefficient, total = term.as_independent(sympy.Sum, as_Add=False)
        if total == 1:
            rest.append(term)
        elif isinstance(total, sympy.Sum) and limits in (None, total.limits):
            if coefficient.has(*total.variables):  # an index outside its sum: leave it alone
                return None
            limits = total.limits
            parts.append((coefficient, total.function))
        else:
            return None
    common = parts[0][0]
    if all((c / common).is_Number for c, _ in parts):
        return sympy.Add(*(c / common * f for c, f in parts)), sympy.Add(*rest)
    return sympy.Add(*(c * f for c, f in parts)), sympy.Add(*rest)


def _exp_as_powers(expr: sympy.Expr) -> sympy.Expr:
    """Replace each ``exp(c·a)`` (``c`` the numeric content, sign included) by ``E_a**c``, one
    positive symbol per ``a``, so that ``exp(-a) = 1/exp(a)`` and ``exp(2a) = exp(a)**2`` are
    algebra."""
    bases: dict[sympy.Expr, sympy.Dummy] = {}

    def power(argument: sympy.Expr) -> sympy.Expr:
        c, a = argument.as_content_primitive()
        if a.could_extract_minus_sign():
            c, a = -c, -a
        return bases.setdefault(a, sympy.Dummy(positive=True)) ** c

    return expr.xreplace({e: power(e.args[0]) for e in expr.atoms(sympy.exp)})


def concretize_sums(expr: sympy.Expr, n: int = CONCRETE_N) -> sympy.Expr:
    """Expand every ``Sum`` over data to ``n`` explicit terms."""
    if not expr.has(sympy.Sum):
        return expr
    uppers = {upper for total in expr.atoms(sympy.Sum) for *_, upper in total.limits}
    sizes = {s: n for upper in uppers for s in upper.free_symbols}
    return expr.xreplace(sizes).replace(sympy.Sum, _unrolled)


def _unrolled(function: sympy.Expr, *limits: sympy.Tuple) -> sympy.Expr:
    for index, lower, upper in limits:
        function = sympy.Add(
            *(function.xreplace({index: k}) for k in range(int(lower), int(upper) + 1))
        )
    return function


# -- the numeric check -------------------------------------------------------------------------


def equal_numerically(
    a: sympy.Expr, b: sympy.Expr, *, points: int = N_POINTS, rtol: float = 1e-8
) -> bool:
    """Whether ``a`` and ``b`` agree at ``points`` random real points where both are defined."""
    return bool(_numeric_verdict(a, b, points=points, rtol=rtol))


def _numeric_verdict(
    a: sympy.Expr, b: sympy.Expr, *, points: int = N_POINTS, rtol: float = 1e-8
) -> bool | None:
    """True if ``a`` and ``b`` agree at ``points`` real points, False if they disagree at one,
    None if too few of the random points tried are in the real domain of both."""
    a, b = concretize_sums(a), concretize_sums(b)
    data = a.atoms(sympy.Indexed) | b.atoms(sympy.Indexed)
    labels = {ix.base.label for ix in data}
    atoms = sorted((a.free_symbols | b.free_symbols | data) - labels, key=sympy.default_sort_key)
    rng = random.Random(0)
    agreed = 0
    for _ in range(20 * points):
        point = {s: rng.choice((-1.0, 1.0)) * 10 ** rng.uniform(-1, 0.7) for s in atoms}
        va, vb = real_value(a, point), real_value(b, point)
        if va is None or vb is None:
            continue
        if abs(va - vb) > rtol * max(1.0, abs(va), abs(vb)):
            return False
        agreed += 1
        if agreed == points:
            return True
    return None


_REAL_FUNCTIONS = {
    sympy.exp: math.exp,
    sympy.log: math.log,
    sympy.sin: math.sin,
    sympy.cos: math.cos,
    sympy.tan: math.tan,
    sympy.sec: lambda t: 1 / math.cos(t),
    sympy.csc: lambda t: 1 / math.sin(t),
    sympy.cot: lambda t: 1 / math.tan(t),
    sympy.asin: math.asin,
    sympy.acos: math.acos,
    sympy.atan: math.atan,
    sympy.acot: lambda t: math.atan(1 / t),
    sympy.sinh: math.sinh,
    sympy.cosh: math.cosh,
    sympy.tanh: math.tanh,
    sympy.asinh: math.asinh,
    sympy.acosh: math.acosh,
    sympy.atanh: math.atanh,
    sympy.Abs: abs,
    sympy.sign: lambda t: math.copysign(1.0, t) if t else 0.0,
    sympy.Heaviside: lambda t, at_zero=0.5: float(t > 0) if t else float(at_zero),
    sympy.Max: max,
    sympy.Min: min,
}
_RELATIONS = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
    "==": operator.eq, "!=": operator.ne,
}  # fmt: skip


def real_value(expr: sympy.Expr, point: dict[sympy.Basic, float]) -> float | None:
    """The value of ``expr`` in floating point at ``point`` (atom -> float), or None where
    it or any part of it is not a finite real number."""
    try:
        value = _real(expr, dict(point))
    except (ArithmeticError, ValueError, TypeError, StopIteration):
        return None
    if isinstance(value, complex) or not math.isfinite(value) or abs(value) >= 1e12:
        return None
    return value


def _real(expr: sympy.Basic, memo: dict[sympy.Basic, float]) -> float:
    if expr in memo:
        return memo[expr]
    if expr.is_Number or expr.is_NumberSymbol:
        value = float(expr)
    elif expr is sympy.I:
        value = 1j
    elif isinstance(expr, sympy.Piecewise):
        value = next(_real(e, memo) for e, cond in expr.args if _holds(cond, memo))
    elif not (expr.is_Add or expr.is_Mul or expr.is_Pow or expr.is_Function):
        raise TypeError(f"cannot evaluate {type(expr).__name__}")  # Derivative, Subs, ...
    else:
        args = [_real(a, memo) for a in expr.args]
        if expr.is_Add:
            value = sum(args) if complex in map(type, args) else math.fsum(args)
        elif expr.is_Mul:
            value = math.prod(args)
        elif expr.is_Pow:
            value = args[0] ** args[1]
        elif expr.func in _REAL_FUNCTIONS:
            value = _REAL_FUNCTIONS[expr.func](*args)
        else:  # any other SymPy function, evaluated by SymPy
            value = complex(expr.func(*map(sympy.Float, args)).evalf())
    if isinstance(value, complex) and not value.imag:
        value = value.real
    elif isinstance(value, complex) and not expr.is_number:  # complex constants may cancel
        raise ValueError("not real")
    memo[expr] = value
    return value


def _holds(cond: sympy.Basic, memo: dict[sympy.Basic, float]) -> bool:
    if cond in (sympy.true, sympy.false):
        return bool(cond)
    if cond.is_Relational:
        return _RELATIONS[cond.rel_op](_real(cond.lhs, memo), _real(cond.rhs, memo))
    if isinstance(cond, sympy.And):
        return all(_holds(c, memo) for c in cond.args)
    if isinstance(cond, sympy.Or):
        return any(_holds(c, memo) for c in cond.args)
    if isinstance(cond, sympy.Not):
        return not _holds(cond.args[0], memo)
    if isinstance(cond, sympy.ITE):
        test, then, otherwise = cond.args
        return _holds(then if _holds(test, memo) else otherwise, memo)
    raise TypeError(f"cannot evaluate the condition {cond}")
