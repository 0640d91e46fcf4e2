"""Derivations: the verified step trees of an expression's (partial) derivatives.

:func:`derive` is the front door: it parses text safely, turns a per-sample term into a sum over
data when asked, builds one step tree per variable, tidies each result and checks every step.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import sympy

from .errors import CalculusMLError, ExpressionError
from .parsing import normalized_name, parse
from .steps.answer_key import tidied
from .steps.engine import build_steps
from .steps.rewrites import typed_over_data, typed_start
from .steps.rules import RewriteRule, SimplifyRule, Step, SumOverDataRule, SumRule
from .steps.verify import PROOFS, verify_tree
from .symbolic import Reduce, over_data, time_budget

__all__ = ["Derivation", "Results", "derive", "derivation_of", "tidied", "Reduce", "DETAILS",
           "check_detail"]

DETAILS: tuple[str, ...] = ("standard", "full", "brief")
"""The levels of detail of a derivation's displays, the default first: ``standard`` every rule
with the trivial leaves (a constant's derivative is 0, the variable's is 1) told in their
parent's sentence; ``full`` every step with its sentence and facts; ``brief`` one line per rule
application, ``d/dx[expr] = result``, the trivial leaves folded too."""


class Results(dict):
    """``{variable: derivative}`` (a plain dict) that displays itself as equations
    ``∂f/∂v = ...`` in Jupyter; ``expression`` is what was differentiated."""

    def __init__(self, expression: sympy.Expr, results: dict):
        super().__init__(results)
        self.expression = expression

    def _pairs(self):
        from .render.base import derivative

        return [(derivative(self.expression, var), value) for var, value in self.items()]

    def _repr_html_(self) -> str:
        from .render.display import equations_html

        return equations_html(self._pairs())

    def _repr_markdown_(self) -> str:
        from .render.display import equations_markdown

        return equations_markdown(self._pairs())

    def _repr_latex_(self) -> str:
        from .render.display import equations_latex

        return equations_latex(self._pairs())


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
    shown, shown_term : sympy.Expr, optional
        ``expression`` and ``term`` as the learner typed them (unevaluated), for display.
    read_as : str, optional
        How natural input was read (``"2·x^2 + 3·x"`` for ``2x^2 + 3x``), when that differs
        from the text.
    detail : {"standard", "full", "brief"}
        How much of the trees its displays show (:data:`DETAILS`);
        every step is verified whatever is shown.
    """

    def __init__(
        self,
        expression: sympy.Expr,
        steps: dict[sympy.Symbol, Step],
        *,
        term: sympy.Expr | None = None,
        shown: sympy.Expr | None = None,
        shown_term: sympy.Expr | None = None,
        read_as: str | None = None,
        detail: str = "standard",
    ):
        self.expression = expression
        self.steps = dict(steps)
        self.term = term
        self.shown = expression if shown is None else shown
        self.shown_term = term if shown_term is None else shown_term
        self.read_as = read_as
        self.detail = check_detail(detail)

    @property
    def variables(self) -> tuple[sympy.Symbol, ...]:
        """The variables, in the order they were asked for."""
        return tuple(self.steps)

    @property
    def results(self) -> Results:
        """Each variable's derivative, tidied (a dict that displays itself in Jupyter)."""
        return Results(self.expression, {var: step.result for var, step in self.steps.items()})

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
        while isinstance(step, (SimplifyRule, RewriteRule)):  # to the derivation of SymPy's form
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

    def to_text(self, *, detail: str | None = None, width: int | None = None,
                ascii: bool = False) -> str:
        """Unicode (or ``ascii``) text for a terminal, nesting shown by indentation, at
        ``detail`` (default: :attr:`detail`), ``width`` columns wide (default: the terminal's)."""
        from .render.text import render

        return render(self, detail=detail, width=width, ascii=ascii)

    def to_latex(self) -> str:
        """LaTeX for a document body: a paragraph and a display per step (amsmath)."""
        from .render.latex import render

        return render(self)

    def to_markdown(self, *, detail: str | None = None) -> str:
        """Markdown with ``$$`` display math, at ``detail`` (default: :attr:`detail`)."""
        from .render.markdown import render

        return render(self, detail=detail)

    def to_html(self, *, detail: str | None = None) -> str:
        """An HTML fragment with MathML and its stylesheet, the steps collapsible: no script,
        stylesheet or font from the network."""
        from .render.html import render

        return render(self, detail=detail, style=True)

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
        from .render.text import short

        names = ", ".join(str(v) for v in self.variables)
        return f"<Derivation of {short(self.expression)} with respect to {names}>"

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
    wrt: str | sympy.Symbol | Iterable[str | sympy.Symbol],
    *,
    data: Iterable[str | sympy.Symbol] | None = None,
    reduce: Reduce | None = None,
    verify: bool = True,
    time_limit: float | None = None,
    detail: str = "standard",
) -> Derivation:
    """Differentiate ``expr`` step by step with respect to each variable in ``wrt``.

    Parameters
    ----------
    expr : str or sympy.Expr
        The expression; text is parsed with :func:`~calculus_ml.parse_expression`. With ``data``,
        it is the term for one data point.
    wrt : str, Symbol or list of them
        The variable or variables; other symbols are held constant.
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
    Derivation

    Raises
    ------
    ExpressionError
        For unsafe or malformed text, unknown variables or data names, a bad ``reduce``, or an
        expression that is not real at any point tried.
    BudgetError
        For an expression too large to explain step by step, or past ``time_limit``.

    Examples
    --------
    >>> d = derive("(y - (m*x + b))**2", ["m", "b"], data=["x", "y"])
    >>> d["b"].rule, d["b"].identity    # from what was typed to SymPy's form, then the rules
    ('rewrite', 'multiply out the minus sign in front of the brackets')
    """
    check_detail(detail)
    with time_budget(time_limit):  # parsing is part of the work
        parsed = parse(expr)
        term, typed = _real_symbols(parsed.expr), _real_symbols(parsed.typed)
        variables = _resolve(term, wrt, "variable")
        if data is None:
            if reduce is not None:
                raise ExpressionError("reduce= needs data= (the names summed over)")
            expression, sample_term, shown = term, None, typed
        else:
            data_symbols = _resolve(term, data, "data name")
            clash = set(variables) & set(data_symbols)
            if clash:
                raise ExpressionError(
                    f"{', '.join(sorted(s.name for s in clash))} cannot be both a variable and data"
                )
            expression, sample_term = over_data(term, data_symbols, reduce or "mean"), term
            shown = typed_over_data(typed, expression, data_symbols)
        derivation = derivation_of(expression, variables, term=sample_term, verify=verify,
                                   time_limit=time_limit, shown=shown)
        derivation.shown_term = typed if data is not None else None
        derivation.read_as = parsed.read_as
    derivation.detail = detail
    return derivation


