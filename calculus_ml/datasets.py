"""Small data helpers: a CSV reader (the standard ``csv`` module, no pandas) and the lesson's data.

:func:`read_csv` reads numeric columns by header name, from a regular file of bounded size
(:func:`read_regular_file`); :func:`data_for_loss` hands those columns to a loss under its own
data names (stacking several feature columns into the ``(n, d)`` matrix of a vector feature);
:func:`lesson_data` is the introductory lesson's regression data; :func:`moons` and :func:`xor`
are small classification sets for networks, generated with a fixed seed and shipped as CSV
(:func:`bundled`).
"""

from __future__ import annotations

import csv
import io
import math
import os
import stat
from collections.abc import Sequence
from typing import Any

import numpy as np

from .errors import DataError, quoted, shortened

__all__ = ["read_csv", "read_regular_file", "lesson_data", "data_for_loss", "MAX_CSV_BYTES",
           "moons", "xor", "bundled", "CLASSIFICATION_SETS"]

MAX_CSV_BYTES = 64 << 20
"""The largest CSV file :func:`read_csv` reads (64 MiB)."""


def read_regular_file(path: str | os.PathLike, max_bytes: int) -> bytes:
    """The bytes of a regular file of at most ``max_bytes``.

    A FIFO, a device or a folder is refused from its status, without being opened; the file
    is then opened without blocking and checked again, so one swapped in meanwhile is refused
    too.

    Raises
    ------
    DataError
        When the file cannot be read, is not a regular file, or is larger than ``max_bytes``.
    """
    name = os.fsdecode(path)
    if "\0" in name:
        raise DataError(f"cannot read {quoted(name)}: not a file name")
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise DataError(f"cannot read {name}: not a regular file")
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
                             | getattr(os, "O_BINARY", 0))
        with open(descriptor, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise DataError(f"cannot read {name}: not a regular file")
            content = handle.read(max_bytes + 1)
    except OSError as error:
        raise DataError(f"cannot read {name}: {error.strerror or error}") from None
    if len(content) > max_bytes:
        raise DataError(f"cannot read {name}: larger than {max_bytes:,} bytes")
    return content


def read_csv(path: str | os.PathLike, columns: Sequence[str] | None = None, *,
             max_bytes: int = MAX_CSV_BYTES) -> dict[str, np.ndarray]:
    """Read numeric columns of a CSV file with a header row.

    Parameters
    ----------
    path : str or path-like
        The file (UTF-8, optionally with a byte-order mark): a regular file, not a FIFO or a
        device (see :func:`read_regular_file`).
    columns : sequence of str, optional
        The header names to read (default: all).
    max_bytes : int
        The largest file accepted.

    Returns
    -------
    dict
        ``{column name: float array}``, in the order asked for.

    Raises
    ------
    DataError
        When the file cannot be read, is not a regular file or is too large, has no header or no
        rows, lacks a column, repeats a header name, or holds a value that is not a finite number
        (named by line and column). A message quotes no content of the file but its header.
    """
    try:
        text = read_regular_file(path, max_bytes).decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except UnicodeDecodeError:
        raise DataError(f"cannot read {os.fspath(path)}: not UTF-8 text") from None
    except csv.Error as error:
        raise DataError(f"cannot read {os.fspath(path)}: {error}") from None
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        raise DataError(f"{os.fspath(path)} is empty: expected a header row")
    header = [name.strip() for name in rows[0]]
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise DataError(f"{os.fspath(path)}: column {quoted(repeated[0])} appears twice in the "
                        "header")
    wanted = list(header if columns is None else columns)
    missing = [name for name in wanted if name not in header]
    if missing:
        raise DataError(f"{os.fspath(path)} has no column {quoted(missing[0])} "
                        f"(its columns: {shortened(', '.join(header), 150)})")
    if len(rows) == 1:
        raise DataError(f"{os.fspath(path)} has a header but no rows")
    out = {name: np.empty(len(rows) - 1) for name in wanted}
    index = {name: header.index(name) for name in wanted}
    for line, row in enumerate(rows[1:], start=2):
        for name in wanted:
            cell = row[index[name]].strip() if index[name] < len(row) else ""
            try:
                value = float(cell)
            except ValueError:
                value = math.nan
            if not math.isfinite(value):
                what = "a value that is not a finite number" if cell else "an empty cell"
                raise DataError(f"{os.fspath(path)}, line {line}, column {quoted(name)}: {what}")
            out[name][line - 2] = value
    return out


def lesson_data(n: int = 30, seed: int = 225) -> dict[str, np.ndarray]:
    """The lesson's data: ``x`` uniform on [0, 1), ``y = 3 + 50 x + N(0, 3²)`` noise.

    The same numbers as ``np.random.seed(225); x = np.random.rand(30);
    y = 3 + 50*x + np.random.normal(0, 3, 30)``, without touching NumPy's global random state.
    """
    state = np.random.RandomState(seed)
    x = state.rand(n)
    y = 3 + 50 * x + state.normal(0, 3, n)
    return {"x": x, "y": y}


def data_for_loss(loss: Any, table: dict[str, np.ndarray], x_columns: Sequence[str],
                  y_column: str) -> dict[str, np.ndarray]:
    """The columns of ``table`` under ``loss``'s data names: features and target.

    The target is the data name ``y`` (or, failing that, the one name not in the loss's
    prediction); the others are features. One vector feature takes every ``x`` column as an
    ``(n, d)`` matrix; scalar features take one column each, in order.

    Raises
    ------
    DataError
        When the columns do not fit the loss's features.
    """
    names = [s for s in loss.data]
    prediction = getattr(loss, "prediction", None)
    in_prediction = prediction.free_symbols if prediction is not None else set()
    label = getattr(loss, "name", "the loss")
    by_name = [s for s in names if s.name == "y"]
    by_prediction = [s for s in names if s not in in_prediction] if in_prediction else []
    if not (by_name or len(by_prediction) == 1 or len(names) == 2):
        raise DataError(f"loss {label!r} has no single target among its data "
                        f"({', '.join(s.name for s in names)}): one --y column cannot feed it")
    target = (by_name or (by_prediction if len(by_prediction) == 1 else []) or [names[-1]])[0]
    features = [s for s in names if s is not target]
    vectors = set(getattr(loss, "vectors", ()))
    data = {target.name: table[y_column]}
    if len(features) == 1 and features[0] in vectors:
        data[features[0].name] = _column_stack([table[c] for c in x_columns])
    elif len(features) == len(x_columns):
        data.update((s.name, table[c]) for s, c in zip(features, x_columns))
    else:
        wanted = ", ".join(s.name for s in features)
        raise DataError(f"loss {label!r} takes {len(features)} feature column(s) ({wanted}), "
                        f"not {len(x_columns)}; a loss with dot(w, x) takes several")
    return data


def moons(n: int = 200, noise: float = 0.15, seed: int = 10) -> dict[str, np.ndarray]:
    """Two interleaving half circles: ``x`` (n × 2) and the class ``y`` (0 or 1).

    Class 0 lies on the upper half circle of radius 1 about (0, 0), class 1 on the lower one
    about (1, 0.5); each point is moved by ``N(0, noise²)`` in both coordinates. Half the
    points (rounded down) are in class 0.
    """
    state = np.random.RandomState(seed)
    upper, lower = n // 2, n - n // 2
    t0, t1 = np.linspace(0, np.pi, upper), np.linspace(0, np.pi, lower)
    x = np.vstack([np.column_stack([np.cos(t0), np.sin(t0)]),
                   np.column_stack([1 - np.cos(t1), 0.5 - np.sin(t1)])])
    x += state.normal(0, noise, x.shape)
    y = np.concatenate([np.zeros(upper), np.ones(lower)])
    return {"x": x, "y": y}


def xor(n: int = 200, noise: float = 0.2, seed: int = 11) -> dict[str, np.ndarray]:
    """The exclusive or: ``n`` points about the four corners (±1, ±1), ``x`` (n × 2), class
    ``y = 1`` where the two coordinates' signs differ."""
    state = np.random.RandomState(seed)
    corners = np.array([[-1, -1], [-1, 1], [1, -1], [1, 1]], dtype=float)
    picked = corners[np.arange(n) % 4]
    x = picked + state.normal(0, noise, picked.shape)
    y = (picked[:, 0] * picked[:, 1] < 0).astype(float)
    return {"x": x, "y": y}


CLASSIFICATION_SETS = {"moons": moons, "xor": xor}
"""The bundled classification sets, each written to ``derivations/data/<name>.csv``."""


def bundled(name: str) -> dict[str, np.ndarray]:
    """The bundled set ``name`` ("moons" or "xor") read from its CSV (columns ``x1, x2, y``):
    ``x`` (n × 2) and ``y``.

    Raises
    ------
    DataError
        For an unknown name.
    """
    if name not in CLASSIFICATION_SETS:
        raise DataError(f"no bundled data set {quoted(name)} (choose from "
                        f"{', '.join(CLASSIFICATION_SETS)})")
    path = os.path.join(os.path.dirname(__file__), "_derivations", "data", f"{name}.csv")
    if not os.path.exists(path):  # a source checkout: the specs live beside the package
        path = os.path.join(os.path.dirname(os.path.dirname(__file__)), "derivations", "data",
                            f"{name}.csv")
    table = read_csv(path, ["x1", "x2", "y"])
    return {"x": np.column_stack([table["x1"], table["x2"]]), "y": table["y"]}


def _column_stack(columns: list) -> Any:
    """The columns side by side: ``(n, d)``, a Dask array for Dask columns (nothing computed)."""
    from .numeric.validation import is_dask

    if is_dask(columns[0]):
        import dask.array

        return dask.array.stack(columns, axis=1)
    return np.column_stack(columns)
