"""Shared oracle for the step tests: every node of a step tree is held to ``sympy.diff``.

The numeric check here is independent of :mod:`calculus_ml.steps.verify`: it differentiates the
step's expression with ``sympy.diff`` itself, writes sums over data out with SymPy's own
``Sum.doit`` (for a different number of points than the verifier uses), and evaluates both sides
with NumPy at random points, counting only points where both sides and every part of the
step's expression are real and finite (so poles and complex branches are not sampled; kinks are
missed with probability one).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import sympy

from calculus_ml.functions import to_elementary
from calculus_ml.steps.rules import Step
from calculus_ml.steps.verify import check_step

_ALL_SLOW = re.compile(r"^pytestmark = pytest\.mark\.slow\b", re.MULTILINE)


def pytest_ignore_collect(collection_path: Path, config) -> bool | None:
    """Under ``-m "not slow"``, a module whose tests are all slow is not even imported (Dask,
    distributed and Sphinx take seconds to import)."""
    if config.getoption("markexpr", "") != "not slow" or collection_path.suffix != ".py":
        return None
    if not collection_path.name.startswith("test_"):
        return None
    return bool(_ALL_SLOW.search(collection_path.read_text(encoding="utf-8"))) or None


N_DATA = 4
"""Number of data points a sum is written out for in these checks."""
N_SAMPLES = 48
"""Random points tried per step."""

_RNG = np.random.default_rng(2024)
_STEP = sympy.Function("step")  # Heaviside, which SymPy's code printers spell badly
_NUMPY = [
    {
        "step": lambda t: np.where(np.isnan(t), np.nan, np.heaviside(t, 0.5)),
        "DiracDelta": lambda t: np.where(t == 0, np.inf, 0.0),
    },
    "numpy",
]
_MPMATH = [{"step": lambda t: (t > 0) + (t == 0) / 2}, "mpmath"]


def distinct_steps(root: Step) -> Iterator[Step]:
    """Every node of a tree once (a shared sub-derivation is one node)."""
    seen: set[int] = set()
    for step in root.walk():
        if id(step) not in seen:
            seen.add(id(step))
            yield step


def written_out(expr: sympy.Expr, n: int = N_DATA) -> sympy.Expr:
    """``expr`` with every sum over data written out for ``n`` points by ``Sum.doit``."""
    if not expr.has(sympy.Sum):
        return expr
    tops = {top for total in expr.atoms(sympy.Sum) for *_, top in total.limits}
    sizes = {s: n for top in tops for s in top.free_symbols}
    return expr.xreplace(sizes).doit()


def sample(exprs: list[sympy.Expr], size: int = N_SAMPLES) -> list[np.ndarray]:
    """Each expression's complex values at the same random real points (NaN where undefined)."""
    labels = {ix.base.label for e in exprs for ix in e.atoms(sympy.Indexed)}
    atoms = set().union(*(e.free_symbols | e.atoms(sympy.Indexed) for e in exprs)) - labels
    atoms = sorted(atoms, key=sympy.default_sort_key)
    dummies = [sympy.Dummy() for _ in atoms]
    values = [_RNG.choice([-1.0, 1.0], size) * _RNG.uniform(0.05, 4.0, size) for _ in atoms]
    exprs = [
        e.xreplace(dict(zip(atoms, dummies))).replace(sympy.Heaviside, lambda t, *_: _STEP(t))
        for e in exprs
    ]
    try:
        with np.errstate(all="ignore"):
            out = sympy.lambdify(dummies, exprs, modules=_NUMPY)(*values)
    except TypeError:  # a function NumPy lacks (gamma, ...): mpmath, one point at a time
        f = sympy.lambdify(dummies, exprs, modules=_MPMATH)
        out = list(zip(*(_complex(f, point, len(exprs)) for point in zip(*values))))
    return [np.broadcast_to(np.asarray(v, dtype=complex), (size,)) for v in out]


def _complex(f, point, count: int) -> list[complex]:
    try:
        return [complex(v) for v in f(*point)]
    except (ValueError, ZeroDivisionError, TypeError):
        return [complex("nan")] * count


def parts(expr: sympy.Expr) -> list[sympy.Expr]:
    """The compound subexpressions of ``expr``: a point is in its real domain when all are real."""
    data = (sympy.Indexed, sympy.IndexedBase)
    return [
        e for e in sympy.preorder_traversal(expr)
        if isinstance(e, sympy.Expr) and e.args and not isinstance(e, data)
    ]  # fmt: skip


def numeric_agreement(*steps: Step) -> list[int]:
    """For each step, how many random real points show ``result == sympy.diff(expr, var)``.

    Only points where every part of the step's expression, and both sides, are real and finite
    count (NumPy's ``select`` would otherwise read a NaN condition as false). Raises
    AssertionError at a point where both sides are defined but differ. The steps are evaluated
    together, at the same points, in one compiled function.
    """
    index: dict[sympy.Expr, int] = {}
    plan = []
    for step in steps:
        function = written_out(to_elementary(step.expr))
        expected = written_out(sympy.diff(to_elementary(step.expr), step.var))
        assert not expected.has(sympy.Derivative), f"sympy.diff left {expected} unevaluated"
        got = written_out(to_elementary(step.result))
        slots = [index.setdefault(e, len(index)) for e in (got, expected, *parts(function))]
        plan.append((step, expected, slots))
    values = sample(list(index))
    counts = []
    for step, expected, (a, b, *domain) in plan:
        ok = np.ones(N_SAMPLES, dtype=bool)
        for k in (a, b, *domain):
            ok &= np.isfinite(values[k]) & (values[k].imag == 0) & (abs(values[k]) < 1e8)
        got, want = values[a][ok].real, values[b][ok].real
        bad = abs(got - want) > 1e-7 * np.maximum(1.0, np.maximum(abs(got), abs(want)))
        assert not bad.any(), (
            f"{step.rule} step d/d{step.var}[{step.expr}]: rule gives {step.result}, "
            f"sympy.diff gives {expected}; they differ at {int(bad.sum())} of {len(got)} points"
        )
        counts.append(len(got))
    return counts


def assert_every_step_true(root: Step, *, symbolic: bool = True, min_points: int = 3) -> int:
    """Check every node symbolically (``check_step``) and numerically; return the node count."""
    steps = list(distinct_steps(root))
    for step in steps:
        check_step(step, symbolic=symbolic)
    for step, count in zip(steps, numeric_agreement(*steps)):
        assert count >= min_points, f"too few real points for {step.expr}"
    return len(steps)
