"""The answer key: the last step of a derivation writes its result as an answer key would.

:func:`answer_key` tries the forms a teacher would reach for — collected and factored
(:func:`~calculus_ml.symbolic.tidy`), the common factors cancelled, factored, over one
denominator, the identities a learner knows (``sin² + cos² = 1``, ``cosh² − sinh² = 1``,
``x·sign(x) = |x|`` so ``|x|/x`` is piecewise constant) — and keeps the shortest (SymPy's
``count_ops``, then a leading plus sign, then the fewest minus signs). The sign is then moved
to where it reads best: ``−x(y − σ)`` is ``x(σ − y)``, ``(−x² − 1)/d`` is ``−(x² + 1)/d``. The rules' own shapes (``σ(1 − σ)``, ``1 − tanh²``) win a tie.

Every form is equal to the derivative it replaces; the simplify step built from it is checked
by the verifier like any other. The work is bounded: the costly forms are tried only on
results of at most :data:`MAX_OPS` operations whose expansion stays within
:data:`MAX_EXPANDED` terms, ``trigsimp`` only below :data:`TRIG_OPS`, and
the time budget is checked between forms.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import sympy
from sympy.core.mul import _keep_coeff

from ..caching import remembered
from ..symbolic import check_time, expanded_size, tidy, within_terms
from .rules import SimplifyRule, Step

__all__ = ["tidied", "answer_key", "plain_condition", "positive_first", "length", "MAX_OPS",
           "MAX_EXPANDED", "TRIG_OPS"]

MAX_OPS = 80
"""Most operations (``sympy.count_ops``) of a result for which cancelling, factoring and the
identities are tried (a factorization of a long sum is the slowest of them)."""

MAX_EXPANDED = 200
"""Most terms (:func:`~calculus_ml.symbolic.expanded_size`) multiplying a result out may give
for those forms to be tried (factoring a sum of 126 terms in five symbols takes a quarter
of a second)."""

TRIG_OPS = 20
"""Most operations of a result with trigonometric functions for which ``sympy.trigsimp`` is
tried, or with exponentials for which ``sympy.exptrigsimp`` is (each takes about 0.1 s on a
short result; ``trigsimp`` takes a second on hyperbolic ones, so they are left to the
identities)."""

_CIRCULAR = (sympy.sin, sympy.cos, sympy.tan, sympy.sec, sympy.csc, sympy.cot)

COLLECTED = "collect common factors"


@remembered(4096)
def length(expr: sympy.Basic) -> tuple[int, bool, int]:
    """How long ``expr`` reads: its operations, whether it starts with a minus sign, its minus
    signs."""
    return sympy.count_ops(expr), _reads_negative(expr), sympy.sstr(expr).count("-")


def tidied(step: Step) -> Step:
    """``step`` under a simplify step to its result's answer-key form, when that differs."""
    simpler, how = answer_key(step.result)
    check_time()
    if simpler == step.result:
        return step
    return SimplifyRule(step.expr, step.var, simplified=simpler, substep=step, how=how)


@remembered(2048)
def answer_key(expr: sympy.Expr) -> tuple[sympy.Expr, str]:
    """The shortest equal form of a derivative and how it was reached.

    Parameters
    ----------
    expr : sympy.Expr
        A derivative as the rules built it.

    Returns
    -------
    tuple
        ``(form, how)``: the form (``expr`` itself when nothing is shorter) and a phrase
        saying what was done, e.g. ``"cancel common factors"``.
    """
    if isinstance(expr, sympy.Piecewise):
        pieces = [(answer_key(e)[0], c) for e, c in expr.args]
        return sympy.Piecewise(*pieces), "simplify each piece"
    collected = tidy(expr)
    best = _signs_outside(collected)
    how = COLLECTED if collected != expr else "move the minus sign into a bracket"
    ratios = _ratios(expr)
    if ratios != expr:
        form = _signs_outside(tidy(ratios))
        if length(form) < length(best):
            best, how = form, "write sin/cos as tan (and sinh/cosh as tanh)"
    if expr.has(sympy.Sum, sympy.Piecewise):  # the constants of a sum are pulled out
        return best, how
    if sympy.count_ops(expr) <= MAX_OPS and expanded_size(expr) <= MAX_EXPANDED:
        for form, reason in _forms(expr):
            check_time()
            form = _signs_outside(form)
            if length(form) < length(best):
                best, how = form, reason
    return best, how


def _forms(expr: sympy.Expr) -> Iterator[tuple[sympy.Expr, str]]:
    if any(p.exp.is_negative for p in expr.atoms(sympy.Pow)):
        yield sympy.together(expr), "write it over one denominator"
        cancelled = sympy.cancel(expr)
        yield cancelled, "cancel common factors"
    else:
        cancelled = sympy.expand(expr)
        yield cancelled, "multiply out"
    yield sympy.factor(cancelled), "factor"
    for identity, rewrite in _IDENTITIES:
        rewritten = rewrite(expr)
        if rewritten is not None and rewritten != expr:
            for form in (sympy.cancel(rewritten), sympy.factor(rewritten)):
                yield form, identity
    if expr.has(*_CIRCULAR) and sympy.count_ops(expr) <= TRIG_OPS:
        simpler = sympy.trigsimp(expr)
        if _functions(simpler) <= _functions(expr):  # no function the learner did not use
            yield simpler, "use the trigonometric identities"
    if expr.has(sympy.exp) and sympy.count_ops(expr) <= TRIG_OPS:
        yield sympy.exptrigsimp(expr), "write exponentials as hyperbolic functions"


