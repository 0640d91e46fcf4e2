"""The documentation's Python examples are run, so the outputs the pages show stay true."""

from __future__ import annotations

import doctest
import importlib.util
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGES = sorted(DOCS.glob("*.md")) + [DOCS.parent / "README.md"]
FENCE = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _examples(page: Path) -> str:
    """The ``>>>`` sessions of a page's Python code blocks, one after the other."""
    return "\n".join(block for block in FENCE.findall(page.read_text(encoding="utf-8")) if ">>>" in block)


@pytest.mark.parametrize("page", [p for p in PAGES if _examples(p)], ids=lambda p: p.name)
@pytest.mark.slow
def test_page_examples(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples that write figures write them here
    test = doctest.DocTestParser().get_doctest(_examples(page), {}, page.name, str(page), 0)
    runner = doctest.DocTestRunner(optionflags=OPTIONS)
    runner.run(test)
    assert runner.failures == 0, f"{runner.failures} of the examples in {page.name} failed"


def test_quickstart_is_included_from_the_readme():
    readme = (DOCS.parent / "README.md").read_text(encoding="utf-8")
    page = (DOCS / "getting-started.md").read_text(encoding="utf-8")
    assert '{include} ../README.md' in page
    assert "\n## Quickstart\n" in readme and "\n## Usage\n" in readme


@pytest.mark.slow
def test_built_site_loads_no_remote_script(tmp_path):
    """The docs render their maths offline: every script is a file of the site (MathJax
    bundled by sphinx-mathjax-offline), none is fetched from the network."""
    pytest.importorskip("sphinx")
    pytest.importorskip("myst_parser")
    if importlib.util.find_spec("sphinx-mathjax-offline") is None:
        pytest.skip('sphinx-mathjax-offline is not installed (pip install ".[docs]")')
    out = tmp_path / "html"
    run = subprocess.run([sys.executable, "-m", "sphinx", "-q", "-b", "html", str(DOCS), str(out)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    pages = sorted(out.glob("*.html"))
    assert len(pages) >= 10
    mathjax = set()
    for page in pages:
        html = page.read_text(encoding="utf-8")
        sources = re.findall(r"<script\b[^>]*\bsrc=\"([^\"]*)\"", html)
        remote = [s for s in sources if re.match(r"(?i)(https?:)?//", s)]
        assert not remote, f"{page.name} loads {remote}"
        assert not re.search(r"(?i)src=\"(https?:)?//", html), f"{page.name} fetches a remote file"
        assert all((out / s.split("?")[0]).is_file() for s in sources), page.name
        mathjax |= {s for s in sources if "mathjax" in s.lower()}
    assert mathjax, "no page loads MathJax"
    assert 'class="math' in (out / "examples.html").read_text(encoding="utf-8")


SHELL_FENCE = re.compile(r"^```(?:bash|console|shell)\n(.*?)^```", re.MULTILINE | re.DOTALL)
OUTPUTS = ("--out", "--plot")


def _commands(page: Path) -> list[list[str]]:
    """The ``calculus-ml`` command lines of a page's shell blocks (continuation lines joined,
    comments dropped), as argument lists."""
    found = []
    for block in SHELL_FENCE.findall(page.read_text(encoding="utf-8")):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words[:1] == ["calculus-ml"]:
                found.append(words[1:])
    return found


COMMANDS = [(page, words) for page in PAGES for words in _commands(page)]


def test_the_readme_shows_calculus_ml_commands():
    readme = [words for page, words in COMMANDS if page.name == "README.md"]
    assert len(readme) >= 10 and any("--csv" in words for words in readme)


@pytest.mark.slow
@pytest.mark.parametrize("page, words", COMMANDS,
                         ids=[f"{p.name}:{' '.join(w)[:40]}" for p, w in COMMANDS])
def test_shell_examples_run_from_the_repository_root(page, words, tmp_path):
    """Each ``calculus-ml`` command on the README and the docs pages runs as written from the
    root of a checkout (its data files are found there), exit status 0; only the files it
    writes (``--out``, ``--plot``) go to a temporary folder instead."""
    args = [str(tmp_path / Path(w).name) if k and words[k - 1] in OUTPUTS else w
            for k, w in enumerate(words)]
    run = subprocess.run([sys.executable, "-m", "calculus_ml", *args], cwd=DOCS.parent,
                         capture_output=True, text=True, timeout=600,
                         env={**os.environ, "PYTHONPATH": str(DOCS.parent)})
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip()
    written = [w for k, w in enumerate(words) if k and words[k - 1] in OUTPUTS]
    assert all((tmp_path / Path(w).name).exists() for w in written)
