"""Building SymPy expressions from a checked tree: the canonical one, and the one as typed.

The canonical expression is built node by node with SymPy's automatic evaluation, refusing a part
that is undefined (``1/(x-x)``, ``log(0)``) or a non-real constant as soon as it appears; a
wall-clock deadline backs up the checker's limits against SymPy's own slowness. The typed
expression is built from the same tree with evaluation off: the learner's term order, signs,
decimals (as typed: ``0.044715``) and unsimplified calls (``sqrt(x**2)``, ``log(x, 2)``), for
display and for the rewrite steps that lead from it to the canonical form.
"""

from __future__ import annotations

import ast
import time

import sympy
from sympy.printing.precedence import PRECEDENCE

from ..errors import ExpressionError
from ..functions import TypedDecimal
from ..symbolic import check_time
from .checker import BINARY, UNARY
from .limits import MAX_BUILD_SECONDS, MAX_CONSTANT_CALL_DEPTH
from .source import Source
from .vocabulary import CONSTANTS, FUNCTIONS

__all__ = ["Builder", "typed", "rebuilt", "TypedAdd", "TypedMul"]


class Builder:
    """Builds the canonical SymPy form of a tree that passed the checker."""

    def __init__(self, source: Source, seconds: float = MAX_BUILD_SECONDS) -> None:
        self.src = source
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds

    def build(self, node: ast.AST) -> sympy.Expr:
        """The SymPy form of ``node``, refusing undefined or non-real parts as soon as they
        appear (nested non-real constants, ``log(log(...(99)))``, make SymPy's automatic
        evaluation exponentially slow)."""
        try:
            expr = self._BUILDS[type(node)](self, node)
            undefined = expr.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo)
            non_real = not expr.free_symbols and expr.is_extended_real is False
        except ExpressionError:
            raise
        except (ArithmeticError, TypeError, ValueError) as exc:  # SymPy refusing, e.g. max(I)
            raise self.src.refuse(node, _sympy_failure(exc)) from None
        if undefined:
            raise self.src.refuse(node, "undefined value (division by zero?)")
        if non_real:
            raise self.src.refuse(node, "not a real number")
        check_time()  # the budget of a derivation that parses its text, which began earlier
        if time.monotonic() > self.deadline:
            raise self.src.refuse(node, f"too slow to evaluate (over {self.seconds} s)")
        return expr

    def _number(self, node: ast.Constant) -> sympy.Expr:
        if type(node.value) is int:
            return sympy.Integer(node.value)
        return sympy.Rational(self.src.segment(node).replace("_", ""))  # exact: 0.5 -> 1/2

    def _call(self, node: ast.Call) -> sympy.Expr:
        args = [self.build(arg) for arg in node.args]
        if not any(arg.free_symbols for arg in args):  # judged after SymPy cancelled x - x
            if 1 + max(_call_depth(arg) for arg in args) > MAX_CONSTANT_CALL_DEPTH:
                limit = MAX_CONSTANT_CALL_DEPTH
                raise self.src.refuse(node, f"functions of constants nested deeper than {limit}")
        return FUNCTIONS[node.func.id][0](*args)

    _BUILDS = {
        ast.Expression: lambda self, node: self.build(node.body),
        ast.Constant: lambda self, node: self._number(node),
        ast.Name: lambda self, node: _name(node.id),
        ast.UnaryOp: lambda self, node: UNARY[type(node.op)](self.build(node.operand)),
        ast.BinOp: lambda self, node: BINARY[type(node.op)](self.build(node.left),
                                                            self.build(node.right)),
        ast.Call: lambda self, node: self._call(node),
    }


def typed(source: Source, node: ast.AST) -> sympy.Expr:
    """The expression of a checked tree as typed: nothing evaluated, decimals kept as written."""
    with sympy.evaluate(False):
        return _typed(source, node)


