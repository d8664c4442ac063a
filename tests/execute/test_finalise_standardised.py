"""Standardised values, their intervals and the rounding of published figures, on hand-made
cells (pure pandas, no Spark). Expected figures are recomputed here by the documented formulas
(docs/specs.md, "Presentation rules"), not by the production functions."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from phm.disclosure import EXACT, PTable, cell_key
from phm.execute.finalise import Settings, finalise_group
from phm.spec.models import Disclosure
from scipy import stats

PROPORTION = Settings(
    version=1,
    spec_hash="h",
    kind="proportion",
    per=100,
    decimals=1,
    ci="wilson",
    level=0.95,
    method="direct",
    disclosure=Disclosure(),
    dims=(),
)
Z = stats.norm.ppf(0.975)


def half_away(x: float, d: int) -> float:
    """The publication rule, written out: sign(x) floor(|x| 10^d + 0.5) / 10^d."""
    return math.copysign(math.floor(abs(x) * 10**d + 0.5), x) / 10**d


def wilson(k: float, n: float) -> tuple[float, float]:
    centre = (k + Z * Z / 2) / (n + Z * Z)
    half = Z / (n + Z * Z) * math.sqrt(k * (n - k) / n + Z * Z / 4)
    return centre - half, centre + half


def cell(num, den, dsr, var_binomial=np.nan, var_mean=np.nan, var_poisson=np.nan, w_max=np.nan):
    out = pd.DataFrame(
        {
            "indicator_id": ["t"],
            "period": [2023],
            "geo_level": ["municipality"],
            "geo_code": ["11002"],
            "breakdown_key": [""],
            "num": [float(num)],
            "den": [float(den)],
            "npers": [float(num)],
            "dpers": [float(den)],
            "nkey": [12_345.0],
            "dkey": [67_890.0],
            "sq": [float(num)],
            "dsr": [dsr],
            "dsr_var_poisson": [var_poisson],
            "dsr_var_mean": [var_mean],
            "dsr_var_binomial": [var_binomial],
            "dsr_w_max": [w_max],
            "expected": [np.nan],
            "expected_risk": [np.nan],
            "var_risk": [np.nan],
        }
    )
    return out


def test_direct_proportion_gets_the_wilson_interval_with_effective_n():
    # weights (0.5, 0.5); strata 20 of 100 and 60 of 100: dsr = 0.4,
    # var = 0.25*0.2*0.8/100 + 0.25*0.6*0.4/100 = 0.001, n_eff = 0.24/0.001 = 240,
    # k_eff = 96: centre = (96 + 1.920729)/243.841459 = 0.401576,
    # half = 1.959964/243.841459 * sqrt(96*144/240 + 0.960365) = 0.061509 -> 34.0 to 46.3
    out = finalise_group(
        cell(80, 200, 0.4, var_binomial=0.001, var_poisson=0.002, w_max=0.005), PROPORTION, EXACT
    ).iloc[0]
    lo, hi = wilson(96, 240)
    assert (lo, hi) == pytest.approx((0.340066, 0.463085), abs=1e-6)
    assert out.value_standardised == 40.0
    assert (out.std_ci_low, out.std_ci_high) == (half_away(100 * lo, 1), half_away(100 * hi, 1))
    assert (out.std_ci_low, out.std_ci_high) == (34.0, 46.3)


def test_high_share_keeps_an_upper_bound_below_100():
    # 0.95 standardised over 300 persons, var 0.95*0.05/300: n_eff = 300 -> wilson(285, 300);
    # the gamma interval with the 0-to-1 clip published 100.0 here
    var = 0.95 * 0.05 / 300
    out = finalise_group(
        cell(285, 300, 0.95, var_binomial=var, var_poisson=0.95 / 300, w_max=1 / 300),
        PROPORTION,
        EXACT,
    ).iloc[0]
    lo, hi = wilson(285, 300)
    assert (out.std_ci_low, out.std_ci_high) == (half_away(100 * lo, 1), half_away(100 * hi, 1))
    assert out.std_ci_high < 100.0


def test_all_or_nothing_uses_the_crude_denominator():
    # dsr = 1: n_eff = 0/0, so n = 50 (the cell's denominator): wilson(50, 50) = (0.928652, 1)
    out = finalise_group(cell(50, 50, 1.0, var_binomial=0.0), PROPORTION, EXACT).iloc[0]
    lo = 50 / (50 + Z * Z)
    assert (out.std_ci_low, out.std_ci_high) == (half_away(100 * lo, 1), 100.0)


def test_direct_rates_keep_the_gamma_interval():
    rate = Settings(**{**PROPORTION.__dict__, "kind": "rate", "ci": "poisson", "per": 1000})
    # one stratum, 10 events over 1000: Fay-Feuer = exact Poisson / 1000 = 4.795 to 18.390
    out = finalise_group(
        cell(10, 1000, 0.01, var_binomial=0.0099 / 1000, var_poisson=1e-5, w_max=1e-3), rate, EXACT
    ).iloc[0]
    lo, hi = stats.chi2.ppf(0.025, 20) / 2, stats.chi2.ppf(0.975, 22) / 2
    assert (out.std_ci_low, out.std_ci_high) == (half_away(lo, 1), half_away(hi, 1))


def test_published_figures_round_half_away_from_zero():
    # 5/80 = 6.25%: 6.3 (numpy's half to even would give 6.2); 10/80 at 0 decimals 12.5 -> 13
    crude = Settings(**{**PROPORTION.__dict__, "method": "none"})
    assert finalise_group(cell(5, 80, np.nan), crude, EXACT).iloc[0].value == 6.3
    zero = Settings(**{**crude.__dict__, "decimals": 0})
    assert finalise_group(cell(10, 80, np.nan), zero, EXACT).iloc[0].value == 13.0


def test_a_perturbed_standardised_share_stays_at_most_100():
    # 90 of 100 with a standardised 0.98; the numerator's noise is +4 (key found by search),
    # the denominator's 0: crude 94/100, f = 0.94/0.90, 0.98 f = 1.0236 -> capped at 1
    table = PTable()
    frame = cell(90, 100, 0.98, var_binomial=0.98 * 0.02 / 100)
    frame["nkey"], frame["dkey"] = 974_037.0, 395_950.0
    assert table.noise(np.array([90]), cell_key(frame.nkey))[0] == 4
    assert table.noise(np.array([100]), cell_key(frame.dkey))[0] == 0
    out = finalise_group(frame, PROPORTION, table).iloc[0]
    assert (out.numerator, out.denominator) == (94, 100)
    # p = 1: n_eff falls back on the denominator, 100 -> wilson(100, 100)
    lo = 100 / (100 + Z * Z)
    assert (out.value_standardised, out.std_ci_low, out.std_ci_high) == (
        100.0,
        half_away(100 * lo, 1),
        100.0,
    )


def test_a_standardised_share_of_one_gets_the_same_bounds_whatever_the_last_bits():
    """Spark's sums differ in their last bits from one plan to another: a share of exactly
    10 out of 10 came out as 1 + 2^-52 or 1 - 2^-53 (with a variance of 1e-20 or 0), and its
    lower bound was published as 72.2 in one run and 0.0 in the next."""
    lo, _ = wilson(10, 10)  # p = 1: the crude n is used, 0.7224672 -> 72.2
    bounds = set()
    for dsr in (1.0, np.nextafter(1.0, 2.0), np.nextafter(1.0, 0.0)):
        for var in (0.0, 1e-20):
            row = finalise_group(
                cell(10, 10, dsr, var_binomial=var, var_poisson=0.1, w_max=0.1), PROPORTION, EXACT
            ).iloc[0]
            assert row.value_standardised == 100.0, (dsr, var)
            bounds.add((row.std_ci_low, row.std_ci_high))
    assert bounds == {(half_away(lo * 100, 1), 100.0)} == {(72.2, 100.0)}