def check_detail(detail: str) -> str:
    """``detail`` if it is one of :data:`DETAILS`, else an
    :class:`~calculus_ml.errors.ExpressionError`."""
    if detail not in DETAILS:
        raise ExpressionError(f"detail must be one of {', '.join(DETAILS)}, not {detail!r}")
    return detail


def derivation_of(
    expression: sympy.Expr,
    variables: Iterable[sympy.Symbol],
    *,
    term: sympy.Expr | None = None,
    verify: bool = True,
    time_limit: float | None = None,
    shown: sympy.Expr | None = None,
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
    shown : sympy.Expr, optional
        ``expression`` as typed (unevaluated): each tree starts from it with the rewrite steps
        to ``expression`` (:func:`~calculus_ml.steps.rewrites.typed_start`).

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
            if shown is not None:
                steps = {var: typed_start(shown, expression, root) for var, root in steps.items()}
            derivation = Derivation(expression, steps, term=term, shown=shown)
            if verify:
                derivation.verify()
    except RecursionError:
        shown = sympy.sstr(expression)
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        raise ExpressionError(f"SymPy cannot differentiate {shown} step by step: its pieces "
                              "(max, min, abs) nest too deeply; write them out") from None
    return derivation


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
    symbols = []
    for name in names:
        key = name.name if isinstance(name, sympy.Symbol) else name
        if not isinstance(key, str):
            raise ExpressionError(f"{kind} must be a name, not {name!r}")
        key = normalized_name(key)
        if key not in by_name:
            known = ", ".join(sorted(by_name)) or "none"
            raise ExpressionError(f"{kind} {key!r} does not occur in {expr} (its symbols: {known})")
        if by_name[key] not in symbols:
            symbols.append(by_name[key])
    return tuple(symbols)
