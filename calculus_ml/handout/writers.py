"""One writer per format: a handout :class:`~.document.Document` as Markdown, LaTeX or HTML text.

A writer walks the blocks, dispatching on the block's class name (``_Heading``, ``_Steps``, ...)
the way SymPy's printers do, and prints the maths only through the format's SymPy printer
(``sympy.latex`` via :mod:`calculus_ml.render.latex`, MathML via :mod:`calculus_ml.render.html`).
"""

from __future__ import annotations

import re
import unicodedata

import sympy

from ..errors import CalculusMLError
from ..render import html as h
from ..render import latex as latex_format
from ..render import markdown as markdown_format
from ..render.latex import escape_text, latex
from .document import Document, Math

__all__ = ["FIGURE_FORMAT", "INDEX_TITLE", "write_markdown", "write_latex", "write_html",
           "index_markdown", "index_html", "plain", "unicode_declarations"]

FIGURE_FORMAT = {"markdown": "png", "latex": "pdf", "html": "svg"}
"""Which of a figure's files each format links to."""


class _Writer:
    emphasis: dict[str, str]
    """Each style's wrapping of text (``{}``), innermost first."""

    def write(self, doc: Document) -> str:
        return self.page(doc, "\n\n".join(self.block(b) for b in doc.blocks))

    def block(self, block) -> str:
        return getattr(self, f"_{type(block).__name__}")(block)

    def inline(self, tokens) -> str:
        return "".join(self.math(t.expr) if isinstance(t, Math) else self.styled(t.text, t.style)
                       for t in tokens)

    def styled(self, text: str, style: frozenset) -> str:
        text = self.escape(text, style)
        for flag, wrapping in self.emphasis.items():
            if flag in style:
                text = wrapping.format(text)
        return text


# -- Markdown ------------------------------------------------------------------------------------


_HTML_SPECIAL = re.compile(r"[\\<>]|&(?=#?[A-Za-z0-9]+;)")


class _Markdown(_Writer):
    emphasis = {"code": "`{}`", "italic": "*{}*", "bold": "**{}**"}

    def page(self, doc, body):
        return f"# {self.escape(doc.title)}\n\n{body}\n"

    def escape(self, text, style=frozenset()):
        if "code" in style:  # a code span shows its text as written: nothing to escape
            return markdown_format.LINE_BREAKS.sub(" ", text)
        return markdown_format.escape(text)

    def math(self, expr):
        return f"${latex(expr)}$"

    def _Heading(self, b):
        return "#" * b.level + " " + self.inline(b.text)

    def _Prose(self, b):
        return "\n\n".join(self.inline(body) if kind == "p" else
                           "\n".join(f"- {self.inline(item)}" for item in body)
                           for kind, body in b.blocks)

    def _Steps(self, b):
        return markdown_format.render(b.derivation).strip()

    def _Solution(self, b):
        return b.closed_form.to_markdown().strip()

    def _Equations(self, b):
        return "\n\n".join("$$" + " = ".join(latex(p) for p in row) + "$$" for row in b.rows)

    def _Table(self, b):
        lines = ["| " + " | ".join(self.cell(c) for c in b.header) + " |",
                 "|" + "---:|" * len(b.header)]
        lines += ["| " + " | ".join(self.cell(c) for c in row) + " |" for row in b.rows]
        return "\n".join(lines)

    def cell(self, tokens) -> str:
        """A table cell: its words' ``|`` escaped too, so they cannot end the cell."""
        return "".join(self.math(t.expr) if isinstance(t, Math) else
                       self.styled(t.text, t.style).replace("|", "\\|") for t in tokens)

    def _Figure(self, b):
        alt = markdown_format.escape(plain(b.caption).replace("]", ")").replace("[", "("),
                                     _HTML_SPECIAL)
        return (f"![{alt}]({b.stem}.{FIGURE_FORMAT['markdown']})\n\n"
                f"*Figure {b.number}.* {self.inline(b.caption)}")

    def _PageBreak(self, b):
        return "---"


# -- LaTeX ---------------------------------------------------------------------------------------

_GREEK_UPPER = {"Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Upsilon", "Phi", "Psi",
                "Omega"}
