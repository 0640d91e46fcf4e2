"""Unicode text for terminals and the REPL, built with ``sympy.pretty``."""

from __future__ import annotations

import sympy
from sympy.printing.pretty.pretty import PrettyPrinter
from sympy.printing.pretty.stringpict import prettyForm, stringPict

from .base import StepView, is_partial, keep_order, memoized_printer, views


class _Printer(PrettyPrinter):
    """SymPy's pretty printer, writing indexed data ``x[i]`` as ``xᵢ`` and keeping the term
    order of a rule's sum of derivatives."""

    def _print_Add(self, expr, order=None):
        return super()._print_Add(expr, order=keep_order(expr, order))

    def _print_Derivative(self, deriv):
        d = "∂" if is_partial(deriv.expr) else "d"
        below = None
        for var, count in reversed(deriv.variable_count):
            part = prettyForm(*self._print(var).left(d))
            if count != 1:
                part = part ** prettyForm(str(count))
            below = part if below is None else prettyForm(*below.right(" ", part))
        order = sum(count for _, count in deriv.variable_count)
        top = prettyForm(d) if order == 1 else prettyForm(d) ** prettyForm(str(order))
        form = prettyForm(*top.below(stringPict.LINE, below))
        form.baseline += 1
        body = prettyForm(*self._print(deriv.expr).parens(), binding=prettyForm.FUNC)
        return prettyForm(*stringPict.next(form, body), binding=prettyForm.MUL)

    def _print_Indexed(self, expr):
        indices = "".join(str(i) for i in expr.indices)  # x[i, j] as x_ij
        return self._print(sympy.Symbol(f"{expr.base.label}_{indices}"))


@memoized_printer
def pretty(expr: sympy.Basic) -> str:
    """Multi-line Unicode rendering of ``expr``, never wrapped."""
    return _Printer({"use_unicode": True, "wrap_line": False}).doprint(expr)


def equation(parts: tuple[sympy.Basic, ...]) -> str:
    """``a = b = c`` as one pretty block."""
    blocks = [pretty(p).split("\n") for p in parts]
    height = max(len(b) for b in blocks)
    padded = []
    for block in blocks:
        width = max(len(line) for line in block)
        top = (height - len(block) + 1) // 2
        lines = [" " * width] * top + [line.ljust(width) for line in block]
        padded.append(lines + [" " * width] * (height - len(lines)))
    middle = _baseline(blocks, height)
    rows = []
    for k in range(height):
        sep = " = " if k == middle else "   "
        rows.append(sep.join(block[k] for block in padded).rstrip())
    return "\n".join(rows)


def _baseline(blocks: list[list[str]], height: int) -> int:
    tallest = max(blocks, key=len)
    top = (height - len(tallest) + 1) // 2
    return top + len(tallest) // 2


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line if line.strip() else line for line in text.split("\n"))


def render_view(view: StepView) -> str:
    """One step: its rule, its sentence, its facts and its equation, indented by depth."""
    pad = "    " * view.depth
    step = view.step
    if view.repeated:
        head = f"{pad}• {step.title} (derived above)"
        return head + "\n" + _indent(equation((view.equation[0], step.result)), pad + "  ")
    lines = [f"{pad}• {step.title}: {step.explanation}"]
    for fact in view.facts:
        lines.append(_indent(f"{fact.label}: " + _hang(pretty(fact.math), len(fact.label) + 2), pad + "  "))
    lines.append(_indent(equation(view.equation), pad + "  "))
    return "\n".join(lines)


def _hang(block: str, width: int) -> str:
    first, *rest = block.split("\n")
    return "\n".join([first] + [" " * width + line for line in rest])


def render(derivation) -> str:
    """The whole derivation as text."""
    parts = [f"Differentiate:\n{_indent(pretty(derivation.expression), '  ')}"]
    if derivation.term is not None:
        parts.append(f"where each data point contributes:\n{_indent(pretty(derivation.term), '  ')}")
    for var, root in derivation:
        title = f"Derivative with respect to {var}"
        body = "\n".join(render_view(v) for v in views(root))
        result = equation((views(root)[0].equation[0], root.result))
        parts.append(f"{title}\n{'─' * len(title)}\n{body}\n\nResult:\n{_indent(result, '  ')}")
    return "\n\n".join(parts) + "\n"


def render_solution(solution) -> str:
    """A closed-form solution (:class:`~calculus_ml.second_order.ClosedForm`) as text: each
    step's sentence, its equations, then what its symbols stand for."""
    title = f"Closed form for {solution.loss.name}"
    parts = []
    for k, step in enumerate(solution.steps, 1):
        lines = [f"{k}. {step.title}: {step.explanation}"]
        lines += [_indent(pretty(eq), "   ") for eq in step.equations]
        lines += [
            _indent(f"{fact.label}: " + _hang(pretty(fact.math), len(fact.label) + 2), "   ")
            for fact in step.facts
        ]
        parts.append("\n".join(lines))
    return f"{title}\n{'─' * len(title)}\n" + "\n\n".join(parts) + "\n"
