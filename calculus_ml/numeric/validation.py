"""Checks of what users pass in: data, hyperparameters and parameters.

Every problem is a :class:`~calculus_ml.errors.DataError` naming the culprit: a missing or unknown
name, arrays of different lengths, an empty, non-finite, non-numeric or wrongly shaped array, a
hyperparameter that is not a finite number, parameters of the wrong number or shape, labels
outside the values the loss is meant for (:func:`check_labels`). The caller's arrays are never
modified; converted copies are made only when needed.

This is the package's one check of a loss's data: the compiled gradient and the plots' grid
cost (:class:`~calculus_ml.numeric.grid.GridCost`) both use :func:`_validate`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np
import sympy

from ..errors import DataError
from ..losses import LABEL_DOMAINS
from .model import _Layout


class _Signature(Protocol):
    """What a loss takes: data and hyperparameter symbols, and which data are vectors."""

    data: tuple[sympy.Symbol, ...]
    hyper: tuple[sympy.Symbol, ...]
    vector_data: tuple[sympy.Symbol, ...]


def _validate(model: _Signature, data: Mapping[str, Any], only: frozenset | None = None
              ) -> tuple[tuple, tuple, int | None]:
    """Check and convert the data and hyperparameters; never modifies the caller's arrays.

    Data come back as float64 arrays (float32 ones stay float32), ``(n,)`` or ``(n, d)`` for a vector, in ``model.data``
    order; hyperparameters as floats; and ``d`` (``None`` without vectors). With ``only`` (a set
    of symbols), just those names are required and converted; the others come back as ``None``.
    """
    needed = [s for s in model.data if only is None or s in only]
    names = [s.name for s in needed]
    hyper_names = [h.name for h in model.hyper if only is None or h in only]
    unknown = sorted(set(data) - {s.name for s in model.data} - {h.name for h in model.hyper})
    if unknown:
        expected = f"data {', '.join(names)}" + (
            f" and hyperparameters {', '.join(hyper_names)}" if hyper_names else "")
        raise DataError(f"unknown name {unknown[0]!r}: the loss takes {expected}")
    for name in names:
        if name not in data:
            raise DataError(f"missing data {name!r}: the loss needs {', '.join(names)}")
    for name in hyper_names:
        if name not in data:
            raise DataError(f"missing hyperparameter {name!r}: pass it beside the data, "
                            f"e.g. {name}=0.1")
    arrays, n, d = [], None, None
    first = None
    for sym in model.data:
        if sym not in needed:
            arrays.append(None)
            continue
        name, vector = sym.name, sym in model.vector_data
        if is_dask(data[name]):
            raise DataError(f"{name} is a Dask collection: gradients, values, solve() and fits "
                            "take Dask data; this step needs the data in memory")
        try:
            raw = np.asarray(data[name])
            if raw.dtype.kind not in "biuf":
                raise TypeError(raw.dtype)
            arr = np.ascontiguousarray(raw, dtype=np.float32 if raw.dtype == np.float32
                                       else np.float64)
        except (TypeError, ValueError):
            raise DataError(f"{name} must be an array of real numbers") from None
        if vector and arr.ndim == 1:
            arr = arr.reshape(-1, 1)
        want = 2 if vector else 1
        if arr.ndim != want:
            shape = "(n, d)" if vector else "(n,)"
            raise DataError(f"{name} must be a {want}-D array of shape {shape}, "
                            f"not shape {arr.shape}")
        if arr.shape[0] == 0 or arr.size == 0:
            raise DataError(f"{name} is empty: there is nothing to fit")
        if n is None:
            n, first = arr.shape[0], name
        elif arr.shape[0] != n:
            raise DataError(f"{name} has {arr.shape[0]} rows but {first} has {n}")
        if vector:
            if d is None:
                d = arr.shape[1]
            elif arr.shape[1] != d:
                raise DataError(f"{name} has {arr.shape[1]} columns; other vectors have {d}")
        finite = np.isfinite(arr)
        if not finite.all():
            row = int(np.argmin(finite.reshape(arr.shape[0], -1).all(axis=1)))
            raise DataError(f"{name} contains NaN or infinite values (first at row {row})")
        arrays.append(arr)
    hyper = []
    for name in (h.name for h in model.hyper):
        if name not in hyper_names:
            hyper.append(None)
            continue
        try:
            value = float(data[name])
        except (TypeError, ValueError):
            raise DataError(f"hyperparameter {name} must be a number") from None
        if not math.isfinite(value):
            raise DataError(f"hyperparameter {name} must be finite, not {value}")
        hyper.append(value)
    return tuple(arrays), tuple(hyper), d


def is_dask(value: Any) -> bool:
    """Whether ``value`` is a Dask collection (array, DataFrame, Series); Dask is not imported."""
    return type(value).__module__.split(".")[0] == "dask" and hasattr(value, "dask")


def _flatten(layout: _Layout, d: int | None, params: Any) -> np.ndarray:
    """``params`` (a dict by name, or an array) as a flat float array in layout order."""
    if not isinstance(params, Mapping):
        try:
            theta = np.array(params, dtype=float).ravel()
        except (TypeError, ValueError):
            raise DataError("params must be numbers") from None
        if (d is not None or not any(layout.is_vector)) and theta.shape != (layout.size(d),):
            labels = [f"{n}[{d}]" if v else n for n, v in zip(layout.names, layout.is_vector)]
            raise DataError(f"params must be {layout.size(d)} numbers ({', '.join(labels)}), "
                            f"not {theta.size}")
        return theta
    named = {getattr(k, "name", k): v for k, v in params.items()}
    unknown = sorted(set(named) - set(layout.names))
    missing = [n for n in layout.names if n not in named]
    if unknown or missing:
        raise DataError(f"params must name exactly {', '.join(layout.names)}"
                        + (f"; missing {', '.join(missing)}" if missing else "")
                        + (f"; unknown {', '.join(unknown)}" if unknown else ""))
    pieces = []
    for name, vector in zip(layout.names, layout.is_vector):
        try:
            value = np.asarray(named[name], dtype=float)
        except (TypeError, ValueError):
            raise DataError(f"parameter {name} must be a number") from None
        want = ((d if d is not None else value.size),) if vector else ()
        if value.shape != want:
            raise DataError(f"parameter {name} must have shape {want}, not {value.shape}")
        pieces.append(value.ravel())
    return np.concatenate(pieces)


_INSIDE = {"binary": lambda v: (v == 0) | (v == 1), "sign": lambda v: np.abs(v) == 1,
           "nonnegative": lambda v: v >= 0}
"""Which values of a label lie in each domain of :data:`calculus_ml.losses.LABEL_DOMAINS`
(one-hot, a property of several columns together, is checked row by row)."""


def check_labels(loss: Any, arrays: Mapping[str, np.ndarray]) -> None:
    """Refuse labels outside the domain the loss declares (``loss.labels``, if any).

    ``arrays`` are validated float arrays by data name; a label not among them is not checked,
    a one-hot label only when all its columns are there.

    Raises
    ------
    DataError
        Naming the loss, the label, the values it needs and the first values found outside.
    """
    labels = getattr(loss, "labels", None) or {}
    name_of_loss = getattr(loss, "name", "the loss")
    columns = [name for name, domain in labels.items() if domain == "one-hot"]
    for name, domain in labels.items():
        if domain != "one-hot" and name in arrays:
            values = arrays[name].ravel()
            outside = values[~_INSIDE[domain](values)]
            if outside.size:
                raise DataError(f"{name_of_loss} needs {name} to be {LABEL_DOMAINS[domain]}; found "
                                f"{name} = {_some(outside.tolist())} ({outside.size} of "
                                f"{values.size} values)")
    if columns and all(name in arrays for name in columns):
        rows = np.column_stack([arrays[name] for name in columns])
        outside = rows[~(((rows == 0) | (rows == 1)).all(axis=1) & (rows.sum(axis=1) == 1))]
        if outside.size:
            found = [f"({', '.join(f'{v:g}' for v in row)})" for row in outside.tolist()]
            raise DataError(f"{name_of_loss} needs {', '.join(columns)} to be "
                            f"{LABEL_DOMAINS['one-hot']}; found ({', '.join(columns)}) = "
                            f"{_some(found)} ({len(outside)} of {len(rows)} rows)")


def _some(values: list) -> str:
    """The first three different values, as text."""
    shown = [v if isinstance(v, str) else f"{v:g}" for v in dict.fromkeys(values)]
    return ", ".join(shown[:3]) + (", ..." if len(shown) > 3 else "")
