"""Writing documents and their figures into a folder, atomically; PDF through ``pdflatex``.

Everything is written into a temporary folder inside the output folder, and moved into place
(one ``os.replace`` per file) only once all of it succeeded: a failure leaves no half-written
file and never replaces a good earlier one.

A build killed on the way (``kill -9``, a power cut) cannot remove its temporary folder; the next
build into the same folder does. Every build holds a shared lock on the output folder while it
writes; one that gets the lock exclusively knows that no other build is writing there, so the
temporary folders it finds are left over, and removes them. (Where there are no such locks, on
Windows or a file system without them, left-over folders stay.)
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ..errors import CalculusMLError, quoted
from . import FORMATS, NAME, writers

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

__all__ = ["FORMATS", "SUFFIX", "HandoutError", "write"]

SUFFIX = {"markdown": ".md", "latex": ".tex", "html": ".html", "pdf": ".pdf"}
STAGING = ".calculus-ml-"
"""The prefix of the temporary folder a build writes into, inside the output folder."""


class HandoutError(CalculusMLError, RuntimeError):
    """A handout that cannot be written (e.g. no ``pdflatex`` for PDF output)."""


def write(handouts: Any | Iterable[Any], out: str | os.PathLike,
          formats: str | Sequence[str] = "markdown", *, index: bool = False) -> list[Path]:
    """Write handouts into the folder ``out``, all of them or none.

    Parameters
    ----------
    handouts : Handout or iterable of Handout
        Built handouts (:func:`~calculus_ml.handout.build`): ``name``, ``document``, ``figures``.
    out : str or path
        The output folder (created if needed). Each handout gives ``NAME.md`` / ``.tex`` /
        ``.html`` / ``.pdf`` and its figures ``NAME-figK.png`` and ``.svg`` (and ``.pdf``, the
        vector figure a LaTeX or PDF handout includes).
    formats : str or sequence of str
        Any of ``markdown``, ``latex``, ``html``, ``pdf``.
    index : bool
        Also write an index page that links every handout written, with its title:
        ``index.md`` for Markdown, ``index.html`` for the other formats.

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    HandoutError
        For an unknown format, a handout name that is not :data:`~calculus_ml.handout.NAME`
        (or is ``index`` when writing the index),
        PDF without ``pdflatex``, or a file that cannot be written; in every case nothing in
        ``out`` has changed (but left-over temporary folders of killed builds are removed).
    """
    handouts = [handouts] if hasattr(handouts, "document") else list(handouts)
    formats = [formats] if isinstance(formats, str) else list(formats)
    for fmt in formats:
        if fmt not in FORMATS:
            raise HandoutError(f"unknown format {quoted(fmt)} (choose from {', '.join(FORMATS)})")
    for handout in handouts:
        if not isinstance(handout.name, str) or not NAME.fullmatch(handout.name):
            raise HandoutError(f"{quoted(handout.name)} is not a handout name: use letters, "
                               "digits, '.', '_' and '-', starting with a letter or digit")
    if index and any(h.name == "index" for h in handouts):
        raise HandoutError("a handout named 'index' would be overwritten by the index page: "
                           "rename its spec")
    if "pdf" in formats and shutil.which("pdflatex") is None:
        raise HandoutError("PDF output needs pdflatex, which is not installed: install TeX Live "
                           "(Debian/Ubuntu: apt-get install texlive-latex-base; macOS: MacTeX) "
                           "or use --format latex")
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        with _writing_into(out):
            staging = Path(tempfile.mkdtemp(prefix=STAGING, dir=out))
            try:
                names_ = [name for h in handouts for name in _write_one(h, staging, formats)]
                if index:
                    names_ += _write_index(handouts, staging, formats)
                missing = [name for name in names_ if not (staging / name).is_file()]
                if missing:  # a bug, never a half-moved output
                    raise HandoutError(f"internal error: {missing[0]} was not written; "
                                       "nothing changed")
                for name in names_:
                    os.replace(staging / name, out / name)
                return [out / name for name in names_]
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    except OSError as error:
        raise HandoutError(f"cannot write to {out}: {error.strerror or error}") from None


@contextlib.contextmanager
def _writing_into(out: Path) -> Iterator[None]:
    """Hold a shared lock on the folder ``out`` while writing into it (:func:`_lock`)."""
    folder = _lock(out)
    try:
        yield
    finally:
        if folder is not None:
            os.close(folder)  # releases the lock


def _lock(out: Path) -> int | None:
    """A shared lock on the folder ``out``, taken after removing the temporary folders of
    killed builds if no other build is writing there: the folder's descriptor, or None where
    there are no locks (and nothing is removed)."""
    if fcntl is None:
        return None
    try:
        folder = os.open(out, os.O_RDONLY)
    except OSError:  # a folder one may write into but not read
        return None
    try:
        fcntl.flock(folder, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:  # another build is writing: its folder is not left over
        pass
    except OSError:  # a file system without locks
        os.close(folder)
        return None
    else:
        _remove_left_over(out)
    fcntl.flock(folder, fcntl.LOCK_SH)
    return folder


def _remove_left_over(out: Path) -> None:
    """Remove the temporary folders in ``out`` (only folders, never through a link)."""
    with os.scandir(out) as entries:
        for entry in entries:
            if entry.name.startswith(STAGING) and entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)


def _write_one(handout: Any, folder: Path, formats: list[str]) -> list[str]:
    written = _write_figures(handout.figures, folder, formats) if handout.figures else []
    write_text = {"markdown": writers.write_markdown, "latex": writers.write_latex,
                  "html": writers.write_html}
    for fmt in formats:
        target = folder / f"{handout.name}{SUFFIX[fmt]}"
        text = write_text["latex" if fmt == "pdf" else fmt](handout.document)
        if fmt == "pdf":  # compiled apart, beside the figures, so a .tex output is untouched
            build_dir = folder / f".pdf-{handout.name}"
            build_dir.mkdir()
            tex = build_dir / f"{handout.name}.tex"
            tex.write_text(text, encoding="utf-8")
            _pdflatex(tex)
            os.replace(tex.with_suffix(".pdf"), target)
        else:
            target.write_text(text, encoding="utf-8")
        written.append(target.name)
    return written


def _write_figures(figures: list[tuple[str, Any]], folder: Path, formats: list[str]) -> list[str]:
    """Each figure as PNG and SVG, and as PDF (vector) for a LaTeX or PDF handout."""
    from matplotlib import rc_context

    from ..plotting import save

    written = []
    figure_formats = ("png", "svg") + (("pdf",) if {"latex", "pdf"} & set(formats) else ())
    with rc_context({"svg.hashsalt": "calculus-ml", "pdf.fonttype": 42}):  # stable SVG ids;
        for stem, figure in figures:  # PDF figures with real (searchable) fonts
            written += [p.name for p in save(figure, folder / stem, formats=figure_formats)]
    return written


def _write_index(handouts: list[Any], folder: Path, formats: list[str]) -> list[str]:
    """``index.md`` (Markdown) and ``index.html`` (HTML, PDF, LaTeX) linking the handouts."""
    pages = {"index.md": (["markdown"], writers.index_markdown),
             "index.html": (["html", "pdf", "latex"], writers.index_html)}
    written = []
    for name, (linked, page) in pages.items():
        linked = [fmt for fmt in linked if fmt in formats]
        if linked:
            entries = [(h.document.title, {fmt: f"{h.name}{SUFFIX[fmt]}" for fmt in linked})
                       for h in handouts]
            (folder / name).write_text(page(entries), encoding="utf-8")
            written.append(name)
    return written


def _pdflatex(tex: Path) -> None:
    """Compile ``tex`` (in a folder beside its figures) into a PDF in the same folder."""
    command = ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape",
               f"-output-directory={tex.parent.name}", f"{tex.parent.name}/{tex.name}"]
    try:
        run = subprocess.run(command, cwd=tex.parent.parent, capture_output=True, timeout=120,
                             stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise HandoutError(f"pdflatex failed on {tex.name}: {error}") from None
    if run.returncode != 0 or not tex.with_suffix(".pdf").is_file():
        log = run.stdout.decode("utf-8", "replace").splitlines()
        first = next((line for line in log if line.startswith("!")), "see its log")
        raise HandoutError(f"pdflatex failed on {tex.name}: {first}")
