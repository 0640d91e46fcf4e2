"""Timing helpers shared by the benchmark scripts."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def once_seconds(func: Callable[[], object]) -> float:
    """Wall time of one call of ``func()``."""
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def median_seconds(func: Callable[[], object], repeat: int = 15, warm_up: bool = True) -> float:
    """Median wall time of ``func()`` over ``repeat`` calls, after one uncounted call if asked."""
    if warm_up:
        func()
    return statistics.median(once_seconds(func) for _ in range(repeat))


SETTLE = 0.2
"""Seconds of rest before each row's turn: OpenBLAS worker threads keep spinning for a while after
a threaded product (the naive rows' ``X @ w``), and on a 2-core machine they would slow down
whichever row comes next."""


def interleaved_times(rows: dict, repeat: int, warm: bool = True, settle: float = SETTLE
                      ) -> dict[str, list[float]]:
    """Seconds of each callable per repeat; the rows take turns, each timed call after a rest of
    ``settle`` seconds and (with ``warm``) an untimed call of the same row, so no row pays for the
    caches or threads another left."""
    times: dict[str, list[float]] = {name: [] for name in rows}
    for _ in range(repeat):
        for name, func in rows.items():
            time.sleep(settle)
            if warm:
                func()
            start = time.perf_counter()
            func()
            times[name].append(time.perf_counter() - start)
    return times
