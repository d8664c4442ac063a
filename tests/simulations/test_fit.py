"""Risk models fitted on Spark equal statsmodels on the same rows (statsmodels is a test
dependency only)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from phm.simulations.fit import INTERCEPT, MAX_PATTERNS, Patterns, family, fit, pattern_sums

FACTORS = ["age_65_74", "age_75plus", "female", "bim", "chronic", "pseudopathologies"]


def _rows(seed: int, zeros: float = 0.0) -> pd.DataFrame:
    """Person-years with a cost driven by the factors (log-linear), part-year weights."""
    rng = np.random.default_rng(seed)
    n = 600
    age = rng.choice(3, n, p=[0.6, 0.25, 0.15])
    frame = pd.DataFrame(
        {
            "age_65_74": (age == 1).astype(int),
            "age_75plus": (age == 2).astype(int),
            "female": rng.integers(0, 2, n),
            "bim": (rng.random(n) < 0.2).astype(int),
            "chronic": (rng.random(n) < 0.3).astype(int),
            "pseudopathologies": rng.poisson(0.8, n),
            "insured_fraction": rng.uniform(0.1, 1.0, n),
        }
    )
    eta = (
        6.5
        + 0.4 * frame.age_65_74
        + 0.8 * frame.age_75plus
        + 0.1 * frame.female
        + 0.3 * frame.bim
        + 0.6 * frame.chronic
        + 0.25 * frame.pseudopathologies
    )
    cost = rng.gamma(shape=1.5, scale=np.exp(eta) / 1.5)
    frame["cost"] = np.where(rng.random(n) < zeros, 0.0, cost)
    return frame


def _fit(
    spark,
    frame: pd.DataFrame,
    fam: str = "ols",
    weight: str | None = None,
    factors: list[str] = FACTORS,
    power: float | None = None,
):
    """Sums per risk pattern in one Spark aggregation, then the fit over the patterns."""
    f = family(fam, power)
    sums = pattern_sums(spark.createDataFrame(frame), "cost", factors, f, weight=weight)
    return fit(Patterns.of(sums, factors), (INTERCEPT, *factors), f)


def _design(frame: pd.DataFrame) -> pd.DataFrame:
    return sm.add_constant(frame[FACTORS].astype(float))


def _close(ours: np.ndarray, theirs, rel: float = 1e-6) -> None:
    assert np.asarray(ours) == pytest.approx(np.asarray(theirs, dtype=float), rel=rel)


def test_weighted_ols_equals_statsmodels_wls(spark):
    frame = _rows(1)
    fit = _fit(spark, frame, weight="insured_fraction")
    ref = sm.WLS(frame.cost, _design(frame), weights=frame.insured_fraction).fit()
    assert fit.names == ("intercept", *FACTORS)
    _close(fit.coef, ref.params)
    _close(fit.se, ref.bse)
    assert fit.r2 == pytest.approx(ref.rsquared, rel=1e-6)
    assert fit.scale == pytest.approx(ref.scale, rel=1e-6)
    assert (fit.n, fit.weight_sum) == (600, pytest.approx(frame.insured_fraction.sum()))


def test_unweighted_ols_equals_statsmodels_ols(spark):
    frame = _rows(2)
    fit = _fit(spark, frame)
    ref = sm.OLS(frame.cost, _design(frame)).fit()
    _close(fit.coef, ref.params)
    _close(fit.se, ref.bse)
    assert fit.r2 == pytest.approx(ref.rsquared, rel=1e-6)


def test_gamma_glm_equals_statsmodels(spark):
    frame = _rows(3)
    fit = _fit(spark, frame, "gamma", weight="insured_fraction")
    ref = sm.GLM(
        frame.cost,
        _design(frame),
        family=sm.families.Gamma(sm.families.links.Log()),
        var_weights=frame.insured_fraction,
    ).fit(tol=1e-12)
    _close(fit.coef, ref.params)
    _close(fit.se, ref.bse)
    assert fit.scale == pytest.approx(ref.scale, rel=1e-6)
    assert fit.r2 == pytest.approx(1 - ref.deviance / ref.null_deviance, rel=1e-6)
    # the model recovers the planted effects (600 rows: loosely)
    assert fit.coef[FACTORS.index("chronic") + 1] == pytest.approx(0.6, abs=0.2)


def test_tweedie_glm_with_zero_costs_equals_statsmodels(spark):
    frame = _rows(4, zeros=0.3)
    assert (frame.cost == 0).sum() > 100
    fit = _fit(spark, frame, "tweedie", weight="insured_fraction", power=1.5)
    ref = sm.GLM(
        frame.cost,
        _design(frame),
        family=sm.families.Tweedie(var_power=1.5, link=sm.families.links.Log()),
        var_weights=frame.insured_fraction,
    ).fit(tol=1e-12)
    _close(fit.coef, ref.params)
    _close(fit.se, ref.bse)
    assert fit.r2 == pytest.approx(1 - ref.deviance / ref.null_deviance, rel=1e-6)


def test_predictions_are_spark_expressions_of_the_fit(spark):
    frame = _rows(5)
    df = spark.createDataFrame(frame)
    fit_ = _fit(spark, frame, "gamma")
    ours = np.array([r[0] for r in df.select(fit_.predict()).collect()])
    theirs = np.exp(_design(frame).to_numpy() @ fit_.coef)
    _close(ours, theirs, rel=1e-12)
    _close(fit_.predict_x(_design(frame).to_numpy()), theirs, rel=1e-12)


def test_rows_sharing_a_risk_pattern_are_summed_once(spark):
    frame = _rows(9)
    sums = pattern_sums(spark.createDataFrame(frame), "cost", ["bim", "chronic"], family("ols"))
    assert len(sums) == 4 and sums.n.sum() == 600
    one = sums[(sums.bim == 1) & (sums.chronic == 0)].iloc[0]
    rows = frame[(frame.bim == 1) & (frame.chronic == 0)]
    assert one.n == len(rows)
    assert one.swy == pytest.approx(rows.cost.sum()) and one.min_y == rows.cost.min()
    assert one.swyy == pytest.approx((rows.cost**2).sum())


def test_bad_models_are_refused_with_the_reason(spark):
    frame = _rows(6)
    frame["male"] = 1 - frame.female
    with pytest.raises(ValueError, match="collinear factors .*female.*male"):
        _fit(spark, frame, factors=[*FACTORS, "male"])
    with pytest.raises(ValueError, match="no column nursing_home"):
        _fit(spark, frame, factors=["nursing_home"])
    with pytest.raises(ValueError, match="must be positive"):
        _fit(spark, _rows(7, zeros=0.2), "gamma")
    with pytest.raises(ValueError, match="variance power"):
        family("tweedie", 2.5)


def test_a_continuous_factor_is_refused_not_collected(spark, monkeypatch):
    monkeypatch.setattr("phm.simulations.fit.MAX_PATTERNS", 100)
    with pytest.raises(ValueError, match="more than 100 distinct risk patterns.*band"):
        _fit(spark, _rows(10), factors=["insured_fraction"])
    assert MAX_PATTERNS >= 10_000  # a national model has a few thousand patterns


def test_a_tiny_reference_population_is_refused(spark):
    frame = _rows(8).head(len(FACTORS))  # 6 rows for 7 coefficients
    with pytest.raises(ValueError, match="6 reference rows for 7 coefficients"):
        _fit(spark, frame)
    with pytest.raises(ValueError, match="6 reference rows for 7 coefficients"):
        _fit(spark, frame, "gamma")
