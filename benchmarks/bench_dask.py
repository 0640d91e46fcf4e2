"""A logistic model on Dask data generated chunk by chunk, beside dask-glm, in one run.

Run: ``python benchmarks/bench_dask.py --n 10000000`` (the default; ``--n 100000000`` for 1e8 rows
where the machine allows, ``--fits newton`` to leave out the two L-BFGS fits; ``--scheduler tcp://host:8786`` for a running cluster, else a
``LocalCluster`` of ``--workers`` processes with one thread each). The data are never in memory
as a whole: each pass regenerates its blocks on the workers (a seeded generator per block), so
every pass costs the same and the client holds only O(d²) numbers; its peak RSS is reported.

Tables
------
* **Gradient pass** — one ``grad`` of the compiled loss over the blocks, beside the bandwidth
  floor: generating the blocks and reading them once (``X.sum() + y.sum()``); ratio to the floor.
* **Mini-batch epoch** (``--fits newton,minibatch``) — one epoch of ``method="minibatch"``, each
  block brought to the client in turn, beside the floor; the epoch also makes the fit's two full
  passes (its loss before and after) and its validating pass.
* **Fit to the optimum** — ``GradientDescent(method="newton")`` and SciPy's L-BFGS-B on the Dask
  ``value_and_grad``, beside ``dask_glm.algorithms.newton`` and ``lbfgs`` (on ``[X, 1]``, the
  intercept as a column) on the same arrays; ratios to dask-glm's Newton. Goal: ≤ 1.0×.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
import warnings

import numpy as np

from calculus_ml import ConvergenceWarning, GradientDescent, compile_gradient, losses
from timing import interleaved_times


def _block(block_id, rows: int, d: int, seed: int):
    """Rows ``rows`` of block ``block_id``: features and 0/1 labels, from a seed of their own."""
    rng = np.random.default_rng([seed, block_id[0]])
    X = rng.normal(size=(rows, d))
    beta = np.linspace(-1, 1, d)
    y = (rng.random(rows) < 1 / (1 + np.exp(-(X @ beta + 0.3)))).astype(np.float64)
    return np.column_stack([X, y])


def generated(n: int, d: int, chunk: int, seed: int = 0):
    """``(X, y)``: Dask arrays of ``n`` rows whose blocks are generated when a pass reads them."""
    import dask.array as da

    rows = tuple(min(chunk, n - start) for start in range(0, n, chunk))
    table = da.map_blocks(lambda block_id=None, block_info=None: _block(
        block_id, block_info[None]["chunk-shape"][0], d, seed),
        chunks=(rows, (d + 1,)), dtype=np.float64, meta=np.empty((0, 0)))
    return table[:, :d], table[:, d]


def table(title: str, times: dict[str, list[float]], base: str) -> None:
    """Median, range and ratio to ``base``'s median of each row's seconds."""
    print(f"\n{title}")
    print(f"  {'':52}{'median':>10}{'range':>20}{'ratio':>8}")
    base_median = statistics.median(times[base])
    for name, ts in times.items():
        med, lo, hi = statistics.median(ts), min(ts), max(ts)
        print(f"  {name:52}{med:>9.2f}s{f'{lo:.2f}–{hi:.2f} s':>20}{med / base_median:>8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=float, default=1e7, help="rows (default 1e7)")
    parser.add_argument("--d", type=int, default=10, help="features (default 10)")
    parser.add_argument("--chunk", type=int, default=500_000, help="rows per block")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--scheduler", help="address of a running Dask scheduler")
    parser.add_argument("--repeat", type=int, default=3, help="gradient passes timed")
    parser.add_argument("--fits", default="newton,lbfgs",
                        help="which fits to time: newton, lbfgs or both (default); add "
                        "minibatch for one mini-batch epoch block by block")
    args = parser.parse_args()
    import dask.array as da
    import scipy.optimize
    from dask_glm import algorithms
    from distributed import Client, LocalCluster

    n, d = int(args.n), args.d
    cluster = None if args.scheduler else LocalCluster(
        n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=":0")
    client = Client(args.scheduler or cluster)
    X, y = generated(n, d, args.chunk)
    print(f"n = {n:,} rows, d = {d}, {X.numblocks[0]} blocks of {args.chunk:,} rows "
          f"({n * (d + 1) * 8 / 2**30:.1f} GiB generated per pass); {len(client.nthreads())} "
          f"workers")
    loss = losses.get("logistic", vector=True)
    compiled = compile_gradient(loss)
    start = time.perf_counter()
    prepared = compiled.prepare(x=X, y=y)
    print(f"prepare (one validating pass): {time.perf_counter() - start:.2f} s")
    theta = np.r_[np.full(d, 0.1), 0.2]
    floor = "floor: generate + read the blocks (X.sum() + y.sum())"
    rows = {floor: lambda: da.compute(X.sum(), y.sum()),
            "compiled gradient, one pass": lambda: prepared.grad(theta),
            "compiled value_and_grad, one pass": lambda: prepared.value_and_grad(theta),
            "Hessian pass (Newton)": lambda: prepared.value_grad_hess(theta)}
    table("gradient pass vs the bandwidth floor",
          interleaved_times(rows, args.repeat, warm=False), floor)

    if "minibatch" in args.fits:
        epoch = GradientDescent(loss, method="minibatch", batch_size=1024, learning_rate=0.1,
                                max_iter=1, tol=0, random_state=0, progress=False)

        def one_epoch():
            with warnings.catch_warnings():  # one epoch does not converge, and need not
                warnings.simplefilter("ignore", ConvergenceWarning)
                epoch.fit(x=X, y=y)

        table("one mini-batch epoch (batch 1,024), block by block on the client",
              interleaved_times({floor: rows[floor], "minibatch epoch": one_epoch}, 1,
                                warm=False), floor)

    X1 = da.concatenate([X, da.ones((n, 1), chunks=(X.chunks[0], (1,)))], axis=1)

    def ours_newton():
        fit = GradientDescent(loss, method="newton", tol=1e-8, max_iter=50, progress=False)
        fit.fit(x=X, y=y)
        return np.r_[fit.params_["w"], fit.params_["b"]], fit.n_iter_

    def ours_lbfgs():
        result = scipy.optimize.minimize(prepared.value_and_grad, np.zeros(d + 1), jac=True,
                                         method="L-BFGS-B", options={"gtol": 1e-8, "ftol": 0})
        return result.x, result.nit

    results = {}

    def kept(name, func):  # the fit's result, for the distances below
        return lambda: results.__setitem__(name, func())

    reference = "dask_glm.algorithms.newton (tol 1e-8)"
    fits = {reference: lambda: (algorithms.newton(X1, y, tol=1e-8), None),
            "calculus_ml newton (tol 1e-8 on ‖∇J‖)": ours_newton}
    if "lbfgs" in args.fits:  # ~40 passes each: at 1e8 rows, most of the run
        fits.update({"dask_glm.algorithms.lbfgs (tol 1e-8)":
                     lambda: (algorithms.lbfgs(X1, y, tol=1e-8, max_iter=200), None),
                     "calculus_ml gradient + scipy L-BFGS-B": ours_lbfgs})
    table("logistic fit to the optimum", interleaved_times(
        {name: kept(name, func) for name, func in fits.items()}, 1, warm=False), reference)
    optimum = np.asarray(results[reference][0])
    for name, (coef, iterations) in results.items():
        print(f"  {name:52} max |coef − dask_glm newton| = "
              f"{np.abs(np.asarray(coef) - optimum).max():.1e}"
              + (f", {iterations} iterations" if iterations is not None else ""))
    print(f"\nclient peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
          f" (one pass generates {n * (d + 1) * 8 / 2**20:,.0f} MiB on the workers)")
    client.close()
    if cluster is not None:
        cluster.close()


if __name__ == "__main__":
    main()
