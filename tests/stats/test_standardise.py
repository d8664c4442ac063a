"""Reference weights and direct/indirect standardisation (no Spark)."""

from __future__ import annotations

import doctest

import numpy as np
import pandas as pd
import pytest

from phm.data import reference_data as ref
from phm.stats import standardise
from phm.stats.intervals import fay_feuer, poisson_exact
from phm.stats.standardise import (
    AGE5,
    age5_of,
    direct,
    expected_indirect,
    indirect,
    reference_weights,
)


def test_doctests():
    assert doctest.testmod(standardise).failed == 0


# --------------------------------------------------------------------------- age bands


def test_age5():
    assert AGE5 == (0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 90, 95)
    got = age5_of(np.array([0, 4, 5, 9.9, 64, 65, 94, 95, 107]))
    assert got.tolist() == [0, 0, 5, 5, 60, 65, 90, 95, 95]
    assert age5_of(42) == 40.0
    got = age5_of(pd.Series([-1, None, 30], dtype="Int64"))
    assert np.isnan(got[:2]).all() and got[2] == 30


# --------------------------------------------------------------------------- reference weights


def test_esp2013_weights():
    w = reference_weights("esp2013")
    assert list(w.columns) == ["age5", "sex", "weight"]
    assert len(w) == 40 and w.weight.sum() == pytest.approx(1.0, abs=1e-12)
    assert set(w.age5) == set(AGE5) and set(w.sex) == {"M", "F"}
    assert w.age5.dtype.kind == "i" and w.weight.dtype == float
    # esp2013_5y.csv: 0-4 = 5000 of 100,000, halved per sex -> 0.025; 95+ = 200 -> 0.001
    row = w.set_index(["age5", "sex"]).weight
    assert row[(0, "M")] == pytest.approx(0.025) and row[(0, "F")] == pytest.approx(0.025)
    assert row[(95, "F")] == pytest.approx(0.001)


def test_esp2013_restricted_to_65_plus():
    w = reference_weights("esp2013", min_age=65)
    assert sorted(set(w.age5)) == [65, 70, 75, 80, 85, 90, 95] and len(w) == 14
    # esp2013_5y.csv, 65+: 5500 + 5000 + 4000 + 2500 + 1500 + 800 + 200 = 19500
    # 65-69 per sex: 5500 / 19500 / 2 = 0.141026; 95+: 200 / 19500 / 2 = 0.005128
    row = w.set_index(["age5", "sex"]).weight
    assert row[(65, "M")] == pytest.approx(5500 / 19500 / 2)
    assert row[(95, "F")] == pytest.approx(200 / 19500 / 2)
    assert w.weight.sum() == pytest.approx(1.0, abs=1e-12)


def test_age_range_keeps_overlapping_bands():
    # 18-64: 15-19 overlaps 18, 60-64 ends at 64 -> bands 15..60
    w = reference_weights("esp2013", min_age=18, max_age=64)
    assert sorted(set(w.age5)) == list(range(15, 65, 5))
    # 0-0 (infants) keeps the 0-4 band only; 100+ keeps the open 95+ band
    assert reference_weights("esp2013", max_age=0).age5.unique().tolist() == [0]
    assert reference_weights("esp2013", min_age=100).age5.unique().tolist() == [95]
    with pytest.raises(ValueError):
        reference_weights("esp2013", min_age=70, max_age=60)


def test_belgium_2020_weights():
    w = reference_weights("belgium_2020")
    assert len(w) == 40 and w.weight.sum() == pytest.approx(1.0, abs=1e-12)
    # Sex split against the municipal population file (1/1/2020): F 5,832,577 and
    # M 5,660,064 of 11,492,641 -> F share 0.507511
    muni = ref.municipalities()
    female = muni.pop_2020_female.astype(float).sum()
    total = muni.pop_2020_total.astype(float).sum()
    share_f = w.loc[w.sex == "F", "weight"].sum()
    assert share_f == pytest.approx(female / total, abs=1e-12)
    assert share_f == pytest.approx(5_832_577 / 11_492_641, abs=1e-12)


def test_belgium_years_outside_the_data_use_the_nearest():
    # Statbel tables cover 2019-2021: 2024 falls back to 2021.
    pd.testing.assert_frame_equal(
        reference_weights("belgium_2024"), reference_weights("belgium_2021")
    )


@pytest.mark.parametrize("name", ["esp2011", "ESP2013", "belgium", "belgium_20", "flanders_2020"])
def test_unknown_reference(name):
    with pytest.raises(ValueError, match="esp2013.*belgium_<year>"):
        reference_weights(name)


