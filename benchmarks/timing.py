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
