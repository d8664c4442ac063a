"""Every indicator kind on the hand-built warehouse (tests/compile/handbuilt.py), against
numerators, denominators, values, standardised values and suppression worked out by hand.

All test indicators run in ONE run (as the nightly job would), then each test reads its cells.
"""

from __future__ import annotations

import math
import numpy as np
import pytest
from spec_helpers import EXACT_COUNTS, TEST_SECRET, indicator, write_specs
from scipy import stats as st

from phm.runs.indicators import run_indicators
from phm.stats import intervals


def half_away(x: float, d: int) -> float:
    """Publication rounding, written out (docs/specs.md, Presentation rules):
    sign(x) floor(|x| 10^d + 0.5) / 10^d in double precision."""
    return math.copysign(math.floor(abs(x) * 10**d + 0.5), x) / 10**d


PROPORTION = {"kind": "proportion", "per": 100, "unit": "%", "decimals": 1}
PER_1000 = {"kind": "rate", "per": 1000, "unit": "per 1,000", "decimals": 1}
NO_MEDICAL_HOUSE = {"exclude": [{"feature": "medical_house", "equals": True}]}

SPECS = [
    indicator(
        "t_gp_share",
        population=NO_MEDICAL_HOUSE,
        numerator={"where": [{"feature": "gp_contacts", "at_least": 1}]},
        measure=PROPORTION,
        breakdowns={"by": ["sex", "age:atlas"], "areas": ["t_area"]},
        standardisation={"method": "direct", "reference": "esp2013"},
    ),
    indicator(
        "t_gp_share_protected",
        population=NO_MEDICAL_HOUSE,
        numerator={"where": [{"feature": "gp_contacts", "at_least": 1}]},
        measure=PROPORTION,
        disclosure={"min_count": 5},
    ),
    indicator("t_classic_rate", numerator={"sum": "classic_stays"}, measure=PER_1000),
    indicator(
        "t_gp_per_patient",
        population={**NO_MEDICAL_HOUSE, "where": [{"feature": "gp_contacts", "at_least": 1}]},
        numerator={"sum": "gp_contacts"},
        measure={"kind": "mean", "unit": "contacts", "decimals": 2},
    ),
    indicator(
        "t_day_share",
        numerator={"sum": "day_stays"},
        measure={"kind": "ratio", "per": 100, "unit": "%", "denominator_sum": "hospital_stays"},
    ),
    indicator(
        "t_poly65",
        population={"age": {"min": 65}},
        numerator={"where": [{"feature": "medicines_80ddd", "at_least": 5}]},
        measure=PROPORTION,
    ),
    indicator(
        "t_diabetes",
        numerator={"where": [{"feature": "treated_diabetes", "equals": True}]},
        measure=PROPORTION,
    ),
    indicator(
        "t_mammo",
        population={"sex": "F", "insured_previous_year": True},
        numerator={"where": [{"feature": "mammography_2y", "equals": True}]},
        measure=PROPORTION,
    ),
    indicator(
        "t_ed_indirect",
        numerator={"sum": "emergency_admissions"},
        measure=PER_1000,
        standardisation={"method": "indirect"},
    ),
    indicator(
        "t_reimbursed",
        numerator={"sum": "reimbursed_total"},
        measure={"kind": "mean", "unit": "EUR", "decimals": 2},
    ),
]
AREAS = [
    {
        "id": "t_area",
        "version": 1,
        "label": {"nl": "x", "fr": "x", "en": "x"},
        "areas": {"AB": {"label": "Antwerpen + Aartselaar", "municipalities": ["11002", "11001"]}},
    }
]


@pytest.fixture(scope="module")
def results(spark, handbuilt_warehouse, tmp_path_factory):
    specs = write_specs(tmp_path_factory.mktemp("specs"), SPECS, AREAS)
    run_indicators(
        spark, handbuilt_warehouse, specs, years=[2023], run_id="handbuilt", protection=EXACT_COUNTS
    )
    return handbuilt_warehouse.read(spark, "results").toPandas()


def cell(results, ind, geo="01000", key="", level=None):
    rows = results[
        (results.indicator_id == ind) & (results.geo_code == geo) & (results.breakdown_key == key)
    ]
    if level:
        rows = rows[rows.geo_level == level]
    assert len(rows) == 1, f"{ind} {geo} {key!r}: {len(rows)} rows"
    return rows.iloc[0]


