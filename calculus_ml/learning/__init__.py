"""Learning by doing: check a learner's answer and steps, hints one step at a time, worksheets.

* :func:`check_answer` -- a :class:`Verdict` on a learner's derivative: right or wrong, a point
  where it differs, and the classic mistake that reproduces it (:mod:`.misconceptions`);
* :func:`check_steps` -- the first wrong step of a learner's chain of equalities, and why;
* :func:`hints` -- a derivation revealed one rule at a time (``Derivation.hints``);
* :func:`practice` -- reproducible exercises that need a given rule, with a verified key.
"""

from .check import Verdict, check_answer
from .hints import Hint, hints
from .misconceptions import CATALOGUE, Misconception
from .practice import Exercise, Worksheet, practice
from .steps_check import StepsReport, StepVerdict, check_steps

__all__ = ["Verdict", "check_answer", "CATALOGUE", "Misconception", "StepsReport", "StepVerdict",
           "check_steps", "Hint", "hints", "Exercise", "Worksheet", "practice"]
