"""Quality indicators on the hand-built stay sequences of tests/handbuilt_quality.py: episodes,
index events, follow-up windows, exclusions, the data-end rule, PDC and the hospital comparison,
each against counts worked out by hand below.

Index episodes of the readmission events (death, transfer, psychiatric and planned care left
out), with the gap to the next classic episode:

    Q1 S1 (H1, M) -> S2 after 5 days, via ED      Q1 S2 (H1) -> none
    Q2 S3+S4 (H2, F) -> S5 after 21 days           Q2 S5 (H2) -> none
    Q4 S7 (H1, F) -> S8 after 6 days, planned: not a readmission
    Q6 S10+S11 (H1, F) -> S12 after 1 day, via ED  Q6 S12 (H1) -> none
    Q8 S15 (H1, F) -> none (the day stay D1 is no episode)
    Q9 S16 (H2, M) -> S17 after 15 days            Q9 S17 (H2) -> none
    Q5 S9 (H3, M): discharged 22/12, its 30-day window passes the data end (7-day one does not)
    Not indexes: S6 (death in hospital), S8 (planned), S13/S14 (psychiatric).

30 days: 10 index stays, 4 readmitted. 7 days: 11 (with S9), 2 (S2, S12). Via the ED: S2, S12.
"""

from __future__ import annotations

import datetime as dt
import math

import handbuilt_quality as hq
import pytest
from pyspark.sql import functions as F
from spec_helpers import EXACT_COUNTS, REPO_SPECS, TEST_SECRET, indicator, write_specs

from phm.execute.episodes import episodes
from phm.execute.events import index_events, index_flag
from phm.compile.plan import build_plan
from phm.execute.columns import check_columns
import phm.runs.indicators as runs
from phm.runs.indicators import compute_cells, run_indicators
from phm.spec.catalogue import load_catalogue
from phm.spec.issues import SpecError
from phm.stats import funnel, intervals


def half_away(x: float, d: int) -> float:
    """Publication rounding, written out (docs/specs.md, Presentation rules):
    sign(x) floor(|x| 10^d + 0.5) / 10^d in double precision."""
    return math.copysign(math.floor(abs(x) * 10**d + 0.5), x) / 10**d


PROPORTION = {"kind": "proportion", "per": 100, "unit": "%", "decimals": 1}


@pytest.fixture(scope="module")
def warehouse(spark, tmp_path_factory):
    return hq.build(spark, tmp_path_factory.mktemp("quality"))


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue(REPO_SPECS)


@pytest.fixture(scope="module")
def quality_cells(spark, warehouse, catalogue):
    """The repository's quality collection, cells before statistics and disclosure."""
    plan = build_plan(catalogue, catalogue.select(collections=["quality"]))
    work = runs.work_of(warehouse, "quality-cells")  # the working tables the tests read
    return compute_cells(spark, warehouse, plan, [2023], TEST_SECRET, work=work).toPandas()


def _cell(cells, ind, level="belgium", code="01000", key=""):
    rows = cells[
        (cells.indicator_id == ind)
        & (cells.geo_level == level)
        & (cells.geo_code == code)
        & (cells.breakdown_key == key)
    ]
    assert len(rows) == 1, f"{ind} {level} {code}: {len(rows)} rows"
    return rows.iloc[0]


def test_episodes_chain_transfers_and_overlaps_only(spark, warehouse):
    eps = episodes(warehouse.read(spark, "hospital_stay")).toPandas().set_index("episode_id")
    # 17 classic stays; S3+S4 (transfer the next day) and S10+S11 (nested) chain: 15 episodes
    assert len(eps) == 15
    chain = eps.loc["S3"]
    assert (chain.n_stays, chain.hospital_id, chain.transferred) == (2, hq.H2, True)
    assert (chain.admission_date, chain.discharge_date) == (
        dt.date(2023, 4, 1),
        dt.date(2023, 4, 9),
    )
    assert chain.discharge_destination == "home"  # of the last stay, not S3's 'transfer'
    nested = eps.loc["S10"]
    assert (nested.n_stays, nested.hospital_id, nested.discharge_date) == (
        2,
        hq.H1,
        dt.date(2023, 8, 10),
    )  # discharging hospital: the stay that ends last
    # the same hospital the day after is a readmission, not a continuation
    assert eps.loc["S12"].n_stays == 1
    # day stays are not episodes, so D1 the day after S15 elsewhere is no transfer
    assert "D1" not in eps.index and eps.loc["S15"].n_stays == 1
    assert eps.loc["S16"].admitted_via_ed and eps.loc["S16"].main_diagnosis_group == "heart_failure"