def test_proportion_crude_and_interval(results):
    # population: 18 persons minus A10 (medical house) = 17; with >= 1 GP contact:
    # A1, A3, A6, B1, B2, B4, C1 = 7 -> 41.176% -> 41.2
    c = cell(results, "t_gp_share")
    assert (c.numerator, c.denominator, c.value) == (7, 17, 41.2)
    lo, hi = intervals.wilson(7, 17)
    assert (c.ci_low, c.ci_high) == (half_away(100 * lo, 1), half_away(100 * hi, 1))
    assert not c.suppressed


def test_proportion_geography_and_breakdowns(results):
    # A (11002): A1..A9 = 9, GP: A1, A3, A6 = 3 -> 33.3; B (11001): 6, GP: B1, B2, B4 -> 50.0
    # arrondissement 11000 = A + B: 6/15 -> 40.0; Brussels region: C1, C2 -> 1/2
    assert cell(results, "t_gp_share", "11002").value == 33.3
    assert cell(results, "t_gp_share", "11001").value == 50.0
    assert cell(results, "t_gp_share", "11000").value == 40.0
    brussels = cell(results, "t_gp_share", "04000", level="region")
    assert (brussels.numerator, brussels.denominator) == (1, 2)
    # Brussels-Capital is also the province-level unit 04000, with the same persons
    province = cell(results, "t_gp_share", "04000", level="province")
    assert (province.numerator, province.denominator) == (1, 2)
    # custom area AB = Antwerpen + Aartselaar: the arrondissement's 6/15
    area = cell(results, "t_gp_share", "AB", level="area:t_area")
    assert (area.numerator, area.denominator) == (6, 15)
    # women: A1..A5, B1..B3, C1 = 9, GP: A1, A3, B1, B2, C1 = 5 -> 55.6; men: 8, A6, B4 -> 25.0
    assert cell(results, "t_gp_share", key="sex=F").value == 55.6
    assert cell(results, "t_gp_share", key="sex=M").value == 25.0
    # age 18-44 (everyone aged 30 but A10): 12 persons, GP A3, B1, B2, C1 -> 33.3
    # age 65-74 (aged 70): A1, A2, A6, A7, B4 = 5, GP A1, A6, B4 -> 60.0
    assert cell(results, "t_gp_share", key="age:atlas=18-44").value == 33.3
    assert cell(results, "t_gp_share", key="age:atlas=65-74").value == 60.0


def test_direct_standardisation_by_hand(results):
    # strata (age5, sex): (30,F) 7 persons 4 with GP; (30,M) 5, 0; (70,F) 2, 1; (70,M) 3, 2.
    # ESP2013 weights: 30-34 = 6500, 70-74 = 5000, half per sex: 3250 and 2500.
    # DSR = (3250*4/7 + 3250*0 + 2500*1/2 + 2500*2/3) / (2*3250 + 2*2500)
    #     = (1857.143 + 0 + 1250 + 1666.667) / 11500 = 0.415114 -> 41.5
    assert cell(results, "t_gp_share").value_standardised == 41.5
    # women only: (3250*4/7 + 2500*1/2) / 5750 = 3107.143 / 5750 = 0.540373 -> 54.0
    assert cell(results, "t_gp_share", key="sex=F").value_standardised == 54.0
    # the Wilson interval with the effective sample size n_eff = p(1-p) / Var(p), Var the
    # binomial Σ w² p_s(1-p_s)/n_s, recomputed from the same strata:
    # Var = 0.2826² (4/7 3/7 / 7) + 0 + 0.2174² (1/4 / 2) + 0.2174² (2/9 / 3) = 0.012202,
    # n_eff = 0.415114 x 0.584886 / 0.012202 = 19.8975
    w = np.array([3250, 3250, 2500, 2500]) / 11500
    num, den = np.array([4, 0, 1, 2]), np.array([7, 5, 2, 3])
    p_s = num / den
    dsr = (w * p_s).sum()
    z2 = st.norm.ppf(0.975) ** 2

    def wilson_neff(var):
        n = dsr * (1 - dsr) / var
        centre = (dsr * n + z2 / 2) / (n + z2)
        half = math.sqrt(z2) / (n + z2) * math.sqrt(dsr * (1 - dsr) * n + z2 / 4)
        return half_away(100 * (centre - half), 1), half_away(100 * (centre + half), 1)

    exact = wilson_neff((w**2 * p_s * (1 - p_s) / den).sum())
    assert exact == (23.0, 62.8)
    c = cell(results, "t_gp_share")
    assert (c.std_ci_low, c.std_ci_high) == exact


