"""Specs v2 constructs on a second hand-built warehouse, every figure worked out by hand:
person-time denominators (leap years, births, arrivals, deaths), 'top' shares, pooled periods,
seasons, insured for N years and the change versus the previous period.

Years 2019-2021 (2020 is a leap year, 366 days). A = 11002 Antwerpen, B = 11001 Aartselaar.

person  sex born  nis  population rows   notes
P1      F   1940  A    2019 2020 2021
P2      M   1940  A    2019 2020 2021    died 2021-03-31
P3      F   2020  A         2020 2021    born in 2020
P4      M   1980  B              2021    arrived in 2021
P5      F   1980  B         2020 2021    arrived in 2020
P6      M   1980  B    2019 2020 2021
P7      F   1980  B    2019 2020         died 2020-02-29 (leap day)

Days insured (1 January, or 1 July when born or arrived in the year, to 31 December or death):
2020 (366 days): P1 366, P2 366, P3 184, P5 184, P6 366, P7 60 (1 Jan - 29 Feb) = 1,526
2021 (365 days): P1 365, P2 90 (1 Jan - 31 Mar), P3 365, P4 184, P5 365, P6 365 = 1,734
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

import pytest
from sample_rows import claim, delivery, frame, person
from spec_helpers import EXACT_COUNTS, indicator, write_specs

from phm.data.schemas import SOURCE_TABLES
from phm.data.warehouse import Warehouse
from phm.errors import InputError
from phm.runs.indicators import run_indicators
from phm.stats import intervals

A, B = "11002", "11001"
PERSONS = {  # id: (nis, sex, birth year, years present, death date)
    "P1": (A, "F", 1940, (2019, 2020, 2021), None),
    "P2": (A, "M", 1940, (2019, 2020, 2021), dt.date(2021, 3, 31)),
    "P3": (A, "F", 2020, (2020, 2021), None),
    "P4": (B, "M", 1980, (2021,), None),
    "P5": (B, "F", 1980, (2020, 2021), None),
    "P6": (B, "M", 1980, (2019, 2020, 2021), None),
    "P7": (B, "F", 1980, (2019, 2020), dt.date(2020, 2, 29)),
}
# reimbursed health care in 2021 (GP claims), EUR
SPENDING_HC = {"P1": "100.00", "P2": "50.00", "P3": "20.00", "P5": "300.00", "P6": "50.00"}
# deliveries: (person, ATC, date, DDD); each reimburses 10.00
DELIVERIES = [
    ("P1", "J01CA04", dt.date(2020, 5, 5), 20.0),
    ("P1", "J01CA04", dt.date(2021, 2, 10), 14.0),
    ("P6", "J01CA04", dt.date(2021, 11, 5), 7.0),
    ("P4", "J01CA04", dt.date(2021, 12, 1), 10.0),
    ("P1", "J07BB02", dt.date(2020, 11, 15), 1.0),  # season 2020
    ("P6", "J07BB02", dt.date(2021, 2, 10), 1.0),  # season 2020, calendar 2021
    ("P5", "J07BB02", dt.date(2021, 10, 20), 1.0),  # season 2021: its end is past the data
]


def build(spark, root) -> Warehouse:
    from pyspark.sql import functions as F

    wh = Warehouse.at(root)
    people = [
        person(
            year=y,
            person_id=pid,
            birth_year=born,
            sex=sex,
            nis_municipality=nis,
            death_date=death if death and death.year == y else None,
        )
        for pid, (nis, sex, born, years, death) in PERSONS.items()
        for y in years
    ]
    claims = [
        claim(
            claim_id=f"C{i}",
            person_id=pid,
            nomen_code="101076",
            service_date=dt.date(2021, 3, 1),
            accounting_month=dt.date(2021, 3, 1),
            year=2021,
            amount_reimbursed=Decimal(amount),
        )
        for i, (pid, amount) in enumerate(SPENDING_HC.items())
    ]
    deliveries = [
        delivery(
            delivery_id=f"D{i}",
            person_id=pid,
            atc5=atc,
            delivery_date=day,
            accounting_month=day.replace(day=1),
            ddd=ddd,
            year=day.year,
            amount_reimbursed=Decimal("10.00"),
        )
        for i, (pid, atc, day, ddd) in enumerate(DELIVERIES)
    ]
    for name, rows in (
        ("population", people),
        ("health_care", claims),
        ("pharmacy", deliveries),
        ("hospital_stay", []),
    ):
        table = SOURCE_TABLES[name]
        df = (
            frame(spark, name, rows) if rows else spark.createDataFrame([], table.schema)
        ).withColumn("load_id", F.lit("h"))
        df.select(*[F.col(c.name).cast(c.dtype.spark()) for c in table.columns]).write.format(
            "delta"
        ).partitionBy(*table.partition_by).save(wh.path(name))
    return wh


PER_1000_PY = {
    "kind": "rate",
    "per": 1000,
    "unit": "per 1,000 person-years",
    "decimals": 1,
    "denominator": "person_years",
}
BELGIUM_ONLY = {"geography": ["municipality", "belgium"]}
SPECS = [
    indicator(
        "t_mortality_py",
        numerator={"sum": "died"},
        measure=PER_1000_PY,
        change=True,
        breakdowns=BELGIUM_ONLY,
    ),
    indicator(
        "t_mortality_py_pooled",
        numerator={"sum": "died"},
        measure=PER_1000_PY,
        pooled_years=2,
        breakdowns=BELGIUM_ONLY,
    ),
    indicator(
        "t_did",
        numerator={"sum": "antibiotic_ddd"},
        breakdowns=BELGIUM_ONLY,
        measure={
            "kind": "rate",
            "per": 1000,
            "unit": "DDD per 1,000 per day",
            "decimals": 2,
            "denominator": "person_days",
            "ci": "none",
        },
    ),
    indicator(
        "t_top20_share",
        breakdowns=BELGIUM_ONLY,
        numerator={
            "sum": "reimbursed_total",
            "where": [{"feature": "reimbursed_total", "top": 0.2}],
        },
        measure={"kind": "ratio", "per": 100, "unit": "%", "denominator_sum": "reimbursed_total"},
    ),
    indicator(
        "t_top50_share",
        breakdowns=BELGIUM_ONLY,
        numerator={
            "sum": "reimbursed_total",
            "where": [{"feature": "reimbursed_total", "top": 0.5}],
        },
        measure={"kind": "ratio", "per": 100, "unit": "%", "denominator_sum": "reimbursed_total"},
    ),
    indicator(
        "t_flu_season",
        breakdowns=BELGIUM_ONLY,
        numerator={"where": [{"feature": "flu_vaccine_season", "equals": True}]},
        measure={"kind": "proportion", "per": 100, "unit": "%", "decimals": 1},
    ),
    indicator(
        "t_women_insured_3y",
        population={"insured_years": 3},
        breakdowns=BELGIUM_ONLY,
        numerator={"where": [{"feature": "sex", "equals": "F"}]},
        measure={"kind": "proportion", "per": 100, "unit": "%", "decimals": 1},
    ),
]


def half_away(x: float, d: int) -> float:
    return math.copysign(math.floor(abs(x) * 10**d + 0.5), x) / 10**d


@pytest.fixture(scope="module")
def run(spark, tmp_path_factory):
    wh = build(spark, tmp_path_factory.mktemp("person_time"))
    specs = write_specs(tmp_path_factory.mktemp("specs"), SPECS)
    # no years asked: each indicator is computed for the years its data cover, with warnings
    report = run_indicators(spark, wh, specs, run_id="v2", protection=EXACT_COUNTS)
    return wh, specs, report, wh.read(spark, "results").toPandas()


def cell(results, ind, period, geo="01000"):
    rows = results[
        (results.indicator_id == ind)
        & (results.period == period)
        & (results.geo_code == geo)
        & (results.breakdown_key == "")
    ]
    assert len(rows) == 1, f"{ind} {period} {geo}: {len(rows)} rows"
    return rows.iloc[0]


def test_periods_computed_follow_what_each_definition_reads(run):
    _, _, report, _ = run
    c = report.computed
    # person-time reads the year before (arrivals): 2019 has none
    assert c["t_mortality_py"] == [2020, 2021] and c["t_did"] == [2020, 2021]
    # a pool of 2 person-time years: 2021 pools 2020-2021
    assert c["t_mortality_py_pooled"] == [2021]
    # the season of 2021 ends on 31 March 2022, past the data
    assert c["t_flu_season"] == [2019, 2020]
    assert c["t_women_insured_3y"] == [2021]
    assert c["t_top20_share"] == [2019, 2020, 2021]
    assert any("t_flu_season 2021" in w and "2022-03-31" in w for w in report.warnings)


def test_mortality_per_1000_person_years_with_a_leap_year(run):
    results = run[3]
    y2020, y2021 = cell(results, "t_mortality_py", 2020), cell(results, "t_mortality_py", 2021)
    # sums that are not whole numbers are published to 2 decimals, and the value is computed
    # from the published sums (docs/disclosure.md)
    assert y2020.denominator == round(1526 / 366, 2) == 4.17
    assert y2020.value == half_away(1000 / 4.17, 1) == 239.8
    assert y2021.denominator == round(1734 / 365, 2) == 4.75
    assert y2021.value == half_away(1000 / 4.75, 1) == 210.5
    # persons behind the denominator stay persons
    assert (y2020.denominator_persons, y2021.denominator_persons) == (6, 6)
    lo, hi = (float(x) for x in intervals.poisson_exact(1.0))
    assert y2021.ci_low == half_away(1000 * lo / 4.75, 1)
    assert y2021.ci_high == half_away(1000 * hi / 4.75, 1)


def test_change_versus_the_previous_period_with_its_mover_interval(run):
    results = run[3]
    now, before = cell(results, "t_mortality_py", 2021), cell(results, "t_mortality_py", 2020)
    assert now.change == half_away(210.5 - 239.8, 1) == -29.3
    low = (now.value - before.value) - math.hypot(
        now.value - now.ci_low, before.ci_high - before.value
    )
    high = (now.value - before.value) + math.hypot(
        now.ci_high - now.value, before.value - before.ci_low
    )
    assert (now.change_ci_low, now.change_ci_high) == (half_away(low, 1), half_away(high, 1))
    # the first period has nothing to compare with; indicators without change: true neither
    assert math.isnan(before.change)
    assert math.isnan(cell(results, "t_did", 2021).change)


def test_antibiotic_ddd_per_1000_inhabitants_per_day(run):
    results = run[3]
    # 2020: 20 DDD over 1,526 person-days; 2021: 14 + 7 + 10 = 31 over 1,734
    assert cell(results, "t_did", 2020).value == half_away(20 / 1526 * 1000, 2) == 13.11
    assert cell(results, "t_did", 2021).value == half_away(31 / 1734 * 1000, 2) == 17.88
    assert cell(results, "t_did", 2021).denominator == 1734


def test_a_pooled_period_adds_up_its_years_and_counts_persons_once(run):
    results = run[3]
    c = cell(results, "t_mortality_py_pooled", 2021)
    person_years = round(1526 / 366 + 1734 / 365, 2)
    assert c.numerator == 2 and c.denominator == person_years == 8.92
    assert c.value == half_away(2000 / person_years, 1) == 224.2
    assert c.period_label == "2020-2021"
    assert cell(results, "t_mortality_py", 2021).period_label == "2021"
    # 6 persons each year, 7 over both: disclosure counts at most the most of one year
    assert c.denominator_persons == 6
    # municipality B 2020-2021: P7 died (2020); P4 184/365, P5 184/366 + 365/365,
    # P6 366/366 + 365/365, P7 60/366
    b = cell(results, "t_mortality_py_pooled", 2021, B)
    years_b = round(184 / 365 + 184 / 366 + 1 + 1 + 1 + 60 / 366, 2)
    assert b.denominator == years_b == 4.17
    assert b.value == half_away(1000 / years_b, 1)


def test_top_share_of_spending_ties_included(run):
    results = run[3]
    # 2021 reimbursed (every delivery 10.00): P1 100 + 10, P2 50, P3 20, P4 10, P5 300 + 10
    # (flu), P6 50 + 10 + 10 (flu): 570. Top 20% of 6 persons: the ceil(1.2) = 2 largest,
    # P5 310 and P1 110: 420 / 570 = 73.7%
    assert cell(results, "t_top20_share", 2021).value == half_away(42000 / 570, 1) == 73.7
    # within Antwerpen (P1, P2, P3), the national top: P1 110 of 180
    assert cell(results, "t_top20_share", 2021, A).value == half_away(11000 / 180, 1) == 61.1
    # top 50%: ceil(3) = 3 -> P5, P1, P6 (70): 490 / 570
    assert cell(results, "t_top50_share", 2021).value == half_away(49000 / 570, 1) == 86.0
    # a tie at the cut: P2 50 and the next... the cut of the top 50% in Aartselaar alone is not
    # asked: the top is national, so Aartselaar's P5 and P6 are in: 380 of 390
    assert cell(results, "t_top50_share", 2021, B).value == half_away(38000 / 390, 1)
    # 2020: only P1's 10.00 delivery in J01 (2020-05-05) and the flu vaccine (2020-11-15): the
    # cut of the top 20% of 6 (2nd largest) is 0.00, so everybody is in: 100%
    assert cell(results, "t_top20_share", 2020).value == 100.0


def test_flu_vaccination_by_season_crosses_new_year(run):
    results = run[3]
    # season 2020 (1 Oct 2020 - 31 Mar 2021): P1 (Nov 2020) and P6 (Feb 2021) of the 6 persons
    # of 2020 -> 33.3%; season 2019: nobody
    c = cell(results, "t_flu_season", 2020)
    assert (c.numerator, c.denominator, c.value) == (2, 6, 33.3)
    assert cell(results, "t_flu_season", 2019).numerator == 0


def test_insured_for_three_years(run):
    results = run[3]
    # in the population 2019, 2020 and 2021: P1, P2, P6; women: P1
    c = cell(results, "t_women_insured_3y", 2021)
    assert (c.numerator, c.denominator) == (1, 3)


def test_asking_for_a_season_past_the_data_is_refused(spark, run):
    wh, specs, _, _ = run
    with pytest.raises(
        InputError,
        match=r"t_flu_season 2021: feature flu_vaccine_season reads "
        r"the season Oct Y - Mar Y\+1 up to 2022-03-31",
    ):
        run_indicators(
            spark, wh, specs, ["t_flu_season"], years=[2021], run_id="x", protection=EXACT_COUNTS
        )


def test_asking_for_a_pool_reaching_before_the_data_is_refused(spark, run):
    wh, specs, _, _ = run
    with pytest.raises(
        InputError, match="t_mortality_py_pooled 2020: .*person-time needs the year before"
    ):
        run_indicators(
            spark,
            wh,
            specs,
            ["t_mortality_py_pooled"],
            years=[2020],
            run_id="x",
            protection=EXACT_COUNTS,
        )
