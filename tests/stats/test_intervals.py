"""Confidence intervals against hand computations and published values (no Spark)."""

from __future__ import annotations

import doctest

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from phm.stats import intervals
from phm.stats.intervals import (
    clopper_pearson,
    fay_feuer,
    mean_normal,
    poisson_exact,
    rate,
    ratio_poisson,
    wilson,
    wilson_effective,
)


def test_doctests():
    assert doctest.testmod(intervals).failed == 0


# --------------------------------------------------------------------------- Wilson


def test_wilson_newcombe_example():
    # Newcombe (1998) Stat Med 17:857, Table II, 81/263, method 3 (score): 0.2553 to 0.3662.
    lo, hi = wilson(81, 263)
    assert (round(float(lo), 4), round(float(hi), 4)) == (0.2553, 0.3662)


def test_wilson_by_hand():
    # k=5, n=10: z² = 3.841459
    # centre = (5 + z²/2) / (10 + z²) = 0.5 exactly (symmetric)
    # half = z / (10 + z²) * sqrt(5*5/10 + z²/4) = 1.959964/13.841459 * sqrt(3.460365)
    #      = 0.141601 * 1.860206 = 0.263407  ->  (0.236593, 0.763407)
    lo, hi = wilson(5, 10)
    assert lo == pytest.approx(0.236593, abs=1e-6)
    assert hi == pytest.approx(0.763407, abs=1e-6)


def test_wilson_edges():
    # k=0: lo = 0 exactly, hi = z²/(n + z²) = 3.841459/13.841459 = 0.277533
    lo, hi = wilson(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.277533, abs=1e-6)
    # k=n mirrors it
    lo, hi = wilson(10, 10)
    assert hi == 1.0 and lo == pytest.approx(1 - 0.277533, abs=1e-6)
    lo, hi = wilson([0, 3, -1, 5], [0, 2, 4, 4])  # n=0, k>n, k<0, k>n: all undefined
    assert np.isnan(lo).all() and np.isnan(hi).all()


def test_wilson_vectorised_matches_scipy():
    k = np.array([0, 1, 7, 50, 99, 100])
    n = np.array([100, 100, 30, 100, 100, 100])
    lo, hi = wilson(k, n)
    assert lo.shape == (6,) and lo.dtype == float
    for i in range(6):
        ci = stats.binomtest(int(k[i]), int(n[i])).proportion_ci(0.95, method="wilson")
        assert lo[i] == pytest.approx(ci.low, abs=1e-12)
        assert hi[i] == pytest.approx(ci.high, abs=1e-12)


def test_level_is_checked():
    with pytest.raises(ValueError):
        wilson(1, 2, level=95)


# --------------------------------------------------------------------------- Clopper-Pearson


def test_clopper_pearson_zero_and_all():
    # k=0: P(X=0) = (1-p)^10 = 0.025  ->  hi = 1 - 0.025^(1/10) = 1 - 0.691503 = 0.308497
    lo, hi = clopper_pearson(0, 10)
    assert lo == 0.0 and hi == pytest.approx(1 - 0.025**0.1, abs=1e-12)
    assert round(float(hi), 4) == 0.3085
    # k=n: P(X=10) = p^10 = 0.025  ->  lo = 0.025^(1/10) = 0.691503
    lo, hi = clopper_pearson(10, 10)
    assert hi == 1.0 and lo == pytest.approx(0.025**0.1, abs=1e-12)


def test_clopper_pearson_newcombe_example():
    # Newcombe (1998) Table II, 81/263, method 5 (exact): 0.2527 to 0.3676.
    lo, hi = clopper_pearson(81, 263)
    assert (round(float(lo), 4), round(float(hi), 4)) == (0.2527, 0.3676)
    ci = stats.binomtest(81, 263).proportion_ci(0.95, method="exact")
    assert (lo, hi) == pytest.approx((ci.low, ci.high), abs=1e-10)


def test_clopper_pearson_undefined():
    lo, hi = clopper_pearson(np.array([0, 2]), np.array([0, 1]))
    assert np.isnan(lo).all() and np.isnan(hi).all()


# --------------------------------------------------------------------------- Poisson


