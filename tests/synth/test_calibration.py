"""Headline figures of a modest generated warehouse fall in ranges taken from published Belgian figures.

Ranges are wider than the sampling error of 6,000 persons; the comment on each gives the
Belgian value ([S] sourced) the generator aims at. The planted regional effects and the
person-level persistence are checked too.
"""

from __future__ import annotations

import pytest
from pyspark.sql import functions as F

from phm.data.describe import describe

YEAR = 2023

RANGES = {
    "share_65plus": (0.16, 0.23),  # 19.3% (Statbel 2021)
    "bim_share": (0.15, 0.23),  # 18.9% (2021) [S]
    "deaths_per_1000": (6.0, 15.0),  # ~10 per 1,000
    "medical_house_share": (0.03, 0.07),  # 4.7% (2021) [S]
    "gp_contact_share": (0.78, 0.90),  # 85% of non-medical-house population [S]
    "gp_contacts_per_patient": (5.0, 7.2),  # 6.1 [S]
    "diabetes_treated": (0.055, 0.09),  # 7.1% [S]
    "polypharmacy": (0.09, 0.18),  # 13.5% [S]; the generator lands a little low
    "flu_vaccination_65plus": (0.45, 0.62),  # 53% [S]
    "classic_stays_per_1000": (110.0, 220.0),  # [I]
    "day_stay_share": (0.45, 0.65),  # day > classic since 2013 [S]
    "reimbursed_per_capita": (1300.0, 4500.0),  # ~EUR 3,000 care objective [C]; see README
    "zero_cost_share": (0.04, 0.18),  # 10-15% [I]
    "top1_spending_share": (0.15, 0.35),  # 20-25% [I]
}


@pytest.fixture(scope="module")
def figures(spark, calibration_warehouse):
    return describe(spark, calibration_warehouse, year=YEAR)


@pytest.mark.parametrize("key", sorted(RANGES))
def test_headline_figure_in_range(figures, key):
    low, high = RANGES[key]
    value = figures.figure(YEAR, key)
    assert value is not None and low <= value <= high, f"{key} = {value}, expected {low}-{high}"


def test_regional_bim_gradient(figures):
    fl, wal, bxl = (figures.figure(YEAR, f"bim_share_{r}") for r in ("02000", "03000", "04000"))
    assert fl < wal < bxl  # 15.6% < 21.2% < 31.6% [S]


def test_people_are_consistent_across_years(spark, calibration_warehouse):
    """A diabetic stays diabetic; yearly costs correlate strongly from one year to the next."""
    ph = calibration_warehouse.read(spark, "pharmacy")
    a10 = (
        ph.where(F.col("atc5").startswith("A10"))
        .groupBy("person_id")
        .agg(F.collect_set("year").alias("y"))
    )
    # among 2022 users still insured in 2023, nearly all are users again
    pop23 = calibration_warehouse.read(spark, "population").where("year = 2023").select("person_id")
    users22 = a10.where(F.array_contains("y", 2022)).join(pop23, "person_id")
    again = users22.where(F.array_contains("y", 2023)).count() / users22.count()
    assert again > 0.95
    # yearly costs (care + medicines) of the people insured in both years, aged 30-59 so that the
    # age gradient does not make the correlation: it comes from persistent propensities
    pop = calibration_warehouse.read(spark, "population")
    both = (
        pop.groupBy("person_id")
        .agg(F.count("*").alias("n"), F.min("birth_year").alias("b"))
        .where((F.col("n") == 2) & F.col("b").between(2022 - 59, 2022 - 30))
        .select("person_id")
    )
    spend = (
        calibration_warehouse.read(spark, "health_care")
        .select("person_id", "year", "amount_reimbursed")
        .unionByName(
            calibration_warehouse.read(spark, "pharmacy").select(
                "person_id", "year", "amount_reimbursed"
            )
        )
    )
    cost = (
        both.join(spend, "person_id", "left")
        .groupBy("person_id")
        .pivot("year", [2022, 2023])
        .agg(F.sum("amount_reimbursed").cast("double"))
        .na.fill(0.0)
    )
    corr = cost.select(F.corr(F.log1p("2022"), F.log1p("2023"))).first()[0]
    assert corr > 0.3


def test_readmissions_are_concentrated_among_the_old(spark, calibration_warehouse):
    stays = calibration_warehouse.read(spark, "hospital_stay").where("stay_type = 'classic'")
    pop = calibration_warehouse.read(spark, "population").select("person_id", "year", "birth_year")
    s = stays.join(pop, ["person_id", "year"]).withColumn(
        "old", F.col("year") - F.col("birth_year") >= 75
    )
    a, b = s.alias("a"), stays.alias("b")
    gap = F.datediff(F.col("b.admission_date"), F.col("a.discharge_date"))
    pairs = a.join(b, (F.col("a.person_id") == F.col("b.person_id")) & gap.between(1, 30), "left")
    per_index = pairs.groupBy("a.stay_id", "a.old").agg(
        F.max(F.col("b.stay_id").isNotNull().cast("int")).alias("r")
    )
    rates = {
        r.old: r.rate for r in per_index.groupBy("old").agg(F.avg("r").alias("rate")).collect()
    }
    assert 0.05 < rates[False] < 0.2
    assert rates[True] > rates[False] * 1.2
