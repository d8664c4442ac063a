"""Grouped binomial logistic regression against hand computations (no Spark)."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, special

from phm.stats import risk_model
from phm.stats.risk_model import DesignSpec, design, encode, fit_logistic


def test_doctests():
    assert doctest.testmod(risk_model).failed == 0


def _random_patterns(seed: int, k: int = 240) -> pd.DataFrame:
    """Three factors (numeric age band, 4-level ward with nulls, bool flag), true model known."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "age": rng.integers(4, 19, k) * 5,
            "ward": rng.choice(["med", "surg", "icu", "geri", None], k),
            "frail": rng.choice([True, False], k),
            "n": rng.integers(1, 60, k),
        }
    )
    eta = (
        -3.0
        + 0.02 * df["age"]
        + df["frail"] * 0.7
        + df["ward"].map({"surg": -0.4, "icu": 0.9}).fillna(0.0)
    )
    df["y"] = rng.binomial(df["n"], special.expit(eta))
    return df


# --------------------------------------------------------------------------- design / encode


def test_design_by_hand():
    df = pd.DataFrame(
        {
            "sex": ["M", "F", None, "F"],
            "age": [70.0, np.nan, 90.0, 60.0],
            "dm": [True, False, True, False],
            "band": [2, 1, 3, 1],
        }
    )
    X, spec = design(df, ["sex", "age", "dm", "band"], categorical=["band"])
    # sex: levels F < M < unknown, F is the reference; band: '1' < '2' < '3', '1' reference
    assert spec.columns == ("intercept", "sex=M", "sex=unknown", "age", "dm", "band=2", "band=3")
    assert dict(spec.levels) == {"sex": ("F", "M", "unknown"), "band": ("1", "2", "3")}
    assert spec.factors == ("sex", "age", "dm", "band")
    assert X.tolist() == [
        [1, 1, 0, 70, 1, 1, 0],
        [1, 0, 0, 0, 0, 0, 0],  # missing age -> 0
        [1, 0, 1, 90, 1, 0, 1],  # missing sex -> its own level
        [1, 0, 0, 60, 0, 0, 0],
    ]
    assert X.dtype == float


def test_levels_do_not_depend_on_row_order():
    df = _random_patterns(0)
    X1, spec1 = design(df, ["age", "ward", "frail"], [])
    shuffled = df.sample(frac=1.0, random_state=3)
    X2, spec2 = design(shuffled, ["age", "ward", "frail"], [])
    assert spec1 == spec2
    np.testing.assert_array_equal(X1[shuffled.index.to_numpy()], X2)


def test_encode_new_rows_unseen_level_is_reference():
    fit_rows = pd.DataFrame({"ward": ["med", "icu", "surg"], "frail": [True, False, True]})
    _, spec = design(fit_rows, ["ward", "frail"], [])
    assert spec.columns == ("intercept", "ward=med", "ward=surg", "frail")
    new = pd.DataFrame({"ward": ["surg", "burns", None, "icu"], "frail": [False, True, None, True]})
    # 'burns' was never seen and None ('unknown') neither: both all-zero = reference 'icu'
    assert encode(new, spec).tolist() == [
        [1, 0, 1, 0],
        [1, 0, 0, 1],
        [1, 0, 0, 0],
        [1, 0, 0, 1],
    ]


def test_spark_like_columns():
    # Spark's toPandas: a nullable boolean is an object column of True/False/None (not a
    # category); a nullable int becomes float, whose 2.0 must match the level '2' of an int.
    df = pd.DataFrame(
        {"flag": pd.Series([True, None, False], dtype=object), "grp": [1.0, 2.0, np.nan]}
    )
    X, spec = design(df, ["flag", "grp"], categorical=["grp"])
    assert spec.columns == ("intercept", "flag", "grp=2", "grp=unknown")
    assert X.tolist() == [[1, 1, 0, 0], [1, 0, 1, 0], [1, 0, 0, 1]]
    ints = pd.DataFrame({"flag": [False], "grp": [2]})
    assert encode(ints, spec).tolist() == [[1, 0, 1, 0]]


