"""Passes over rows split between the cores.

Most compiled passes run on one thread: their NumPy calls on a chunk last a few microseconds, and
threads would trade the interpreter lock instead of working. Two passes are different: the
statistics pass (``XᵀX``, ``Xᵀy``) and the Hessian pass (``Xᵀ diag(s) X``) spend their time in
BLAS products long enough to release the lock. :func:`on_cores` runs such a pass over contiguous
parts of the rows, one per core, and adds the parts' sums in a fixed order.

Measured on two cores: the statistics of 10⁶ × 10, 36 → 19 ms (10⁶ × 16: 68 → 55 ms); the
logistic Hessian pass at 10⁶ × 10, 96 → 60 ms. From about 24 columns on, OpenBLAS runs each
product on several threads itself, and threads of ours slowed it (600,000 × 24: 58 → 73 ms).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

__all__ = ["on_cores", "one_thread", "cores", "PART_CHUNKS", "MAX_COLUMNS"]

PART_CHUNKS = 16
"""Chunks per thread, at least (10⁵ × 10 in two parts of 8 chunks took 4.5 ms against 3.5 on one
thread; 2·10⁵ rows, 7.5 → 5.2 ms)."""

MAX_COLUMNS = 17
"""Data columns (features and labels) up to which a pass is split: beyond, OpenBLAS threads."""


def cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)


def on_cores(run: Callable[[int, int], tuple], n: int, chunk: int, columns: int) -> tuple:
    """``run(start, stop)``'s sums over the rows ``0:n``, in parts on threads of their own.

    Parameters
    ----------
    run : callable
        A pass over the rows ``start:stop`` returning a tuple of sums (numbers or arrays);
        ``start`` is a multiple of ``chunk``, ``stop`` one too or ``n``, as the generated chunk
        loops need (no slice of theirs crosses ``stop``).
    n, chunk : int
        The number of rows, and the rows ``run`` takes per chunk.
    columns : int
        The data's columns: above :data:`MAX_COLUMNS` the pass runs on one thread.

    Returns
    -------
    tuple
        The parts' tuples added entry by entry, in the order of the rows.
    """
    parts = min(cores(), n // (PART_CHUNKS * max(chunk, 1)))
    if parts < 2 or columns > MAX_COLUMNS:
        return run(0, n)
    edges = [n * k // parts // chunk * chunk for k in range(parts)] + [n]  # whole chunks
    with ThreadPoolExecutor(parts) as pool:
        sums = list(pool.map(run, edges[:-1], edges[1:]))
    return tuple(sum(column[1:], column[0]) for column in zip(*sums))


def one_thread(run: Callable[[int, int], tuple], n: int, chunk: int, columns: int) -> tuple:
    """:func:`on_cores` on one thread: for passes that run where something else shares out the
    cores (a Dask worker, whose threads each take a block)."""
    return run(0, n)
