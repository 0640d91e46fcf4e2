"""The limits every parsed text is held to, checked before SymPy does any work."""

from __future__ import annotations

__all__ = ["MAX_LENGTH", "MAX_NODES", "MAX_DEPTH", "MAX_LITERAL_DIGITS", "MAX_EXPONENT",
           "MAX_POWER", "MAX_DIGITS", "MAX_ROOT_DIGITS", "MAX_CALL_DEPTH",
           "MAX_CONSTANT_CALL_DEPTH", "MAX_BUILD_SECONDS", "EXACT_DIGITS"]

#: Longest accepted text, in characters.
MAX_LENGTH = 2000
#: Most expression nodes (numbers, names, operations, calls) in one expression.
MAX_NODES = 500
#: Deepest nesting of brackets, and of expression nodes in the syntax tree.
MAX_DEPTH = 50
#: Most digits in one number literal (for ``1e5`` the exponent counts as digits too).
MAX_LITERAL_DIGITS = 100
#: Largest absolute value of an exponent that is not a plain integer, or whose base is a
#: constant: ``2**100`` is fine, ``2**101`` is not, nor is ``x**(1000*y)``, as sizes are bounded
#: taking every name as 1 (SymPy may cancel ``y - y``).
MAX_EXPONENT = 100
#: Largest integer power of an expression holding a name: ``x**150`` is a power of a variable,
#: not a huge constant (``symbolic.expanded_size`` bounds multiplying it out).
MAX_POWER = 1000
#: Largest estimated number of digits of any number SymPy could form while building; kept
#: under Python's default limit (4300) for printing an integer, so results stay printable.
MAX_DIGITS = 4000
#: Most digits of a number whose root is taken (SymPy factors radicands, slow beyond this).
MAX_ROOT_DIGITS = 200
#: Deepest chain of nested function calls, ``sin(cos(tan(x)))`` is 3. SymPy evaluates every call
#: eagerly and its cost grows steeply with nesting (seconds at depth 12).
MAX_CALL_DEPTH = 6
#: Deepest chain of nested calls whose arguments are constants, as in ``sin(cos(2))``: SymPy
#: decides facts about such numbers by numeric evaluation, which grows steeper still.
MAX_CONSTANT_CALL_DEPTH = 4
#: Wall-clock budget (seconds) for building the SymPy tree, checked after each node: a last
#: resort, as SymPy's eager evaluation stays slow on some contrived input even within the
#: limits above (``sqrt(log10(cbrt(ln(1/softplus(2*x)))))`` takes 50 ms; 30 such terms, 1.5 s).
MAX_BUILD_SECONDS = 2.0
#: Constants are folded exactly (with Fraction) only while this small.
EXACT_DIGITS = 60