def test_small_cells_hidden_with_one_reason(results):
    # min 5 persons (exact counts in this run). Hidden: Brussels region, arrondissement 21000
    # and municipality 21004 (2 persons); 11002 and 11001 (3 persons with a GP contact each).
    # No complementary suppression: the cell-key noise, not more hidden cells, protects them
    # from differencing (Flanders, 10000 and 11000 stay published).
    rows = results[results.indicator_id == "t_gp_share_protected"].set_index("geo_code")
    reasons = rows["suppression_reason"].to_dict()
    assert {g for g, r in reasons.items() if r is not None} == {
        "04000",
        "21000",
        "21004",
        "11002",
        "11001",
    }
    assert set(rows.suppression_reason.dropna()) == {"small_count"}
    assert not rows.loc[["02000", "10000", "11000"], "suppressed"].any()
    assert not rows.loc["01000", "suppressed"] and rows.loc["01000", "value"] == 41.2
    hidden = rows[rows.suppressed]
    assert hidden[["numerator", "denominator", "value", "numerator_persons"]].isna().all().all()


def test_rate_with_poisson_interval(results):
    # classic stays: A1 2, A6 1, B4 1, C2 1 = 5 over 18 persons -> 277.8 per 1,000
    c = cell(results, "t_classic_rate")
    assert (c.numerator, c.denominator, c.value) == (5, 18, 277.8)
    assert c.numerator_persons == 4  # A1, A6, B4, C2
    lo, hi = st.chi2.ppf(0.025, 10) / 2, st.chi2.ppf(0.975, 12) / 2  # exact Poisson for 5
    assert (c.ci_low, c.ci_high) == (half_away(lo / 18 * 1000, 1), half_away(hi / 18 * 1000, 1))
    assert cell(results, "t_classic_rate", "11002").value == 300.0  # A1 2 + A6 1 over 10


def test_mean_per_user(results):
    # patients (>= 1 contact, no medical house): 7; contacts 2+1+3+1+1+4+1 = 13 -> 1.86
    c = cell(results, "t_gp_per_patient")
    assert (c.numerator, c.denominator, c.value) == (13, 7, 1.86)
    values = np.array([2, 1, 3, 1, 1, 4, 1])
    half = st.t.ppf(0.975, 6) * values.std(ddof=1) / np.sqrt(7)
    assert (c.ci_low, c.ci_high) == (half_away(13 / 7 - half, 2), half_away(13 / 7 + half, 2))
    assert cell(results, "t_gp_per_patient", "11002").value == 2.0  # A1 2, A3 1, A6 3


def test_ratio_of_two_features(results):
    # day stays A1 1, A3 1, B2 2 = 4 of 9 stays -> 44.4%
    c = cell(results, "t_day_share")
    assert (c.numerator, c.denominator, c.value) == (4, 9, 44.4)


def test_pharmacy_threshold_per_medicine(results):
    # aged 65+: A1, A2, A6, A7, B4. B4 has metformin 127.5, ramipril 200, atorvastatin 98,
    # amlodipine 100 and bisoprolol 50 + 50 = 100 DDD: 5 medicines >= 80 DDD (bisoprolol only
    # over its two deliveries). A6 has 3. -> 1 of 5 = 20.0%
    c = cell(results, "t_poly65")
    assert (c.numerator, c.denominator, c.value) == (1, 5, 20.0)


def test_derived_pseudopathology(results):
    # B4 127.5 DDD of A10 (>= 90); A7 a diabetes care trajectory; A1 only 42.5 DDD -> 2 of 18
    c = cell(results, "t_diabetes")
    assert (c.numerator, c.denominator) == (2, 18)


def test_two_year_window_and_previous_year_insurance(results):
    # women insured in 2022 too: A1..A5, B1, B2, C1 = 8 (B3 is new in 2023).
    # mammography over 2022-2023: A3 (2022), A4 (2023); A5's of 2021 is outside -> 2/8 = 25.0
    c = cell(results, "t_mammo")
    assert (c.numerator, c.denominator, c.value) == (2, 8, 25.0)


