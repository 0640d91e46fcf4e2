"""Pages of this site generated from the code at build time, so they cannot drift from it.

Directives (each takes no argument):

``cli-reference``
    One section per ``calculus-ml`` subcommand with its ``--help`` text, from
    :func:`calculus_ml.cli.build_parser`.
``rule-table``
    Every rule class of :data:`calculus_ml.steps.rules.RULES`: its id, name and formula (the first
    line of its docstring).
``benchmark-scripts``
    One section per ``benchmarks/bench_*.py``: how to run it and its module docstring (read with
    :mod:`ast`, never imported).
``handout-gallery``
    The handout specs ``derivations/*.toml``, or a note that there are none yet.
``api-modules``
    ``automodule`` for each module of its content (one per line) that exists, so modules still
    being written appear once they land.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import os
import re
import tomllib
from pathlib import Path
from typing import Any
from unittest import mock

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

ROOT = Path(__file__).resolve().parents[2]
"""The repository."""

HELP_COLUMNS = "88"
"""Terminal width used for ``--help`` texts, so the page does not depend on the build machine."""


def _section(document: nodes.document, title: str, *body: nodes.Node) -> nodes.section:
    """A section with an id made from its title, so it appears in the table of contents."""
    section = nodes.section("", nodes.title(title, title), *body)
    section["names"].append(nodes.fully_normalize_name(title))
    document.note_implicit_target(section, section)
    return section


def _literal(text: str, language: str = "text") -> nodes.literal_block:
    return nodes.literal_block(text, text, language=language)


def _paragraph(text: str) -> nodes.paragraph:
    """A paragraph of plain text in which ````literal```` spans become code."""
    parts = re.split(r"``(.+?)``", text)
    return nodes.paragraph(
        "", "", *(nodes.literal(p, p) if k % 2 else nodes.Text(p) for k, p in enumerate(parts) if p)
    )


class CliReference(SphinxDirective):
    """The ``--help`` of ``calculus-ml`` and of each subcommand."""

    def run(self) -> list[nodes.Node]:
        from calculus_ml.cli import build_parser

        parser = build_parser()
        self.env.note_dependency(ROOT / "calculus_ml" / "cli" / "parser.py")
        with mock.patch.dict(os.environ, {"COLUMNS": HELP_COLUMNS}):
            out: list[nodes.Node] = [_literal(parser.format_help())]
            for action in parser._actions:
                if isinstance(action, argparse._SubParsersAction):
                    for name, sub in action.choices.items():
                        help_text = _literal(sub.format_help())
                        out.append(_section(self.state.document, f"calculus-ml {name}", help_text))
        return out


class RuleTable(SphinxDirective):
    """A table: rule id, name, formula, for every rule class."""

    def run(self) -> list[nodes.Node]:
        from calculus_ml.steps.rules import RULES

        header = ("Rule id", "Name", "Formula (the class docstring)")
        rows = [
            (cls.rule, cls.title, (cls.__doc__ or "").strip().splitlines()[0]) for cls in RULES
        ]
        table = nodes.table(classes=["rule-table"])
        group = nodes.tgroup(cols=3)
        table += group
        group += [nodes.colspec(colwidth=w) for w in (15, 20, 65)]

        def row(cells, literal_columns=()):
            entries = []
            for k, text in enumerate(cells):
                inline = nodes.literal(text, text) if k in literal_columns else nodes.Text(text)
                entries.append(nodes.entry("", nodes.paragraph("", "", inline)))
            return nodes.row("", *entries)

        group += nodes.thead("", row(header))
        group += nodes.tbody("", *(row(r, literal_columns=(0, 2)) for r in rows))
        return [table]


class BenchmarkScripts(SphinxDirective):
    """A section per benchmark script: the command and the script's docstring."""

    def run(self) -> list[nodes.Node]:
        scripts = sorted((ROOT / "benchmarks").glob("bench_*.py"))
        if not scripts:
            return [_paragraph("There are no benchmark scripts yet.")]
        out = []
        for script in scripts:
            self.env.note_dependency(script)
            doc = ast.get_docstring(ast.parse(script.read_text(encoding="utf-8"))) or ""
            command = f"python benchmarks/{script.name}"
            body = [_literal(command, "bash")]
            body += [_paragraph(" ".join(p.split())) for p in doc.split("\n\n") if p.strip()]
            out.append(_section(self.state.document, script.name, *body))
        return out


class HandoutGallery(SphinxDirective):
    """The handout specs in ``derivations/``, with their titles when they have one."""

    def run(self) -> list[nodes.Node]:
        specs = sorted((ROOT / "derivations").glob("*.toml"))
        if not specs:
            return [_paragraph("No handout specs yet: derivations/ has no .toml files.")]
        items = nodes.bullet_list()
        for spec in specs:
            self.env.note_dependency(spec)
            with spec.open("rb") as f:
                data = tomllib.load(f)
            title = data.get("title") or data.get("handout", {}).get("title")
            text = nodes.paragraph("", "", nodes.literal(spec.name, f"derivations/{spec.name}"))
            if isinstance(title, str):
                text += nodes.Text(f" — {title}")
            items += nodes.list_item("", text)
        return [items]


class ApiModules(SphinxDirective):
    """``automodule`` (with members) for each listed module that exists."""

    has_content = True

    def run(self) -> list[nodes.Node]:
        lines = StringList()
        for name in (line.strip() for line in self.content if line.strip()):
            if importlib.util.find_spec(name) is None:
                continue
            for line in (f".. automodule:: {name}", "   :members:", ""):
                lines.append(line, "<api-modules>")
        container = nodes.container()
        nested_parse_with_titles(self.state, lines, container)
        return container.children


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("cli-reference", CliReference)
    app.add_directive("rule-table", RuleTable)
    app.add_directive("benchmark-scripts", BenchmarkScripts)
    app.add_directive("handout-gallery", HandoutGallery)
    app.add_directive("api-modules", ApiModules)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
