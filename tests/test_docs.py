"""The documentation's Python examples are run, so the outputs the pages show stay true."""

from __future__ import annotations

import doctest
import re
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
