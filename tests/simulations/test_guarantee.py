"""The budget guarantee on a hand-built population, every figure worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from phm.errors import InputError
from phm.simulations.guarantee import simulate_variant, payout
from phm.spec.scenario import Scenario, Sharing

# reference (outside the pilots): y = cost / fraction, weight = fraction
#   bim 0: 100 (w 1), 300 (w 1), 500 (cost 250, w 0.5)  -> weighted mean 650 / 2.5 = 260
#   bim 1: 500 (w 1), 700 (w 1)                         -> mean 600
# pilot A: bim 0 150, bim 0 100, bim 1 400 (cost 200, w 0.5)
# pilot B: bim 1 900, bim 0 250
ROWS = [
    # pilot, in_reference, bim, cost, fraction
    (None, True, False, 100.0, 1.0),
    (None, True, False, 300.0, 1.0),
    (None, True, False, 250.0, 0.5),
    (None, True, True, 500.0, 1.0),
    (None, True, True, 700.0, 1.0),
    ("A", False, False, 150.0, 1.0),
    ("A", False, False, 100.0, 1.0),
    ("A", False, True, 200.0, 0.5),
    ("B", False, True, 900.0, 1.0),
    ("B", False, False, 250.0, 1.0),
]
KINDS = {"bim": "flag"}


@pytest.fixture(scope="module")
def rows(spark):
    return spark.createDataFrame(
        [(2023, f"p{i}", *r) for i, r in enumerate(ROWS)],
        "year int, person_id string, pilot string, in_reference boolean, bim boolean, "
        "cost double, fraction double",
    )


def scenario(**parts) -> Scenario:
    spec = {
        "id": "hand",
        "version": 1,
        "label": {"nl": "H", "fr": "H", "en": "H"},
        "attribution": {"areas": "pilot_regions"},
        "cost": {"features": ["reimbursed_hc"]},
        "risk_model": {"factors": ["bim"]},
        "years": {"baseline": 2022, "guarantee": [2023]},
        "sharing": {"share": 0.5},
        "uncertainty": {"replicates": 0},
    }
    spec.update(parts)
    return Scenario.model_validate(spec)


def _pilots(rows, sc):
    [year] = simulate_variant(rows, sc, KINDS)
    return year, year.pilots.set_index("pilot")


def test_expected_actual_gain_and_payout_by_hand(rows):
    year, p = _pilots(rows, scenario())
    # the model is saturated: its predictions are the weighted group means 260 and 600
    assert year.fit.coef == pytest.approx([260.0, 340.0])
    assert year.threshold is None
    assert list(p.persons) == [3, 2] and list(p.person_years) == [2.5, 2.0]
    # A: expected 260 + 260 + 0.5 x 600 = 820; actual 150 + 100 + 0.5 x 400 = 450
    # B: expected 600 + 260 = 860; actual 900 + 250 = 1150
    assert list(p.expected) == pytest.approx([820.0, 860.0])
    assert list(p.actual) == pytest.approx([450.0, 1150.0])
    assert list(p.gain) == pytest.approx([370.0, -290.0])
    assert list(p.oe) == pytest.approx([450 / 820, 1150 / 860])
    # half the gain is paid; B's loss is not charged
    assert list(p.payout) == pytest.approx([185.0, 0.0])


def test_cap_at_a_quantile_of_the_reference(rows):
    # reference y sorted: 100 300 500 500 700; the 0.9 quantile sits at 0.9 x 4 = 3.6:
    # 500 + 0.6 x (700 - 500) = 620. Capped: reference 700 -> 620 (bim 1 mean 560),
    # pilot B's 900 -> 620
    year, p = _pilots(rows, scenario(outliers={"rule": "cap_quantile", "quantile": 0.9}))
    assert year.threshold == pytest.approx(620.0)
    assert list(p.expected) == pytest.approx([260 + 260 + 0.5 * 560, 560 + 260])
    assert list(p.actual) == pytest.approx([450.0, 620 + 250])
    assert list(p.gain) == pytest.approx([350.0, -50.0])


def test_exclude_above_drops_pilot_and_reference_rows(rows):
    year, p = _pilots(rows, scenario(outliers={"rule": "exclude_above", "amount": 650}))
    # reference 700 and pilot B's 900 go: bim 1 mean 500
    assert year.threshold == 650
    assert list(p.persons) == [3, 1]
    assert list(p.expected) == pytest.approx([260 + 260 + 0.5 * 500, 260])
    assert list(p.actual) == pytest.approx([450.0, 250.0])


def test_without_annualising_costs_count_as_they_are(rows):
    year, p = _pilots(rows, scenario(cost={"features": ["reimbursed_hc"], "annualise": False}))
    # reference bim 0: 100 300 250 -> mean 650 / 3; every weight 1
    assert year.fit.coef[0] == pytest.approx(650 / 3)
    assert list(p.person_years) == [3.0, 2.0]
    assert p.actual["A"] == pytest.approx(150 + 100 + 200)
    assert p.expected["A"] == pytest.approx(2 * 650 / 3 + 600)


def test_sharing_rules_by_hand():
    gain = np.array([350.0, 50.0, -200.0, -20.0])
    expected = np.array([800.0, 800.0, 800.0, 800.0])
    years = np.array([2.5, 2.5, 2.5, 2.5])
    # corridor 10% of expected = 80 either side: 350 -> 270, 50 -> 0, -200 -> -120, -20 -> 0
    rule = Sharing(share=1.0, floor_at_zero=False, corridor=0.1)
    assert list(payout(gain, expected, years, rule)) == pytest.approx([270, 0, -120, 0])
    # capped at 100 EUR per person-year (250 here), either way; then floored at zero
    rule = Sharing(share=1.0, floor_at_zero=False, corridor=0.1, cap_per_capita=100)
    assert list(payout(gain, expected, years, rule)) == pytest.approx([250, 0, -120, 0])
    rule = Sharing(share=0.5, floor_at_zero=True, corridor=0.1, cap_per_capita=100)
    assert list(payout(gain, expected, years, rule)) == pytest.approx([135, 0, 0, 0])


def test_a_level_unknown_to_the_reference_cannot_be_predicted(spark):
    rows = spark.createDataFrame(
        [
            (2023, "r1", None, True, "M", 50, 100.0, 1.0),
            (2023, "r2", None, True, "M", 52, 90.0, 1.0),
            (2023, "p1", "A", False, "F", 51, 80.0, 1.0),
        ],
        "year int, person_id string, pilot string, in_reference boolean, sex string, age int, "
        "cost double, fraction double",
    )
    sc = scenario(risk_model={"factors": ["age5_sex"]})
    with pytest.raises(InputError, match=r"absent from the reference.*'age5_sex': \['F_50'\]"):
        simulate_variant(rows, sc, {"age5_sex": "category"})


def test_a_pilot_nobody_is_attributed_to_still_gets_its_row(rows):
    [year] = simulate_variant(rows, scenario(), KINDS, areas=["A", "B", "C"])
    p = year.pilots.set_index("pilot")
    assert list(p.index) == ["A", "B", "C"]
    assert (p.persons["C"], p.actual["C"], p.expected["C"], p.payout["C"]) == (0, 0, 0, 0)
    assert p.expected["A"] == pytest.approx(820.0)  # the others as without areas


@pytest.fixture(scope="module")
def two_years(spark):
    """2022 as ROWS; 2023 with every cost up 10% (the trend) and pilot A's down 10% more."""
    out = []
    for i, (pilot, ref, bim, cost, fraction) in enumerate(ROWS):
        out.append((2022, f"p{i}", pilot, ref, bim, cost, fraction))
        later = cost * 1.1 * (0.9 if pilot == "A" else 1.0)
        out.append((2023, f"p{i}", pilot, ref, bim, later, fraction))
    return spark.createDataFrame(
        out,
        "year int, person_id string, pilot string, in_reference boolean, bim boolean, "
        "cost double, fraction double",
    )


