"""The text printer's copy of SymPy's ``PrettyPrinter._print_Mul`` prints as SymPy's own does.

``calculus_ml.render.text`` keeps a copy of the method so that a first derivation need not import
``sympy.physics.units`` (a third of a second). This pins the copy to the installed SymPy: an
upgrade that changes how products print fails here instead of silently changing the text.
"""

from __future__ import annotations

import itertools

import pytest
import sympy
from sympy.printing.pretty.pretty import PrettyPrinter

from calculus_ml.functions import sigmoid, softplus
from calculus_ml.render import text

x, y, w = sympy.symbols("x y w", real=True)
i, n = sympy.symbols("i n", integer=True, positive=True)
X, Y = sympy.IndexedBase("x"), sympy.IndexedBase("y")
f = sympy.Function("f")

FACTORS = [
    sympy.Integer(2), sympy.Integer(-1), sympy.Rational(1, 2), sympy.Rational(-3, 4),
    sympy.Float(0.5), x, x**2, 1 / x, y**-2, sympy.sqrt(x), x**sympy.Rational(-1, 2),
    sympy.sin(x), sympy.exp(-w * x), sympy.log(1 + x), sigmoid(w * x), softplus(y),
    x + 1, 1 / (y - 2), sympy.Sum(X[i], (i, 1, n)), sympy.Sum((X[i] - Y[i]) ** 2, (i, 1, n)) / n,
    X[i], X[i] ** 2, f(x), sympy.Derivative(f(x), x),
]

PRODUCTS = [a * b for a, b in itertools.combinations(FACTORS, 2)][::3]
TRIPLES = [a * b * c for a, b, c in itertools.combinations(FACTORS[::2], 3)][::11]
UNEVALUATED = [
    sympy.Mul(1, x, evaluate=False),
    sympy.Mul(-1, x, y, evaluate=False),
    sympy.Mul(2, 3, x, evaluate=False),
    sympy.Mul(-1, x, 3, evaluate=False),
    sympy.Mul(-1, sympy.Rational(1, 2), X[i], evaluate=False),
    sympy.Mul(x, sympy.Rational(1, 2), evaluate=False),
    sympy.Mul(sympy.Integer(-1), sympy.Sum(X[i], (i, 1, n)), evaluate=False),
    sympy.Mul(sympy.Float(0.5), x + 1, evaluate=False),
    sympy.Mul(X[i], -2, Y[i], evaluate=False),
    sympy.Mul(1, sympy.Derivative(f(x), x), 3, evaluate=False),
    sympy.Mul(sympy.Pow(x, -1, evaluate=False), 4, evaluate=False),
    sympy.Mul(sigmoid(x), sympy.Add(1, -sigmoid(x), evaluate=False), evaluate=False),
]
CORPUS = PRODUCTS + TRIPLES + UNEVALUATED


class _Copy(text._Printer):
    _print_Mul = text._Printer._print_product


class _SymPy(text._Printer):
    _print_Mul = PrettyPrinter._print_Mul


def _printed(printer: type, expr: sympy.Basic) -> str:
    return printer({"use_unicode": True, "wrap_line": False}).doprint(expr)


def test_the_corpus_is_products():
    assert sum(isinstance(e, sympy.Mul) for e in CORPUS) >= 100


@pytest.mark.parametrize("expr", CORPUS, ids=[sympy.sstr(e) for e in CORPUS])
def test_copy_prints_products_as_sympy_does(expr):
    assert _printed(_Copy, expr) == _printed(_SymPy, expr)


@pytest.mark.parametrize("lhs, rhs", [
    (sympy.Derivative(x**3, x), 3 * x**2),
    (sympy.Derivative(sympy.sin(x) / (1 + sympy.cos(x)), x), 1 / (1 + sympy.cos(x))),
    (x**2 / 7, sympy.sqrt(x + y) / (2 + sympy.exp(x / (1 + y)))),
])
def test_equation_sides_share_a_baseline(lhs, rhs):
    """``=`` stands on the row where SymPy's own ``pretty(Eq(lhs, rhs))`` puts it (SymPy aligns
    the baselines of an equation's sides), and the picture is as tall."""
    ours = text.equation((lhs, rhs)).split("\n")
    theirs = sympy.pretty(sympy.Eq(lhs, rhs, evaluate=False), use_unicode=True,
                          wrap_line=False).split("\n")
    assert len(ours) == len(theirs)
    assert [k for k, line in enumerate(ours) if " = " in line] == [
        k for k, line in enumerate(theirs) if "=" in line]