# --------------------------------------------------------------------------- direct


def test_direct_two_strata_by_hand():
    # w = (1, 3) renormalised to (0.25, 0.75); rates 2/100 = 0.02 and 6/200 = 0.03
    # dsr = 0.25*0.02 + 0.75*0.03 = 0.005 + 0.0225 = 0.0275
    # var = 0.0625*2/100² + 0.5625*6/200² = 1.25e-5 + 8.4375e-5 = 9.6875e-5
    # wm  = max(0.25/100, 0.75/200) = max(0.0025, 0.00375) = 0.00375
    dsr, var, wm = direct([2, 6], [100, 200], [1, 3])
    assert (dsr, var, wm) == pytest.approx((0.0275, 9.6875e-5, 0.00375), rel=1e-12)
    lo, hi = fay_feuer(dsr, var, wm)
    assert lo < dsr < hi


def test_direct_equals_crude_when_population_has_the_standard_shape():
    # den_s = c w_s  =>  Σ w_s num_s / (c w_s) = Σ num_s / c = Σ num_s / Σ den_s
    for seed in range(5):
        rng = np.random.default_rng(seed)
        w = rng.dirichlet(np.ones(40))
        den = 1e5 * w
        num = rng.poisson(den * rng.uniform(0.0, 0.3, size=40)).astype(float)
        dsr, _, _ = direct(num, den, w)
        assert dsr == pytest.approx(num.sum() / den.sum(), rel=1e-12)


def test_direct_equal_rates_give_that_rate():
    # Every stratum has rate 0.1: the dsr is 0.1 whatever the population's shape.
    den = np.array([10.0, 400.0, 2500.0])
    dsr, _, _ = direct(0.1 * den, den, [0.2, 0.3, 0.5])
    assert dsr == pytest.approx(0.1, rel=1e-12)


def test_direct_renormalises_over_present_strata():
    # Stratum 2 has nobody: weights (0.25, 0.5, 0.25) become (0.5, -, 0.5) over strata 1 and 3.
    # dsr = 0.5*2/100 + 0.5*6/200 = 0.01 + 0.015 = 0.025
    # var = 0.25*2/100² + 0.25*6/200² = 5e-5 + 3.75e-5 = 8.75e-5
    # wm  = max(0.5/100, 0.5/200) = 0.005 (stratum 2 left out, though its w/den is inf)
    dsr, var, wm = direct([2, 0, 6], [100, 0, 200], [0.25, 0.5, 0.25])
    assert (dsr, var, wm) == pytest.approx((0.025, 8.75e-5, 0.005), rel=1e-12)
    assert all(np.isnan(direct([0, 0], [0, 0], [0.5, 0.5])))


# --------------------------------------------------------------------------- indirect


def test_indirect_by_hand():
    # E = 1000*0.01 + 200*0.05 = 10 + 10 = 20; O = 25 -> ratio 1.25
    # bounds poisson_exact(25)/20 = (16.1787/20, 36.9049/20) = (0.808934, 1.845247)
    # reference crude rate 0.02 -> rate 0.025 (0.016179, 0.036905)
    assert expected_indirect([1000, 200], [0.01, 0.05]) == pytest.approx(20.0)
    r = indirect(25, [1000, 200], [0.01, 0.05], ref_crude=0.02)
    p_lo, p_hi = poisson_exact(25)
    assert set(r) == {"expected", "ratio", "ratio_lo", "ratio_hi", "rate", "rate_lo", "rate_hi"}
    assert r["expected"] == pytest.approx(20.0) and r["ratio"] == pytest.approx(1.25)
    assert (r["ratio_lo"], r["ratio_hi"]) == pytest.approx((p_lo / 20, p_hi / 20), rel=1e-12)
    assert (r["ratio_lo"], r["ratio_hi"]) == pytest.approx((0.808934, 1.845247), abs=1e-6)
    assert (r["rate"], r["rate_lo"], r["rate_hi"]) == pytest.approx(
        (0.025, 0.02 * p_lo / 20, 0.02 * p_hi / 20), rel=1e-12
    )


def test_indirect_empty_cell():
    # A stratum without population adds 0 even when its reference rate is unknown.
    assert expected_indirect([0, 100], [np.nan, 0.1]) == pytest.approx(10.0)
    r = indirect(0, [0, 0], [0.01, 0.05], ref_crude=0.02)
    assert r["expected"] == 0.0
    assert all(np.isnan(r[k]) for k in ("ratio", "ratio_lo", "ratio_hi", "rate"))
