"""Leaf rules: derivatives read off a table or a formula, with no substep (constants, the
variable, powers, ``exp``, logarithms, trigonometric, hyperbolic, error and ML functions, and the
step functions whose derivative is 0 away from their jumps).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import sympy

from ..functions import ceil, floor, gelu, heaviside, sigmoid, silu, softplus
from .step import Step


# -- leaves ------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ConstantRule(Step):
    """d/dx[c] = 0"""

    rule: ClassVar[str] = "constant"
    title: ClassVar[str] = "constant rule"

    def _result(self):
        return sympy.Integer(0)

    def _explanation(self):
        held = self._held_constant()
        return f"This term does not depend on {self.var_name}{held}, so its derivative is 0."


@dataclass(frozen=True, eq=False)
class VariableRule(Step):
    """d/dx[x] = 1"""

    rule: ClassVar[str] = "variable"
    title: ClassVar[str] = "variable rule"

    def _result(self):
        return sympy.Integer(1)

    def _explanation(self):
        return f"The derivative of {self.var_name} with respect to itself is 1."


@dataclass(frozen=True, eq=False)
class PowerRule(Step):
    """d/dx[x^k] = k x^(k-1)"""

    exponent: sympy.Expr = sympy.Integer(1)

    rule: ClassVar[str] = "power"
    title: ClassVar[str] = "power rule"

    def _result(self):
        return self.exponent * self.var ** (self.exponent - 1)

    def _explanation(self):
        return "Bring the exponent down as a factor and lower the exponent by one."


@dataclass(frozen=True, eq=False)
class ExpRule(Step):
    """d/dx[a^x] = a^x ln(a), so d/dx[e^x] = e^x"""

    base: sympy.Expr = sympy.E

    rule: ClassVar[str] = "exp"
    title: ClassVar[str] = "exponential rule"

    def _result(self):
        if self.base == sympy.E:
            return sympy.exp(self.var)
        return self.base**self.var * sympy.log(self.base)

    def _explanation(self):
        if self.base == sympy.E:
            return "The exponential function is its own derivative."
        return "An exponential with a constant base is itself times the natural log of the base."


class _TableRule(Step):
    """Base of the rules for one-argument functions, each with a table of derivatives."""

    derivatives: ClassVar[dict] = {}
    sentence: ClassVar[str] = ""

    def _result(self):
        return self.derivatives[self.expr.func](self.var)

    def _explanation(self):
        return self.sentence.format(f=self.expr.func.__name__, x=self.var_name)


@dataclass(frozen=True, eq=False)
class LogRule(_TableRule):
    """d/dx[ln x] = 1/x"""

    rule: ClassVar[str] = "log"
    title: ClassVar[str] = "logarithm rule"
    derivatives: ClassVar[dict] = {sympy.log: lambda x: 1 / x}
    sentence: ClassVar[str] = "The derivative of the natural logarithm of {x} is 1 over {x}."


@dataclass(frozen=True, eq=False)
class TrigRule(_TableRule):
    """d/dx[sin x] = cos x, d/dx[cos x] = -sin x, d/dx[tan x] = sec^2 x, ..."""

    rule: ClassVar[str] = "trig"
    title: ClassVar[str] = "trigonometric rule"
    derivatives: ClassVar[dict] = {
        sympy.sin: lambda x: sympy.cos(x),
        sympy.cos: lambda x: -sympy.sin(x),
        sympy.tan: lambda x: sympy.sec(x) ** 2,
        sympy.sec: lambda x: sympy.sec(x) * sympy.tan(x),
        sympy.csc: lambda x: -sympy.csc(x) * sympy.cot(x),
        sympy.cot: lambda x: -sympy.csc(x) ** 2,
    }
    sentence: ClassVar[str] = "Use the standard derivative of {f}."


@dataclass(frozen=True, eq=False)
class InverseTrigRule(_TableRule):
    """d/dx[asin x] = 1/sqrt(1 - x^2), d/dx[acos x] = -1/sqrt(1 - x^2), d/dx[atan x] = 1/(1+x^2)

    and d/dx[acot x] = -1/(1+x^2), d/dx[asec x] = 1/(|x| sqrt(x^2 - 1)) = -d/dx[acsc x].
    """

    rule: ClassVar[str] = "inverse_trig"
    title: ClassVar[str] = "inverse trigonometric rule"
    derivatives: ClassVar[dict] = {
        sympy.asin: lambda x: 1 / sympy.sqrt(1 - x**2),
        sympy.acos: lambda x: -1 / sympy.sqrt(1 - x**2),
        sympy.atan: lambda x: 1 / (1 + x**2),
        sympy.acot: lambda x: -1 / (1 + x**2),
        sympy.asec: lambda x: 1 / (sympy.Abs(x) * sympy.sqrt(x**2 - 1)),  # |x| > 1
        sympy.acsc: lambda x: -1 / (sympy.Abs(x) * sympy.sqrt(x**2 - 1)),
    }
    sentence: ClassVar[str] = "Use the standard derivative of the inverse function {f}."


@dataclass(frozen=True, eq=False)
class HyperbolicRule(_TableRule):
    """d/dx[sinh x] = cosh x, d/dx[cosh x] = sinh x, d/dx[tanh x] = 1 - tanh^2 x, and inverses

    and d/dx[sech x] = -sech x tanh x, d/dx[csch x] = -csch x coth x, d/dx[coth x] = 1 - coth^2 x.
    """

    rule: ClassVar[str] = "hyperbolic"
    title: ClassVar[str] = "hyperbolic rule"
    derivatives: ClassVar[dict] = {
        sympy.sinh: lambda x: sympy.cosh(x),
        sympy.cosh: lambda x: sympy.sinh(x),
        sympy.tanh: lambda x: 1 - sympy.tanh(x) ** 2,
        sympy.asinh: lambda x: 1 / sympy.sqrt(x**2 + 1),
        sympy.acosh: lambda x: 1 / (sympy.sqrt(x - 1) * sympy.sqrt(x + 1)),  # 1/sqrt(x²-1), x > 1
        sympy.atanh: lambda x: 1 / (1 - x**2),
        sympy.sech: lambda x: -sympy.sech(x) * sympy.tanh(x),
        sympy.csch: lambda x: -sympy.csch(x) * sympy.coth(x),
        sympy.coth: lambda x: 1 - sympy.coth(x) ** 2,
        sympy.asech: lambda x: -1 / (x * sympy.sqrt(1 - x**2)),  # 0 < x < 1
        sympy.acsch: lambda x: -1 / (sympy.Abs(x) * sympy.sqrt(1 + x**2)),
        sympy.acoth: lambda x: 1 / (1 - x**2),  # |x| > 1
    }
    sentence: ClassVar[str] = "Use the standard derivative of the hyperbolic function {f}."


@dataclass(frozen=True, eq=False)
class AbsRule(_TableRule):
    """d/dx[|x|] = sign(x), for x != 0"""

    rule: ClassVar[str] = "abs"
    title: ClassVar[str] = "absolute value rule"
    derivatives: ClassVar[dict] = {sympy.Abs: lambda x: sympy.sign(x)}
    sentence: ClassVar[str] = (
        "The absolute value has slope -1 left of 0 and +1 right of it (the sign of {x}); "
        "at 0 there is no derivative and the subgradient 0 is used."
    )


@dataclass(frozen=True, eq=False)
class SigmoidRule(_TableRule):
    """d/dx[sigma(x)] = sigma(x) (1 - sigma(x))"""

    rule: ClassVar[str] = "sigmoid"
    title: ClassVar[str] = "sigmoid rule"
    derivatives: ClassVar[dict] = {sigmoid: lambda x: sigmoid(x) * (1 - sigmoid(x))}
    sentence: ClassVar[str] = (
        "The logistic sigmoid 1/(1 + exp(-{x})) has derivative sigmoid times one minus sigmoid."
    )


@dataclass(frozen=True, eq=False)
class SoftplusRule(_TableRule):
    """d/dx[softplus(x)] = sigma(x)"""

    rule: ClassVar[str] = "softplus"
    title: ClassVar[str] = "softplus rule"
    derivatives: ClassVar[dict] = {softplus: lambda x: sigmoid(x)}
    sentence: ClassVar[str] = "Softplus ln(1 + exp({x})) has the sigmoid as its derivative."


@dataclass(frozen=True, eq=False)
class ErfRule(_TableRule):
    """d/dx[erf x] = (2/sqrt(pi)) e^(-x^2), d/dx[erfc x] = -(2/sqrt(pi)) e^(-x^2)"""

    rule: ClassVar[str] = "erf"
    title: ClassVar[str] = "error function rule"
    derivatives: ClassVar[dict] = {
        sympy.erf: lambda x: 2 * sympy.exp(-x**2) / sympy.sqrt(sympy.pi),
        sympy.erfc: lambda x: -2 * sympy.exp(-x**2) / sympy.sqrt(sympy.pi),
    }
    sentence: ClassVar[str] = (
        "The error function is the integral of (2/sqrt(pi)) exp(-t^2) from 0 to {x}, so its "
        "derivative is that integrand at {x} (erfc = 1 - erf has the opposite sign)."
    )


@dataclass(frozen=True, eq=False)
class GeluRule(_TableRule):
    """d/dx[GELU x] = Phi(x) + x phi(x), with Phi(x) = (1 + erf(x/sqrt 2))/2, phi = Phi'"""

    rule: ClassVar[str] = "gelu"
    title: ClassVar[str] = "GELU rule"
    derivatives: ClassVar[dict] = {
        gelu: lambda x: (1 + sympy.erf(x / sympy.sqrt(2))) / 2
        + x * sympy.exp(-x**2 / 2) / sympy.sqrt(2 * sympy.pi),
    }
    sentence: ClassVar[str] = (
        "GELU({x}) = {x} Phi({x}) with Phi the standard normal distribution function: by the "
        "product rule its derivative is Phi({x}) plus {x} times the normal density at {x}."
    )


