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
is real and finite. So it is when a symbolic proof would be too large to try (the work budget of
:mod:`calculus_ml.symbolic`): the step's proof is then ``"numeric_too_large"``, not
``"numeric"``. Kinked functions (``abs``, ``max``, pieces) agree with SymPy everywhere except
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

from typing import Iterator, Literal

import sympy

from ..caching import BoundedMemo, remembered
from ..errors import DomainError, VerificationError
from ..functions import ML_FUNCTIONS, dot, to_elementary
from ..symbolic import check_time, component, concretize_sums, differentiate, is_kinked, too_large
from .real import (N_POINTS, SCALES, equal_numerically, is_real_somewhere, numeric_verdict,
                   real_value)
from .rules import SimplifyRule, Step
from .zero import merged_sums, vanishes, vanishes_almost_everywhere

__all__ = ["check_step", "verify_tree", "ensure_real_somewhere", "nowhere_real", "expected_derivative", "written_out", "concretize_sums",
           "equal_numerically", "real_value", "N_POINTS", "CONCRETE_D", "CONCRETE_J", "Proof",
           "PROOFS"]

Proof = Literal["symbolic", "numeric", "numeric_too_large"]
PROOFS: tuple[Proof, ...] = ("symbolic", "numeric", "numeric_too_large")
"""How a step's equality can be established: proved symbolically; confirmed numerically as no
cheap proof exists; confirmed numerically as a symbolic proof would be too large to try."""

_CACHE_SIZE = 4096
"""Entries kept by each process-wide cache below (oracles, elementary forms, vanishing tests)."""

CONCRETE_D = 3
"""Number of components an inner product is written out with when it is checked."""
CONCRETE_J = 2
"""The component ``j`` (of ``1..CONCRETE_D``) at which ``d/dw_j`` is checked."""


def expected_derivative(step: Step) -> sympy.Expr:
    """``sympy.diff`` of the step's expression, the oracle every step is held to (inner
    products written out, see :func:`written_out`)."""
    expr, var, _ = written_out(step)
    return differentiate(_elementary(expr), var)


def written_out(step: Step) -> tuple[sympy.Expr, sympy.Basic, sympy.Expr]:
    """``(expr, var, result)`` of the step, each ``dot(a, b)`` written as ``Σₖ a_k b_k`` for
    ``k = 1..CONCRETE_D`` and a component index set to ``CONCRETE_J``."""
    if not isinstance(step.var, sympy.Indexed) and not step.expr.has(dot):
        return step.expr, step.var, step.result
    index = tuple((j, CONCRETE_J) for j in getattr(step.var, "indices", ()))
    return _out(step.expr, index), step.var.xreplace(dict(index)), _out(step.result, index)


@remembered(_CACHE_SIZE)
def _out(expr: sympy.Expr, index: tuple[tuple[sympy.Symbol, int], ...]) -> sympy.Expr:
    """``expr`` with its inner products written out and the component indices set."""
    # an inner product's arguments hold no index, so one xreplace writes them all out (and is
    # much cheaper than ``replace``)
    products = {p: _inner_product(*p.args) for p in expr.atoms(dot)}
    return (expr.xreplace(products) if products else expr).xreplace(dict(index))


@remembered(_CACHE_SIZE)
def _inner_product(a: sympy.Basic, b: sympy.Basic) -> sympy.Expr:
    return sympy.Add(*(component(a, k) * component(b, k) for k in range(1, CONCRETE_D + 1)))


@remembered(_CACHE_SIZE)
def _elementary(expr: sympy.Expr) -> sympy.Expr:
    """:func:`~calculus_ml.functions.to_elementary`, applied to the ML function calls only."""
    calls = expr.atoms(*ML_FUNCTIONS)
    return expr.xreplace({c: _elementary_call(c) for c in calls}) if calls else expr


_elementary_call = remembered(_CACHE_SIZE)(to_elementary)


def check_step(step: Step, *, symbolic: bool = False) -> Proof:
    """Check one step and say how its equality was established.

    Parameters
    ----------
    step : Step
        The step to check; its substeps are not visited.
    symbolic : bool
        Insist on a symbolic proof (calling ``sympy.simplify`` if needed) except for kinked
        functions, whose derivatives agree with SymPy's only away from the kink: those of one
        variable are proved piece by piece where SymPy can split the line into intervals
        (:func:`~.zero.vanishes_almost_everywhere`), the others checked at points.

    Raises
    ------
    VerificationError
        If the step's result is not the derivative of its expression.
    ExpressionError
        If the step's expression is not real at any point tried, so cannot be checked.
    BudgetError
        If ``symbolic`` insists on a proof that would be too large, or time runs out.
    """
    return _Checker(symbolic).check(step)


