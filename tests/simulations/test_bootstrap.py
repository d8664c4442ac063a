"""The Poisson bootstrap: Poisson(1) weights hashed per person, reproducible by seed, and
intervals as wide as the sampling error they stand for."""

from __future__ import annotations

import numpy as np
import pytest
from pyspark.sql import functions as F

from phm.simulations.bootstrap import person_hash, poisson_weight, uniform
from phm.simulations.guarantee import simulate_variant
from phm.spec.scenario import Scenario


def test_weights_are_poisson_one_and_independent_of_the_replicate(spark):
    draws = (
        spark.range(20000)
        .select(person_hash(F.col("id").cast("string"), 7).alias("h"))
        .select(*[poisson_weight(uniform(F.col("h"), F.lit(b))).alias(f"m{b}") for b in range(2)])
        .toPandas()
    )
    m = draws.m0.to_numpy()
    assert m.mean() == pytest.approx(1.0, abs=0.03)
    assert m.var() == pytest.approx(1.0, abs=0.05)
    assert (m == 0).mean() == pytest.approx(np.exp(-1), abs=0.01)
    assert abs(np.corrcoef(draws.m0, draws.m1)[0, 1]) < 0.03


def _scenario(seed: int, replicates: int = 400) -> Scenario:
    return Scenario.model_validate(
        {
            "id": "boot",
            "version": 1,
            "label": {"nl": "B", "fr": "B", "en": "B"},
            "attribution": {"areas": "pilot_regions"},
            "cost": {"features": ["reimbursed_hc"]},
            "risk_model": {"factors": ["bim"]},
            "years": {"baseline": 2022, "guarantee": [2023]},
            "uncertainty": {"replicates": replicates, "seed": seed},
        }
    )


@pytest.fixture(scope="module")
def population(spark):
    """4,000 reference and 1,000 pilot person-years, exponential costs of mean 100 (sd 100)."""
    rng = np.random.default_rng(3)
    rows = [
        (
            2023,
            f"p{i}",
            "A" if i < 1000 else None,
            i >= 1000,
            bool(i % 5 == 0),
            float(rng.exponential(100.0)),
            1.0,
        )
        for i in range(5000)
    ]
    return spark.createDataFrame(
        rows,
        "year int, person_id string, pilot string, in_reference boolean, bim boolean, "
        "cost double, fraction double",
    )


def test_intervals_are_reproducible_and_as_wide_as_the_sampling_error(population):
    [a] = simulate_variant(population, _scenario(11), {"bim": "flag"})
    [again] = simulate_variant(population, _scenario(11), {"bim": "flag"})
    [other] = simulate_variant(population, _scenario(12), {"bim": "flag"})
    pa, pb, pc = (r.pilots.iloc[0] for r in (a, again, other))
    assert a.replicates == 400
    assert (pa.gain_low, pa.gain_high) == (pb.gain_low, pb.gain_high)
    assert (pa.gain_low, pa.gain_high) != (pc.gain_low, pc.gain_high)
    assert pa.gain_low < pa.gain < pa.gain_high
    assert pa.oe_low < pa.oe < pa.oe_high
    # gain = Σ (ŷ - y) over 1,000 pilots, ŷ a mean of 4,000 reference rows: variance
    # 1000 x 100² + 1000² x 100² / 4000 = 1.25e7, a 95% interval about 2 x 1.96 x 3536 wide
    width = pa.gain_high - pa.gain_low
    assert width == pytest.approx(2 * 1.96 * np.sqrt(1.25e7), rel=0.2)


@pytest.mark.parametrize("fam", ["ols", "tweedie"])
def test_a_level_nobody_was_drawn_for_keeps_its_point_coefficient(fam):
    """A resample without anyone of a rare level would make the design singular: that column
    keeps its point estimate and the others are refitted (the replicate is not lost)."""
    from phm.simulations.bootstrap import _refit_drawn_levels
    from phm.simulations.fit import INTERCEPT, Patterns, family, fit

    f = family(fam, 1.5 if fam == "tweedie" else None)
    # patterns: intercept, common flag, rare flag
    x = np.array([[1, 0, 0], [1, 1, 0], [1, 0, 1], [1, 1, 1]], float)
    n = np.array([50, 40, 2, 1], float)
    y = np.array([100.0, 180.0, 400.0, 700.0])
    # c(y) only shifts the deviance by a constant: zero is enough for the convergence test
    full = Patterns(x, n, n, n * y, n * y * y, np.zeros(4), 100.0)
    names = (INTERCEPT, "common", "rare")
    point = fit(full, names, f, standard_errors=False)
    # a replicate in which nobody of the rare level was drawn: its patterns have no weight
    drawn = full.resampled(
        np.array([55, 37, 0, 0], float), np.array([55, 37, 0, 0]) * y[:4] * 1.1, full.swc * 0
    )
    kept = Patterns(
        drawn.x[:2], drawn.n[:2], drawn.sw[:2], drawn.swy[:2], drawn.swyy[:2], drawn.swc[:2], 1.0
    )
    coef = _refit_drawn_levels(kept, names, f, point)
    assert coef[2] == point.coef[2]
    # the other two are the fit of the drawn patterns alone: exact with two patterns
    eta = x[:2, :2] @ coef[:2]
    predicted = eta if fam == "ols" else np.exp(eta)
    np.testing.assert_allclose(predicted, y[:2] * 1.1, rtol=1e-8)
    with pytest.raises(ValueError, match="collinear"):
        fit(kept, names, f, standard_errors=False)
