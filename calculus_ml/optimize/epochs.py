"""Stochastic gradient descent an epoch per call: ``θ ← θ − η g`` with ``batch`` rows per step,
the rows drawn in a new order at the start of each epoch.

An epoch is one loop that calls nothing per step but the batch's gradient:
:meth:`.PreparedGradient.batch_epoch` in NumPy, :func:`.fused.sgd_epoch` compiled by Numba. Both
draw the same orders, so both follow the same path. On Dask data
(:meth:`.DaskPreparedGradient.batch_epoch`) the order is shuffled block by block, one block in
memory at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..numeric import PreparedGradient
from .optimizers import epoch_descent

__all__ = ["epoch_sgd"]


def epoch_sgd(fit: Any, prepared: PreparedGradient, rng: np.random.Generator, x0: np.ndarray,
              rate: Callable[[int], float], batch: int, callback: Callable) -> np.ndarray:
    """SGD with ``batch`` rows per step for ``fit.max_iter`` epochs (:func:`.epoch_descent`);
    epoch ``k`` runs at ``rate(k)`` over ``rng.permutation(n)`` (blockwise on Dask data), in
    Numba when ``fit.backend`` is ``"numba"`` and the data are in memory. The steps' gradients
    are counted into ``fit.n_gev_``.

    Returns the last parameters.
    """
    n = prepared.n
    if fit.backend == "numba" and type(prepared) is PreparedGradient:
        from ..numeric.fused import sgd_epoch
        compiled_epoch = sgd_epoch(prepared, batch)

        def run(x, rng, eta):
            compiled_epoch(x, rng.permutation(n), eta)
    else:
        run = prepared.batch_epoch(batch)
    steps = -(-n // batch)

    def epoch(x, eta):
        fit.n_gev_ += steps
        run(x, rng, eta)

    return epoch_descent(epoch, x0, rate, steps, fit.max_iter, callback)
