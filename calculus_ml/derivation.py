"""Derivations: the verified step trees of an expression's (partial) derivatives.

:func:`derive` is the front door: it parses text safely, turns a per-sample term into a sum over
data when asked, builds one step tree per variable, tidies each result and checks every step.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

import sympy

from .errors import CalculusMLError, ExpressionError
from .higher import MAX_STAGES, HigherDerivation, implied_wrt, orders_of, stage_keys
from .parsing import normalized_name, parse_expression
from .point import PointValues, Results, point_of, values_at
from .steps.engine import build_steps
from .steps.rules import SimplifyRule, Step, SumOverDataRule, SumRule
from .steps.verify import PROOFS, ensure_real_somewhere, verify_tree
from .symbolic import Reduce, check_time, over_data, tidy, time_budget

__all__ = ["Derivation", "HigherDerivation", "derive", "derivation_of", "tidied", "Reduce"]


class Derivation:
    """The derivatives of one expression, step by step, one tree per variable.

    Parameters
    ----------
    expression : sympy.Expr
        The expression differentiated (for a loss over data, the whole sum).
    steps : dict
        Maps each variable (a SymPy symbol) to the root :class:`~calculus_ml.steps.rules.Step`.
    term : sympy.Expr, optional
        The per-sample term, when ``expression`` is a sum or mean over data.
    """

    def __init__(
        self,
        expression: sympy.Expr,
        steps: dict[sympy.Symbol, Step],
        *,
        term: sympy.Expr | None = None,
    ):
        self.expression = expression
        self.steps = dict(steps)
        self.term = term

    @property
    def variables(self) -> tuple[sympy.Symbol, ...]:
        """The variables, in the order they were asked for."""
        return tuple(self.steps)

    @property
    def results(self) -> Results:
        """Each variable's derivative, tidied: a dict keyed by symbol that also takes names
        (``results["x"]``) and substitutes values by name (``results.subs(x=2)``)."""
        return Results({var: step.result for var, step in self.steps.items()})

    def at(self, values: Mapping | None = None, /, **named) -> PointValues:
        """The function, its derivatives and the tangent line (plane) at a point given by name:
        ``derive("x^3", "x").at(x=2)`` gives ``f(2) = 8``, ``f′(2) = 12`` and ``y = 12x − 16``.

        Raises
        ------
        ExpressionError
            For a name not in the expression, a missing value, or a point where the function or
            a derivative is not a real number.
        """
        point = point_of(self.expression, values, **named)
        return values_at(self.expression, self.results, point)

    def hints(self, var: str | sympy.Symbol | None = None):
        """The derivation by ``var`` (the only variable if omitted) one step at a time, in the
        order a teacher works: each :class:`~calculus_ml.learning.Hint` names what to look at
        without giving it away, then the step it leads to."""
        from .learning.hints import hints

        return hints(self, var)

    @property
    def gradient(self) -> tuple[sympy.Expr, ...]:
        """The derivatives in variable order."""
        return tuple(self.results.values())

    def __getitem__(self, var: str | sympy.Symbol) -> Step:
        for symbol, step in self.steps.items():  # a name, or for w[j] also the vector's name w
            if var in (symbol, str(symbol), str(getattr(symbol, "base", symbol))):
                return step
        raise KeyError(var)

    def __iter__(self) -> Iterator[tuple[sympy.Symbol, Step]]:
        return iter(self.steps.items())

    def __len__(self) -> int:
        return len(self.steps)

    def parts(self, var: str | sympy.Basic) -> tuple[sympy.Expr, sympy.Expr]:
        """``(per-sample derivative, derivative of the rest)`` read from the verified tree.

        For ``J = c Σᵢ ℓ(xᵢ) + rest`` the first is the ``sum_over_data`` step's substep result
        ``∂ℓ(xᵢ)/∂var`` (in the indexed data; 0 without a sum over data), the second the sum of
        the results of the terms outside the sum (a penalty's derivative; without a sum over
        data, the whole derivative).
        """
        step = self[var]
        while isinstance(step, SimplifyRule):
            step = step.substep
        terms = step.terms if isinstance(step, SumRule) else (step,)
        sample, rest = [], []
        for term in terms:
            if not term.expr.has(sympy.Sum):
                rest.append(term.result)
                continue
            sums = [s for s in term.walk() if isinstance(s, SumOverDataRule)]
            if not sums and term.result == 0:  # the sum does not involve var
                continue
            if len(sums) != 1:
                raise CalculusMLError(f"the derivative by {var} has no single sum over the data")
            sample.append(sums[0].substep.result)
        return sympy.Add(*sample), sympy.Add(*rest)

    def verify(self, *, symbolic: bool = False) -> dict[str, int]:
        """Check every step of every tree against ``sympy.diff``; return counts by proof kind
        (see :data:`~calculus_ml.steps.verify.PROOFS`)."""
        totals = dict.fromkeys(PROOFS, 0)
        for step in self.steps.values():
            for kind, count in verify_tree(step, symbolic=symbolic).items():
                totals[kind] += count
        return totals

    # -- output -------------------------------------------------------------------------------

    def to_text(self) -> str:
        """Unicode text for a terminal, nesting shown by indentation."""
        from .render.text import render

        return render(self)

    def to_latex(self) -> str:
        """LaTeX for a document body: a paragraph and a display per step (amsmath)."""
        from .render.latex import render

        return render(self)

    def to_markdown(self) -> str:
        """Markdown with ``$$`` display math."""
        from .render.markdown import render

        return render(self)

    def to_html(self) -> str:
        """An HTML fragment with MathML: no script, stylesheet or font from the network."""
        from .render.html import render

        return render(self)

    def to_dict(self) -> dict:
        """The stable JSON structure as Python objects."""
        from .render.json import to_dict

        return to_dict(self)

    def to_json(self, indent: int | None = 2) -> str:
        """The stable JSON document (see :mod:`calculus_ml.render.json`)."""
        from .render.json import render

        return render(self, indent=indent)

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        names = ", ".join(str(v) for v in self.variables)
        return f"<Derivation of {sympy.sstr(self.expression)} with respect to {names}>"

    def _repr_latex_(self) -> str:
        from .render.latex import render_math

        return render_math(self)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, str]:
        return {
            "text/plain": repr(self),
            "text/latex": self._repr_latex_(),
            "text/markdown": self._repr_markdown_(),
            "text/html": self.to_html(),
        }


def derive(
    expr: str | sympy.Expr,
    wrt: str | sympy.Symbol | Iterable[str | sympy.Symbol] | None = None,
    *,
    order: int = 1,
    data: Iterable[str | sympy.Symbol] | None = None,
    reduce: Reduce | None = None,
    verify: bool = True,
    time_limit: float | None = None,
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
        :class:`~calculus_ml.higher.HigherDerivation`: with one variable the n-th derivative,
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
    >>> d["b"].rule
    'simplify'
    >>> derive("x^3", order=3).result
    6
    """
    with time_budget(time_limit):  # parsing is part of the work
        term = _real_symbols(parse_expression(expr))
        variables, order = orders_of(_resolve(term, implied_wrt(term, wrt, data), "variable"), order)
        if data is None:
            if reduce is not None:
                raise ExpressionError("reduce= needs data= (the names summed over)")
            expression, sample_term = term, None
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
        ensure_real_somewhere(expression)
        if order > 1:
            return _higher(expression, variables, order, verify=verify, time_limit=time_limit)
        return derivation_of(expression, variables, term=sample_term, verify=verify,
                             time_limit=time_limit)


