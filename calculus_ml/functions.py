"""Machine-learning functions SymPy lacks: the logistic sigmoid and softplus.

Both are real SymPy functions with their textbook derivatives, so the engine can name a rule
for them; :func:`to_elementary` rewrites them into ``exp``/``log`` for independent checks.
The inner product ``dot`` and :func:`multiplied_out` (expansion of products only) live here too.
"""

from __future__ import annotations

import sympy


class sigmoid(sympy.Function):
    r"""Logistic sigmoid :math:`\sigma(z) = 1 / (1 + e^{-z})`."""

    nargs = 1

    @classmethod
    def eval(cls, z):
        if z.is_zero:
            return sympy.Rational(1, 2)
        return None

    def fdiff(self, argindex=1):
        s = sigmoid(self.args[0])
        return s * (1 - s)

    def _eval_rewrite_as_exp(self, z, **kwargs):
        return 1 / (1 + sympy.exp(-z))

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_is_positive(self):
        return self.args[0].is_real

    def _latex(self, printer, exp=None):
        tex = r"\sigma\left(%s\right)" % printer._print(self.args[0])
        return tex if exp is None else r"%s^{%s}" % (tex, exp)

    def _pretty(self, printer):
        return printer._print_Function(self, func_name="σ")

    def _sympystr(self, printer):
        return "sigmoid(%s)" % printer._print(self.args[0])

    def _mathml_presentation(self, printer):
        return printer._print(sympy.Function("σ")(*self.args))

    def _numpycode(self, printer):
        # σ(z) = (1 + tanh(z/2))/2: no overflow for large |z|
        tanh = printer._module_format("numpy.tanh")
        return f"(0.5*{tanh}(0.5*({printer._print(self.args[0])})) + 0.5)"


class softplus(sympy.Function):
    r"""Softplus :math:`\operatorname{softplus}(z) = \ln(1 + e^{z})`."""

    nargs = 1

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])

    def _eval_rewrite_as_exp(self, z, **kwargs):
        return sympy.log(1 + sympy.exp(z))

    _eval_rewrite_as_log = _eval_rewrite_as_exp

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_is_positive(self):
        return self.args[0].is_real

    def _latex(self, printer, exp=None):
        tex = r"\operatorname{softplus}\left(%s\right)" % printer._print(self.args[0])
        return tex if exp is None else r"%s^{%s}" % (tex, exp)

    def _mathml_presentation(self, printer):
        return printer._print(sympy.Function("softplus")(*self.args))

    def _numpycode(self, printer):
        logaddexp = printer._module_format("numpy.logaddexp")
        return f"{logaddexp}(0.0, {printer._print(self.args[0])})"


ML_FUNCTIONS = (sigmoid, softplus)


def multiplied_out(expr: sympy.Expr) -> sympy.Expr:
    """``expr`` with products of sums multiplied out and nothing else expanded: ``exp(a + b)``,
    ``(x y)**k`` and ``log(x y)`` stay whole."""
    return sympy.expand(expr, power_exp=False, power_base=False, log=False)


def to_elementary(expr: sympy.Expr) -> sympy.Expr:
    """Rewrite the ML functions of ``expr`` into ``exp`` and ``log``."""
    if not expr.has(*ML_FUNCTIONS):
        return expr
    return expr.rewrite(sigmoid, sympy.exp).rewrite(softplus, sympy.exp)


class dot(sympy.Function):
    r"""Inner product :math:`w \cdot x = \sum_k w_k x_k` of two vectors of dimension ``d``.

    Its arguments are vector-valued symbols (or rows ``x[i]`` of data); the loss that uses it
    declares which symbols those are.
    """

    nargs = 2
    is_real = True
    _diff_wrt = True  # a loss is differentiated through its inner products

    def _latex(self, printer, exp=None):
        a, b = (printer._print(arg) for arg in self.args)
        tex = rf"\left({a} \cdot {b}\right)" if exp is not None else rf"{a} \cdot {b}"
        return tex if exp is None else rf"{tex}^{{{exp}}}"

    def _pretty(self, printer, *args):
        from sympy.printing.pretty.stringpict import prettyForm

        a, b = (printer._print(arg) for arg in self.args)
        return prettyForm(*a.right("⋅", b), binding=prettyForm.MUL)

    def _sympystr(self, printer):
        return "dot(%s, %s)" % tuple(printer._print(a) for a in self.args)
