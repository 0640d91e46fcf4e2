"""The rewrite steps at the top of a derivation: from the expression as typed to SymPy's form.

SymPy simplifies as it builds: ``sqrt(x**2)`` becomes ``|x|``, ``log(exp(x))`` becomes ``x``,
``log(x, 2)`` becomes ``log(x)/log(2)``, ``sin(pi/6)`` becomes ``1/2``, ``0.5`` becomes ``1/2``,
``y - (m*x + b)`` becomes ``-b - m*x + y``. The derivation starts from what the learner typed
(built without evaluation, see :func:`calculus_ml.parsing.parse`) and shows each of those
simplifications as a named :class:`~calculus_ml.steps.rules.RewriteRule`, one per kind, in the
order of :data:`IDENTITIES`; whatever is left (terms collected and ordered) is a last rewrite.
Each is a step like any other: the verifier checks ``d/dx[before] = d/dx[after]``.
"""

from __future__ import annotations

from collections.abc import Callable

import sympy

from ..functions import TypedDecimal, log_base
from ..parsing.builder import rebuilt
from ..symbolic import data_index, indexed
from .rules import RewriteRule, Step

__all__ = ["IDENTITIES", "IDENTITY_NAMES", "typed_start", "typed_over_data", "evaluated"]


def _is_decimal(node: sympy.Basic) -> bool:
    return isinstance(node, TypedDecimal)


def _is_constant_call(node: sympy.Basic) -> bool:
    return isinstance(node, sympy.Function) and not node.free_symbols


def _is_change_of_base(node: sympy.Basic) -> bool:
    return isinstance(node, log_base)


def _is_log_of_exp(node: sympy.Basic) -> bool:
    inner = node.args[0] if isinstance(node, sympy.log) and len(node.args) == 1 else None
    return isinstance(inner, sympy.exp) or (inner is not None and inner.is_Pow
                                             and inner.base == sympy.E)


def _is_exp_of_log(node: sympy.Basic) -> bool:
    power = node.args[0] if isinstance(node, sympy.exp) else (
        node.exp if node.is_Pow and node.base == sympy.E else None)
    return power is not None and power.has(sympy.log)


def _is_root_of_square(node: sympy.Basic) -> bool:
    return (node.is_Pow and node.exp == sympy.Rational(1, 2) and node.base.is_Pow
            and node.base.exp.is_even is True)


IDENTITIES: tuple[tuple[str, Callable[[sympy.Basic], bool]], ...] = (
    ("a decimal is an exact fraction", _is_decimal),
    ("a function of a constant has an exact value", _is_constant_call),
    ("change of base, log_b(u) = ln(u)/ln(b)", _is_change_of_base),
    ("the logarithm undoes the exponential, ln(e^u) = u", _is_log_of_exp),
    ("e to a multiple of a logarithm is a power, e^(k ln u) = u^k", _is_exp_of_log),
    ("the square root of a square is an absolute value, sqrt(u^2) = |u|", _is_root_of_square),
)
"""The simplifications SymPy makes while building, each named as the rewrite step shows it, in
the order they are shown."""

_MINUS = "multiply out the minus sign in front of the brackets"
_STANDARD = "collect and order the terms (SymPy's standard form)"
IDENTITY_NAMES = frozenset({name for name, _ in IDENTITIES} | {_MINUS, _STANDARD})
"""Every identity a rewrite from the typed form names."""


def evaluated(expr: sympy.Basic) -> sympy.Basic:
    """``expr`` rebuilt from the leaves up with SymPy's evaluation on (decimals exact)."""
    if isinstance(expr, TypedDecimal):
        return expr.exact()
    if not expr.args:
        return expr
    args = tuple(evaluated(arg) for arg in expr.args)
    func = next((kind for kind in (sympy.Add, sympy.Mul) if isinstance(expr, kind)), expr.func)
    with sympy.evaluate(True):
        return func(*args) if args != expr.args or _unevaluated(expr) else expr


def _unevaluated(expr: sympy.Basic) -> bool:
    return isinstance(expr, (sympy.Add, sympy.Mul, sympy.Pow, sympy.Function))


