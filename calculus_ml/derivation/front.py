"""The front door: :func:`derive` parses text safely, turns a per-sample term into a sum over
data when asked, and returns its verified :class:`~calculus_ml.derivation.Derivation` (or, for
``order`` ≥ 2, a :class:`~calculus_ml.derivation.HigherDerivation`)."""

from __future__ import annotations

from collections.abc import Iterable

import sympy

from ..errors import ExpressionError
from ..parsing import normalized_name, parse
from ..steps.rewrites import typed_over_data
from ..steps.verify import ensure_real_somewhere
from ..symbolic import Reduce, over_data, time_budget
from .higher import MAX_STAGES, HigherDerivation, implied_wrt, orders_of, stage_keys
from .tree import Derivation, check_detail, derivation_of

__all__ = ["derive"]


def derive(
    expr: str | sympy.Expr,
    wrt: str | sympy.Symbol | Iterable[str | sympy.Symbol] | None = None,
    *,
    order: int = 1,
    data: Iterable[str | sympy.Symbol] | None = None,
    reduce: Reduce | None = None,
    verify: bool = True,
    time_limit: float | None = None,
    detail: str = "standard",
) -> Derivation | HigherDerivation:
    """Differentiate ``expr`` step by step with respect to each variable in ``wrt``.

    Parameters
    ----------
    expr : str or sympy.Expr
        The expression; text is parsed with :func:`~calculus_ml.parse_expression`. With ``data``,
        it is the term for one data point.
    wrt : str, Symbol or list of them, optional
        The variable or variables; other symbols are held constant. May be omitted when the
        expression has one symbol. A variable the expression does not hold has derivative 0
        (the constant rule). One name repeated (``["x", "x"]``) asks for a higher derivative.
    order : int
        The order of the derivatives (default 1). From 2 on, a
        :class:`~calculus_ml.derivation.HigherDerivation`: with one variable the n-th derivative,
        with several every partial of that order (``order=2``: the Hessian, both orders of
        each mixed partial).
    data : list of str, optional
        Names of per-sample data symbols. The expression differentiated becomes
        ``(1/n) Σᵢ expr(xᵢ, ...)`` (``reduce="mean"``, the default) or ``Σᵢ expr(xᵢ, ...)``.
    reduce : {"mean", "sum"}, optional
        How the terms are combined over the data.
    verify : bool
        Check every step against ``sympy.diff`` (raises
        :class:`~calculus_ml.errors.VerificationError` on a wrong step).
    time_limit : float, optional
        Seconds the derivation may take (default :data:`calculus_ml.symbolic.TIME_LIMIT`;
        ``math.inf`` for no limit).
    detail : {"standard", "full", "brief"}
        How much its displays show: ``"full"`` every step with its sentence and facts,
        ``"standard"`` the same with the trivial steps (a constant's derivative is 0, the
        variable's is 1) told in their parent's sentence, ``"brief"`` one line per rule. Every
        step is verified at every level.

    Returns
    -------
    Derivation or HigherDerivation

    Raises
    ------
    ExpressionError
        For unsafe or malformed text, bad variable or data names, a bad ``reduce`` or ``order``.
    DomainError
        For an expression that is a real number nowhere (``sqrt(-1 - x^2)``).
    BudgetError
        For an expression too large to explain step by step, or past ``time_limit``.

    Examples
    --------
    >>> d = derive("(y - (m*x + b))**2", ["m", "b"], data=["x", "y"])
    >>> d["b"].rule, d["b"].identity    # from what was typed to SymPy's form, then the rules
    ('rewrite', 'multiply out the minus sign in front of the brackets')
    >>> derive("x^3", order=3).result
    6
    """
    check_detail(detail)
    with time_budget(time_limit):  # parsing is part of the work
        parsed = parse(expr)
        term, typed = _real_symbols(parsed.expr), _real_symbols(parsed.typed)
        variables, order = orders_of(_resolve(term, implied_wrt(term, wrt, data), "variable"), order)
        if data is None:
            if reduce is not None:
                raise ExpressionError("reduce= needs data= (the names summed over)")
            expression, sample_term, shown = term, None, typed
        else:
            if order > 1:
                raise ExpressionError("order= goes without data=: a loss's second derivatives "
                                      "are its Hessian (calculus_ml.Loss(...).hessian())")
            data_symbols = _resolve(term, data, "data name")
            clash = set(variables) & set(data_symbols)
            if clash:
                raise ExpressionError(
                    f"{', '.join(sorted(s.name for s in clash))} cannot be both a variable and data"
                )
            expression, sample_term = over_data(term, data_symbols, reduce or "mean"), term
            shown = typed_over_data(typed, expression, data_symbols)
        ensure_real_somewhere(expression)
        if order > 1:
            return _higher(expression, variables, order, verify=verify, time_limit=time_limit)
        derivation = derivation_of(expression, variables, term=sample_term, verify=verify,
                                   time_limit=time_limit, shown=shown)
        derivation.shown_term = typed if data is not None else None
        derivation.read_as = parsed.read_as
    derivation.detail = detail
    return derivation

def _higher(expression, variables, order, *, verify, time_limit) -> HigherDerivation:
    if sum(len(variables) ** k for k in range(1, order + 1)) > MAX_STAGES:
        raise ExpressionError(f"{len(variables)} variables to order {order} make too many "
                              f"derivatives to explain (at most {MAX_STAGES}): fewer of either")
    stages: dict[tuple, Derivation] = {}
    for key in stage_keys(variables, order):
        base = expression if len(key) == 1 else stages[key[:-1]].results[key[-2]]
        stages[key] = derivation_of(base, [key[-1]], verify=verify, time_limit=time_limit)
    return HigherDerivation(expression, variables, order, stages)

def _real_symbols(expr: sympy.Expr) -> sympy.Expr:
    """``expr`` with each symbol not known to be real or complex made real, as parsed names are."""
    plain = {
        s: sympy.Symbol(s.name, real=True)
        for s in expr.free_symbols
        if isinstance(s, sympy.Symbol) and s.is_real is None
    }
    return expr.xreplace(plain) if plain else expr


def _resolve(
    expr: sympy.Expr, names: str | sympy.Symbol | Iterable[str | sympy.Symbol], kind: str
) -> tuple[sympy.Symbol, ...]:
    if isinstance(names, (str, sympy.Symbol)):
        names = [names]
    try:
        names = list(names)
    except TypeError:
        raise ExpressionError(f"{kind} must be a name or a list of names, not {names!r}") from None
    if not names:
        raise ExpressionError(f"no {kind} given")
    by_name = {s.name: s for s in expr.free_symbols}
    if kind == "variable" and not by_name:  # a constant: any name is a variable, with d/dx = 0
        by_name = _AnyName()
    symbols = []
    for name in names:
        key = name.name if isinstance(name, sympy.Symbol) else name
        if not isinstance(key, str):
            raise ExpressionError(f"{kind} must be a name, not {name!r}")
        key = normalized_name(key)
        if key not in by_name:
            known = ", ".join(sorted(by_name)) or "none"
            raise ExpressionError(f"{kind} {key!r} does not occur in {expr} (its symbols: {known})")
        symbols.append(by_name[key])
    return symbols if kind == "variable" else tuple(dict.fromkeys(symbols))


class _AnyName(dict):
    """A real symbol for any identifier: the variables of a constant (its derivative is 0)."""

    def __contains__(self, key) -> bool:
        return dict.__contains__(self, key) or key.isidentifier()

    def __missing__(self, key: str) -> sympy.Symbol:
        return self.setdefault(key, sympy.Symbol(key, real=True))
