"""Derivations: the verified step trees of an expression's (partial) derivatives.

:func:`derive` is the front door (``front.py``): it parses text safely, turns a per-sample term
into a sum over data when asked, builds one step tree per variable (:class:`Derivation`,
``tree.py``), tidies each result and checks every step. Higher derivatives, mixed partials and
Hessians are stage-by-stage derivations (``higher.py``); values at a point and results looked up
by name live in ``point.py``.
"""

from ..symbolic import Reduce
from .front import derive
from .higher import HigherDerivation
from .point import PointValues, Results, substitute
from .tree import DETAILS, Derivation, check_detail, derivation_of, tidied

__all__ = ["Derivation", "HigherDerivation", "PointValues", "Results", "derive", "derivation_of",
           "tidied", "substitute", "Reduce", "DETAILS", "check_detail"]