def _rewritten(expr: sympy.Basic,
               replacement: Callable[[sympy.Basic], sympy.Basic | None]) -> sympy.Basic:
    """``expr`` (unevaluated) with each outermost node that has a ``replacement`` replaced, a
    node rebuilt only when a child changed, keeping the order of unevaluated sums (``xreplace``
    sorts them)."""
    new = replacement(expr)
    if new is not None:
        return new
    if not expr.args:
        return expr
    args = tuple(_rewritten(arg, replacement) for arg in expr.args)
    return expr if args == expr.args else rebuilt(expr.func, args)


def _shown(expr: sympy.Basic) -> str:
    return sympy.sstr(expr, order="none")


def _has_minus_bracket(expr: sympy.Basic) -> bool:
    return any(node.is_Mul and node.args[0] == -1 and any(a.is_Add for a in node.args[1:])
               for node in sympy.preorder_traversal(expr))


def stages(typed: sympy.Expr, canonical: sympy.Expr) -> list[tuple[str, sympy.Expr, sympy.Expr]]:
    """``(identity, before, after)`` for each rewrite leading from ``typed`` to ``canonical``;
    none when ``typed`` reads the same as ``canonical``."""
    out, current = [], typed
    for name, matches in IDENTITIES:
        after = _rewritten(current, lambda node: evaluated(node) if matches(node) else None)
        if _shown(after) != _shown(current):
            out.append((name, current, after))
            current = after
    if _key(current) != _key(canonical):
        out.append((_MINUS if _has_minus_bracket(current) else _STANDARD, current, canonical))
    elif out:  # only the order differs: the last rewrite lands on SymPy's form
        out[-1] = (out[-1][0], out[-1][1], canonical)
    return out


def _key(expr: sympy.Basic) -> str:
    """``expr`` as a string that ignores the order of terms and factors (and the form of
    numbers: ``2**(-1)`` is ``1/2``), to tell a reordering from a rewrite."""
    if not expr.free_symbols:
        return sympy.sstr(evaluated(expr))
    if expr.is_Add or expr.is_Mul:
        kind = sympy.Add if expr.is_Add else sympy.Mul
        return f"{kind.__name__}{sorted(_key(arg) for arg in _flat(expr, kind))}"
    if not expr.args:
        return sympy.sstr(expr)
    return f"{type(expr).__name__}{[_key(arg) for arg in expr.args]}"


def _flat(expr: sympy.Basic, kind: type) -> list[sympy.Basic]:
    """The terms (or factors) of nested sums (or products) as typed: ``(a + b) + c``."""
    if not isinstance(expr, kind):
        return [expr]
    return [term for arg in expr.args for term in _flat(arg, kind)]


def typed_start(typed: sympy.Expr, canonical: sympy.Expr, root: Step) -> Step:
    """``root`` (the derivation of ``canonical``) under the rewrite steps from ``typed``.

    Parameters
    ----------
    typed : sympy.Expr
        The expression as typed (built without evaluation).
    canonical : sympy.Expr
        SymPy's form of it, ``root.expr``.
    root : Step
        The derivation of ``canonical``.

    Returns
    -------
    Step
        ``root`` itself when the typed form reads the same, else a chain of
        :class:`~calculus_ml.steps.rules.RewriteRule` ending in ``root``.
    """
    step = root
    for name, before, after in reversed(stages(typed, canonical)):
        step = RewriteRule(before, root.var, rewritten=after, identity=name, substep=step)
    return step


def typed_over_data(typed: sympy.Expr, expression: sympy.Expr,
                    data: tuple[sympy.Symbol, ...]) -> sympy.Expr:
    """The typed per-sample term summed (or averaged) over the data as ``expression`` (built by
    :func:`~calculus_ml.symbolic.over_data` from the canonical term) is, its order kept."""
    index, n = data_index(expression)
    total = sympy.Sum(_rewritten(typed, {s: indexed(s, index) for s in data}.get), (index, 1, n))
    return sympy.Mul(total, sympy.Pow(n, -1), evaluate=False) if expression.is_Mul else total