def test_difference_in_trend_by_hand(two_years):
    [year] = simulate_variant(two_years, scenario(method="difference_in_trend"), KINDS)
    p = year.pilots.set_index("pilot")
    # A: expected 2023 from the 2023 model 1.1 x 820 = 902, times A's 2022 ratio 450 / 820:
    # 495; actual 1.1 x 0.9 x 450 = 445.5. B kept its ratio: expected = actual = 1265
    assert list(p.expected) == pytest.approx([495.0, 1265.0])
    assert list(p.actual) == pytest.approx([445.5, 1265.0])
    assert list(p.gain) == pytest.approx([49.5, 0.0], abs=1e-9)
    # the risk-adjusted method would credit A with its lower level too: 902 - 445.5
    [plain] = simulate_variant(two_years, scenario(), KINDS)
    assert plain.pilots.set_index("pilot").gain["A"] == pytest.approx(456.5)


def test_capitation_allocates_the_actual_total_by_expected_cost_by_hand(rows):
    sc = scenario(kind="capitation", capitation={"budget": "actual_total"})
    [year] = simulate_variant(rows, sc, KINDS)
    p = year.pilots.set_index("pilot")
    # budget 450 + 1150 = 1600, split 820 : 860
    assert list(p.allocated) == pytest.approx([1600 * 820 / 1680, 1600 * 860 / 1680])
    assert list(p.difference) == pytest.approx([1600 * 820 / 1680 - 450, 1600 * 860 / 1680 - 1150])
    assert "payout" not in p
    sc = scenario(kind="capitation", capitation={"budget": "amount", "amount": 3360.0})
    [year] = simulate_variant(rows, sc, KINDS)
    assert list(year.pilots.allocated) == pytest.approx([1640.0, 1720.0])


