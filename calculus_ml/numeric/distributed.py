"""Data beyond memory: a compiled loss on Dask arrays (``pip install "calculus_ml[dask]"``).

:meth:`CompiledGradient.prepare <calculus_ml.numeric.CompiledGradient.prepare>` hands data that
hold a Dask array (or a Dask DataFrame column) to :func:`prepare_dask`, which returns a
:class:`DaskPreparedGradient`: the same calls as an in-memory
:class:`~calculus_ml.numeric.PreparedGradient`, with every pass over the data a Dask graph:

* **Preparing** is one pass: each block is validated (finite, labels in their domain) on the
  worker that holds it, and, when ℓ is a polynomial in the parameters, its sufficient statistics
  (n, Σx, Xᵀy, XᵀX, ...) are computed there too; one tree reduction brings them to the client.
  After that every evaluation of J and ∇J is O(d²) on the client, with no graph at all.
* **Otherwise** each ``grad``, ``value`` or ``value_and_grad`` is one ``blockwise`` call of the
  generated kernel per block and one tree sum of the (p + 1)-vectors;
  :meth:`~DaskPreparedGradient.value_grad_hess` is one pass of the compiled
  ``_value_grad_hess`` (J, ∇J and ``Xᵀ diag(s) X`` chunk by chunk) for Newton's method. The
  kernels travel as their generated source (a few kB) and each worker compiles a source once
  (:func:`_namespace`).
* ``sgd`` and ``minibatch`` take one block at a time to the client
  (:meth:`~DaskPreparedGradient.batch_epoch`).

What stays on the client: the parameters, the reduced sums and statistics (O(d²) numbers), the
penalty, and the optimizer's iterations. The graphs run on whatever scheduler Dask uses — the
threads of this process by default, or a ``dask.distributed.Client`` (a ``LocalCluster``, or a
cluster of machines by its scheduler address) once one is created.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import numpy as np

from ..caching import BoundedMemo
from ..errors import DataError
from .codegen import _compile_source
from .prepared import _HESSIAN_CHUNK_ROWS, PreparedGradient, _chunks
from .penalty import penalty_hessian, penalty_kernel
from .threads import one_thread
from .validation import _validate, check_labels, is_dask

SPLIT_EVERY = 8
"""Partial sums added per node of the tree reduction."""


def _dask_array():
    try:
        import dask.array
    except ImportError:  # pragma: no cover - only without the extra
        raise DataError('Dask data need Dask: pip install "calculus_ml[dask]"') from None
    return dask.array


_NAMESPACES: BoundedMemo[dict] = BoundedMemo(32)


def _namespace(source: str) -> dict[str, Any]:
    """The functions of generated ``source``, compiled once per process (on each worker)."""
    hit = _NAMESPACES.get(source)
    if hit is None:
        hit = _compile_source(source)
        hit["_on_cores"] = one_thread  # a worker's threads each take a block already
        _NAMESPACES.put(source, hit)
    return hit


def prepare_dask(compiled: Any, data: dict[str, Any]) -> DaskPreparedGradient:
    """``compiled.prepare(**data)`` for data holding Dask collections: one validating pass.

    Raises
    ------
    DataError
        As :meth:`CompiledGradient.prepare`, for missing, unknown, mismatched, empty,
        non-numeric, non-finite or wrongly shaped data or labels outside their domain.
    """
    da = _dask_array()
    model = compiled._model
    hyper_names = set(compiled.hyperparameter_names)
    arrays = {name: _as_array(da, value) for name, value in data.items()
              if name not in hyper_names and (is_dask(value) or np.ndim(value) > 0)}
    head = {name: np.asarray(a[:2]) for name, a in arrays.items()}  # names, dtypes, shapes
    for name, value in data.items():
        head.setdefault(name, value)
    _, hyper, d = _validate(model, head)
    columns = _aligned(da, model, arrays)
    return DaskPreparedGradient(compiled, columns, hyper, d)


def _as_array(da: Any, value: Any) -> Any:
    """A Dask (or NumPy) array of ``value``; a DataFrame or Series becomes one, with its lengths."""
    if is_dask(value) and hasattr(value, "to_dask_array"):
        return value.to_dask_array(lengths=True)
    return value if is_dask(value) else np.asarray(value)


def _aligned(da: Any, model: Any, arrays: dict[str, Any]) -> tuple:
    """The data in ``model.data`` order as Dask arrays sharing one split into row blocks."""
    first = next(a for a in arrays.values() if is_dask(a))
    if any(np.isnan(c) for c in first.chunks[0]):
        first = first.compute_chunk_sizes()
    rows = first.chunks[0]
    out = []
    for sym in model.data:
        name, a = sym.name, arrays[sym.name]
        if a.dtype.kind in "biu":
            a = a.astype(np.float64)
        if sym in model.vector_data and a.ndim == 1:
            a = a.reshape(-1, 1)
        if a.shape[0] != first.shape[0]:
            raise DataError(f"{name} has {a.shape[0]} rows but the data have {first.shape[0]}")
        a = da.from_array(a, chunks=(rows,) + a.shape[1:]) if not is_dask(a) else a.rechunk(
            (rows,) + tuple(-1 for _ in a.shape[1:]))
        out.append(a)
    return tuple(out)


class DaskPreparedGradient(PreparedGradient):
    """A compiled loss bound to Dask data: ``grad``, ``value``, ``value_and_grad``,
    :meth:`hessian`, each a pass over the blocks (or O(d²) on sufficient statistics).

    ``sgd`` and ``minibatch`` run an epoch block by block (:meth:`batch_epoch`); a batch of
    rows drawn anywhere (:meth:`subset`, :meth:`grad_rows`: momentum, Nesterov and Adam with a
    ``batch_size``) is not available.
    """

    def __init__(self, compiled: Any, arrays: tuple, hyper: tuple, d: int | None):
        self._penalty = penalty_kernel(compiled)
        self._source = compiled.source
        _NAMESPACES.put(compiled.source, compiled._ns)  # this process needs no second compile
        model = compiled._model
        check = (types.SimpleNamespace(data=model.data, hyper=model.hyper,
                                       vector_data=model.vector_data),
                 types.SimpleNamespace(labels=getattr(compiled.loss, "labels", None),
                                       name=getattr(compiled.loss, "name", "the loss")))
        stats_chunk = (_chunks(compiled, arrays).get("_stats") if compiled.sufficient_statistics
                       else None)
        shapes = [()] if stats_chunk is None else [np.shape(s) for s in compiled._ns["_stats"](
            tuple(np.zeros((1,) + a.shape[1:], a.dtype) for a in arrays), d or 0, 64)]
        bounds = np.cumsum([0] + [int(np.prod(s)) for s in shapes])
        sums = self._reduce("check", (check, hyper, stats_chunk), int(bounds[-1]), arrays)
        statistics = None
        if stats_chunk is not None:
            statistics = tuple(sums[a:b].reshape(s) if s else float(sums[a])
                               for a, b, s in zip(bounds, bounds[1:], shapes))
        super().__init__(compiled, arrays, hyper, d, use_statistics=stats_chunk is not None,
                         statistics=statistics)

    def _reduce(self, task: str, args: tuple, width: int, arrays: tuple | None = None
                ) -> np.ndarray:
        """Run ``task`` on every row block and add its ``width`` numbers on a tree."""
        da = _dask_array()
        pairs = []
        for a in self.arrays if arrays is None else arrays:
            pairs += [a, "ij"[:a.ndim]]
        blocks = da.blockwise(_on_block, "ik", *pairs, new_axes={"k": width},
                              adjust_chunks={"i": 1}, concatenate=True, dtype=np.float64,
                              meta=np.empty((0, 0)), task=task, source=self._source, args=args)
        return np.asarray(blocks.sum(axis=0, split_every=SPLIT_EVERY).compute())

    def _run(self, kernel: str, theta: np.ndarray):
        penalty = self._penalty(theta, self.hyper, self._dd)
        mean = self.compiled.loss.reduce == "mean"
        width = {"_value": 1, "_grad": theta.size, "_value_and_grad": 1 + theta.size}[kernel]
        sums = self._reduce(kernel, (theta, self.hyper, self._dd, self._chunk[kernel], penalty,
                                     mean), width)
        scale = 1.0 / self.n if mean else 1.0
        J = scale * sums[0] + penalty[0]
        g = scale * sums[-theta.size:] + penalty[1]
        return {"_value": J, "_grad": g, "_value_and_grad": (J, g)}[kernel]

    def value_grad_hess(self, theta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """``(J, ∇J, ∇²J)``: one pass of the compiled ``_value_grad_hess`` over the blocks (on
        the sufficient-statistics path, from the statistics on the client).

        Raises
        ------
        CompileError
            For a loss whose gradient has no second derivative to compile (a kink).
        """
        if self.statistics is not None:
            return super().value_grad_hess(theta)
        _, source = self.compiled._second_order()
        size = theta.size
        mean = self.compiled.loss.reduce == "mean"
        sums = self._reduce("_value_grad_hess", (theta, self.hyper, self._dd, source, mean),
                            1 + size + size * size)
        if mean:  # each block's mean (its penalty included) weighted by its rows
            sums = sums / self.n
        else:  # each block's sum carries the penalty once: keep one of them
            extra = self.arrays[0].numblocks[0] - 1
            P, gP = self._penalty(theta, self.hyper, self._dd)
            HP = penalty_hessian(self._penalty, theta, self.hyper, self._dd)
            sums = sums - extra * np.concatenate([[P], gP, HP.ravel()])
        H = sums[1 + size:].reshape(size, size)
        return float(sums[0]), sums[1:1 + size], (H + H.T) / 2

    def batch_epoch(self, batch: int) -> Callable[[np.ndarray, np.random.Generator, float], None]:
        """``epoch(theta, rng, rate)``: one epoch of stochastic gradient descent over the blocks,
        one block in memory at a time.

        The order is shuffled block by block, as out-of-core SGD does: the blocks in the order
        ``rng.permutation(blocks)``, the rows of each in the order ``rng.permutation(rows)``.
        The steps are those of :meth:`PreparedGradient.batch_epoch` on that order — ``batch``
        consecutive rows of it each, across block boundaries — so an epoch makes ⌈n/batch⌉
        steps, and with one block it is the in-memory epoch.
        """
        edges = np.cumsum((0,) + self.arrays[0].chunks[0])
        steps = self._batch_steps(batch)

        def epoch(theta: np.ndarray, rng: np.random.Generator, rate: float) -> None:
            carry = [np.empty((0,) + a.shape[1:], a.dtype) for a in self.arrays]
            for k in rng.permutation(len(edges) - 1):
                block = _dask_array().compute(*(a[edges[k]:edges[k + 1]] for a in self.arrays))
                order = rng.permutation(edges[k + 1] - edges[k])
                rows = [np.concatenate([c, np.take(b, order, axis=0)])
                        for c, b in zip(carry, block)]
                whole = rows[0].shape[0] // batch * batch
                steps(theta, [r[:whole] for r in rows], rate)
                carry = [r[whole:] for r in rows]
            if carry[0].shape[0]:
                steps(theta, carry, rate)

        return epoch

    def subset(self, rows: Any) -> PreparedGradient:
        """Not for Dask data: a batch of rows drawn anywhere needs the rows in memory."""
        _no_batches()

    def grad_rows(self, theta: np.ndarray, start: int, stop: int) -> np.ndarray:
        """Not for Dask data: a batch of rows drawn anywhere needs the rows in memory."""
        _no_batches()


def _no_batches():
    raise DataError("on Dask data, mini-batches are for sgd and minibatch (an epoch block by "
                    "block): momentum, nesterov and adam with a batch_size need the rows in "
                    "memory")


def _on_block(*blocks: np.ndarray, task: str, source: str, args: tuple) -> np.ndarray:
    """One row block's part of a pass, as a ``(1, k)`` array (the task runs on a worker)."""
    if task == "check":
        (signature, labels), hyper, chunk = args
        names = {s.name: b for s, b in zip(signature.data, blocks)}
        names.update((h.name, v) for h, v in zip(signature.hyper, hyper))
        arrays, _, d = _validate(signature, names)
        check_labels(labels, dict(zip((s.name for s in signature.data), arrays)))
        if chunk is None:
            return np.array([[float(arrays[0].shape[0])]])
        stats = _namespace(source)["_stats"](arrays, d or 0, chunk)
        return np.concatenate([np.ravel(s) for s in stats])[None, :]
    if task == "_value_grad_hess":
        theta, hyper, d, hess_source, mean = args
        J, g, H = _namespace(hess_source)[task](theta, hyper, blocks, d, _HESSIAN_CHUNK_ROWS)
        rows = blocks[0].shape[0] if mean else 1.0
        return rows * np.concatenate([[J], g, H.ravel()])[None, :]
    theta, hyper, d, chunk, (P, gP), mean = args
    out = _namespace(source)[task](theta, hyper, blocks, d, chunk)
    rows = blocks[0].shape[0] if mean else 1.0  # a block's mean back to its sum
    parts = {"_value": lambda: [out - P], "_grad": lambda: [out - gP],
             "_value_and_grad": lambda: [[out[0] - P], out[1] - gP]}[task]()
    return rows * np.concatenate([np.ravel(p) for p in parts])[None, :]