def _typed(source: Source, node: ast.AST) -> sympy.Expr:
    if isinstance(node, ast.Expression):
        return _typed(source, node.body)
    if isinstance(node, ast.Constant):
        if type(node.value) is int:
            return sympy.Integer(node.value)
        return TypedDecimal(source.segment(node).replace("_", ""))  # 0.044715 stays
    if isinstance(node, ast.Name):
        return _name(node.id)
    if isinstance(node, ast.UnaryOp):
        operand = _typed(source, node.operand)
        if isinstance(node.op, ast.USub) and not operand.is_Number:
            return rebuilt(sympy.Mul, (sympy.Integer(-1), operand))  # -(a + b) keeps its brackets
        return UNARY[type(node.op)](operand)
    if isinstance(node, ast.BinOp):
        left, right = _typed(source, node.left), _typed(source, node.right)
        op = type(node.op)
        if op is ast.Pow:
            return sympy.Pow(left, right)
        if op is ast.Sub:
            right = rebuilt(sympy.Mul, (sympy.Integer(-1), right))
        elif op is ast.Div:
            right = sympy.Pow(right, -1)
            if left == 1:  # 1/(1 + x²), not 1·1/(1 + x²)
                return right
        kind = sympy.Add if op in (ast.Add, ast.Sub) else sympy.Mul
        first = left.args if isinstance(left, kind) else (left,)  # a + b + c as one sum
        return rebuilt(kind, (*first, right))
    return FUNCTIONS[node.func.id][0](*(_typed(source, arg) for arg in node.args))


class TypedAdd(sympy.Add):
    """A sum as typed: its terms in the learner's order, which printers keep (SymPy sorts the
    terms of a sum when printing it, and even when building it unevaluated). ``srepr`` writes
    it as a plain ``Add``, so the JSON documents rebuild with SymPy alone. MathML is written
    here: SymPy's printer negates a negative term, which drops the brackets of ``-(m x + b)``."""

    def _mathml_presentation(self, printer):
        row = printer.dom.createElement("mrow")
        for k, term in enumerate(self.args):
            negative = term.could_extract_minus_sign()
            if k or negative:
                sign = printer.dom.createElement("mo")
                sign.appendChild(printer.dom.createTextNode("-" if negative else "+"))
                row.appendChild(sign)
            if negative:
                term = _negated(term)
            row.appendChild(printer.parenthesize(term, PRECEDENCE["Add"]) if negative
                            else printer._print(term))
        return row

    def _sympyrepr(self, printer, *args):
        return "Add(%s)" % ", ".join(printer._print(arg) for arg in self.args)


class TypedMul(sympy.Mul):
    """A product as typed, e.g. the ``-(m x + b)`` of ``y - (m x + b)``, which SymPy's MathML
    printer would write without its brackets (it negates the product, which distributes)."""

    def _mathml_presentation(self, printer):
        if len(self.args) != 2 or self.args[0] != -1 or not self.args[1].is_Add:
            return printer._print_Mul(sympy.Mul._from_args(self.args))
        row, minus = printer.dom.createElement("mrow"), printer.dom.createElement("mo")
        minus.appendChild(printer.dom.createTextNode("-"))
        row.appendChild(minus)
        row.appendChild(printer.parenthesize(self.args[1], PRECEDENCE["Mul"]))
        return row

    def _sympyrepr(self, printer, *args):
        return "Mul(%s)" % ", ".join(printer._print(arg) for arg in self.args)


def _negated(term: sympy.Expr) -> sympy.Expr:
    """``-term`` for a negative term of a typed sum, ``-(a + b)`` giving back ``a + b``."""
    if isinstance(term, TypedMul) and len(term.args) == 2 and term.args[0] == -1:
        return term.args[1]
    return -term


def rebuilt(func: type, args: tuple[sympy.Basic, ...]) -> sympy.Basic:
    """``func(*args)`` unevaluated, a sum or product keeping its terms in the order given."""
    if issubclass(func, sympy.Add):
        return TypedAdd._from_args(args)
    if issubclass(func, sympy.Mul):
        return TypedMul._from_args(args)
    with sympy.evaluate(False):
        return func(*args)


def _name(name: str) -> sympy.Expr:
    return CONSTANTS[name] if name in CONSTANTS else sympy.Symbol(name, real=True)


def _call_depth(expr: sympy.Basic) -> int:
    """Deepest chain of function applications in a SymPy expression."""
    inner = max((_call_depth(arg) for arg in expr.args), default=0)
    return inner + isinstance(expr, sympy.core.function.Application)


def _sympy_failure(exc: Exception) -> str:
    reason = (str(exc).splitlines() or [type(exc).__name__])[0]
    return f"SymPy cannot evaluate this: {reason}"