def test_design_errors():
    df = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    with pytest.raises(ValueError, match="lack the factor columns"):
        design(df, ["a", "c"], [])
    with pytest.raises(ValueError, match="not among the factors"):
        design(df, ["a"], ["b"])
    with pytest.raises(ValueError, match="duplicate"):
        design(df, ["a", "a"], [])
    _, spec = design(df, ["a"], [])
    with pytest.raises(ValueError, match="not numeric"):
        encode(pd.DataFrame({"a": ["old", "young"]}), spec)


def test_spec_is_read_only():
    spec = DesignSpec(factors=("g",), levels={"g": ["a", "b"]}, columns=("intercept", "g=b"))
    assert spec.levels["g"] == ("a", "b")
    with pytest.raises(TypeError):
        spec.levels["g"] = ("z",)  # type: ignore[index]


# --------------------------------------------------------------------------- fit, by hand


def test_single_binary_factor_by_hand():
    # a: 2/10, b: 6/10. A saturated model reproduces the proportions:
    # intercept = logit(0.2) = log(0.25) = -1.386294, g=b = logit(0.6) - logit(0.2)
    # = log(1.5) - log(0.25) = log(6) = 1.791759.
    # Var(intercept) = 1/(10*0.2*0.8) = 0.625 -> se 0.790569;
    # Var(g=b) = 0.625 + 1/(10*0.6*0.4) = 0.625 + 0.416667 = 1.041667 -> se 1.020621.
    df = pd.DataFrame({"g": ["b", "a"], "n": [10, 10], "y": [6, 2]})
    m = fit_logistic(df, ["g"], [])
    assert m.converged and 1 <= m.iterations < 20
    assert m.spec.columns == ("intercept", "g=b")
    assert m.coef == pytest.approx([-1.386294, 1.791759], abs=1e-6)
    assert m.se == pytest.approx([0.790569, 1.020621], abs=1e-6)
    assert m.predict(df) == pytest.approx([0.6, 0.2], abs=1e-8)
    assert m.deviance == pytest.approx(0.0, abs=1e-8)


def test_intercept_only_gives_overall_proportion():
    # 20 / 100 = 0.2; intercept = log(0.25) = -1.386294, se = 1/sqrt(100*0.2*0.8) = 0.25.
    # Deviance = 2 Σ [y log(y/np) + (n-y) log((n-y)/nq)] with p = 0.2:
    #   (10, 2):  0 + 0
    #   (30, 9):  9 log(9/6) + 21 log(21/24) = 3.649186 - 2.804159
    #   (60, 9):  9 log(9/12) + 51 log(51/48) = -2.589139 + 3.091856
    #   -> 2 * 1.347744 = 2.695488
    df = pd.DataFrame({"n": [10, 30, 60], "y": [2, 9, 9]})
    m = fit_logistic(df, [], [])
    assert m.spec.columns == ("intercept",)
    assert m.coef == pytest.approx([math.log(0.25)], abs=1e-9)
    assert m.se == pytest.approx([0.25], abs=1e-9)
    assert m.deviance == pytest.approx(2.695488, abs=1e-6)
    assert m.predict(df) == pytest.approx([0.2, 0.2, 0.2], abs=1e-9)


