"""Funnel-plot limits and outlier flags against hand computations (no Spark)."""

from __future__ import annotations

import doctest

import numpy as np
import pandas as pd
import pytest

from phm.stats import funnel
from phm.stats.funnel import oe_limits, outlier_flags


def test_doctests():
    assert doctest.testmod(funnel).failed == 0


# --------------------------------------------------------------------------- limits


def test_limits_by_hand():
    # 1000 stays at p = 0.1: E = 100, V = 1000 * 0.1 * 0.9 = 90, sqrt(V) = 9.486833.
    # 95%:   z = 1.959964, half = 1.959964 * 9.486833 / 100 = 0.185939 -> (0.814061, 1.185939)
    # 99.8%: z = 3.090232, half = 3.090232 * 9.486833 / 100 = 0.293165 -> (0.706835, 1.293165)
    lo, hi = oe_limits(100, 90, 0.95)
    assert (lo, hi) == pytest.approx((1 - 0.185939, 1 + 0.185939), abs=1e-6)
    lo, hi = oe_limits(100, 90, 0.998)
    assert (lo, hi) == pytest.approx((1 - 0.293165, 1 + 0.293165), abs=1e-6)
    assert isinstance(lo, np.floating)


def test_limits_vectorised_floor_and_nan():
    # E = 1, V = 0.9: half = 1.959964 * 0.948683 = 1.859385 -> lower floored at 0, upper 2.859385
    # E = 400, V = 0: a certain outcome, no spread -> (1, 1)
    lo, hi = oe_limits(
        np.array([100, 1, 400, 0, -2, np.nan]), pd.Series([90, 0.9, 0, 5, 5, 5]), 0.95
    )
    assert lo[:3] == pytest.approx([0.814061, 0.0, 1.0], abs=1e-6)
    assert hi[:3] == pytest.approx([1.185939, 2.859385, 1.0], abs=1e-6)
    assert np.isnan(lo[3:]).all() and np.isnan(hi[3:]).all()
    lo, hi = oe_limits(100, -1)  # negative variance: inconsistent input
    assert np.isnan(lo) and np.isnan(hi)


def test_limits_narrow_as_expected_grows():
    # Same event rate, 4x the stays: half-width halves (sqrt(4V) / 4E = half * 1/2).
    _, hi1 = oe_limits(50, 45)
    _, hi4 = oe_limits(200, 180)
    assert hi4 - 1 == pytest.approx((hi1 - 1) / 2, rel=1e-12)


@pytest.mark.parametrize("level", [0.0, 1.0, 95])
def test_limits_bad_level(level):
    with pytest.raises(ValueError):
        oe_limits(100, 90, level)


# --------------------------------------------------------------------------- flags


def _limits() -> dict[float, tuple[np.ndarray, np.ndarray]]:
    # E = 100, V = 90: 95% (0.814061, 1.185939), 99.8% (0.706835, 1.293165)
    return {0.998: oe_limits(100, 90, 0.998), 0.95: oe_limits(100, 90, 0.95)}


def test_flags_hand_placed():
    oe = [1.0, 1.19, 1.29, 1.30, 0.81, 0.71, 0.70, np.nan]
    assert outlier_flags(oe, _limits()).tolist() == [
        "within",
        "above_95",
        "above_95",
        "above_99.8",
        "below_95",
        "below_95",
        "below_99.8",
        None,
    ]


def test_flags_on_the_limit_is_within():
    lims = {0.95: oe_limits(100, 90, 0.95)}
    lo, hi = lims[0.95]
    assert outlier_flags([float(lo), float(hi)], lims).tolist() == ["within", "within"]


def test_flags_per_hospital_limits_and_missing_expected():
    # Three hospitals: E = 100 (V 90), E = 1 (V 0.9, lower limit floored at 0), E = 0 (no limits)
    e, v = np.array([100.0, 1.0, 0.0]), np.array([90.0, 0.9, 0.0])
    lims = {lv: oe_limits(e, v, lv) for lv in (0.95, 0.998)}
    # 1.25 is above 95% at E=100; 2.5 is inside 2.859385 at E=1; O=0 at E=1 is not below 0.
    got = outlier_flags(np.array([1.25, 2.5, 3.0]), lims)
    assert got.dtype == object and got.tolist() == ["above_95", "within", None]
    assert outlier_flags([0.0, 0.0], {0.95: oe_limits([100, 1], [90, 0.9])}).tolist() == [
        "below_95",
        "within",
    ]


def test_flags_scalar_and_series_and_pct_format():
    assert outlier_flags(1.5, _limits()) == "above_99.8"
    got = outlier_flags(pd.Series([1.0, pd.NA], dtype="Float64"), _limits())
    assert got.tolist() == ["within", None]
    # f"{level*100:g}": 0.9 -> '90', 0.999 -> '99.9'
    lims = {0.9: oe_limits(100, 90, 0.9), 0.999: oe_limits(100, 90, 0.999)}
    assert outlier_flags([0.5, 1.2], lims).tolist() == ["below_99.9", "above_90"]


def test_flags_need_limits():
    with pytest.raises(ValueError):
        outlier_flags([1.0], {})
