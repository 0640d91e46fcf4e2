"""The penalty of a loss on its own, without the data: for passes that add it once, on the client.

A pass over Dask blocks (:mod:`.distributed`) or a fused loop (:mod:`.fused`) sums the data part
of J block by block; the penalty, which holds no data, is added once: :func:`penalty_kernel`
``_penalty(theta, H, d)`` gives its value and gradient, :func:`penalty_hessian` its Hessian.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

from .codegen import _compile_source, _Printer
from .finite_difference import hessian
from .source import _function, _pack, _penalty_parts, _unpack

_PENALTIES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def penalty_kernel(compiled: Any) -> Callable:
    """``_penalty(theta, H, d)``: the penalty (no data) and its flat gradient, compiled once."""
    cached = _PENALTIES.get(compiled)
    if cached is None:
        model, layout = compiled._model, compiled._layout
        value, grads = _penalty_parts(model, _Printer(model.ident, frozenset()))
        inner = _unpack(model, layout) + [f"J = {value}"] + _pack(model, layout, grads)
        cached = _compile_source(_function("_penalty(theta, H, d)", inner + ["return J, _g"])
                                 + "\n")["_penalty"]
        _PENALTIES[compiled] = cached
    return cached


def penalty_hessian(penalty: Callable, theta: np.ndarray, hyper: tuple, d: int) -> np.ndarray:
    """The Hessian of the penalty at ``theta``: central differences of its gradient, symmetrised."""
    H = hessian(lambda t: penalty(t, hyper, d)[1], theta)
    return (H + H.T) / 2
