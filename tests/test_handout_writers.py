"""Writers: the same document in Markdown, LaTeX and HTML; what pdflatex cannot typeset."""

from __future__ import annotations

import pytest
import sympy

from calculus_ml.errors import CalculusMLError
from calculus_ml.handout import document as doc
from calculus_ml.handout import writers

STYLED = doc.Document("T", (doc.Prose((("p", (
    doc.Run("a_1", frozenset({"code", "italic", "bold"})), doc.Run(" & "),
    doc.Math(sympy.Symbol("x") ** 2))),)),))


@pytest.mark.parametrize("write, expected", [
    (writers.write_markdown, "***`a_1`*** & $x^{2}$"),
    (writers.write_latex, r"\textbf{\emph{\texttt{a\_1}}} \& $x^{2}$"),
    (writers.write_html, "<p><strong><em><code>a_1</code></em></strong> &amp; <math"),
])
def test_styles_nest_code_inside_italic_inside_bold(write, expected):
    assert expected in write(STYLED)


def test_unicode_declarations():
    assert writers.unicode_declarations("a ≤ b") == (
        r"\DeclareUnicodeCharacter{2264}{\ensuremath{\leq}}")
    with pytest.raises(CalculusMLError, match="cannot be typeset by pdflatex"):
        writers.unicode_declarations("☃")
