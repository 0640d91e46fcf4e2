"""Writing documents and their figures into a folder, atomically; PDF through ``pdflatex``.

Everything is written into a temporary folder inside the output folder, and moved into place
(one ``os.replace`` per file) only once all of it succeeded: a failure leaves no half-written
file and never replaces a good earlier one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..errors import CalculusMLError
from . import FORMATS, writers

__all__ = ["FORMATS", "SUFFIX", "HandoutError", "write"]

SUFFIX = {"markdown": ".md", "latex": ".tex", "html": ".html", "pdf": ".pdf"}


class HandoutError(CalculusMLError, RuntimeError):
    """A handout that cannot be written (e.g. no ``pdflatex`` for PDF output)."""


def write(handouts: Any | Iterable[Any], out: str | os.PathLike,
          formats: str | Sequence[str] = "markdown") -> list[Path]:
    """Write handouts into the folder ``out``, all of them or none.

    Parameters
    ----------
    handouts : Handout or iterable of Handout
        Built handouts (:func:`~calculus_ml.handout.build`): ``name``, ``document``, ``figures``.
    out : str or path
        The output folder (created if needed). Each handout gives ``NAME.md`` / ``.tex`` /
        ``.html`` / ``.pdf`` and its figures ``NAME-figK.png`` and ``.svg``.
    formats : str or sequence of str
        Any of ``markdown``, ``latex``, ``html``, ``pdf``.

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    HandoutError
        For an unknown format, PDF without ``pdflatex``, or a file that cannot be written; in
        every case nothing in ``out`` has changed.
    """
    handouts = [handouts] if hasattr(handouts, "document") else list(handouts)
    formats = [formats] if isinstance(formats, str) else list(formats)
    for fmt in formats:
        if fmt not in FORMATS:
            raise HandoutError(f"unknown format {fmt!r} (choose from {', '.join(FORMATS)})")
    if "pdf" in formats and shutil.which("pdflatex") is None:
        raise HandoutError("PDF output needs pdflatex, which is not installed: install TeX Live "
                           "(Debian/Ubuntu: apt-get install texlive-latex-base; macOS: MacTeX) "
                           "or use --format latex")
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".calculus-ml-", dir=out))
    except OSError as error:
        raise HandoutError(f"cannot write to {out}: {error.strerror or error}") from None
    try:
        names_ = [name for h in handouts for name in _write_one(h, staging, formats)]
        missing = [name for name in names_ if not (staging / name).is_file()]
        if missing:  # a bug, never a half-moved output
            raise HandoutError(f"internal error: {missing[0]} was not written; nothing changed")
        for name in names_:
            os.replace(staging / name, out / name)
        return [out / name for name in names_]
    except OSError as error:
        raise HandoutError(f"cannot write to {out}: {error.strerror or error}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _write_one(handout: Any, folder: Path, formats: list[str]) -> list[str]:
    from matplotlib import rc_context

    from ..plotting import save

    written = []
    with rc_context({"svg.hashsalt": "calculus-ml"}):  # stable SVG ids
        for stem, figure in handout.figures:
            written += [p.name for p in save(figure, folder / stem, formats=("png", "svg"))]
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
