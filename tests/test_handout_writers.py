"""Writers: the same document in Markdown, LaTeX and HTML; what pdflatex cannot typeset."""

from __future__ import annotations

import pytest
import sympy

from calculus_ml.errors import CalculusMLError
from calculus_ml.handout import document as doc
from calculus_ml.handout import writers
from calculus_ml.render.markdown import escape as markdown_escape

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


HOSTILE = ("<script>alert(1)</script> <img src=x onerror=alert(1)> [a](javascript:alert(1)) "
           "<javascript:x> &amp; *not bold* _x_ `c` $m$ # h ~~s~~ \\ | line\nbreak")


def test_markdown_shows_markup_as_text():
    text = markdown_escape(HOSTILE)
    assert "<" not in text and ">" not in text and "\n" not in text
    assert text == ("&lt;script&gt;alert(1)&lt;/script&gt; &lt;img src=x onerror=alert(1)&gt; "
                    "\\[a\\](javascript:alert(1)) &lt;javascript:x&gt; &amp;amp; \\*not bold\\* "
                    "\\_x\\_ \\`c\\` \\$m\\$ \\# h \\~\\~s\\~\\~ \\\\ | line break")
    ordinary = "a & b, (c); d: 1.5 - 2/3 = x|y"
    assert markdown_escape(ordinary) == ordinary


def test_every_text_of_a_markdown_document_is_escaped():
    document = doc.Document(HOSTILE, (
        doc.Heading(2, (doc.Run("H\n# Fake title"),)),
        doc.Prose((("p", (doc.Run(HOSTILE), doc.Run("<b>code</b>", frozenset({"code"})))),
                   ("ul", ((doc.Run(HOSTILE),),)))),
        doc.Table(((doc.Run("a|b"),),), (((doc.Run("<i>"),),),)),
        doc.Figure("f-fig1", 1, (doc.Run("[x](javascript:y) <img> \\"),)),
    ))
    text = writers.write_markdown(document)
    assert [line for line in text.splitlines() if line.startswith("#")] == [
        "# " + markdown_escape(HOSTILE), "## H \\# Fake title"]
    assert "<script" not in text and "<img" not in text and "<i>" not in text
    assert "`<b>code</b>`" in text  # a code span shows its text as written
    assert "| a\\|b |" in text
    assert "![(x)(javascript:y) &lt;img&gt; \\\\](f-fig1.png)" in text
