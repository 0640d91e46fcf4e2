"""Writing handouts: all files or none, and PDF only with pdflatex."""

from __future__ import annotations

import os
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


def test_left_over_temporary_folders_are_removed_unless_a_build_is_writing(tmp_path):
    fcntl = pytest.importorskip("fcntl")
    out = tmp_path / "out"
    left_over = out / ".calculus-ml-killed"
    (left_over / ".pdf-x").mkdir(parents=True)
    (left_over / "x-fig1.png.part").write_bytes(b"half a figure")
    (out / ".calculus-ml-link").symlink_to(tmp_path / "elsewhere")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "keep").write_text("kept")
    built = handout.build("02-derivative-rules")
    folder = os.open(out, os.O_RDONLY)
    try:
        fcntl.flock(folder, fcntl.LOCK_SH)  # as another build writing into out
        handout.write(built, out, "markdown")
        assert left_over.is_dir()
    finally:
        os.close(folder)
    handout.write(built, out, "markdown")
    assert not left_over.exists() and (tmp_path / "elsewhere" / "keep").read_text() == "kept"
    assert sorted(p.name for p in out.iterdir()) == [".calculus-ml-link", "02-derivative-rules.md"]


@pytest.mark.parametrize("name", ["../evil", "a}b", ".hidden", "", "x" * 101])
def test_a_handout_name_must_be_safe_in_paths_and_latex(tmp_path, name):
    built = handout.build("02-derivative-rules")
    built.name = name
    with pytest.raises(handout.HandoutError, match="is not a handout name"):
        handout.write(built, tmp_path / "out", "latex")
    assert not (tmp_path / "out").exists()
