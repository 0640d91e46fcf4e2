"""The package's shape: imports point down the data flow, no cycles, small modules.

The layers, lowest first (see docs/architecture.md): a module may import from its own layer or a
lower one. Imports inside functions that lead *up* a layer are façade methods (``Derivation.to_text``
asks the renderer, ``Loss.hessian`` asks the analysis) and are listed in ``FACADES``; nothing else
may point up. The imports are read from the source with :mod:`ast`, not by importing it.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "calculus_ml"

LAYERS = [
    {"errors", "functions", "caching"},
    {"symbolic", "parsing"},
    {"steps"},
    {"derivation"},
    {"losses", "graph"},
    {"analysis", "render", "numeric", "learning"},
    {"optimize", "datasets"},
    {"plotting"},
    {"handout", "sphinxext", "cli", "__init__", "__main__"},
]

FACADES = {
    ("derivation", "render"),  # Derivation.to_text, to_latex, ... and the Jupyter reprs
    ("derivation", "learning"),  # Derivation.hints
    ("losses", "analysis"),  # Loss.hessian, convexity, closed_form, solve, learning_rate_bound
    ("losses", "numeric"),  # Loss.gradient_function
    ("analysis", "render"),  # ClosedForm.to_text, ... and its reprs
    ("graph", "plotting"),  # Backpropagation.graph, to_dot, to_svg
}
"""(lower, upper) pairs of packages between which a function-level import may point up."""

SIZE_LIMIT = 400


def _top(module: str) -> str:
    """The first component under calculus_ml: ``steps`` for ``calculus_ml.steps.rules``."""
    return module.split(".")[1] if "." in module else "__init__"


def _layer(top: str) -> int:
    return next(k for k, group in enumerate(LAYERS) if top in group)


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _imports(name: str, path: Path) -> list[tuple[str, bool]]:
    """``(imported calculus_ml module, at module level)`` for each import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = []

    def visit(node: ast.AST, top_level: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = top_level and not isinstance(
                child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                continue
            if isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - child.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                if base.startswith("calculus_ml"):
                    for alias in child.names:
                        full = f"{base}.{alias.name}"
                        found.append((full if full in _MODULES else base, top_level))
            elif isinstance(child, ast.Import):
                found.extend((a.name, top_level) for a in child.names
                             if a.name.startswith("calculus_ml"))
            visit(child, inner)

    visit(tree, True)
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return isinstance(test, ast.Name) and test.id == "TYPE_CHECKING"


_MODULES = _modules()
_EDGES = {name: _imports(name, path) for name, path in _MODULES.items()}


def test_every_package_has_a_layer():
    tops = {_top(name) for name in _MODULES if name != "calculus_ml"}
    missing = tops - set().union(*LAYERS)
    assert not missing, f"add {missing} to LAYERS (and to docs/architecture.md)"


def test_imports_point_down_the_layers():
    wrong = []
    for name, edges in _EDGES.items():
        here = _top(name)
        for target, top_level in edges:
            there = _top(target)
            if target == "calculus_ml" or _layer(there) <= _layer(here):
                continue
            if top_level or (here, there) not in FACADES:
                wrong.append(f"{name} imports {target}")
    assert not wrong, "imports that point up a layer:\n" + "\n".join(wrong)


def test_no_import_cycles_at_module_level():
    graph = {name: {t for t, top in edges if top and t in _MODULES and t != name}
             for name, edges in _EDGES.items()}
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(node: str, trail: list[str]) -> bool:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle.extend(trail[trail.index(nxt):] + [node, nxt] if nxt in trail
                             else [node, nxt])
                return True
            if state.get(nxt) is None and visit(nxt, trail + [node]):
                return True
        state[node] = 2
        return False

    for start in sorted(graph):
        if state.get(start) is None and visit(start, []):
            break
    assert not cycle, "import cycle: " + " -> ".join(cycle)


def test_optimize_imports_no_sympy():
    for name, path in _MODULES.items():
        if _top(name) != "optimize":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        names += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        assert not [m for m in names if m.split(".")[0] == "sympy"], name
    probe = ("import sys, calculus_ml.optimize.optimizers; "
             "sys.exit('sympy' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", probe]).returncode == 0, (
        "importing the optimizers loads SymPy")


TEXT_TO_CODE = {"eval", "exec", "sympify", "S", "parse_expr", "parse_latex"}
"""Calls that can turn text into code or an expression: text reaches SymPy only through the
safe parser (:mod:`calculus_ml.parsing`)."""

COMPILES_GENERATED_CODE = {("calculus_ml.numeric.codegen", "exec")}
"""The one place printer output (never user text) is compiled: ``codegen._compile_source``."""


def _text_to_code_calls(source: str) -> list[str]:
    """Calls in ``source`` of a :data:`TEXT_TO_CODE` name, whatever their arguments."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name in TEXT_TO_CODE:
            found.append(name)
    return found


def test_no_text_reaches_eval_or_sympify():
    for name, path in _MODULES.items():
        calls = _text_to_code_calls(path.read_text(encoding="utf-8"))
        assert all((name, call) in COMPILES_GENERATED_CODE for call in calls), (name, calls)
    assert _text_to_code_calls("sympy.S(x)\nsympify(t)\nsympify(v, strict=True)\n") == [
        "S", "sympify", "sympify"]


@pytest.mark.parametrize("name", sorted(_MODULES))
def test_module_size(name):
    path = _MODULES[name]
    relative = path.relative_to(PACKAGE).as_posix()
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= SIZE_LIMIT, f"{relative} has {lines} lines"


def test_the_checks_can_fail(tmp_path):
    """The import reader sees an upward import, a cycle's edge and a function-level import."""
    source = tmp_path / "probe.py"
    source.write_text("from .render import text\n\ndef f():\n    from ..numeric import model\n")
    found = _imports("calculus_ml.losses.probe", source)
    assert ("calculus_ml.losses.render", True) in found
    assert ("calculus_ml.numeric.model", False) in found
