"""Time to derive and render the examples a learner meets first, and ``import calculus_ml``.

Run: ``python benchmarks/bench_derive.py``. Every row is measured in this one run; the ratio column
compares calculus_ml (derivation with every step verified, plus text rendering) with a bare
``sympy.diff`` of the same expression. Goals: each derivation under 50 ms, import under 0.5 s.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

import sympy

import calculus_ml as cm

EXAMPLES = [
    ("4x + 15", "4*x + 15", ["x"], {}),
    ("3x^2 - 11", "3*x^2 - 11", ["x"], {}),
    ("4x^3 - x^2 + 3x", "4*x^3 - x^2 + 3*x", ["x"], {}),
    ("(0.5x + 3)^2", "(0.5*x + 3)^2", ["x"], {}),
    ("(3x^2 + 10x)^3", "(3*x^2 + 10*x)^3", ["x"], {}),
    ("4x^2 y + 3x + y", "4*x^2*y + 3*x + y", ["x", "y"], {}),
    ("MSE of y = m x + b", "(y - (m*x + b))^2", ["m", "b"], {"data": ["x", "y"]}),
    (
        "logistic log-loss",
        "-y*log(sigmoid(w*x + b)) - (1 - y)*log(1 - sigmoid(w*x + b))",
        ["w", "b"],
        {"data": ["x", "y"]},
    ),
]


def median_seconds(func, repeat: int = 15) -> float:
    """Median wall time of ``func()`` over ``repeat`` runs, after one warm-up."""
    func()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def import_seconds(statement: str, repeat: int = 7) -> float:
    """Median time of ``statement`` in a fresh interpreter, less the interpreter's start-up."""

    def run(code: str) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        return time.perf_counter() - start

    base = statistics.median(run("pass") for _ in range(repeat))
    return statistics.median(run(statement) for _ in range(repeat)) - base


def main() -> None:
    print(f"{'example':24} {'derive+render':>14} {'sympy.diff':>11} {'ratio':>7}  goal < 50 ms")
    for label, text, wrt, options in EXAMPLES:
        expression = cm.derive(text, wrt, **options).expression

        def ours():
            cm.derive(text, wrt, **options).to_text()

        def oracle():
            for var in wrt:
                sympy.diff(expression, sympy.Symbol(var, real=True))

        t_ours, t_diff = median_seconds(ours), median_seconds(oracle)
        status = "ok" if t_ours < 0.05 else "SLOW"
        print(
            f"{label:24} {t_ours * 1e3:11.1f} ms {t_diff * 1e3:8.2f} ms "
            f"{t_ours / t_diff:6.0f}x  {status}"
        )
    t_import = import_seconds("import calculus_ml")
    t_first = import_seconds("import calculus_ml; calculus_ml.derive")
    t_sympy = import_seconds("import sympy")
    print(f"\n{'import calculus_ml':40} {t_import * 1e3:7.1f} ms  goal < 500 ms")
    print(f"{'import calculus_ml + first use (loads sympy)':40} {t_first * 1e3:7.1f} ms")
    print(f"{'import sympy (baseline)':40} {t_sympy * 1e3:7.1f} ms  ratio {t_first / t_sympy:.2f}x")


if __name__ == "__main__":
    main()
