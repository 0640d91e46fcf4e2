"""Checks of the data (calculus_ml.numeric.validation): one validator, one set of messages.

The compiled gradient and the plots' grid cost both go through it.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from numeric_cases import LOSSES, random_data

from calculus_ml.errors import CalculusMLError, DataError
from calculus_ml.numeric import check_gradient, compile_gradient, compiled_for


@pytest.fixture(scope="module")
def rng():
    return np.random.default_rng(20240604)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.pop("y"), "missing data 'y'"),
        (lambda d: d.update(z=np.zeros(5)), "unknown name 'z'"),
        (lambda d: d.update(y=d["y"][:-1]), "y has 63 rows but x has 64"),
        (lambda d: d["y"].__setitem__(3, np.nan),
         r"y contains NaN or infinite values \(first at row 3\)"),
        (lambda d: d["x"].__setitem__((5, 1), np.inf), "x contains NaN or infinite"),
        (lambda d: d.update(x=np.zeros((0, 3)), y=np.zeros(0)), "x is empty"),
        (lambda d: d.update(y=np.zeros((64, 2))), "y must be a 1-D array"),
        (lambda d: d.update(x=np.zeros((64, 3, 2))), "x must be a 2-D array"),
        (lambda d: d.update(y=np.array(["a"] * 64)), "y must be an array of real numbers"),
    ],
)
def test_bad_data_raise_data_error(change, message, rng):
    loss = LOSSES["logistic"]()
    compiled = compiled_for(loss, sufficient_statistics=False)
    data = random_data(loss, rng)
    change(data)
    with pytest.raises(DataError, match=message) as info:
        compiled.grad(np.zeros(4), **data)
    assert isinstance(info.value, ValueError) and isinstance(info.value, CalculusMLError)


@pytest.mark.slow
def test_caller_arrays_are_not_modified(rng):
    for name in ("logistic", "mse", "huber"):
        loss = LOSSES[name]()
        compiled = compile_gradient(loss)
        data = random_data(loss, rng)
        data["x"] = np.asfortranarray(data["x"]) if data["x"].ndim == 2 else data["x"]
        before = {k: np.array(v, copy=True) for k, v in data.items()}
        theta = rng.normal(size=compiled.prepare(**data).size)
        compiled.value_and_grad(theta, **data)
        compiled.grad(theta, **data)
        check_gradient(loss, theta, **data)
        for k, v in data.items():
            assert np.array_equal(v, before[k]), k


def test_lists_and_integer_arrays_are_accepted():
    compiled = compile_gradient(LOSSES["mse"]())
    g_list = compiled.grad([1, 0], x=[1, 2, 3], y=[2, 4, 6])
    g_arr = compiled.grad([1.0, 0.0], x=np.array([1.0, 2.0, 3.0]), y=np.array([2.0, 4.0, 6.0]))
    assert np.array_equal(g_list, g_arr)


@pytest.mark.parametrize("name, options, labels, message", [
    ("logistic", {}, {"y": [0, 1, 2, 0.5]}, r"logistic needs y to be 0 or 1; found y = 2, 0.5 "
                                            r"\(2 of 4 values\)"),
    ("logistic", {"vector": True}, {"y": [0, 1, -1, 1]}, "found y = -1"),
    ("hinge", {}, {"y": [1, -1, 0, 1]}, r"hinge needs y to be -1 or \+1; found y = 0"),
    ("poisson", {}, {"y": [0, 2, -3, 1]}, "poisson needs y to be at least 0; found y = -3"),
    ("softmax", {}, {"y1": [1, 0, 0, 1], "y2": [0, 1, 0, 1], "y3": [0, 0, 1, 0]},
     r"softmax needs y1, y2, y3 to be one-hot: .*found \(y1, y2, y3\) = \(1, 1, 0\) "
     r"\(1 of 4 rows\)"),
    ("softmax", {}, {"y1": [0.5, 0, 0, 1], "y2": [0.5, 1, 0, 0], "y3": [0, 0, 1, 0]},
     r"\(0.5, 0.5, 0\)"),
])
def test_labels_outside_the_loss_domain_are_refused(name, options, labels, message):
    from calculus_ml import losses

    loss = losses.get(name, **options)
    x = np.arange(8.0).reshape(4, 2) if options.get("vector") else np.arange(4.0)
    compiled = compile_gradient(loss)
    with pytest.raises(DataError, match=message):
        compiled.grad(np.zeros(compiled.prepare(x=x, **_inside(labels)).size), x=x, **labels)
    with pytest.raises(DataError, match=message):
        compiled.validate(x=x, **labels)


def _inside(labels: dict) -> dict:
    """The labels with every value moved into the domain, to size the parameters."""
    if "y1" in labels:
        return {"y1": [1, 0, 0, 1], "y2": [0, 1, 0, 0], "y3": [0, 0, 1, 0]}
    return {"y": [1, 1, 1, 1]}


def test_labels_inside_the_domain_and_losses_without_labels_pass():
    from calculus_ml import losses
    from calculus_ml.numeric.validation import check_labels

    check_labels(losses.get("logistic"), {"y": np.array([0.0, 1.0, 1.0])})
    check_labels(losses.get("hinge"), {"y": np.array([-1.0, 1.0])})
    check_labels(losses.get("poisson"), {"y": np.array([0.0, 7.0])})
    check_labels(losses.get("mse"), {"y": np.array([-3.5, 1e9])})
    check_labels(losses.get("softmax"), {"y1": np.array([1.0])})  # a column alone: not checked


@pytest.fixture(scope="module")
def ridge_both_paths():
    loss = LOSSES["ridge"]()
    return loss, compiled_for(loss), compiled_for(loss, sufficient_statistics=False)


@pytest.mark.parametrize("bad", [(np.nan,), (np.inf,), (-np.inf,), (np.inf, -np.inf)])
@pytest.mark.parametrize("name", ["x", "y"])
def test_statistics_path_finds_bad_values_from_the_sums(bad, name, rng, ridge_both_paths):
    """The sufficient-statistics path checks finiteness on its sums, not by a second pass over
    the data: the error must be the data check's (the general path's), even when +inf and −inf
    cancel in a sum."""
    loss, fused, general = ridge_both_paths
    assert fused.sufficient_statistics and not general.sufficient_statistics
    data = random_data(loss, rng)
    for row, value in zip((7, 40), bad):
        data[name][row] = value
    with pytest.raises(DataError) as expected:
        general.prepare(**data)
    with pytest.raises(DataError, match=re.escape(str(expected.value))):
        fused.prepare(**data)
