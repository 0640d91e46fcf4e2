"""The words the parser knows: functions, constants and Greek names.

A name is read as Python reads identifiers (NFKC: ``ｘ`` and ``𝑥`` are x); a Greek letter, typed
(``θ``) or spelled out (``theta``), becomes SymPy's spelling of it, which every printer shows as
the letter (θ, ``\\theta``). λ is ``lam``, whether typed ``λ``, ``lam``, ``lamda`` or ``lambda``
(a Python keyword, so never a name in the parsed text).
"""

from __future__ import annotations

import unicodedata
from typing import Callable

import sympy

from ..functions import (ceil, dot, floor, gelu, heaviside, log_base, sigmoid, silu,
                         softplus)
from .limits import MAX_NODES

__all__ = ["FUNCTIONS", "CONSTANTS", "INVERSES", "normalized_name", "greek_name"]


def _leaky_relu(z: sympy.Expr, slope: sympy.Expr = sympy.Rational(1, 100)) -> sympy.Expr:
    """``z`` where it is positive, ``slope · z`` elsewhere."""
    return sympy.Piecewise((z, z > 0), (slope * z, True))


#: name: (SymPy builder, fewest arguments, most arguments). ``log(x, b)`` is log base b.
FUNCTIONS: dict[str, tuple[Callable[..., sympy.Expr], int, int]] = {
    "exp": (sympy.exp, 1, 1),
    "log": (lambda x, base=None: sympy.log(x) if base is None else log_base(x, base), 1, 2),
    "ln": (sympy.log, 1, 1),
    "log2": (lambda x: log_base(x, 2), 1, 1),
    "log10": (lambda x: log_base(x, 10), 1, 1),
    "sqrt": (sympy.sqrt, 1, 1),
    "cbrt": (sympy.cbrt, 1, 1),
    "sin": (sympy.sin, 1, 1),
    "cos": (sympy.cos, 1, 1),
    "tan": (sympy.tan, 1, 1),
    "sec": (sympy.sec, 1, 1),
    "csc": (sympy.csc, 1, 1),
    "cot": (sympy.cot, 1, 1),
    "asin": (sympy.asin, 1, 1),
    "acos": (sympy.acos, 1, 1),
    "atan": (sympy.atan, 1, 1),
    "acot": (sympy.acot, 1, 1),
    "asec": (sympy.asec, 1, 1),
    "acsc": (sympy.acsc, 1, 1),
    "arcsin": (sympy.asin, 1, 1),
    "arccos": (sympy.acos, 1, 1),
    "arctan": (sympy.atan, 1, 1),
    "arccot": (sympy.acot, 1, 1),
    "arcsec": (sympy.asec, 1, 1),
    "arccsc": (sympy.acsc, 1, 1),
    "sinh": (sympy.sinh, 1, 1),
    "cosh": (sympy.cosh, 1, 1),
    "tanh": (sympy.tanh, 1, 1),
    "sech": (sympy.sech, 1, 1),
    "csch": (sympy.csch, 1, 1),
    "coth": (sympy.coth, 1, 1),
    "asinh": (sympy.asinh, 1, 1),
    "acosh": (sympy.acosh, 1, 1),
    "atanh": (sympy.atanh, 1, 1),
    "asech": (sympy.asech, 1, 1),
    "acsch": (sympy.acsch, 1, 1),
    "acoth": (sympy.acoth, 1, 1),
    "arsinh": (sympy.asinh, 1, 1),
    "arcosh": (sympy.acosh, 1, 1),
    "artanh": (sympy.atanh, 1, 1),
    "erf": (sympy.erf, 1, 1),
    "erfc": (sympy.erfc, 1, 1),
    "abs": (sympy.Abs, 1, 1),
    "sign": (sympy.sign, 1, 1),
    "max": (sympy.Max, 2, MAX_NODES),
    "min": (sympy.Min, 2, MAX_NODES),
    "relu": (lambda x: sympy.Max(x, 0), 1, 1),
    "leaky_relu": (_leaky_relu, 1, 2),
    "gelu": (gelu, 1, 1),
    "silu": (silu, 1, 1),
    "swish": (silu, 1, 1),
    "heaviside": (heaviside, 1, 1),
    "floor": (floor, 1, 1),
    "ceil": (ceil, 1, 1),
    "sigmoid": (sigmoid, 1, 1),
    "sigma": (sigmoid, 1, 1),
    "softplus": (softplus, 1, 1),
    "dot": (dot, 2, 2),
}
CONSTANTS = {"e": sympy.E, "pi": sympy.pi}
#: ``f^-1`` read as the inverse function, as ``sin^-1 x`` is written for arcsin.
INVERSES = {"sin": "asin", "cos": "acos", "tan": "atan", "cot": "acot", "sec": "asec",
            "csc": "acsc", "sinh": "asinh", "cosh": "acosh", "tanh": "atanh", "sech": "asech",
            "csch": "acsch", "coth": "acoth"}
#: Names that are functions when called and plain names otherwise (σ is also a standard deviation).
ALSO_NAMES = frozenset({"sigma"})

_GREEK = {
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "ϵ": "epsilon",
    "ζ": "zeta", "η": "eta", "θ": "theta", "ϑ": "theta", "κ": "kappa", "λ": "lam", "μ": "mu",
    "ν": "nu", "ξ": "xi", "π": "pi", "ρ": "rho", "σ": "sigma", "τ": "tau", "φ": "phi",
    "ϕ": "phi", "χ": "chi", "ψ": "psi", "ω": "omega", "Γ": "Gamma", "Δ": "Delta",
    "Θ": "Theta", "Λ": "Lambda", "Σ": "Sigma", "Φ": "Phi", "Ψ": "Psi", "Ω": "Omega",
    "lambda": "lam", "lamda": "lam",
}


def greek_name(name: str) -> str:
    """SymPy's spelling of a Greek letter ``name`` starts with, kept with the rest of the name
    when that is digits or underscores (``θ1`` is ``theta1``); any other name unchanged."""
    for length in (6, 5, 1):  # lambda, lamda, or one letter
        head, tail = name[:length], name[length:]
        if head in _GREEK and all(char.isdigit() or char == "_" for char in tail):
            return _GREEK[head] + tail
    return name


def normalized_name(name: str) -> str:
    """``name`` as Python reads identifiers (NFKC: ``ｘ`` and ``𝑥`` are x), Greek letters in
    SymPy's spelling (``θ`` is ``theta``; ``λ``, ``lambda`` and ``lamda`` are ``lam``)."""
    return greek_name(unicodedata.normalize("NFKC", name))
