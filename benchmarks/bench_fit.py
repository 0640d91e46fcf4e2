"""Time to a fitted model: calculus_ml's estimator beside scikit-learn and NumPy, in one run.

Run: ``python benchmarks/bench_fit.py`` (``--quick`` for n = 100,000 only). Each row fits the same
data; the rows of one case take turns (:func:`timing.interleaved_times`), and the table
shows the median and range over the repeats, the ratio of the medians to scikit-learn's
``LogisticRegression(C=inf, tol=1e-8)`` (no penalty; ``penalty=None`` is deprecated) and the
largest distance of the fitted coefficients from the optimum ``coef*`` (IRLS run to the last
digit). Compiling the loss (once per process) is timed apart.

Goals
-----
* logistic, d = 10, n = 100,000 and 1,000,000, independent and correlated features: the default
  ``GradientDescent(loss).fit`` reaches ``max |coef − coef*| ≤ 1e-6`` in at most 0.7× the time of
  scikit-learn; the ill-conditioned (correlated) case converges by default.
* linear regression, n = 1,000,000, d = 10: ``Loss.solve`` at most 0.3× ``numpy.linalg.lstsq``.
* per-iteration overhead (linear regression, d = 10): 1,000 gradient-descent iterations on the
  sufficient statistics (n = 1,000,000) under 1.5× one naive NumPy gradient; one mini-batch epoch
  (batch 32) at most 1.1× a hand-written NumPy loop; ``sgd`` per sample (NumPy backend, and
  ``backend="numba"``: one compiled loop per epoch) beside scikit-learn's ``SGDRegressor``
  (``--only sgd`` runs that table alone, ``--only overhead`` the three of them).
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import warnings

import numpy as np

from bench_gradient import bench_compile_times
from calculus_ml import ConvergenceWarning, GradientDescent, losses
from calculus_ml.errors import DivergenceError
from timing import interleaved_times


def irls(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Newton's method for the unpenalised logistic loss, hand-written: ``[w, b]``."""
    A = np.column_stack([X, np.ones(len(y))])
    beta = np.zeros(A.shape[1])
    for _ in range(100):
        p = 1 / (1 + np.exp(-(A @ beta)))
        step = np.linalg.solve(A.T @ (A * (p * (1 - p))[:, None]), A.T @ (p - y))
        beta -= step
        if np.max(np.abs(step)) < 1e-13:
            break
    return beta