def test_prior_cost_bands_are_deciles_of_the_reference(spark):
    from phm.simulations.guarantee import with_prior_cost_band

    # reference prior costs 1..10: the 10th..90th percentiles are 1.9, 2.8, ..., 9.1, so each
    # value is in its own band; a pilot's 2.8 sits on a cut point (lower band), null is 'none'
    rows = [(None, True, float(v)) for v in range(1, 11)]
    rows += [("A", False, 2.8), ("A", False, 100.0), ("A", False, None)]
    df = spark.createDataFrame(rows, "pilot string, in_reference boolean, prior_cost double")
    got = [r.prior_cost_band for r in with_prior_cost_band(df).collect()]
    assert got == [f"D{d:02d}" for d in range(1, 11)] + ["D02", "D10", "none"]


def test_a_prior_cost_band_needs_the_year_before(rows):
    sc = scenario(risk_model={"factors": ["bim", "prior_cost_band"]})
    with pytest.raises(InputError, match=r"prior_cost_band needs the year before \[2023\]"):
        simulate_variant(rows, sc, {"bim": "flag", "prior_cost_band": "category"})


def test_intervals_are_null_when_too_many_replicates_cannot_be_fitted(rows):
    from pyspark.sql import functions as F

    # 'twin' equals bim except for one reference person (p0): a replicate that does not draw
    # p0 (e^-1, about 37%) makes the two columns identical, a design no refit can solve, so
    # well under 90% of the replicates are usable
    twin = rows.withColumn("twin", F.col("bim") | (F.col("person_id") == "p0"))
    sc = scenario(
        risk_model={"factors": ["bim", "twin"]}, uncertainty={"replicates": 100, "seed": 3}
    )
    [year] = simulate_variant(twin, sc, {"bim": "flag", "twin": "flag"})
    assert year.replicates < 90
    assert year.pilots.gain_low.isna().all() and year.pilots.gain_high.isna().all()
    assert year.pilots.gain.notna().all()