@pytest.mark.parametrize(
    ("o", "lo", "hi"),
    [
        # Standard tables (e.g. Ulm 1990; Breslow & Day 1987 Appendix II):
        (0, 0.0, 3.689),  # hi = chi2(0.975, 2)/2 = -ln(0.025) = 3.6889
        (1, 0.0253, 5.572),
        (10, 4.795, 18.390),
    ],
)
def test_poisson_exact_tables(o, lo, hi):
    got_lo, got_hi = poisson_exact(o)
    assert got_lo == pytest.approx(lo, abs=5e-4)
    assert got_hi == pytest.approx(hi, abs=5e-4)


def test_poisson_exact_zero_is_closed_form():
    # o=0: P(X=0) = exp(-mu) = 0.025  ->  hi = -ln 0.025
    assert poisson_exact(0)[1] == pytest.approx(-np.log(0.025), abs=1e-12)


def test_poisson_exact_vectorised_and_nan():
    lo, hi = poisson_exact(pd.Series([0, 1, 10, -1, None], dtype="Int64"))
    assert lo.shape == (5,)
    assert np.isnan(lo[3:]).all() and np.isnan(hi[3:]).all()
    assert lo[0] == 0.0 and hi[2] == pytest.approx(18.390, abs=5e-4)


# --------------------------------------------------------------------------- rate


def test_rate_scales_poisson_bounds():
    # 10 events over 2000 person-years per 1000: 5.0 (4.795/2, 18.390/2) = (2.398, 9.195)
    value, lo, hi = rate(10, 2000, per=1000)
    assert value == pytest.approx(5.0)
    assert lo == pytest.approx(2.3977, abs=1e-4)
    assert hi == pytest.approx(9.1952, abs=1e-4)
    value, lo, hi = rate([1, 1], [0, 10])
    assert np.isnan([value[0], lo[0], hi[0]]).all()
    assert value[1] == pytest.approx(0.1)


# --------------------------------------------------------------------------- mean


def test_mean_normal_matches_raw_values():
    x = np.array([2.1, 3.4, 1.9, 5.6, 4.0, 0.0, 7.25])
    mean, lo, hi = mean_normal(x.sum(), (x * x).sum(), len(x))
    ref_lo, ref_hi = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    assert mean == pytest.approx(x.mean())
    assert (lo, hi) == pytest.approx((ref_lo, ref_hi), rel=1e-12)


def test_mean_normal_by_hand_and_small_n():
    # 1, 2, 3, 4: sum 10, sum of squares 30, mean 2.5, s² = (30 - 100/4)/3 = 5/3,
    # se = sqrt(5/3/4) = 0.645497, t(0.975, 3) = 3.182446 -> half = 2.054260
    mean, lo, hi = mean_normal(10.0, 30.0, 4)
    assert (mean, lo, hi) == pytest.approx((2.5, 0.445740, 4.554260), abs=1e-6)
    mean, lo, hi = mean_normal([5.0, 0.0], [25.0, 0.0], [1, 0])
    assert mean[0] == 5.0 and np.isnan(lo[0]) and np.isnan(hi[0])
    assert np.isnan([mean[1], lo[1], hi[1]]).all()
    # Constant values: a rounding-negative variance is clipped, giving a zero-width interval.
    mean, lo, hi = mean_normal(3 * 0.1, 3 * 0.1**2, 3)
    assert lo == pytest.approx(0.1) and hi == pytest.approx(0.1)


# --------------------------------------------------------------------------- Fay-Feuer


def test_fay_feuer_two_strata_by_hand():
    # weights w = (0.6, 0.4); stratum 1: 3 events / 1000, stratum 2: 20 / 500
    # dsr = 0.6*3/1000 + 0.4*20/500 = 0.0018 + 0.016 = 0.0178
    # var = 0.36*3/1000² + 0.16*20/500² = 1.08e-6 + 1.28e-5 = 1.388e-5
    # wm  = max(0.6/1000, 0.4/500) = max(6e-4, 8e-4) = 8e-4
    # lo  = v/(2y) * chi2(0.025; 2y²/v) = 3.898876e-4 * chi2(0.025; 45.654179)
    # hi  = (v+wm²)/(2(y+wm)) * chi2(0.975; 2(y+wm)²/(v+wm²))
    #     = (1.452e-5 / 0.0372) * chi2(0.975; 6.9192e-4/1.452e-5)
    #     = 3.903226e-4 * chi2(0.975; 47.652893)
    lo, hi = fay_feuer(0.0178, 1.388e-5, 8e-4)
    assert lo == pytest.approx(3.898876e-4 * stats.chi2.ppf(0.025, 45.654179), rel=1e-6)
    assert hi == pytest.approx(3.903226e-4 * stats.chi2.ppf(0.975, 47.652893), rel=1e-6)
    assert (lo, hi) == pytest.approx((0.011262, 0.026778), abs=1e-6)
    assert lo < 0.0178 < hi