def verify_tree(root: Step, *, symbolic: bool = False) -> dict[Proof, int]:
    """Check every distinct node of a step tree; return how many were proved each way.

    Substeps are checked before the step built from them, so an error names the wrong rule
    rather than a step above it.
    """
    checker = _Checker(symbolic)
    counts: dict[Proof, int] = dict.fromkeys(PROOFS, 0)
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


_PROVED: BoundedMemo[Proof] = BoundedMemo(_CACHE_SIZE)
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
            check_time()
            proof = _PROVED.put(claim, self._proof(step))
        self.proofs[id(step)] = proof
        return proof

    def _proof(self, step: Step) -> Proof:
        if isinstance(step, SimplifyRule) and id(step.substep) in self.proofs:
            # equal to a result already held to sympy.diff: algebra, with sigmoid left opaque
            if self.equal_symbolically(step.result, step.substep.result, thorough=False):
                return self.proofs[id(step.substep)]
        expr, var, result = written_out(step)
        expected = differentiate(_elementary(expr), var)
        got = _elementary(result)
        thorough = self.symbolic and not is_kinked(got, expected)
        proved = self.equal_symbolically(got, expected, thorough=thorough)
        if proved or (self.symbolic and not thorough  # symbolic, so not thorough means kinked
                      and vanishes_almost_everywhere(got - expected)):
            return "symbolic"
        if thorough and proved is None:
            raise too_large(f"a symbolic proof of the {step.rule} step for d/d{step.var} would "
                            "be too long", "verify(symbolic=False), which checks it at points")
        if thorough:
            raise VerificationError(_message(step, expected, "could not be proved equal"))
        verdict = numeric_verdict(got, expected)
        if verdict:
            return "numeric" if proved is False else "numeric_too_large"
        if verdict is False:
            raise VerificationError(_message(step, expected, "disagrees"))
        if expected.has(sympy.Derivative):
            raise VerificationError(_message(step, expected, "cannot be checked (no oracle)"))
        if not is_real_somewhere(_elementary(expr)):
            raise nowhere_real(step.expr)
        if proved is None:  # too long to prove, too large (past 1e12) or complex to sample
            raise too_large(f"the {step.rule} step for d/d{step.var} is too long to prove and "
                            "has no small real values to check at points", "smaller powers")
        raise VerificationError(_message(step, expected, "cannot be checked (no real points)"))

    def equal_symbolically(self, a: sympy.Expr, b: sympy.Expr, *,
                           thorough: bool) -> bool | None:
        """True if ``a = b`` is proved, None if a proof would be too large to try, else
        False."""
        if a == b:
            return True
        difference = a - b
        pieces = merged_sums(difference) or (concretize_sums(difference),)
        verdicts = []
        for piece in pieces:
            verdicts.append(vanishes(piece))
            if verdicts[-1] is False:
                break
        if all(verdicts):
            return True
        if None in verdicts:
            return None
        return thorough and all(sympy.simplify(p) == 0 for p in pieces)


def nowhere_real(expr: sympy.Expr) -> DomainError:
    """The one refusal of an expression real at none of the points tried."""
    return DomainError(f"{expr} is not real at any point tried (each name up to "
                       f"±10^{SCALES[-1]:g}), so it has no real derivative to explain")


def ensure_real_somewhere(expr: sympy.Expr) -> None:
    """Raise :class:`~calculus_ml.errors.DomainError` unless ``expr`` is real and finite at
    one of the points the verifier tries."""
    try:
        elementary = _elementary(expr)
    except (ValueError, TypeError):  # SymPy refuses a rewritten part it finds complex
        elementary = expr
    if not is_real_somewhere(elementary):
        raise nowhere_real(expr)


def _message(step: Step, expected: sympy.Expr, what: str) -> str:
    return (
        f"{step.rule} step for d/d{step.var}[{step.expr}] {what}: "
        f"rule gives {step.result}, sympy.diff gives {expected}"
    )