def _functions(expr: sympy.Expr) -> set[type]:
    """The functions ``expr`` is written with."""
    return {type(call) for call in expr.atoms(sympy.Function)}


_RATIOS = ((sympy.sin, sympy.cos, sympy.tan), (sympy.sinh, sympy.cosh, sympy.tanh),
           (sympy.cos, sympy.sin, sympy.cot))


def _ratios(expr: sympy.Expr) -> sympy.Expr:
    """``sin(a)/cos(a)`` written as ``tan(a)``, ``sinh/cosh`` as ``tanh`` and ``cos/sin`` as
    ``cot``, in every product (inside sums over data too)."""
    if not expr.has(*(top for top, _, _ in _RATIOS)):
        return expr
    return expr.replace(lambda e: e.is_Mul, _ratio_of_product)


def _ratio_of_product(product: sympy.Mul) -> sympy.Expr:
    powers = product.as_powers_dict()
    for top, bottom, ratio in _RATIOS:
        for base in [b for b in powers if isinstance(b, top)]:
            below = bottom(*base.args)
            up, down = powers[base], -powers.get(below, sympy.S.Zero)  # SymPy exponents
            if up.is_positive and down.is_positive:
                k = sympy.Min(up, down)
                powers[base] -= k
                powers[below] += k
                powers[ratio(*base.args)] += k
    return sympy.Mul(*(b**e for b, e in powers.items()))

def _pythagoras(expr: sympy.Expr) -> sympy.Expr | None:
    """``sin²`` written as ``1 − cos²`` and ``sinh²`` as ``cosh² − 1`` (or back), whichever
    squares there are fewer of."""
    table = {}
    for pair, square in (((sympy.sin, sympy.cos), lambda c: 1 - c**2),
                         ((sympy.sinh, sympy.cosh), lambda c: c**2 - 1)):
        odd, even = pair
        for call in expr.atoms(odd):
            table[call**2] = square(even(*call.args))
    if not table:
        return None
    return sympy.expand(expr).subs(table)


def _abs_sign(expr: sympy.Expr) -> sympy.Expr | None:
    """``|a|`` written as ``a·sign(a)`` and ``sign(a)²`` as 1 (true away from ``a = 0``,
    where the derivative of ``|a|`` does not exist), then ``a·sign(a)`` as ``|a|`` again."""
    arguments = {call.args[0] for call in expr.atoms(sympy.Abs, sympy.sign)}
    if not arguments:
        return None
    signs = {a: sympy.Dummy("s") for a in arguments}
    written = expr.xreplace({sympy.Abs(a): a * s for a, s in signs.items()}
                            | {sympy.sign(a): s for a, s in signs.items()})
    written = sympy.expand(written)
    unit = {s: s for s in signs.values()}
    written = written.replace(
        lambda e: e.is_Pow and e.base in unit and e.exp.is_Integer,
        lambda e: e.base ** (e.exp % 2),
    )
    written = sympy.factor(written)
    back = written.xreplace({s: sympy.sign(a) for a, s in signs.items()})
    return back.replace(lambda e: e.is_Mul and _signed(e) is not None, _abs_of_product)


def _signed(product: sympy.Mul) -> sympy.Expr | None:
    """A factor ``a`` of ``product`` that ``sign(a)`` also divides, if any."""
    return next((f for f in product.args if not (f.is_number or isinstance(f, sympy.sign))
                 and sympy.sign(f) in product.args), None)


def _abs_of_product(product: sympy.Mul) -> sympy.Expr:
    """``a·sign(a)·rest`` as ``|a|·rest``."""
    a = _signed(product)
    factors = list(product.args)
    factors.remove(a)
    factors.remove(sympy.sign(a))
    return sympy.Abs(a) * sympy.Mul(*factors)


_IDENTITIES: tuple[tuple[str, Callable[[sympy.Expr], sympy.Expr | None]], ...] = (
    ("use sin² + cos² = 1", _pythagoras),
    ("use x·sign(x) = |x|: |x|/x is constant on each side of 0", _abs_sign),
)