@pytest.mark.parametrize(
    "ind, num, den",
    [
        ("readmission_unplanned_30d", 4, 10),
        ("readmission_unplanned_7d", 2, 11),
        ("readmission_via_ed_7d", 2, 11),
        ("readmission_via_ed_30d", 2, 10),
        # 65+: Q1 (2 episodes), Q2 (2), Q5 (1), Q6 (2), Q9 (2) = 9; a GP 1-7 days after:
        # Q1 after S1 (06/03), Q5 (24/12), Q6 after S10+S11 (12/08)
        ("gp_contact_after_discharge_65plus", 3, 9),
        # Q7: S13 followed by the psychiatrist on day 5, S14 on day 25; readmitted after 21 days
        ("psychiatric_follow_up_7d", 1, 2),
        ("psychiatric_follow_up_30d", 2, 2),
        ("psychiatric_readmission_30d", 1, 2),
        # S16 heart failure and S17 diabetes; 13 persons aged 15+
        ("avoidable_hospitalisations_acsc", 2, 13),
        # >= 2 statin deliveries: P1 (PDC 0.805), P2 (1.0), P4 (0.551)
        ("medication_continuity_statins", 2, 3),
        # classic stays via the ED: S2, S12, S16; 13 persons
        ("emergency_admissions_per_1000", 3, 13),
        # 65+: Q1, Q2, Q5, Q6, Q9, P2; nobody has 5 medicines
        ("polypharmacy_65plus", 0, 6),
    ],
)
def test_quality_set_counts(quality_cells, ind, num, den):
    c = _cell(quality_cells, ind)
    assert (c.num, c.den) == (num, den)


def test_persons_behind_event_cells(quality_cells):
    # index stays of 6 persons (Q1 Q2 Q4 Q6 Q8 Q9), readmitted stays of 4 (Q1 Q2 Q6 Q9)
    c = _cell(quality_cells, "readmission_unplanned_30d")
    assert (c.npers, c.dpers) == (4, 6)


def test_hospital_rows_count_stays_of_the_discharging_hospital(quality_cells):
    h1 = _cell(quality_cells, "readmission_unplanned_30d", "hospital", hq.H1)
    h2 = _cell(quality_cells, "readmission_unplanned_30d", "hospital", hq.H2)
    assert (h1.num, h1.den, h2.num, h2.den) == (2, 6, 2, 4)
    # the expected counts of a model with an intercept add up to the observed total
    assert h1.expected_risk + h2.expected_risk == pytest.approx(4, rel=1e-6)
    # S9 (H3) is an index for 7 days only
    assert hq.H3 not in set(
        quality_cells[
            (quality_cells.indicator_id == "readmission_unplanned_30d")
            & (quality_cells.geo_level == "hospital")
        ].geo_code
    )
    h3 = _cell(quality_cells, "readmission_unplanned_7d", "hospital", hq.H3)
    assert (h3.num, h3.den) == (0, 1)


def test_pdc_shifts_overlapping_supplies(spark, warehouse, quality_cells):
    work = runs.work_of(warehouse, "quality-cells")
    py = work.read(spark, "person_year").where(F.col("year") == 2023)
    pdc = {r.person_id: r.pdc_statins for r in py.select("person_id", "pdc_statins").collect()}
    # P1: supplies end on days 98, 196 (shifted from 157), 341: 294 days of 365. Counting the
    # overlap once instead (the union of the intervals) would give 255 / 365 < 0.8.
    assert pdc["P1"] == pytest.approx(294 / 365)
    # P2: from day 182, 196 + 98 days supplied, 111 spill past 31 December: 183 / 183
    assert pdc["P2"] == pytest.approx(1.0)
    assert pdc["P4"] == pytest.approx(196 / 356)  # from day 9
    assert pdc["P3"] == pytest.approx(98 / 334)  # one delivery on 1 February
    assert pdc["Q1"] == 0


def test_data_end_rule(spark, warehouse, catalogue):
    event = catalogue.events["readmission_30d"]
    users = [i for i in catalogue.select() if i.events == event.id]
    plan = build_plan(catalogue, users[:1])
    assert [e.id for e in plan.events] == [event.id]
    for end, expected in (
        (dt.date(2023, 12, 31), 10),
        (dt.date(2024, 1, 21), 11),
        (dt.date(2024, 1, 20), 10),
    ):
        index = index_events(spark, warehouse, plan, [2023], {event.id: end})
        assert index.where(F.col(index_flag(event.id))).count() == expected, end


def test_missing_linked_column_fails_clearly(spark, tmp_path_factory, catalogue):
    unlinked = hq.build(spark, tmp_path_factory.mktemp("unlinked"), linked=False)
    plan = build_plan(catalogue, catalogue.select(["avoidable_hospitalisations_acsc"]))
    with pytest.raises(SpecError) as err:
        check_columns(spark, unlinked, plan)
    text = str(err.value)
    assert "features/acsc_admissions.yaml" in text and "codes" in text
    assert "hospital_stay.main_diagnosis_group" in text
    assert "avoidable_hospitalisations_acsc" in text
    # events that do not use the linked diagnosis run on such a warehouse
    fine = build_plan(catalogue, catalogue.select(["gp_contact_after_discharge_65plus"]))
    check_columns(spark, unlinked, fine)


# ---------------------------------------------------------------------------------------------
# statistics, the hospital comparison and disclosure, through a whole run

