"""Computed numbers in a handout's narrative: slopes, values, fits and walks, and their format."""

from __future__ import annotations

import numpy as np
import pytest

from calculus_ml import handout
from calculus_ml.errors import SpecError
from calculus_ml.handout import writers
from calculus_ml.handout.narrative import number

SLOPE_SPEC = """
title = "Slopes"
[[section]]
heading = "A parabola"
text = "At 3 the slope of {{math:f(x) = 3*x^2 - 11}} is {{slope:x={at}}} and the value {{value:x={at}}}."
expression = "3*x^2 - 11"
"""


@pytest.mark.parametrize("at, slope, value", [(3, "18", "16"), (4, "24", "37"), (0.5, "3", "-10.25")])
def test_narrative_numbers_are_computed(tmp_path, at, slope, value):
    spec = tmp_path / "slopes.toml"
    spec.write_text(SLOPE_SPEC.format(at=at))
    text = writers.write_markdown(handout.build(spec).document)
    assert f"is {slope} and the value {value}." in text
    assert "$f{\\left(x \\right)} = 3 x^{2} - 11$" in text


@pytest.mark.slow
def test_fit_and_walk_numbers_match_numpy():
    ctx = next(c for c in handout.build("demo").contexts if c.section.fit is not None)
    x, y = ctx.data["x"], ctx.data["y"]
    slope, intercept = np.polyfit(x, y, 1)
    assert np.isclose(ctx.fit.params_["m"], slope, rtol=1e-6)
    assert np.isclose(ctx.solved["b"], intercept, rtol=1e-9)


def test_number_format():
    assert [number(v) for v in (18, -875.0, 43.75, 1.4410377, 0.000264, 57656.25, 2e-7)] \
        == ["18", "-875", "43.75", "1.441", "0.000264", "57656", "2.000e-07"]
    assert number(1.4410377, ".2f") == "1.44" and number(3.7, "d") == "4"
    assert [number(v, "d") for v in (float("inf"), float("-inf"), float("nan"))] == [
        "inf", "-inf", "nan"]


def test_a_value_that_is_not_real(tmp_path):
    spec = tmp_path / "root.toml"
    spec.write_text('title = "T"\n[[section]]\nheading = "H"\nexpression = "sqrt(x)"\n'
                    'text = "{value:x=-1}"\n')
    with pytest.raises(SpecError, match=r"root.toml: section\[1\]: f has no real value"):
        handout.build(spec)
