"""Writing handouts: all files or none, and PDF only with pdflatex."""

from __future__ import annotations

import shutil

import pytest

from calculus_ml import handout
from calculus_ml.handout import writers


def test_failed_write_changes_nothing(tmp_path, monkeypatch):
    out = tmp_path / "out"
    first = handout.write(handout.build("02-derivative-rules"), out, "html")
    good = first[0].read_text()

    def broken(doc):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(writers, "write_markdown", broken)
    with pytest.raises(RuntimeError, match="disk on fire"):
        handout.write([handout.build("02-derivative-rules"), handout.build("03-chain-rule")], out,
                      ["html", "markdown"])
    assert [p.name for p in out.iterdir()] == ["02-derivative-rules.html"]  # no temp dir left
    assert first[0].read_text() == good


def test_pdf_without_pdflatex_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(handout.HandoutError, match="pdflatex.*texlive-latex-base"):
        handout.write(handout.build("02-derivative-rules"), tmp_path / "out", "pdf")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
