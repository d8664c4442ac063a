"""Reasonable-range checks on key figures of a warehouse: warnings, never failures.

Synthetic (or real) data can pass every row rule and still be absurd as a whole: 60% BIM, no
GP contacts, a hospital stay per person. Each check compares one yearly headline figure of
:func:`phm.data.describe.describe` (the single place those figures are computed) with a range
around a published Belgian value (the public source is named in each spec).
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import SparkSession

from phm.data.describe import Description, describe
from phm.data.warehouse import Warehouse


@dataclass(frozen=True)
class CheckSpec:
    """A describe figure (``name`` is its key), its plausible range and the range's source."""

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
    CheckSpec("deaths_per_1000", "population", 5.0, 15.0, "deaths per 1,000 persons",
              "death rate about 1%/year (domain.md §6 [I])"),
    CheckSpec("share_65plus", "population", 0.15, 0.25, "share of persons",
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
    CheckSpec("day_stay_share", "hospital_stay", 0.40, 0.70, "share of stays",
              "day stays about 55% of non-ED stays (domain.md §6 [I]); more day than classic "
              "stays since 2013 [S]"),
    CheckSpec("reimbursed_per_capita", "health_care+pharmacy", 1500.0, 4500.0, "EUR per person",
              "about EUR 3,000 per inhabitant in 2023 (domain.md §6 [C])"),
)


def evaluate(description: Description) -> list[CheckResult]:
    """Every check of :data:`CHECKS` for every year described; a missing figure is ``n/a``."""
    results = []
    for year in description.years:
        for spec in CHECKS:
            value = description.figure(year, spec.name)
            in_range = value is not None and spec.low <= value <= spec.high
            status = "n/a" if value is None else ("ok" if in_range else "warn")
            results.append(CheckResult(spec.name, year, value, spec.low, spec.high, status,
                                       spec.unit, spec.source))
    return results


def run_checks(spark: SparkSession, warehouse: Warehouse) -> list[CheckResult]:
    """The checks on the warehouse's tables (none when it has no population)."""
    if not warehouse.exists(spark, "population"):
        return []
    return evaluate(describe(spark, warehouse))
