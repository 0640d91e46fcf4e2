"""Sphinx configuration of the calculus_ml documentation.

Build: ``python -m sphinx -W -b html docs docs/_build/html`` (needs ``pip install ".[docs]"``).
Several pages are generated from the code at build time by the local extension ``_ext/cml_docs.py``
(the CLI reference, the rule table, the benchmark scripts, the handout gallery), and the maths in
the examples is derived while building by the package's own ``derivation`` directive.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE / "_ext")]  # the package from this checkout; cml_docs

import calculus_ml  # noqa: E402

project = "calculus_ml"
author = "the calculus_ml authors"
copyright = "the calculus_ml authors, BSD-3-Clause"
version = release = calculus_ml.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # MathJax copied into _static: the maths renders offline
    "myst_parser",
    "calculus_ml.sphinxext",
    "cml_docs",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build"]
root_doc = "index"

# MyST: $...$ and $$...$$ maths in Markdown pages, ::: fences for directives.
myst_enable_extensions = ["dollarmath", "colon_fence"]
myst_heading_anchors = 3

# API reference: numpydoc-style docstrings through napoleon (no extra dependency).
napoleon_numpy_docstring = True
napoleon_google_docstring = False
autodoc_member_order = "bysource"
autodoc_typehints = "description"

# The derivation directive (calculus_ml.sphinxext).
calculus_ml_verify = True
calculus_ml_default_show = "steps"

html_theme = "alabaster"
html_title = f"calculus_ml {release}"
