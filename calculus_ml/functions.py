"""Machine-learning functions SymPy lacks: the logistic sigmoid, softplus, GELU and SiLU.

They are real SymPy functions with their textbook derivatives, so the engine can name a rule
for them; :func:`to_elementary` rewrites them into ``exp``/``log``/``erf`` for independent checks.
The step functions ``heaviside``, ``floor`` and ``ceil`` have the derivative they have wherever
one exists, 0 (SymPy leaves ``d/dx floor(x)`` unevaluated and writes a Dirac delta for
Heaviside's). For the expression as typed: ``log_base`` (``log(x, 2)`` before the change of base)
and ``TypedDecimal`` (``0.044715`` printed as typed). The inner product ``dot`` and
:func:`multiplied_out` (expansion of products only) live here too, and so does the one Greek name
SymPy does not know: ``lam`` prints as λ.
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


class log_base(sympy.Function):
    r"""The logarithm :math:`\log_b x` as typed (``log(x, b)``, ``log2(x)``); SymPy's form, which
    it evaluates to, is :math:`\ln x / \ln b` (the change of base)."""

    nargs = 2

    @classmethod
    def eval(cls, z, base):
        return sympy.log(z, base)

    def fdiff(self, argindex=1):
        z, base = self.args
        if argindex == 1:
            return 1 / (z * sympy.log(base))
        return -sympy.log(z) / (base * sympy.log(base) ** 2)

    def _latex(self, printer, exp=None):
        z, base = (printer._print(arg) for arg in self.args)
        tex = r"\log_{%s}\left(%s\right)" % (base, z)
        return tex if exp is None else r"%s^{%s}" % (tex, exp)

    def _pretty(self, printer):
        from sympy.printing.pretty.pretty_symbology import pretty_symbol

        name = pretty_symbol(f"log_{self.args[1]}")
        return printer._print_Function(sympy.Function(name)(self.args[0]))

    def _sympystr(self, printer):
        return "log(%s, %s)" % tuple(printer._print(arg) for arg in self.args)

    def _mathml_presentation(self, printer):
        return printer._print(sympy.Function(f"log_{self.args[1]}")(self.args[0]))

    def _eval_evalf(self, prec):
        return sympy.log(*self.args)._eval_evalf(prec)


class _Named(sympy.Function):
    """A real function of one argument, printed by its name: ``GELU(x)``, ``SiLU(x)``."""

    nargs = 1
    display = ""

    def _eval_is_real(self):
        return self.args[0].is_real

    def _latex(self, printer, exp=None):
        tex = r"\operatorname{%s}\left(%s\right)" % (self.display, printer._print(self.args[0]))
        return tex if exp is None else r"%s^{%s}" % (tex, exp)

    def _pretty(self, printer):
        return printer._print_Function(self, func_name=self.display)

    def _mathml_presentation(self, printer):
        return printer._print(sympy.Function(self.display)(*self.args))


class gelu(_Named):
    r"""Gaussian error linear unit :math:`\operatorname{GELU}(z) = z\,\Phi(z)
    = \tfrac{z}{2}\left(1 + \operatorname{erf}(z/\sqrt{2})\right)` (the exact form)."""

    display = "GELU"

    def fdiff(self, argindex=1):
        z = self.args[0]
        return (1 + sympy.erf(z / sympy.sqrt(2))) / 2 + z * sympy.exp(-z**2 / 2) / sympy.sqrt(
            2 * sympy.pi)

    def _eval_rewrite_as_exp(self, z, **kwargs):
        return z * (1 + sympy.erf(z / sympy.sqrt(2))) / 2

    _eval_rewrite_as_erf = _eval_rewrite_as_exp


class silu(_Named):
    r"""Sigmoid linear unit (swish) :math:`\operatorname{SiLU}(z) = z\,\sigma(z)`."""

    display = "SiLU"

    def fdiff(self, argindex=1):
        s = sigmoid(self.args[0])
        return s * (1 + self.args[0] * (1 - s))

    def _eval_rewrite_as_exp(self, z, **kwargs):
        return z / (1 + sympy.exp(-z))

    def _numpycode(self, printer):
        tanh = printer._module_format("numpy.tanh")
        z = printer._print(self.args[0])
        return f"(({z})*(0.5*{tanh}(0.5*({z})) + 0.5))"


class heaviside(sympy.Function):
    r"""The unit step :math:`H(z)` (1 for z > 0, 0 for z < 0, 1/2 at 0), derivative 0 off 0."""

    nargs = 1

    @classmethod
    def eval(cls, z):
        if z.is_extended_positive:
            return sympy.Integer(1)
        if z.is_extended_negative:
            return sympy.Integer(0)
        if z.is_zero:
            return sympy.Rational(1, 2)
        return None

    def fdiff(self, argindex=1):
        return sympy.Integer(0)

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_rewrite_as_Piecewise(self, z, **kwargs):
        return sympy.Piecewise((1, z > 0), (0, z < 0), (sympy.Rational(1, 2), True))

    def _eval_evalf(self, prec):
        return self.rewrite(sympy.Piecewise)._eval_evalf(prec)

    def _numpycode(self, printer):
        step = printer._module_format("numpy.heaviside")
        return f"{step}({printer._print(self.args[0])}, 0.5)"

    def _latex(self, printer, exp=None):
        tex = r"H\left(%s\right)" % printer._print(self.args[0])
        return tex if exp is None else r"%s^{%s}" % (tex, exp)

    def _pretty(self, printer):
        return printer._print_Function(self, func_name="H")

    def _sympystr(self, printer):
        return "heaviside(%s)" % printer._print(self.args[0])


class floor(sympy.floor):
    """The largest integer at most ``z``; its derivative is 0 between the integers."""

    def fdiff(self, argindex=1):
        return sympy.Integer(0)


class ceil(sympy.ceiling):
    """The smallest integer at least ``z``; its derivative is 0 between the integers."""

    def fdiff(self, argindex=1):
        return sympy.Integer(0)


class TypedDecimal(sympy.Float):
    """A decimal as typed, printed as the learner wrote it (``0.044715``); a float of
    :data:`DIGITS` digits in arithmetic. Its exact value is :meth:`exact`, which the rewrite
    step "a decimal is an exact fraction" puts in its place before anything is derived."""

    __slots__ = ("text",)

    DIGITS = 30

    def __new__(cls, text: str) -> TypedDecimal:
        obj = super().__new__(cls, text, cls.DIGITS)
        obj.text = text
        return obj

    def __getnewargs__(self):
        return (self.text,)

    def exact(self) -> sympy.Rational:
        """The exact rational typed: ``0.044715`` is ``8943/200000``."""
        return sympy.Rational(self.text)

    def _as_typed(self, printer, *args, **kwargs):
        return printer._print(sympy.Symbol(self.text))

    _sympystr = _latex = _pretty = _mathml_presentation = _mathml_content = _as_typed

    def _sympyrepr(self, printer, *args):
        return printer._print(self.exact())


ML_FUNCTIONS = (sigmoid, softplus, gelu, silu, TypedDecimal)
"""What :func:`to_elementary` rewrites: the ML functions, and decimals as typed (exactly)."""


def multiplied_out(expr: sympy.Expr) -> sympy.Expr:
    """``expr`` with products of sums multiplied out and nothing else expanded: ``exp(a + b)``,
    ``(x y)**k`` and ``log(x y)`` stay whole."""
    return sympy.expand(expr, power_exp=False, power_base=False, log=False)


def to_elementary(expr: sympy.Expr) -> sympy.Expr:
    """Rewrite the ML functions of ``expr`` into ``exp`` and ``log``."""
    if not expr.has(*ML_FUNCTIONS):
        return expr
    if expr.has(TypedDecimal):
        expr = expr.replace(lambda e: isinstance(e, TypedDecimal), lambda e: e.exact())
    for func in (gelu, silu, sigmoid, softplus):  # silu's form holds a sigmoid
        expr = expr.rewrite(func, sympy.exp)
    return expr


def _print_lam_as_lambda() -> None:
    """Teach SymPy's printers the name ``lam`` (the package's spelling of λ, as ``lambda`` is a
    Python keyword): Unicode text and MathML print λ, LaTeX ``\\lambda``, as for ``lamda``."""
    import importlib

    from sympy.printing.pretty import pretty_symbology

    latex_printer = importlib.import_module("sympy.printing.latex")  # the module, not latex()

    pretty_symbology.greek_unicode.setdefault("lam", pretty_symbology.greek_unicode["lamda"])
    latex_printer.tex_greek_dictionary.setdefault("lam", r"\lambda")


_print_lam_as_lambda()


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