def _higher(expression, variables, order, *, verify, time_limit) -> HigherDerivation:
    keys = stage_keys(variables, order)
    if len(keys) > MAX_STAGES or len(variables) ** order > MAX_STAGES:
        raise ExpressionError(f"{len(variables)} variables to order {order} make too many "
                              f"derivatives to explain (at most {MAX_STAGES}): fewer of either")
    stages: dict[tuple, Derivation] = {}
    with time_budget(time_limit):
        for key in keys:
            base = expression if len(key) == 1 else stages[key[:-1]].results[key[-2]]
            stages[key] = derivation_of(base, [key[-1]], verify=verify, time_limit=time_limit)
    return HigherDerivation(expression, variables, order, stages)


def derivation_of(
    expression: sympy.Expr,
    variables: Iterable[sympy.Symbol],
    *,
    term: sympy.Expr | None = None,
    verify: bool = True,
    time_limit: float | None = None,
) -> Derivation:
    """Differentiate a ready-made expression (already validated) with respect to each variable.

    Parameters
    ----------
    expression : sympy.Expr
        The expression, e.g. a loss built with :func:`~calculus_ml.symbolic.over_data`.
    variables : iterable of sympy.Symbol
        The variables, in the order the derivation lists them.
    term : sympy.Expr, optional
        The per-sample term, when ``expression`` is a sum or mean over data.
    verify : bool
        Check every step against ``sympy.diff``.
    time_limit : float, optional
        Seconds the derivation may take (default :data:`calculus_ml.symbolic.TIME_LIMIT`).

    Returns
    -------
    Derivation

    Raises
    ------
    ExpressionError
        When SymPy itself cannot work with the expression (its evaluation of some nested
        pieces never ends), or it is not real at any point tried.
    BudgetError
        For an expression too large to explain step by step, or past ``time_limit``.
    """
    try:
        with time_budget(time_limit):
            steps = {var: tidied(build_steps(expression, var)) for var in variables}
            derivation = Derivation(expression, steps, term=term)
            if verify:
                derivation.verify()
    except RecursionError:
        shown = sympy.sstr(expression)
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        raise ExpressionError(f"SymPy cannot differentiate {shown} step by step: its pieces "
                              "(max, min, abs) nest too deeply; write them out") from None
    return derivation


def tidied(step: Step) -> Step:
    """Wrap ``step`` in a simplify step when a tidier form of its result exists."""
    simpler = tidy(step.result)
    check_time()
    if simpler == step.result:
        return step
    return SimplifyRule(step.expr, step.var, simplified=simpler, substep=step)


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