def read_table(pattern: str, columns: list[str]) -> dict[str, Any]:
    """Columns of the CSV or Parquet files matching ``pattern`` (a glob), as Dask arrays.

    Files ending in ``.parquet`` or ``.pq`` are read as Parquet, others as CSV with a header
    row; the partition lengths are counted once so that the columns line up.

    Raises
    ------
    DataError
        Without Dask, when no file matches, a column is missing or a file cannot be read.
    """
    _dask_array()
    import glob

    import dask.dataframe as dd

    files = sorted(glob.glob(pattern))
    if not files:
        raise DataError(f"no file matches {pattern!r}")
    parquet = all(f.lower().endswith((".parquet", ".pq")) for f in files)
    try:
        frame = dd.read_parquet(files) if parquet else dd.read_csv(files)
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise DataError(f"{pattern}: no column {missing[0]!r} (columns: "
                            f"{', '.join(map(str, frame.columns))})")
        names = list(dict.fromkeys(columns))
        lengths = tuple(int(k) for k in frame[names].map_partitions(len).compute())
        table = frame[names].to_dask_array(lengths=lengths)
        return {c: table[:, k] for k, c in enumerate(names)}
    except (OSError, ValueError) as error:
        if isinstance(error, DataError):
            raise
        raise DataError(f"cannot read {pattern}: {str(error).splitlines()[0][:200]}") from None