@dataclass(frozen=True, eq=False)
class SiluRule(_TableRule):
    """d/dx[SiLU x] = d/dx[x sigma(x)] = sigma(x) (1 + x (1 - sigma(x)))"""

    rule: ClassVar[str] = "silu"
    title: ClassVar[str] = "SiLU (swish) rule"
    derivatives: ClassVar[dict] = {
        silu: lambda x: sigmoid(x) * (1 + x * (1 - sigmoid(x))),
    }
    sentence: ClassVar[str] = (
        "SiLU({x}) = {x} sigmoid({x}): by the product rule and the sigmoid rule its derivative "
        "is sigmoid({x}) (1 + {x} (1 - sigmoid({x})))."
    )


@dataclass(frozen=True, eq=False)
class StepFunctionRule(_TableRule):
    """d/dx[H(x)] = d/dx[floor x] = d/dx[ceil x] = 0, away from the jumps"""

    rule: ClassVar[str] = "step_function"
    title: ClassVar[str] = "step function rule"
    derivatives: ClassVar[dict] = {
        heaviside: lambda x: sympy.Integer(0),
        floor: lambda x: sympy.Integer(0),
        ceil: lambda x: sympy.Integer(0),
    }
    sentence: ClassVar[str] = (
        "{f} is constant between its jumps, so its derivative is 0 almost everywhere; at a "
        "jump it has no derivative."
    )


@dataclass(frozen=True, eq=False)
class UnknownRule(Step):
    """d/dx[f(x)] as SymPy computes it, for functions outside the rule vocabulary"""

    rule: ClassVar[str] = "unknown"
    title: ClassVar[str] = "no named rule"

    def _result(self):
        return sympy.diff(self.expr, self.var)

    def _explanation(self):
        return "No named rule covers this function; SymPy's derivative is used."
