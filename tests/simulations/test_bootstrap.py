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
    draws = (spark.range(20000).select(person_hash(F.col("id").cast("string"), 7).alias("h"))
             .select(*[poisson_weight(uniform(F.col("h"), F.lit(b))).alias(f"m{b}")
                       for b in range(2)]).toPandas())
    m = draws.m0.to_numpy()
    assert m.mean() == pytest.approx(1.0, abs=0.03)
    assert m.var() == pytest.approx(1.0, abs=0.05)
    assert (m == 0).mean() == pytest.approx(np.exp(-1), abs=0.01)
    assert abs(np.corrcoef(draws.m0, draws.m1)[0, 1]) < 0.03


def _scenario(seed: int, replicates: int = 400) -> Scenario:
    return Scenario.model_validate({
        "id": "boot", "version": 1, "label": {"nl": "B", "fr": "B", "en": "B"},
        "attribution": {"areas": "pilot_regions"}, "cost": {"features": ["reimbursed_hc"]},
        "risk_model": {"factors": ["bim"]}, "years": {"baseline": 2022, "guarantee": [2023]},
        "uncertainty": {"replicates": replicates, "seed": seed}})


@pytest.fixture(scope="module")
def population(spark):
    """4,000 reference and 1,000 pilot person-years, exponential costs of mean 100 (sd 100)."""
    rng = np.random.default_rng(3)
    rows = [(2023, f"p{i}", "A" if i < 1000 else None, i >= 1000, bool(i % 5 == 0),
             float(rng.exponential(100.0)), 1.0) for i in range(5000)]
    return spark.createDataFrame(
        rows, "year int, person_id string, pilot string, in_reference boolean, bim boolean, "
        "cost double, fraction double")


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