def _signs_outside(expr: sympy.Expr) -> sympy.Expr:
    """``expr`` with its minus signs where they read best: a sum of negative terms has its
    minus sign in front (``(−a − x)²`` is ``(a + x)²``, ``(−x² − 1)/d`` is ``−(x² + 1)/d``),
    ``tanh² − 1`` is ``−(1 − tanh²)``, and a product with a minus sign in front takes it into
    a sum factor when that reads better (``−x(y − σ)`` is ``x(σ − y)``)."""
    if not isinstance(expr, sympy.Expr) or expr.is_Atom:
        return expr
    args = [_signs_outside(a) for a in expr.args]
    if expr.is_Pow:
        base, exp = args
        if base.is_Add and exp.is_Integer and exp.is_even and _all_negative(base):
            base = -base
        return sympy.Pow(base, exp)
    if not expr.is_Mul:
        return expr.func(*args)
    numbers = [a for a in args if a.is_Number]
    others = [a for a in args if not a.is_Number]
    return _sign_into_factor(_keep_coeff(sympy.Mul(*numbers), sympy.Mul(*others)))


def _sign_into_factor(product: sympy.Mul) -> sympy.Expr:
    coefficient, rest = product.as_coeff_Mul()
    factors = []
    for factor in sympy.Mul.make_args(rest):  # -x² - 1 is -(x² + 1), tanh² - 1 is -(1 - tanh²)
        base, exp = factor.as_base_exp()
        if base.is_Add and exp.is_Integer and (_all_negative(base) or _tanh_squared(-base)):
            factor, coefficient = (-base) ** exp, coefficient * (-1) ** exp
        factors.append(factor)
    product = _keep_coeff(coefficient, sympy.Mul(*factors))
    if not coefficient.is_negative:
        return product
    flips = [product]
    for k, factor in enumerate(factors):
        base, exp = factor.as_base_exp()
        if base.is_Add and exp.is_Integer and exp.is_odd and not (
                _all_negative(-base) or _tanh_squared(base)):
            flips.append(_keep_coeff(-coefficient, sympy.Mul(*factors[:k], (-base) ** exp,
                                                             *factors[k + 1:])))
    return min(flips, key=length)


def _tanh_squared(terms: sympy.Add) -> bool:
    """Whether ``terms`` is ``1 - tanh(u)²``, the derivative of ``tanh`` as learners know it."""
    one, square = terms.as_coeff_Add()
    return one == 1 and square.could_extract_minus_sign() and (-square).is_Pow \
        and (-square).exp == 2 and isinstance((-square).base, sympy.tanh)


def _all_negative(terms: sympy.Add) -> bool:
    return all(t.could_extract_minus_sign() for t in terms.args)


def positive_first(terms: Sequence[sympy.Expr]) -> tuple[sympy.Expr, ...]:
    """A sum's terms with the first positive one put in front, as an answer key writes them
    (``x − a``, ``σ(z) − y``); all negative, they stay as they are."""
    first = next((k for k, t in enumerate(terms) if not t.could_extract_minus_sign()), 0)
    return (terms[first], *terms[:first], *terms[first + 1:])


def _reads_negative(expr: sympy.Expr) -> bool:
    """Whether ``expr`` is printed with a minus sign in front (a sum's first positive term is
    printed first, see :func:`positive_first`)."""
    if expr.is_Add:
        return _all_negative(expr)
    return expr.as_coeff_Mul()[0].is_negative


def plain_condition(condition: sympy.Basic) -> sympy.Basic:
    """An equivalent condition written plainly: both sides' difference multiplied out and its
    positive numeric content divided off, the quantities on the left with a plus sign and the
    number on the right (``x ≥ x/100`` is ``x ≥ 0``, ``q(y − t) ≥ (q − 1)(y − t)`` is
    ``y ≥ t``, ``x/5 − 2 < 3x`` is ``x > −5/7``).

    A comparison whose difference has a denominator that is not a number is left as it is
    (dividing by it could reverse the comparison), and so are other conditions.
    """
    if isinstance(condition, (sympy.And, sympy.Or)):
        return condition.func(*(plain_condition(c) for c in condition.args))
    if not isinstance(condition, tuple(_REVERSED)):
        return condition
    numerator, denominator = sympy.together(condition.lhs - condition.rhs).as_numer_denom()
    if not (denominator.is_number and denominator.is_nonzero) or not within_terms(numerator):
        return condition
    content, difference = sympy.expand(numerator).as_content_primitive()
    if (content / denominator).is_negative:
        difference = -difference
    number, quantities = difference.as_coeff_Add()
    relation = condition.func
    if all(t.could_extract_minus_sign() for t in sympy.Add.make_args(quantities)):
        # -x - 5 < 0 is x + 5 > 0
        number, quantities, relation = -number, -quantities, _REVERSED[relation]
    factor, alone = quantities.as_coeff_Mul()
    if factor.is_positive and not alone.is_Add:  # 7x > -5 is x > -5/7
        number, quantities = number / factor, alone
    left = [t for t in sympy.Add.make_args(quantities) if not t.could_extract_minus_sign()]
    right = [-t for t in sympy.Add.make_args(quantities) if t.could_extract_minus_sign()]
    plain = relation(sympy.factor_terms(sympy.Add(*left)), sympy.Add(*right) - number)
    return plain if sympy.count_ops(plain) <= sympy.count_ops(condition) else condition


_REVERSED = {sympy.Ge: sympy.Le, sympy.Le: sympy.Ge, sympy.Gt: sympy.Lt, sympy.Lt: sympy.Gt}