_UNICODE = {
    "−": "-", "·": r"\cdot", "×": r"\times", "±": r"\pm", "≈": r"\approx", "≤": r"\leq",
    "≥": r"\geq", "≠": r"\neq", "←": r"\leftarrow", "→": r"\rightarrow", "∂": r"\partial",
    "∇": r"\nabla", "∑": r"\sum", "‖": r"\|", "ℓ": r"\ell", "½": r"\tfrac{1}{2}",
    "𝟙": r"\mathbf{1}", "ᵀ": r"^{\mathsf{T}}", "′": r"'", "″": r"''", "∞": r"\infty",
    "ᵢ": "_i", "ⱼ": "_j", "ₖ": "_k", "ₐ": "_a", "ᵤ": "_u", "²": "^2", "³": "^3", "ⁿ": "^n",
    "ū": r"\bar{u}", "ȳ": r"\bar{y}", "\u0304": r"\bar{}", "ŷ": r"\hat{y}",
    "∈": r"\in", "√": r"\surd", "⋅": r"\cdot", "∀": r"\forall", "ε": r"\varepsilon",
}
_UNICODE.update({chr(0x2080 + d): f"_{d}" for d in range(10)})
_TEXT_OK = set("“”‘’–—…°") | {chr(c) for c in range(0xC0, 0x100) if c not in (0xD7, 0xF7)}


def _unicode_macro(ch: str) -> str | None:
    if ch in _UNICODE:
        return _UNICODE[ch]
    name = unicodedata.name(ch, "")
    if name.startswith("GREEK ") and " LETTER " in name:
        letter = name.rsplit(" ", 1)[-1].capitalize().replace("Lamda", "Lambda")
        if "SMALL" in name:
            return "o" if letter == "Omicron" else "\\" + letter.lower()
        return "\\" + letter if letter in _GREEK_UPPER else None
    return None


def unicode_declarations(text: str) -> str:
    r"""``\DeclareUnicodeCharacter`` lines for the non-ASCII characters of ``text``.

    Raises
    ------
    CalculusMLError
        For a character pdflatex cannot typeset and that has no declaration here.
    """
    lines = []
    for ch in sorted(set(text)):
        if ord(ch) < 128 or ch in _TEXT_OK:
            continue
        macro = _unicode_macro(ch)
        if macro is None:
            raise CalculusMLError(f"the character {ch!r} (U+{ord(ch):04X}) cannot be typeset by "
                                  "pdflatex: write it with {math:...} in the spec")
        lines.append(rf"\DeclareUnicodeCharacter{{{ord(ch):04X}}}{{\ensuremath{{{macro}}}}}")
    return "\n".join(lines)


class _Latex(_Writer):
    emphasis = {"code": r"\texttt{{{}}}", "italic": r"\emph{{{}}}", "bold": r"\textbf{{{}}}"}

    def page(self, doc, body):
        declarations = unicode_declarations(doc.title + body)
        return (r"\documentclass[11pt]{article}" "\n"
                r"\usepackage[utf8]{inputenc}" "\n"
                r"\usepackage{amsmath,amssymb}" "\n"
                r"\usepackage{graphicx}" "\n"
                r"\usepackage[margin=2.5cm]{geometry}" "\n"
                r"\setlength{\parindent}{0pt}\setlength{\parskip}{0.6em}" "\n"
                r"\setlength{\emergencystretch}{3em}" "\n"  # wider spaces, not overfull lines
                + (declarations + "\n" if declarations else "")
                + rf"\title{{{escape_text(doc.title)}}}" "\n" r"\date{}" "\n"
                r"\begin{document}" "\n" r"\maketitle" "\n\n"
                + body + "\n\n" r"\end{document}" "\n")

    def math(self, expr):
        return f"${latex(expr)}$"

    def escape(self, text, style=frozenset()):
        return escape_text(text)

    def _Heading(self, b):
        command = {2: "section", 3: "subsection"}.get(b.level, "subsubsection")
        return rf"\{command}*{{{self.inline(b.text)}}}"

    def _Prose(self, b):
        return "\n\n".join(
            self.inline(body) if kind == "p" else
            "\\begin{itemize}\n" + "\n".join(rf"  \item {self.inline(i)}" for i in body)
            + "\n\\end{itemize}" for kind, body in b.blocks)

    def _Steps(self, b):
        return latex_format.render(b.derivation).strip()

    def _Solution(self, b):
        return b.closed_form.to_latex().strip()

    def _Equations(self, b):
        return "\n".join(latex_format.display(tuple(row)) for row in b.rows)

    def _Table(self, b):
        cells = [" & ".join(self.inline(c) for c in row) + r" \\" for row in b.rows]
        return ("\\begin{center}\n\\begin{tabular}{" + "r" * len(b.header) + "}\n\\hline\n"
                + " & ".join(self.inline(c) for c in b.header) + " \\\\\n\\hline\n"
                + "\n".join(cells) + "\n\\hline\n\\end{tabular}\n\\end{center}")

    def _Figure(self, b):
        return ("\\begin{center}\n"
                rf"\includegraphics[width=0.8\linewidth]{{{b.stem}.{FIGURE_FORMAT['latex']}}}"
                "\\\\\n" rf"{{\small \textbf{{Figure {b.number}.}} {self.inline(b.caption)}}}"
                "\n\\end{center}")

    def _PageBreak(self, b):
        return "\\clearpage"