def test_fay_feuer_one_stratum_is_exact_poisson():
    # w = 1, 10 events / 1000: y = 0.01, v = 1e-5, wm = 1e-3
    # shape y²/v = 10, scale v/y = 1e-3; upper shape (0.011)²/1.1e-5 = 11, scale 1e-3
    lo, hi = fay_feuer(0.01, 1e-5, 1e-3)
    p_lo, p_hi = poisson_exact(10)
    assert (lo, hi) == pytest.approx((p_lo / 1000, p_hi / 1000), rel=1e-10)
    # y = 0 (no event): lo = 0, hi = wm * 3.689 (the Poisson bound for 0 events)
    lo, hi = fay_feuer(0.0, 0.0, 1e-3)
    assert lo == 0.0 and hi == pytest.approx(poisson_exact(0)[1] / 1000)


def test_fay_feuer_contains_dsr_and_undefined():
    rng = np.random.default_rng(7)
    for _ in range(20):
        w = rng.dirichlet(np.ones(6))
        den = rng.integers(50, 5000, size=6).astype(float)
        num = rng.poisson(den * rng.uniform(0.001, 0.2, size=6)).astype(float)
        y, v, wm = (w * num / den).sum(), (w * w * num / den**2).sum(), (w / den).max()
        lo, hi = fay_feuer(y, v, wm)
        assert lo <= y <= hi
    lo, hi = fay_feuer([np.nan, 0.01, 0.01], [1e-5, -1.0, 1e-5], [1e-3, 1e-3, 0.0])
    assert np.isnan(lo).all() and np.isnan(hi).all()


# --------------------------------------------------------------------------- Wilson, n_eff


def test_wilson_effective_two_strata_by_hand():
    # weights (0.5, 0.5); stratum 1: 2 of 10 (p1 = 0.2), stratum 2: 6 of 10 (p2 = 0.6)
    # p   = 0.5*0.2 + 0.5*0.6 = 0.4
    # var = 0.25*0.2*0.8/10 + 0.25*0.6*0.4/10 = 0.004 + 0.006 = 0.01
    # n_eff = 0.4*0.6/0.01 = 24, k_eff = 9.6; z² = 3.841459
    # centre = (9.6 + 1.920729) / 27.841459 = 0.413798
    # half   = 1.959964 / 27.841459 * sqrt(9.6*14.4/24 + 0.960365) = 0.070397 * 2.592367
    #        = 0.182496  ->  (0.231302, 0.596293)
    w, k, n = np.array([0.5, 0.5]), np.array([2, 6]), np.array([10, 10])
    p = (w * k / n).sum()
    var = (w**2 * (k / n) * (1 - k / n) / n).sum()
    assert (p, var) == pytest.approx((0.4, 0.01))
    lo, hi = wilson_effective(p, var, n.sum())
    assert (lo, hi) == pytest.approx((0.231302, 0.596293), abs=1e-6)


