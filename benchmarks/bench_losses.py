"""Time to derive and render every loss of the catalogue, beside a bare ``sympy.diff``.

Run: ``python benchmarks/bench_losses.py``. Every row is measured in this one run. For each loss:

* ``derive`` -- :meth:`Loss.derive`: the step trees of ``∂J/∂θ`` for every parameter, tidied, with
  every step checked against ``sympy.diff``;
* ``render`` -- the derivation as text, LaTeX, Markdown and JSON;
* ``sympy.diff`` -- a bare ``sympy.diff`` of the same ``J`` by each parameter (for a vector ``w``,
  of ``J`` with ``w·x`` written out for 3 components, by ``w₂``), no steps, no checks;
* ``ratio`` -- (derive + render) / sympy.diff.

The goal's figure is the *cold* one: the whole catalogue derived and rendered once in a fresh
interpreter (SymPy imported, nothing derived or printed yet, every cache empty), the wait of a
learner who runs it first. It is measured in ``COLD_RUNS`` fresh interpreters, one after another;
the goal is met when their median is under 2 s, and the slowest run is shown beside it. The
per-loss columns are medians of repeated runs on fresh Loss objects, after the package's caches
know the expressions.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

import sympy

from calculus_ml import losses
from calculus_ml.functions import dot
from calculus_ml.steps.rules import component
from timing import median_seconds

ONCE_EACH = {"repeat": 5, "warm_up": False}
COLD_RUNS = 7
GOAL_SECONDS = 2.0

VARIANTS = [(name, {}) for name in losses.names()] + [
    ("logistic", {"vector": True}), ("ridge", {"vector": True})]


def label(name: str, options: dict) -> str:
    return name + "".join(f" {k}={v}" for k, v in options.items())


def render(derivation) -> None:
    derivation.to_text(), derivation.to_latex(), derivation.to_markdown(), derivation.to_json()


def bare_diff(loss) -> None:
    """``sympy.diff`` of ``J`` by each parameter, inner products written out for d = 3."""
    def written(a, b):
        return sympy.Add(*(component(a, k) * component(b, k) for k in (1, 2, 3)))

    J = loss.objective.replace(dot, written)
    for var in loss.variables:
        sympy.diff(J, var.base[2] if isinstance(var, sympy.Indexed) else var)


def catalogue_once() -> float:
    """Seconds to derive and render every loss of the catalogue once."""
    start = time.perf_counter()
    for name, options in VARIANTS:
        render(losses.get(name, **options).derive())
    return time.perf_counter() - start


def cold_seconds(runs: int = COLD_RUNS) -> list[float]:
    """:func:`catalogue_once` in each of ``runs`` fresh interpreters."""
    command = [sys.executable, __file__, "--once"]
    return [float(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
            for _ in range(runs)]


def main() -> None:
    cold = cold_seconds()
    print(f"{'loss':24} {'derive':>9} {'render':>9} {'total':>9} {'sympy.diff':>11} {'ratio':>7}")
    totals = [0.0, 0.0, 0.0]
    for name, options in VARIANTS:
        t_derive = median_seconds(lambda: losses.get(name, **options).derive(), **ONCE_EACH)
        derivation = losses.get(name, **options).derive()
        t_render = median_seconds(lambda: render(derivation), **ONCE_EACH)
        t_diff = median_seconds(lambda: bare_diff(losses.get(name, **options)), **ONCE_EACH)
        t = t_derive + t_render
        totals = [totals[0] + t_derive, totals[1] + t_render, totals[2] + t_diff]
        print(f"{label(name, options):24} {t_derive * 1e3:6.0f} ms {t_render * 1e3:6.0f} ms "
              f"{t * 1e3:6.0f} ms {t_diff * 1e3:8.1f} ms {t / t_diff:6.0f}x")
    t_all = totals[0] + totals[1]
    print(f"{'whole catalogue':24} {totals[0] * 1e3:6.0f} ms {totals[1] * 1e3:6.0f} ms "
          f"{t_all * 1e3:6.0f} ms {totals[2] * 1e3:8.1f} ms {t_all / totals[2]:6.0f}x")
    median = statistics.median(cold)
    status = "ok" if median < GOAL_SECONDS else "SLOW"
    print(f"\nwhole catalogue, cold, in {len(cold)} fresh interpreters: median {median:.2f} s "
          f"(min {min(cold):.2f} s, max {max(cold):.2f} s)  goal < {GOAL_SECONDS:g} s  {status}")


if __name__ == "__main__":
    if sys.argv[1:] == ["--once"]:
        print(catalogue_once())
    else:
        main()