# -- HTML ----------------------------------------------------------------------------------------


class _Html(_Writer):
    emphasis = {"code": "<code>{}</code>", "italic": "<em>{}</em>", "bold": "<strong>{}</strong>"}

    def page(self, doc, body):
        return h.page(doc.title, f"<h1>{h.escape(doc.title)}</h1>\n{body}\n")

    def math(self, expr):
        return h.mathml(expr)

    def escape(self, text, style=frozenset()):
        return h.escape(text)

    def _Heading(self, b):
        return f"<h{b.level}>{self.inline(b.text)}</h{b.level}>"

    def _Prose(self, b):
        return "\n".join(f"<p>{self.inline(body)}</p>" if kind == "p" else
                         "<ul>\n" + "\n".join(f"<li>{self.inline(i)}</li>" for i in body)
                         + "\n</ul>" for kind, body in b.blocks)

    def _Steps(self, b):
        return h.render(b.derivation, level=3).strip()

    def _Solution(self, b):
        return h.render_solution(b.closed_form, level=3).strip()

    def _Equations(self, b):
        return "\n".join(h.equation(tuple(row)) for row in b.rows)

    def _Table(self, b):
        head = "".join(f"<th>{self.inline(c)}</th>" for c in b.header)
        rows = "\n".join("<tr>" + "".join(f"<td>{self.inline(c)}</td>" for c in row) + "</tr>"
                         for row in b.rows)
        return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{rows}\n</tbody>\n</table>"

    def _Figure(self, b):
        src = h.escape(f"{b.stem}.{FIGURE_FORMAT['html']}")
        img = f'<img src="{src}" alt="{h.escape(plain(b.caption))}">'
        if b.player:  # the strip of frames stays for readers without script
            img = f'<div class="player">{b.player()}</div>\n<noscript>{img}</noscript>'
        return (f'<figure>\n{img}\n'
                f"<figcaption><strong>Figure {b.number}.</strong> {self.inline(b.caption)}"
                "</figcaption>\n</figure>")

    def _PageBreak(self, b):
        return '<div class="page-break" style="break-before: page"></div>'


def plain(tokens) -> str:
    """Inline tokens as plain text (for alt text): maths in SymPy's string form."""

    def text(expr):
        if isinstance(expr, sympy.Eq):
            return " = ".join(sympy.sstr(side, full_prec=False) for side in expr.args)
        return sympy.sstr(expr, full_prec=False)

    return "".join(text(t.expr) if isinstance(t, Math) else t.text for t in tokens)


def write_markdown(doc: Document) -> str:
    """The document as Markdown with ``$$`` display maths and figure links."""
    return _Markdown().write(doc)


def write_latex(doc: Document) -> str:
    """The document as a standalone LaTeX article (amsmath, graphicx) for ``pdflatex``."""
    return _Latex().write(doc)


def write_html(doc: Document) -> str:
    """The document as a standalone HTML page with MathML: no script, no network."""
    return _Html().write(doc)


# -- index pages ---------------------------------------------------------------------------------

INDEX_TITLE = "Handouts"


def index_markdown(entries: list[tuple[str, dict[str, str]]]) -> str:
    """A Markdown page listing handouts: each title linked to its file, other formats after it.

    ``entries`` are ``(title, {format: file name})`` in reading order, the first format's file
    the title's link.
    """
    return f"# {INDEX_TITLE}\n\n" + "".join(
        f"- {_index_links(title, files, _markdown_link)}\n" for title, files in entries)


def index_html(entries: list[tuple[str, dict[str, str]]]) -> str:
    """A standalone HTML page listing handouts (see :func:`index_markdown`)."""
    items = "".join(f"<li>{_index_links(title, files, _html_link)}</li>\n"
                    for title, files in entries)
    return h.page(INDEX_TITLE, f"<h1>{INDEX_TITLE}</h1>\n<ol>\n{items}</ol>\n")


def _index_links(title: str, files: dict[str, str], link) -> str:
    (_, first), *others = files.items()
    extra = ", ".join(link(fmt.upper() if fmt == "pdf" else fmt.capitalize(), name)
                      for fmt, name in others)
    return link(title, first) + (f" ({extra})" if extra else "")


def _markdown_link(text: str, target: str) -> str:
    return f"[{markdown_format.escape(text)}]({target})"  # a handout's file name needs no escaping


def _html_link(text: str, target: str) -> str:
    return f'<a href="{h.escape(target)}">{h.escape(text)}</a>'
