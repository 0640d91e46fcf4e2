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

The oracle of an ``(expression, variable)`` pair, an expression's elementary form and whether a
difference vanishes are pure functions of SymPy expressions; they are remembered for the whole
process (bounded caches), so a sub-expression shared by several steps, trees or losses is
differentiated by ``sympy.diff`` once. So is the verdict on a claim ``d/dx[expr] = result``:
every step is compared with its oracle, and a step making a claim already proved (the same
expression, variable and result) shares that proof.
"""

from __future__ import annotations

import functools
import math
import operator
import random
from typing import Iterator, Literal

import sympy

from ..errors import VerificationError
from ..functions import ML_FUNCTIONS, dot, to_elementary
from .rules import SimplifyRule, Step, component

Proof = Literal["symbolic", "numeric"]

_CACHE_SIZE = 4096
"""Entries kept by each process-wide cache below (oracles, elementary forms, vanishing tests)."""

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
    return _diff(_elementary(expr), var)


def written_out(step: Step) -> tuple[sympy.Expr, sympy.Basic, sympy.Expr]:
    """``(expr, var, result)`` of the step, each ``dot(a, b)`` written as ``Σₖ a_k b_k`` for
    ``k = 1..CONCRETE_D`` and a component index set to ``CONCRETE_J``."""
    if not isinstance(step.var, sympy.Indexed) and not step.expr.has(dot):
        return step.expr, step.var, step.result
    index = tuple((j, CONCRETE_J) for j in getattr(step.var, "indices", ()))
    return _out(step.expr, index), step.var.xreplace(dict(index)), _out(step.result, index)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _out(expr: sympy.Expr, index: tuple[tuple[sympy.Symbol, int], ...]) -> sympy.Expr:
    """``expr`` with its inner products written out and the component indices set."""
    # an inner product's arguments hold no index, so one xreplace writes them all out (and is
    # much cheaper than ``replace``)
    products = {p: _inner_product(*p.args) for p in expr.atoms(dot)}
    return (expr.xreplace(products) if products else expr).xreplace(dict(index))


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _inner_product(a: sympy.Basic, b: sympy.Basic) -> sympy.Expr:
    return sympy.Add(*(component(a, k) * component(b, k) for k in range(1, CONCRETE_D + 1)))


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _elementary(expr: sympy.Expr) -> sympy.Expr:
    """:func:`~calculus_ml.functions.to_elementary`, applied to the ML function calls only."""
    calls = expr.atoms(*ML_FUNCTIONS)
    return expr.xreplace({c: _elementary_call(c) for c in calls}) if calls else expr


_elementary_call = functools.lru_cache(maxsize=_CACHE_SIZE)(to_elementary)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _diff(expr: sympy.Expr, var: sympy.Symbol) -> sympy.Expr:
    """``sympy.diff(expr, var)``, with each sum over data differentiated term by term the way
    SymPy does it, but with the sum standing in for a variable of its own (chain rule) elsewhere:
    SymPy's assumption queries on whole sums would cost more than everything else. Remembered
    for the process: a summand is often a step of its own, and the trees of one loss (and of
    related losses) share sub-expressions."""
    sums = {s: sympy.Dummy(real=True) for s in expr.atoms(sympy.Sum)}
    flat = expr.xreplace(sums)
    terms = (
        sympy.diff(flat, d) * sympy.Sum(_diff(s.function, var), *s.limits)
        for s, d in sums.items()
    )
    total = sympy.diff(flat, var) + sympy.Add(*terms)
    return total.xreplace({d: s for s, d in sums.items()}) if sums else total


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


_PROVED: dict[tuple, Proof] = {}
"""How each claim ``(expr, var, result, symbolic)`` was proved, for the process: the trees of
a loss's parameters, and related losses, repeat steps (``d/du[u²] = 2u`` in every squared
error)."""


class _Checker:
    """Checks steps, remembering the proofs of the steps of one tree: a simplify step has the
    expression of the step it tidies, and is true if its result equals that step's, once that
    step is checked. (Oracles and vanishing tests are remembered process-wide: a sum over data,
    its multiple and its summand all reduce to the same per-sample difference.)"""

    def __init__(self, symbolic: bool):
        self.symbolic = symbolic
        self.proofs: dict[int, Proof] = {}

    def check(self, step: Step) -> Proof:
        claim = (step.expr, step.var, step.result, self.symbolic)
        proof = _PROVED.get(claim)
        if proof is None:
            proof = self._proof(step)
            if len(_PROVED) >= _CACHE_SIZE:
                _PROVED.clear()
            _PROVED[claim] = proof
        self.proofs[id(step)] = proof
        return proof

    def _proof(self, step: Step) -> Proof:
        if isinstance(step, SimplifyRule) and id(step.substep) in self.proofs:
            # equal to a result already held to sympy.diff: algebra, with sigmoid left opaque
            if self.equal_symbolically(step.result, step.substep.result, thorough=False):
                return self.proofs[id(step.substep)]
        expr, var, result = written_out(step)
        expected = _diff(_elementary(expr), var)
        got = _elementary(result)
        thorough = self.symbolic and not _kinked(got, expected)
        if self.equal_symbolically(got, expected, thorough=thorough):
            return "symbolic"
        if thorough:
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

    @staticmethod
    def vanishes(expr: sympy.Expr) -> bool:
        """Whether ``expr`` is 0 as a rational function of its atoms, ``exp(c·a)`` read as
        ``E_a**c``."""
        return expr == 0 or _vanishes(expr)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _vanishes(expr: sympy.Expr) -> bool:
    """:meth:`_Checker.vanishes` for a nonzero ``expr``, remembered for the process.

    The fast test :func:`_zero_as_fraction` is tried first; when it proves nothing, SymPy's own
    ``as_numer_denom`` and ``expand`` decide, as they always have."""
    if _zero_as_fraction(expr):
        return True
    numerator, _ = _exp_as_powers(expr).as_numer_denom()
    return sympy.expand(numerator) == 0


_MAX_TERMS = 2000
"""Size (terms of a numerator or denominator) beyond which :func:`_zero_as_fraction` gives up."""


class _GiveUp(Exception):
    """Raised inside :func:`_zero_as_fraction` for a part it does not read as a fraction."""


def _zero_as_fraction(expr: sympy.Expr) -> bool:
    """True if ``expr`` is proved 0 as a fraction of polynomials (exact rational coefficients)
    in independent indeterminates; False if that proves nothing.

    The same proof as ``expand`` of the numerator, done in SymPy's sparse polynomial arithmetic
    instead of on expression trees (far cheaper, with no assumption queries). Indeterminates are
    ``E_a`` for ``exp(c·a)`` with an integer ``c`` (read as ``E_a**c``, as
    :func:`_exp_as_powers` does), ``R_bq`` for ``b**(p/q)`` (read as ``R_bq**p``) and every other
    part that is not a sum, product, integer power or rational number. Treating parts as
    independent is sound: a fraction that is identically 0 is 0 for any values of its
    indeterminates, wherever its denominators (nonzero polynomials) do not vanish.
    """
    table: dict[tuple, int] = {}
    try:
        _collect(expr, table)
        ring, *gens = sympy.polys.rings.ring([f"g{k}" for k in range(len(table))], sympy.QQ)
        numerator, _ = _fraction(expr, table, ring, gens, {})
    except _GiveUp:
        return False
    return not numerator


def _indeterminate(expr: sympy.Expr) -> tuple[tuple, sympy.Integer] | None:
    """``(key, power)`` when ``expr`` is read as an indeterminate to an integer power, else
    None (a sum, product, integer power or number, read by its parts)."""
    if expr.is_Add or expr.is_Mul or expr.is_Rational:
        return None
    if expr.is_Number or expr in (sympy.nan, sympy.zoo):
        raise _GiveUp  # a float, an infinity or nan
    if expr.is_Pow and expr.exp.is_Integer:
        return None
    if expr.is_Pow and expr.exp.is_Rational:
        return ("root", expr.base, expr.exp.q), expr.exp.p
    if isinstance(expr, sympy.exp):
        c, a = expr.args[0].as_content_primitive()
        if a.could_extract_minus_sign():
            c, a = -c, -a
        if not c.is_Integer:
            raise _GiveUp
        return ("exp", a), int(c)
    return ("atom", expr), 1


def _collect(expr: sympy.Expr, table: dict[tuple, int]) -> None:
    """Number the indeterminates of ``expr`` in ``table``."""
    read = _indeterminate(expr)
    if read is not None:
        table.setdefault(read[0], len(table))
    elif not expr.is_Rational:
        for arg in expr.args:
            _collect(arg, table)


def _fraction(expr, table, ring, gens, memo):
    """``(numerator, denominator)`` of ``expr`` as polynomials of ``ring``."""
    if expr in memo:
        return memo[expr]
    read = _indeterminate(expr)
    if read is not None:
        key, power = read
        result = _power((gens[table[key]], ring.one), power)
    elif expr.is_Rational:
        result = (ring.ground_new(sympy.QQ.from_sympy(expr)), ring.one)
    elif expr.is_Pow:
        result = _power(_fraction(expr.base, table, ring, gens, memo), int(expr.exp))
    else:
        parts = [_fraction(arg, table, ring, gens, memo) for arg in expr.args]
        result = parts[0]
        for n, d in parts[1:]:
            if expr.is_Mul:
                result = (result[0] * n, result[1] * d)
            elif result[1] == d:
                result = (result[0] + n, d)
            else:
                result = (result[0] * d + n * result[1], result[1] * d)
            if max(len(result[0]), len(result[1])) > _MAX_TERMS:
                raise _GiveUp
    memo[expr] = result
    return result


def _power(fraction, k: int):
    numerator, denominator = fraction
    if k < 0:
        if not numerator:
            raise _GiveUp  # 1/0
        numerator, denominator, k = denominator, numerator, -k
    return numerator**k, denominator**k


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
