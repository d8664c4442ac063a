"""Half away from zero, the rounding rule of published figures (no Spark)."""

from __future__ import annotations

import doctest

import numpy as np
import pandas as pd
import pytest

from phm.stats import rounding
from phm.stats.rounding import round_half_away


def test_doctests():
    assert doctest.testmod(rounding).failed == 0


@pytest.mark.parametrize(
    ("x", "d", "expected"),
    [
        (2.5, 0, 3.0),
        (-2.5, 0, -3.0),
        (0.5, 0, 1.0),
        (1.5, 0, 2.0),
        (3.5, 0, 4.0),
        (0.125, 2, 0.13),
        (-0.125, 2, -0.13),
        (0.375, 2, 0.38),  # exact binary halves
        (41.25, 1, 41.3),
        (41.35, 1, 41.4),
        (2.4999, 0, 2.0),
        (0.0, 3, 0.0),
        (1234.5, -1, 1230.0),
        (1235.0, -1, 1240.0),
    ],
)
def test_half_away_from_zero(x, d, expected):
    assert round_half_away(x, d) == expected
    # numpy rounds these halves to even: the rules differ exactly where they should
    if d >= 0 and abs(x * 10**d % 1 - 0.5) < 1e-12 and int(abs(x) * 10**d) % 2 == 0:
        assert np.round(x, d) != expected


def test_it_is_the_double_precision_formula():
    # 1.005 is 1.00499999999999989... in binary: 1.005 * 100 = 100.49999999999999 -> 1.0
    assert round_half_away(1.005, 2) == 1.0
    x = np.random.default_rng(3).normal(0, 100, 10_000)
    for d in (0, 1, 2, 3):
        formula = np.sign(x) * np.floor(np.abs(x) * 10.0**d + 0.5) / 10.0**d
        assert np.array_equal(round_half_away(x, d), formula)


def test_nan_inf_negative_zero_and_types():
    out = round_half_away(pd.Series([np.nan, np.inf, -np.inf, -0.0001, 2.5]), 1)
    assert isinstance(out, np.ndarray) and out.dtype == float
    assert np.isnan(out[0]) and out[1] == np.inf and out[2] == -np.inf
    assert out[3] == 0.0 and not np.signbit(out[3])  # -0.0 is published as 0.0
    assert out[4] == 2.5
    assert np.isnan(round_half_away(pd.array([1.0, None], dtype="Float64"), 0)[1])
    assert round_half_away([2, 3], 0).tolist() == [2.0, 3.0]
    with pytest.raises(ValueError):
        round_half_away(1.0, 1.5)


def test_the_order_of_an_addition_cannot_move_a_published_figure():
    from phm.stats.rounding import snap

    noisy = 86.25 - 2**-46  # 86.25 added up in another order: off in its last bits
    assert noisy != 86.25
    assert round_half_away([86.25, noisy], 1).tolist() == [86.3, 86.3]
    assert snap([0.0, float("nan"), float("inf"), -86.24999999999999]).tolist()[::3] == [
        0.0,
        -86.25,
    ]


def test_the_spark_twin_rounds_as_numpy_does(spark):
    from phm.execute.periods import round_half_away as spark_round

    values = [86.25, 86.25 - 2**-46, -2.5, 0.125, 1.005, 0.0, 123456.785, None]
    frame = spark.createDataFrame([(v,) for v in values], "x double")
    got = [r.y for r in frame.select(spark_round(frame.x, 2).alias("y")).collect()]
    expected = round_half_away([np.nan if v is None else v for v in values], 2).tolist()
    assert got[:-1] == expected[:-1] and got[-1] is None