def test_wilson_effective_unequal_weights_by_hand():
    # weights (0.8, 0.2); stratum 1: 90 of 100, stratum 2: 10 of 20
    # p = 0.8*0.9 + 0.2*0.5 = 0.82; var = 0.64*0.09/100 + 0.04*0.25/20 = 5.76e-4 + 5e-4
    # = 1.076e-3; n_eff = 0.82*0.18/1.076e-3 = 137.174721, k_eff = 0.82*n_eff = 112.483271
    # centre = (112.483271 + 1.920729) / 141.016180 = 0.811282
    # half   = 1.959964 / 141.016180 * sqrt(112.483271*0.18 + 0.960365) = 0.013899 * 4.605099
    #        = 0.064006  ->  (0.747277, 0.875289)   [the crude 100/120 would give n = 120]
    z2 = stats.norm.ppf(0.975) ** 2
    n_eff = 0.82 * 0.18 / 1.076e-3
    centre = (0.82 * n_eff + z2 / 2) / (n_eff + z2)
    half = np.sqrt(z2) / (n_eff + z2) * np.sqrt(0.82 * 0.18 * n_eff + z2 / 4)
    lo, hi = wilson_effective(0.82, 1.076e-3, 120)
    assert (lo, hi) == pytest.approx((centre - half, centre + half), rel=1e-12)
    assert (lo, hi) == pytest.approx((0.747277, 0.875289), abs=1e-6)


@pytest.mark.parametrize("n", [1, 2, 7, 30, 263, 10_000])
def test_wilson_effective_one_stratum_is_crude_wilson(n):
    # one stratum: p = k/n, var = p(1-p)/n, so n_eff = n and the interval is wilson(k, n)
    k = np.arange(n + 1, dtype=float)
    p = k / n
    lo, hi = wilson_effective(p, p * (1 - p) / n, n)
    c_lo, c_hi = wilson(k, n)
    assert np.allclose(lo, c_lo, rtol=0, atol=1e-12) and np.allclose(hi, c_hi, rtol=0, atol=1e-12)
    assert lo[0] == 0.0 and hi[-1] == 1.0


def test_wilson_effective_undefined_n_eff_uses_the_crude_n():
    # p = 0 or 1: n_eff = p(1-p)/var is 0/0; the crude n is used: wilson(0, n), wilson(n, n)
    lo, hi = wilson_effective([0.0, 1.0], [0.0, 0.0], [10, 10])
    assert lo[0] == 0.0 and hi[0] == pytest.approx(0.277533, abs=1e-6)
    assert hi[1] == 1.0 and lo[1] == pytest.approx(1 - 0.277533, abs=1e-6)
    # 0 < p < 1 with a zero variance (every stratum all or nothing): the crude n again
    assert wilson_effective(0.5, 0.0, 10) == pytest.approx(wilson(5, 10))
    lo, hi = wilson_effective(
        [np.nan, 1.2, -0.1, 0.3, 0.0], [0.01, 0.01, 0.01, -1.0, 0.0], [10, 10, 10, 10, 0]
    )
    assert np.isnan(lo).all() and np.isnan(hi).all()


def test_wilson_effective_stays_in_the_unit_interval_where_the_gamma_one_does_not():
    # 5 strata, 88% to 97% with a GP contact, 40 to 200 persons: the old gamma interval
    # (meant for rates) passes 100%; the Wilson interval cannot, and contains p
    rng = np.random.default_rng(11)
    for _ in range(50):
        w = rng.dirichlet(np.ones(5))
        den = rng.integers(40, 200, size=5).astype(float)
        num = np.minimum(den, rng.binomial(den.astype(int), rng.uniform(0.88, 0.97, 5)))
        p = (w * num / den).sum()
        var = (w**2 * (num / den) * (1 - num / den) / den).sum()
        lo, hi = wilson_effective(p, var, den.sum())
        assert 0.0 <= lo <= p <= hi < 1.0
    _, gamma_hi = fay_feuer(0.95, 0.95 / 500, 1 / 500)
    assert gamma_hi > 1.0


# --------------------------------------------------------------------------- ratio


def test_ratio_poisson():
    # O = 25, E = 20: 1.25; poisson_exact(25) = (16.1787, 36.9049) -> /20 = (0.80893, 1.84525)
    value, lo, hi = ratio_poisson(25, 20)
    assert value == 1.25
    assert (lo, hi) == pytest.approx((0.808934, 1.845247), abs=1e-6)
    value, lo, hi = ratio_poisson([3, 0], [0, 2.5])
    assert np.isnan([value[0], lo[0], hi[0]]).all()
    assert (value[1], lo[1]) == (0.0, 0.0) and hi[1] == pytest.approx(3.688879 / 2.5, abs=1e-6)