def test_indirect_standardisation(results):
    # Belgian stratum rates of emergency admissions: (30,M) 1/6 (C2 among A8, A9, A10, B5,
    # B6, C2), (70,M) 1/3 (B4 among A6, A7, B4), other strata 0. Belgian crude 2/18.
    # Aartselaar: O = 1 (B4); E = 2 x 1/6 + 1 x 1/3 = 2/3; O/E = 1.5;
    # indirectly standardised = 1.5 x 2/18 x 1000 = 166.7
    b = cell(results, "t_ed_indirect", "11001")
    assert b.expected == pytest.approx(2 / 3) and b.oe_ratio == 1.5
    assert b.value_standardised == 166.7
    lo, hi = intervals.poisson_exact(1)
    assert (b.std_ci_low, b.std_ci_high) == (
        half_away(lo / (2 / 3) * 2 / 18 * 1000, 1),
        half_away(hi / (2 / 3) * 2 / 18 * 1000, 1),
    )
    # Antwerpen: O = 0, E = 3 x 1/6 + 2 x 1/3 = 7/6
    a = cell(results, "t_ed_indirect", "11002")
    assert a.expected == pytest.approx(7 / 6) and a.oe_ratio == 0
    # Belgium against itself: O/E = 1, standardised = crude = 111.1
    be = cell(results, "t_ed_indirect")
    assert be.oe_ratio == 1 and be.value_standardised == be.value == 111.1


def test_amount_per_capita_from_two_sources(results):
    # health care 2023: 14 GP claims x 20 + A4's mammography 50 + A7's trajectory 80 = 410;
    # pharmacy: 10 deliveries x 10 = 100. (510) / 18 persons = 28.33
    c = cell(results, "t_reimbursed")
    assert (c.numerator, c.denominator, c.value) == (510, 18, 28.33)


def test_results_carry_no_person_ids_and_the_spec_hash(spark, handbuilt_warehouse, results):
    assert not [c for c in results.columns if "person_id" in c]
    assert set(results.indicator_id) == {s["id"] for s in SPECS}
    assert results.groupby("indicator_id").spec_hash.nunique().eq(1).all()
    meta = handbuilt_warehouse.read(spark, "indicator_metadata").toPandas()
    assert set(meta.indicator_id) == set(results.indicator_id)
    assert meta.set_index("indicator_id").loc["t_gp_share", "standardisation"] == "direct:esp2013"


def test_shared_plan_equals_indicators_run_one_at_a_time(
    spark, handbuilt_warehouse, results, tmp_path
):
    # the optimised plan (all indicators, one pass per source) against naive one-indicator plans
    from phm.execute.finalise import finalise
    from phm.compile.plan import build_plan
    from phm.runs.indicators import compute_cells
    from phm.spec import load_catalogue

    catalogue = load_catalogue(write_specs(tmp_path, SPECS, AREAS))
    columns = [
        "geo_level",
        "geo_code",
        "breakdown_key",
        "numerator",
        "denominator",
        "value",
        "value_standardised",
        "suppressed",
    ]
    for ident in ("t_gp_share", "t_poly65", "t_ed_indirect", "t_mammo"):
        plan = build_plan(catalogue, catalogue.select([ident]))
        cells = compute_cells(spark, handbuilt_warehouse, plan, [2023], TEST_SECRET)
        alone = finalise(cells, plan, EXACT_COUNTS).toPandas()[columns]
        shared = results[results.indicator_id == ident][columns]
        key = ["geo_level", "geo_code", "breakdown_key"]
        pd_alone = alone.sort_values(key).reset_index(drop=True)
        pd_shared = shared.sort_values(key).reset_index(drop=True)
        assert pd_alone.equals(pd_shared), ident


def test_person_year_table_has_every_builtin_attribute(spark, handbuilt_warehouse, tmp_path):
    # the spec checker accepts exactly phm.spec.attributes.ATTRIBUTES; the compiler must build them
    from phm.execute.person_year import build_person_year, person_year_columns
    from phm.compile.plan import build_plan
    from phm.spec import load_catalogue

    catalogue = load_catalogue(write_specs(tmp_path, SPECS, AREAS))
    plan = build_plan(catalogue, catalogue.select())
    table = build_person_year(spark, handbuilt_warehouse, plan, [2023])
    assert set(person_year_columns(plan)) <= set(table.columns)
