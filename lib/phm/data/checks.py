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
    CheckSpec(
        "bim_share",
        "population",
        0.10,
        0.30,
        "share of persons",
        "BIM share 18.9% Belgium 2021; Brussels 31.6%, Flanders 15.6% (Domus Medica, "
        "https://www.domusmedica.be, from IMA/AIM data)",
    ),
    CheckSpec(
        "deaths_per_1000",
        "population",
        5.0,
        15.0,
        "deaths per 1,000 persons",
        "death rate about 1%/year [I]: phm's assumption, no public figure",
    ),
    CheckSpec(
        "share_65plus",
        "population",
        0.15,
        0.25,
        "share of persons",
        "65+ were 19.3% of Belgium on 1/1/2021 (Statbel population file in reference_data [C])",
    ),
    CheckSpec(
        "medical_house_share",
        "population",
        0.02,
        0.08,
        "share of persons",
        "medical-house enrolment 4.7% in 2021, 2.9% in 2014 (IMA Atlas, https://atlas.ima-aim.be)",
    ),
    CheckSpec(
        "gp_contact_share",
        "health_care",
        0.70,
        0.92,
        "share of non-medical-house persons",
        "85% with a GP contact in 2021, 82% in 2019-2020, medical-house patients excluded "
        "(IMA/AIM, https://ima-aim.be/Huisartsencontacten-in-Belgie)",
    ),
    CheckSpec(
        "gp_contacts_per_patient",
        "health_care",
        4.0,
        8.0,
        "contacts per patient",
        "6.1 GP contacts per patient in 2021, 5.5 in 2019 (IMA/AIM, "
        "https://ima-aim.be/Huisartsencontacten-in-Belgie)",
    ),
    CheckSpec(
        "flu_vaccination_65plus",
        "pharmacy",
        0.35,
        0.70,
        "share of home-dwelling 65+",
        "53% nationally (2020, VRT), 50.7% of independent-fund (OZ) members 2023; IMA's own "
        "series stopped after 2008-09 (IMA/AIM, "
        "https://aim-ima.be/Griepvaccinatiecampagnes); calendar year here, not the season",
    ),
    CheckSpec(
        "classic_stays_per_1000",
        "hospital_stay",
        100.0,
        250.0,
        "stays per 1,000 persons",
        "[I] classic stays are a minority of the 6.2M stays of 2017 (about 540 per 1,000 "
        "all types [C], from 6,214,325 stays in 2017, healthybelgium.be key data, "
        "https://www.healthybelgium.be)",
    ),
    CheckSpec(
        "day_stay_share",
        "hospital_stay",
        0.40,
        0.70,
        "share of stays",
        "day stays about 55% of non-ED stays [I] (phm's assumption, no public figure); more "
        "day than classic stays since 2013 (healthybelgium.be key data, "
        "https://www.healthybelgium.be)",
    ),
    CheckSpec(
        "reimbursed_per_capita",
        "health_care+pharmacy",
        1500.0,
        4500.0,
        "EUR per person",
        "about EUR 3,000 per inhabitant in 2023 [C]: care objective EUR 35.285bn "
        "(RIZIV/INAMI, https://www.inami.fgov.be) over 11.76M inhabitants (Statbel, "
        "https://statbel.fgov.be)",
    ),
)


def evaluate(description: Description) -> list[CheckResult]:
    """Every check of :data:`CHECKS` for every year described; a missing figure is ``n/a``."""
    results = []
    for year in description.years:
        for spec in CHECKS:
            value = description.figure(year, spec.name)
            in_range = value is not None and spec.low <= value <= spec.high
            status = "n/a" if value is None else ("ok" if in_range else "warn")
            results.append(
                CheckResult(
                    spec.name, year, value, spec.low, spec.high, status, spec.unit, spec.source
                )
            )
    return results


def run_checks(spark: SparkSession, warehouse: Warehouse) -> list[CheckResult]:
    """The checks on the warehouse's tables (none when it has no population)."""
    if not warehouse.exists(spark, "population"):
        return []
    return evaluate(describe(spark, warehouse))