SEX_MODEL = {"risk_factors": ["sex"], "funnel": [0.95, 0.998]}
SPECS = [
    indicator(
        "t_readmit",
        grain="stay",
        events="readmission_30d",
        measure=PROPORTION,
        hospital_comparison=SEX_MODEL,
    ),
    indicator("t_readmit_persons", grain="person", events="readmission_30d", measure=PROPORTION),
    indicator(
        "t_readmit_protected",
        grain="stay",
        events="readmission_30d",
        measure=PROPORTION,
        hospital_comparison=SEX_MODEL,
        disclosure={"min_count": 5},
    ),
]


@pytest.fixture(scope="module")
def results(spark, warehouse, tmp_path_factory):
    specs = write_specs(tmp_path_factory.mktemp("specs"), SPECS)
    run_indicators(spark, warehouse, specs, years=[2023], run_id="quality", protection=EXACT_COUNTS)
    return (
        warehouse.read(spark, "results").toPandas(),
        warehouse.read(spark, "risk_models").toPandas(),
    )


def _row(results, ind, level="belgium", code="01000"):
    rows = results[
        (results.indicator_id == ind)
        & (results.geo_level == level)
        & (results.geo_code == code)
        & (results.breakdown_key == "")
    ]
    assert len(rows) == 1
    return rows.iloc[0]


def test_stay_grain_value_and_interval(results):
    c = _row(results[0], "t_readmit")
    lo, hi = intervals.wilson(4, 10)
    assert (c.numerator, c.denominator, c.value) == (4, 10, 40.0)
    assert (c.ci_low, c.ci_high) == (half_away(100 * lo, 1), half_away(100 * hi, 1))


def test_person_grain(results):
    c = _row(results[0], "t_readmit_persons")
    assert (c.numerator, c.denominator) == (4, 6)  # Q1 Q2 Q6 Q9 of Q1 Q2 Q4 Q6 Q8 Q9


def test_hospital_observed_vs_expected(results):
    res, models = results
    # risk by sex over all index stays: men 2/4 = 0.5 (Q1, Q9), women 2/6 = 1/3 (Q2 Q4 Q6 Q8)
    # H1: Q1 x2 (M), Q4, Q6 x2, Q8 (F): E = 2 x 0.5 + 4 / 3, V = 2 x 0.25 + 4 x 2/9
    e1, v1 = 1 + 4 / 3, 0.5 + 8 / 9
    h1 = _row(res, "t_readmit", "hospital", hq.H1)
    assert (h1.numerator, h1.denominator) == (2, 6)
    assert h1.expected == pytest.approx(e1, rel=1e-6)
    assert h1.oe_ratio == half_away(2 / e1, 3)
    # risk-adjusted value: O/E x the national 40%
    assert h1.value_standardised == half_away(2 / e1 * 40, 1)
    _, lo, hi = intervals.ratio_poisson(2, e1)
    assert h1.std_ci_low == half_away(lo * 40, 1) and h1.std_ci_high == half_away(hi * 40, 1)
    z95, z998 = 1.959964, 3.090232
    assert h1.funnel_high_inner == half_away(1 + z95 * math.sqrt(v1) / e1, 3)
    assert h1.funnel_high_outer == half_away(1 + z998 * math.sqrt(v1) / e1, 3)
    assert h1.funnel_low_inner == half_away(max(0.0, 1 - z95 * math.sqrt(v1) / e1), 3)
    assert h1.outlier == "within"
    _, high = funnel.oe_limits(e1, v1, 0.95)
    assert h1.funnel_high_inner == half_away(float(high), 3)
    # H2: Q2 x2 (F), Q9 x2 (M): E = 2/3 + 1
    h2 = _row(res, "t_readmit", "hospital", hq.H2)
    assert h2.expected == pytest.approx(2 / 3 + 1, rel=1e-6)
    assert not h1.suppressed and not h2.suppressed
    # the model: log-odds of women log(1/2), men log(1/2) higher than women: log 2
    m = models[models.indicator_id == "t_readmit"].set_index("term")
    assert m.loc["intercept", "coefficient"] == pytest.approx(math.log(0.5), abs=1e-6)
    assert m.loc["sex=M", "coefficient"] == pytest.approx(math.log(2), abs=1e-6)
    assert set(m.stays) == {10} and set(m.events) == {4} and m.converged.all()


def test_small_hospitals_are_suppressed(results):
    res = results[0]
    rows = res[(res.indicator_id == "t_readmit_protected") & (res.geo_level == "hospital")]
    assert len(rows) == 2  # H1 (4 persons) and H2 (2 persons): under 5
    assert rows.suppressed.all() and set(rows.suppression_reason) == {"small_count"}
    assert rows[["numerator", "expected", "oe_ratio", "funnel_high_outer"]].isna().all().all()
    assert rows.outlier.isna().all()
    assert not res.astype(str).apply(lambda col: col.str.contains("Q1|P1")).any().any()
