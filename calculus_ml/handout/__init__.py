"""Handouts: lesson specs (``derivations/*.toml``) built into Markdown, LaTeX, HTML and PDF.

:func:`build` reads a spec (:mod:`calculus_ml.handout.spec` describes the format), derives every
section's maths with the engine (every step verified), computes every number the narrative
quotes — slopes at points, fitted parameters, steps of gradient descent — and draws the figures
with :mod:`calculus_ml.plotting`. :func:`write` prints the result in one or more formats, with
each figure as PNG and SVG beside the document, **atomically**: everything is written into a
temporary folder inside the output folder and moved into place only when all of it succeeded,
so a failure leaves no half-written file and never replaces a good earlier one.

A handout is named by its file (``derivations/03-chain-rule.toml``) or by its name, with or without
the number (``03-chain-rule`` or ``chain-rule``), looked up in the specs shipped inside the
package and then in a source checkout's ``derivations/`` folder.

The package, in the order the data flows: :mod:`~.spec` reads a spec (its sections in
:mod:`~.sections`, the narrative's markup and placeholders in :mod:`~.refs`); :mod:`~.narrative`
computes what a section says; :mod:`~.builder` assembles the :mod:`~.document` and draws its
figures; :mod:`~.writers` prints it as text in each format and :mod:`~.output` writes the files.
"""


from __future__ import annotations

import re

from ..caching import loaded_on_first_use

FORMATS = ("markdown", "latex", "html", "pdf")
"""The formats a handout is written in."""

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
"""A handout's name (its spec's file name): it becomes file names and the figure paths of the
LaTeX and Markdown documents, so it holds nothing that a path or LaTeX could read otherwise."""

_EXPORTS = {
    "Handout": "builder", "build": "builder", "demo": "builder", "find": "builder",
    "names": "builder", "spec_dirs": "builder", "stable_learning_rate": "narrative",
    "HandoutError": "output", "write": "output", "Spec": "spec", "load": "spec",
}
"""Public names loaded on first use: the command line reads :data:`FORMATS` without SymPy."""

__all__ = ["FORMATS", "NAME", *_EXPORTS]

__getattr__, __dir__ = loaded_on_first_use(__name__, _EXPORTS)