def test_each_level_gets_its_observed_proportion():
    # Several patterns per level: the fitted probability of a level is Σy/Σn over its rows.
    df = pd.DataFrame(
        {
            "g": ["x", "y", "z", "x", "y", "z", "x"],
            "n": [10, 40, 5, 30, 60, 15, 60],
            "y": [1, 10, 4, 5, 20, 8, 6],
        }
    )
    # x: 12/100 = 0.12, y: 30/100 = 0.30, z: 12/20 = 0.60
    m = fit_logistic(df, ["g"], [])
    p = m.predict(pd.DataFrame({"g": ["x", "y", "z"]}))
    assert p == pytest.approx([0.12, 0.30, 0.60], abs=1e-7)
    assert m.coef[1] == pytest.approx(math.log(0.3 / 0.7) - math.log(0.12 / 0.88), abs=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_three_factors_sum_property_and_score_equations(seed):
    df = _random_patterns(seed)
    m = fit_logistic(df, ["age", "ward", "frail"], [])
    assert m.converged
    p = m.predict(df)
    n, y = df["n"].to_numpy(float), df["y"].to_numpy(float)
    # Σ n p̂ == Σ y (the intercept's score equation): O/E of the whole data is exactly 1.
    assert (n * p).sum() == pytest.approx(y.sum(), rel=1e-6)
    # Every other score equation too: X'(y - n p̂) = 0, so per ward the expected = observed.
    X, _ = design(df, ["age", "ward", "frail"], [])
    assert np.abs(X.T @ (y - n * p)).max() < 1e-5 * y.sum()
    ward = df["ward"].fillna("-").to_numpy()
    for w in np.unique(ward):
        sel = ward == w
        assert (n[sel] * p[sel]).sum() == pytest.approx(y[sel].sum(), rel=1e-6), w


def test_matches_a_generic_optimiser():
    # An independent fit: BFGS on the binomial negative log-likelihood of the same design.
    df = _random_patterns(7)
    m = fit_logistic(df, ["age", "ward", "frail"], [])
    X, _ = design(df, ["age", "ward", "frail"], [])
    n, y = df["n"].to_numpy(float), df["y"].to_numpy(float)
    scale = np.where(X.max(axis=0) > 1, 100.0, 1.0)  # age in centuries: a better conditioned BFGS

    def nll(b):
        eta = (X / scale) @ b
        return np.sum(n * np.logaddexp(0.0, eta) - y * eta)

    def grad(b):
        return (X / scale).T @ (n * special.expit((X / scale) @ b) - y)

    res = optimize.minimize(
        nll,
        np.zeros(X.shape[1]),
        jac=grad,
        method="BFGS",
        options={"gtol": 1e-10, "maxiter": 10_000},
    )
    assert m.coef == pytest.approx(res.x / scale, abs=1e-5)
    # and the true model is recovered roughly (age 0.02 per year, frail 0.7)
    assert m.coef[m.spec.columns.index("age")] == pytest.approx(0.02, abs=0.01)


def test_grouping_loses_nothing():
    # The same data as one row per stay (n = 1) gives the same coefficients and SEs.
    df = _random_patterns(4, k=30)
    stays = df.loc[df.index.repeat(df["n"])].copy()
    stays["rank"] = stays.groupby(level=0).cumcount()
    stays["y"] = (stays["rank"] < stays["y"]).astype(int)
    stays["n"] = 1
    grouped = fit_logistic(df, ["age", "ward", "frail"], [])
    ungrouped = fit_logistic(stays, ["age", "ward", "frail"], [])
    assert len(stays) == df["n"].sum() and stays["y"].sum() == df["y"].sum()
    assert grouped.coef == pytest.approx(ungrouped.coef, abs=1e-7)
    assert grouped.se == pytest.approx(ungrouped.se, rel=1e-6)


def test_row_order_does_not_change_the_fit():
    df = _random_patterns(5)
    a = fit_logistic(df, ["age", "ward", "frail"], [])
    b = fit_logistic(df.sample(frac=1.0, random_state=1), ["age", "ward", "frail"], [])
    assert a.spec == b.spec
    assert a.coef == pytest.approx(b.coef, abs=1e-9)


# --------------------------------------------------------------------------- hard cases


def test_separation_converges_with_tiny_probability():
    # Level 'zero' has no event at all: the unpenalised MLE is -inf; the ridge stops it.
    df = _random_patterns(11)
    df["ward"] = df["ward"].fillna("zero")
    df.loc[df["ward"] == "zero", "y"] = 0
    m = fit_logistic(df, ["age", "ward", "frail"], [])
    assert m.converged and m.iterations < 50
    p = m.predict(df)
    assert p[(df["ward"] == "zero").to_numpy()].max() < 1e-3
    assert m.coef[m.spec.columns.index("ward=zero")] < -10
    n, y = df["n"].to_numpy(float), df["y"].to_numpy(float)
    assert (n * p).sum() == pytest.approx(y.sum(), rel=1e-4)
    assert np.isfinite(m.coef).all() and np.isfinite(m.se).all()


def test_separation_single_factor_others_keep_their_proportion():
    # a: 0/50, b: 5/50 (0.1), c: 50/50 (1.0): a and c are separated in opposite directions.
    df = pd.DataFrame({"g": ["a", "b", "c"], "n": [50, 50, 50], "y": [0, 5, 50]})
    m = fit_logistic(df, ["g"], [])
    assert m.converged
    p = m.predict(df)
    assert p[0] < 1e-3 and p[2] > 1 - 1e-3
    assert p[1] == pytest.approx(0.1, abs=1e-6)
    assert (50 * p).sum() == pytest.approx(55.0, rel=1e-6)


def test_absent_level_and_collinear_columns_are_dropped():
    df = pd.DataFrame(
        {
            "g": ["a", "b", "a", "b", "gone"],
            "x": [1.0, 2.0, 3.0, 4.0, 5.0],
            "x2": [2.0, 4.0, 6.0, 8.0, 10.0],  # 2x: collinear with x
            "k": [7.0, 7.0, 7.0, 7.0, 7.0],  # constant: collinear with the intercept
            "n": [20, 20, 20, 20, 0],  # 'gone' only has a pattern without trials
            "y": [3, 8, 5, 12, 0],
        }
    )
    m = fit_logistic(df, ["g", "x", "x2", "k"], [])
    assert m.converged
    assert m.spec.columns == ("intercept", "g=b", "g=gone", "x", "x2", "k")
    for name in ("g=gone", "x2", "k"):
        j = m.spec.columns.index(name)
        assert m.coef[j] == 0.0 and np.isnan(m.se[j]), name
    # Same fit as without the redundant factors.
    ref = fit_logistic(df[df["n"] > 0], ["g", "x"], [])
    assert m.coef[[0, 1, 3]] == pytest.approx(ref.coef, abs=1e-9)
    assert m.se[[0, 1, 3]] == pytest.approx(ref.se, rel=1e-9)


def test_predict_new_rows_with_unseen_level():
    df = pd.DataFrame({"g": ["a", "b"], "n": [10, 10], "y": [2, 6]})
    m = fit_logistic(df, ["g"], [])
    new = pd.DataFrame({"g": ["b", "zzz", None, "a"]})
    assert m.predict(new) == pytest.approx([0.6, 0.2, 0.2, 0.2], abs=1e-8)


def test_zero_trial_patterns_are_ignored():
    df = pd.DataFrame({"g": ["a", "b", "a"], "n": [10, 10, 0], "y": [2, 6, 0]})
    m = fit_logistic(df, ["g"], [])
    assert m.predict(df[:2]) == pytest.approx([0.2, 0.6], abs=1e-8)


def test_no_events_at_all_does_not_raise():
    # No finite MLE for the (unpenalised) intercept: reported as not converged.
    df = pd.DataFrame({"g": ["a", "b"], "n": [10, 10], "y": [0, 0]})
    m = fit_logistic(df, ["g"], [], max_iter=30)
    assert not m.converged and m.iterations == 30
    assert m.predict(df).max() < 1e-6


def test_custom_column_names():
    df = pd.DataFrame({"g": ["a", "b"], "stays": [10, 10], "readm": [2, 6]})
    m = fit_logistic(df, ["g"], [], trials="stays", events="readm")
    assert m.predict(df) == pytest.approx([0.2, 0.6], abs=1e-8)


@pytest.mark.parametrize(
    ("n", "y", "match"),
    [
        ([0, 0], [0, 0], "no trials"),
        ([10, 5], [2, 6], "exceeds"),
        ([10, 0], [2, 1], "exceeds"),
        ([10, -5], [2, 0], "negative"),
        ([10, 10], [-1, 2], "negative"),
        ([10, None], [2, 2], "missing"),
    ],
)
def test_invalid_counts(n, y, match):
    df = pd.DataFrame({"g": ["a", "b"], "n": n, "y": y})
    with pytest.raises(ValueError, match=match):
        fit_logistic(df, ["g"], [])


def test_missing_count_column():
    with pytest.raises(ValueError, match="lack the column 'n'"):
        fit_logistic(pd.DataFrame({"g": ["a"], "y": [1]}), ["g"], [])


def test_numeric_levels_in_numeric_order_unknown_last():
    patterns = pd.DataFrame({"age5": [10, 0, 5, None], "n": [1, 1, 1, 1], "y": [0, 0, 1, 0]})
    _, spec = design(patterns, ["age5"], ["age5"])
    assert spec.columns == ("intercept", "age5=5", "age5=10", "age5=unknown")