def logistic_data(n: int, d: int, correlated: bool, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    if correlated:  # every feature mostly one common factor: condition number ~ 10³
        X = 0.95 * rng.normal(size=(n, 1)) + 0.3 * X
    y = (rng.random(n) < 1 / (1 + np.exp(-(X @ rng.normal(size=d) * 0.5 + 0.3)))).astype(float)
    return X, y


def table(title: str, times: dict[str, list[float]], base: str, errors: dict[str, float],
          goals: dict[str, str]) -> None:
    print(f"\n{title}")
    print(f"  {'':44}{'median':>10}{'range':>20}{'ratio':>7}{'max|Δcoef|':>12}  goal")
    base_median = statistics.median(times[base])
    for name, ts in times.items():
        median = statistics.median(ts)
        spread = f"{min(ts) * 1e3:.0f}–{max(ts) * 1e3:.0f} ms"
        error = f"{errors[name]:.1e}" if name in errors else ""
        error = "diverged" if error == "inf" else error
        print(f"  {name:44}{median * 1e3:>7.0f} ms{spread:>20}{median / base_median:>7.2f}"
              f"{error:>12}  {goals.get(name, '')}")


def bench_logistic(n: int, correlated: bool, repeat: int, first_order: bool) -> None:
    from sklearn.linear_model import LogisticRegression

    X, y = logistic_data(n, 10, correlated)
    loss = losses.get("logistic", vector=True)
    optimum = irls(X, y)
    results: dict[str, np.ndarray] = {}

    def ours(name, **options):
        def run():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                try:
                    fit = GradientDescent(loss, progress=False, **options).fit(x=X, y=y)
                except DivergenceError:  # detected, and timed until it was
                    results[name] = np.full(X.shape[1] + 1, np.inf)
                    return
            results[name] = np.r_[fit.params_["w"], fit.params_["b"]]
        return run

    def sklearn():
        model = LogisticRegression(C=np.inf, tol=1e-8, max_iter=10_000).fit(X, y)
        results["scikit-learn LogisticRegression (lbfgs)"] = np.r_[model.coef_[0],
                                                                   model.intercept_]

    def numpy_irls():
        results["NumPy Newton/IRLS (hand-written)"] = irls(X, y)

    rows = {"scikit-learn LogisticRegression (lbfgs)": sklearn,
            "NumPy Newton/IRLS (hand-written)": numpy_irls,
            "GradientDescent(loss) defaults (newton)": ours(
                "GradientDescent(loss) defaults (newton)"),
            "method='lbfgs', tol=1e-8": ours("method='lbfgs', tol=1e-8", method="lbfgs",
                                             tol=1e-8)}
    if first_order:
        rows["method='gd', learning_rate='auto', tol=1e-8"] = ours(
            "method='gd', learning_rate='auto', tol=1e-8", method="gd", tol=1e-8,
            max_iter=20_000)
        rows["method='gd', standardize, lr 1, tol=1e-8"] = ours(
            "method='gd', standardize, lr 1, tol=1e-8", method="gd", standardize=True,
            learning_rate=1.0, tol=1e-8, max_iter=20_000)
    times = interleaved_times(rows, repeat, warm=n <= 100_000)
    errors = {name: float(np.max(np.abs(coef - optimum))) for name, coef in results.items()}
    kind = "correlated" if correlated else "independent"
    table(f"logistic fit to the optimum, n = {n:,}, d = 10, {kind} features", times,
          "scikit-learn LogisticRegression (lbfgs)", errors,
          {"GradientDescent(loss) defaults (newton)": "<= 0.70, Δ <= 1e-6"})


def bench_regression(n: int, repeat: int) -> None:
    rng = np.random.default_rng(2)
    X = rng.normal(size=(n, 10))
    y = X @ rng.normal(size=10) + 1.5 + rng.normal(0, 0.3, n)
    loss = losses.get("multiple-regression")
    A = np.column_stack([X, np.ones(n)])
    optimum = np.linalg.lstsq(A, y, rcond=None)[0]
    results: dict[str, np.ndarray] = {}

    def lstsq():
        results["numpy.linalg.lstsq"] = np.linalg.lstsq(np.column_stack([X, np.ones(n)]), y,
                                                        rcond=None)[0]

    def solve():
        params = loss.solve(x=X, y=y)
        results["Loss.solve (normal equations)"] = np.r_[params["w"], params["b"]]

    def default_fit():
        fit = GradientDescent(loss, progress=False).fit(x=X, y=y)
        results["GradientDescent(loss) defaults (newton)"] = np.r_[fit.params_["w"],
                                                                   fit.params_["b"]]

    rows = {"numpy.linalg.lstsq": lstsq, "Loss.solve (normal equations)": solve,
            "GradientDescent(loss) defaults (newton)": default_fit}
    times = interleaved_times(rows, repeat)
    errors = {name: float(np.max(np.abs(coef - optimum))) for name, coef in results.items()}
    table(f"linear regression, n = {n:,}, d = 10", times, "numpy.linalg.lstsq", errors,
          {"Loss.solve (normal equations)": "<= 0.30"})


def quiet_fit(loss, **options):
    """A callable fitting ``loss`` with ``options`` (no progress bar, no ConvergenceWarning)."""
    def fit(**data):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return GradientDescent(loss, progress=False, **options).fit(**data)
    return fit


def hand_minibatch_epoch(X: np.ndarray, y: np.ndarray, batch: int, rate: float) -> np.ndarray:
    """One shuffled epoch of mini-batch gradient descent on the mean squared error, hand-written."""
    order = np.random.default_rng(0).permutation(len(y))
    Xs, ys = X[order], y[order]
    w, b = np.zeros(X.shape[1]), 0.0
    for lo in range(0, len(y), batch):
        r = Xs[lo:lo + batch] @ w + b - ys[lo:lo + batch]
        w = w - rate * (2 / len(r)) * (r @ Xs[lo:lo + batch])
        b = b - rate * 2 * r.mean()
    return np.r_[w, b]


def bench_overhead(repeat: int) -> None:
    """What an iteration costs beyond the arithmetic: the three ratios of issue 14, item 6."""
    loss = losses.get("multiple-regression")
    n = 1_000_000
    X, y = regression_data(n)
    gd = quiet_fit(loss, method="gd", learning_rate=0.01, max_iter=1000, tol=0)

    def naive_gradient():
        r = X @ np.zeros(10) + 0.0 - y
        return 2 * (r @ X) / n, 2 * r.mean()

    times = interleaved_times({"one naive NumPy gradient (X @ w, rᵀX)": naive_gradient,
                               "gd, 1,000 iterations on sufficient statistics":
                               lambda: gd(x=X, y=y)}, repeat)
    table(f"per-iteration overhead, linear regression, n = {n:,}, d = 10", times,
          "one naive NumPy gradient (X @ w, rᵀX)", {},
          {"gd, 1,000 iterations on sufficient statistics": "< 1.50"})

    m = 100_000
    Xm, ym = X[:m], y[:m]
    epoch = quiet_fit(loss, method="minibatch", batch_size=32, learning_rate=0.01, max_iter=1,
                      random_state=0)
    rows = {"hand NumPy mini-batch loop": lambda: hand_minibatch_epoch(Xm, ym, 32, 0.01),
            "minibatch, one epoch": lambda: epoch(x=Xm, y=ym)}
    if importlib.util.find_spec("numba") is not None:  # compiled once, by the warm-up call
        fused = quiet_fit(loss, method="minibatch", batch_size=32, learning_rate=0.01,
                          max_iter=1, random_state=0, backend="numba")
        rows["minibatch, one epoch, backend='numba'"] = lambda: fused(x=Xm, y=ym)
    times = interleaved_times(rows, repeat)
    table(f"mini-batch epoch (batch 32), n = {m:,}, d = 10", times, "hand NumPy mini-batch loop",
          {}, {"minibatch, one epoch": "<= 1.10"})

    bench_sgd(X[:20_000], y[:20_000], repeat)


def regression_data(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The overhead cases' linear regression: ``n`` rows, d = 10, noise 0.3."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(n, 10))
    return X, X @ rng.normal(size=10) + 1.5 + rng.normal(0, 0.3, n)


def bench_sgd(X: np.ndarray, y: np.ndarray, repeat: int) -> None:
    """One epoch of per-sample SGD: NumPy and Numba backends beside ``SGDRegressor``, per sample
    (compiling excluded: each row's timed call follows an untimed one)."""
    from sklearn.linear_model import SGDRegressor

    loss, k = losses.get("multiple-regression"), len(y)
    options = {"method": "sgd", "learning_rate": 0.001, "max_iter": 1, "random_state": 0}
    sgd, fused = quiet_fit(loss, **options), quiet_fit(loss, **options, backend="numba")
    times = interleaved_times({
        "scikit-learn SGDRegressor, one epoch": lambda: SGDRegressor(
            penalty=None, learning_rate="constant", eta0=0.001, max_iter=1, tol=None,
            shuffle=True, random_state=0).fit(X, y),
        "sgd, one epoch": lambda: sgd(x=X, y=y),
        "sgd, one epoch, backend='numba'": lambda: fused(x=X, y=y)}, repeat)
    print(f"\nsgd per sample, n = {k:,}, d = 10 (one epoch)")
    for name, ts in times.items():
        per = [t / k * 1e6 for t in ts]
        print(f"  {name:44}{statistics.median(per):>7.2f} µs/sample"
              f"{f'{min(per):.2f}–{max(per):.2f}':>16}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="n = 100,000 only")
    parser.add_argument("--repeat", type=int, default=5, help="repeats at n = 100,000")
    parser.add_argument("--only", choices=["sgd", "overhead"],
                        help="only the per-sample sgd table, or only the per-iteration overhead")
    args = parser.parse_args()
    if args.only == "sgd":
        bench_sgd(*regression_data(20_000), max(7, args.repeat))
        return
    if args.only == "overhead":
        bench_overhead(max(7, args.repeat))
        return
    bench_compile_times([("logistic, vector", losses.get("logistic", vector=True))])
    for correlated in (False, True):
        bench_logistic(100_000, correlated, args.repeat, first_order=True)
    if not args.quick:
        for correlated in (False, True):
            bench_logistic(1_000_000, correlated, 3, first_order=False)
    bench_regression(100_000 if args.quick else 1_000_000, args.repeat)
    bench_overhead(max(7, args.repeat))


if __name__ == "__main__":
    main()
