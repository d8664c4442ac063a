"""Reasonable-range checks on key figures of a warehouse: warnings, never failures.

Synthetic (or real) data can pass every row rule and still be absurd as a whole: 60% BIM, no
GP contacts, a hospital stay per person. Each check compares one yearly figure with a range
around a published Belgian value (``../shared/domain.md``; the source is in each spec).

Cost: one aggregate per source table (population by year; health care and pharmacy by person
and year, then joined to the population; hospital stays by year). Only small results are
collected.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from phm.data.reference import read_reference
from phm.data.warehouse import Warehouse


@dataclass(frozen=True)
class CheckSpec:
    """A figure, its plausible range and where the range comes from."""

    name: str
    table: str
    low: float
    high: float
    unit: str
    source: str


@dataclass(frozen=True)
class CheckResult:
    """One check for one year. ``status`` is ``ok``, ``warn`` (outside the range) or ``n/a``."""

    name: str
    year: int
    value: float | None
    low: float
    high: float
    status: str
    unit: str
    source: str


CHECKS: tuple[CheckSpec, ...] = (
    CheckSpec("bim_share", "population", 0.10, 0.30, "share of persons",
              "BIM share 18.9% Belgium 2021; Brussels 31.6%, Flanders 15.6% (domain.md §2 [S])"),
    CheckSpec("death_rate", "population", 0.005, 0.015, "deaths per person-year",
              "death rate about 1%/year (domain.md §6 [I])"),
    CheckSpec("age65_share", "population", 0.15, 0.25, "share of persons",
              "65+ were 19.3% of Belgium on 1/1/2021 (Statbel population file in reference_data "
              "[C])"),
    CheckSpec("medical_house_share", "population", 0.02, 0.08, "share of persons",
              "medical-house enrolment 4.7% in 2021, 2.9% in 2014 (domain.md §2 [S])"),
    CheckSpec("gp_contact_share", "health_care", 0.70, 0.92, "share of non-medical-house persons",
              "85% with a GP contact in 2021, 82% in 2019-2020, medical-house patients excluded "
              "(domain.md §2 [S])"),
    CheckSpec("gp_contacts_per_patient", "health_care", 4.0, 8.0, "contacts per patient",
              "6.1 GP contacts per patient in 2021, 5.5 in 2019 (domain.md §2 [S])"),
    CheckSpec("flu_vaccination_65plus", "pharmacy", 0.35, 0.70, "share of home-dwelling 65+",
              "53% nationally (2020), 50.7% of OZ members 2023 (domain.md §2 [S]); calendar year "
              "here, not the season"),
    CheckSpec("classic_stays_per_1000", "hospital_stay", 100.0, 250.0, "stays per 1,000 persons",
              "[I] classic stays are a minority of the 6.2M stays of 2017 (about 540 per 1,000 "
              "all types, domain.md §6)"),
    CheckSpec("day_stay_share", "hospital_stay", 0.40, 0.70, "share of non-ED stays",
              "day stays about 55% of non-ED stays (domain.md §6 [I]); more day than classic "
              "stays since 2013 [S]"),
    CheckSpec("reimbursed_per_capita", "health_care+pharmacy", 1500.0, 4500.0, "EUR per person",
              "about EUR 3,000 per inhabitant in 2023 (domain.md §6 [C])"),
)

GP_GROUPS = ("gp_consult", "gp_home_visit")
FLU_ATC_PREFIX = "J07BB"


def _ratio(num: float | None, den: float | None, scale: float = 1.0) -> float | None:
    if num is None or not den:
        return None
    return float(num) / float(den) * scale


def _population(population: DataFrame) -> dict[int, dict]:
    age = F.col("year") - F.col("birth_year")
    rows = population.groupBy("year").agg(
        F.count(F.lit(1)).alias("persons"),
        F.count_if(F.col("bim")).alias("bim"),
        F.count_if(F.col("death_date").isNotNull()).alias("deaths"),
        F.count_if(age >= 65).alias("age65"),
        F.count_if(F.col("medical_house")).alias("mh"),
        F.count_if(~F.col("medical_house")).alias("non_mh"),
        F.count_if((age >= 65) & ~F.col("nursing_home")).alias("home65"),
    ).collect()
    return {r["year"]: r.asDict() for r in rows}


def _person_flags(population: DataFrame) -> DataFrame:
    return population.select(
        "year", "person_id", "medical_house",
        ((F.col("year") - F.col("birth_year") >= 65) & ~F.col("nursing_home")).alias("home65"))


def _health_care(health_care: DataFrame, population: DataFrame, nomenclature: DataFrame) -> dict:
    gp = F.broadcast(nomenclature.filter(F.col("service_group").isin(*GP_GROUPS))
                     .select("nomen_code", F.lit(True).alias("is_gp")))
    per_person = (health_care.join(gp, "nomen_code", "left").groupBy("year", "person_id").agg(
        F.sum(F.when(F.col("is_gp"), F.col("quantity"))).alias("gp"),
        F.sum("amount_reimbursed").alias("amount")))
    non_mh_gp = (F.col("gp") > 0) & ~F.col("medical_house")
    rows = per_person.join(_person_flags(population), ["year", "person_id"], "left").groupBy(
        "year").agg(
        F.sum("amount").alias("amount"),
        F.count_if(non_mh_gp).alias("gp_patients"),
        F.sum(F.when(non_mh_gp, F.col("gp"))).alias("gp_contacts"),
    ).collect()
    return {r["year"]: r.asDict() for r in rows}


def _pharmacy(pharmacy: DataFrame, population: DataFrame, products: DataFrame) -> dict:
    atc = F.broadcast(products.select("cnk", F.col("atc5").alias("ref_atc5")))
    is_flu = F.coalesce(F.col("atc5"), F.col("ref_atc5")).startswith(FLU_ATC_PREFIX)
    per_person = (pharmacy.join(atc, "cnk", "left").groupBy("year", "person_id").agg(
        F.max(is_flu).alias("flu"), F.sum("amount_reimbursed").alias("amount")))
    rows = per_person.join(_person_flags(population), ["year", "person_id"], "left").groupBy(
        "year").agg(
        F.sum("amount").alias("amount"),
        F.count_if(F.col("flu") & F.col("home65")).alias("flu65"),
    ).collect()
    return {r["year"]: r.asDict() for r in rows}


def _hospital(hospital_stay: DataFrame) -> dict:
    non_ed = ~F.col("admitted_via_ed")
    rows = hospital_stay.groupBy("year").agg(
        F.count_if(F.col("stay_type") == "classic").alias("classic"),
        F.count_if(non_ed).alias("non_ed"),
        F.count_if(non_ed & (F.col("stay_type") == "day")).alias("day_non_ed"),
    ).collect()
    return {r["year"]: r.asDict() for r in rows}


def compute_checks(
    population: DataFrame,
    *,
    health_care: DataFrame | None = None,
    pharmacy: DataFrame | None = None,
    hospital_stay: DataFrame | None = None,
    nomenclature: DataFrame | None = None,
    products: DataFrame | None = None,
) -> list[CheckResult]:
    """Run every check of :data:`CHECKS` for every year of ``population``.

    Checks whose table is not given come out with status ``n/a``. ``nomenclature`` is needed
    with ``health_care`` (GP codes) and ``products`` with ``pharmacy`` (ATC of a CNK).
    """
    pop = _population(population)
    hc = _health_care(health_care, population, nomenclature) if health_care is not None else {}
    ph = _pharmacy(pharmacy, population, products) if pharmacy is not None else {}
    hs = _hospital(hospital_stay) if hospital_stay is not None else {}
    results = []
    for year in sorted(pop):
        p, h, d, s = pop[year], hc.get(year, {}), ph.get(year, {}), hs.get(year, {})
        amounts = None
        if health_care is not None and pharmacy is not None:
            amounts = float(h.get("amount") or 0) + float(d.get("amount") or 0)
        values = {
            "bim_share": _ratio(p["bim"], p["persons"]),
            "death_rate": _ratio(p["deaths"], p["persons"]),
            "age65_share": _ratio(p["age65"], p["persons"]),
            "medical_house_share": _ratio(p["mh"], p["persons"]),
            "gp_contact_share": _ratio(h.get("gp_patients", 0), p["non_mh"]) if hc else None,
            "gp_contacts_per_patient": _ratio(h.get("gp_contacts"), h.get("gp_patients")),
            "flu_vaccination_65plus": _ratio(d.get("flu65", 0), p["home65"]) if ph else None,
            "classic_stays_per_1000":
                _ratio(s.get("classic", 0), p["persons"], 1000) if hs else None,
            "day_stay_share": _ratio(s.get("day_non_ed"), s.get("non_ed")),
            "reimbursed_per_capita": _ratio(amounts, p["persons"]),
        }
        for spec in CHECKS:
            value = values[spec.name]
            in_range = value is not None and spec.low <= value <= spec.high
            status = "n/a" if value is None else ("ok" if in_range else "warn")
            results.append(CheckResult(spec.name, year, value, spec.low, spec.high, status,
                                       spec.unit, spec.source))
    return results


def run_checks(spark: SparkSession, warehouse: Warehouse) -> list[CheckResult]:
    """:func:`compute_checks` on the warehouse's tables (none when it has no population)."""
    if not warehouse.exists(spark, "population"):
        return []

    def read(name: str) -> DataFrame | None:
        return warehouse.read(spark, name) if warehouse.exists(spark, name) else None

    return compute_checks(
        warehouse.read(spark, "population"),
        health_care=read("health_care"),
        pharmacy=read("pharmacy"),
        hospital_stay=read("hospital_stay"),
        nomenclature=read_reference(spark, warehouse, "ref_nomenclature"),
        products=read_reference(spark, warehouse, "ref_products"),
    )
