"""describe()'s hand-coded headline figures agree with the Atlas indicator specs they mirror.

``phm.data.describe`` computes its figures by hand, on purpose: an independent check of the
data that does not go through the spec compiler. Where a figure has the same definition as an
indicator spec, the two must agree exactly on the same warehouse. The engine side is the crude
Belgium-level cell with no breakdown, ``num / den``, read from ``compute_cells`` before any
disclosure control (exact counts: no perturbation, no rounding), so the comparison is exact up
to floating point.

Warehouse: the session's ``small_warehouse`` (300 persons, 2022-2023, booked up to April 2023),
year 2022 (complete; 2023 holds only the claims booked by April, a weaker comparison, and a
second year would double the engine's share of the suite's time).

Left out, because the definitions differ (see the module docstring of phm.data.describe):

- ``gmd_share``: describe divides by everyone; ``gmd_coverage`` leaves medical-house enrolees
  out of the denominator (and of the numerator).
- ``top1_spending_share``: describe takes the persons at or above ``percentile_approx(0.99)`` of
  cost; the spec takes the k = ceil(1% of persons) costliest, ties in. On 300 persons these are
  different sets of people.
- ``diabetes_treated`` (>= 1 A10 delivery) has no spec; ``diabetes_90ddd`` is compared with
  ``treated_diabetes_share`` as a lower bound only, since the spec also counts persons with a
  diabetes care trajectory billed in the year.
- ``zero_cost_share``, ``classic_via_ed_share``, ``hospital_deaths`` (a count of stays): no spec.
"""

from __future__ import annotations

import pytest
from pyspark.sql import functions as F
from spec_helpers import EXACT_COUNTS, REPO_SPECS

from phm.compile.plan import build_plan
from phm.data.describe import describe
from phm.runs.indicators import compute_cells
from phm.spec import load_catalogue

YEARS = [2022]

# describe key -> (indicator id, factor from the engine's crude num/den to describe's unit).
# describe shows shares as fractions, rates per 1,000 as such, and euros as euros.
SAME_DEFINITION = {
    "population": ("bim_share", None),  # the denominator: every person of the year
    "share_65plus": ("population_65plus_share", 1.0),
    "bim_share": ("bim_share", 1.0),
    "deaths_per_1000": ("mortality_per_1000", 1000.0),
    "medical_house_share": ("medical_house_share", 1.0),
    # describe sums the quantity of GP lines, the gp_contacts feature counts lines: the same
    # while every GP line has quantity 1, which test_gp_lines_have_quantity_one checks.
    "gp_contact_share": ("gp_contact_share", 1.0),
    "gp_contacts_per_patient": ("gp_contacts_per_patient", 1.0),
    "reimbursed_per_capita": ("reimbursed_per_capita", 1.0),
    "personal_share_per_capita": ("personal_share_per_capita", 1.0),
    # the calendar-year spec, not flu_vaccination_season_65plus (October to March)
    "flu_vaccination_65plus": ("flu_vaccination_65plus", 1.0),
    "polypharmacy": ("polypharmacy_share", 1.0),
    "polypharmacy_excessive": ("excessive_polypharmacy_share", 1.0),
    "classic_stays_per_1000": ("classic_stays_per_1000", 1000.0),
    "day_stays_per_1000": ("day_stays_per_1000", 1000.0),
    "day_stay_share": ("day_stay_share", 1.0),
    "hospital_death_share": ("hospital_death_share", 1.0),
}
REGIONS = ("02000", "03000", "04000")  # bim_share_<region> against bim_share's region cells


@pytest.fixture(scope="module")
def both(spark, small_warehouse):
    """describe()'s figures and the engine's exact (unperturbed) cells, for YEARS."""
    catalogue = load_catalogue(REPO_SPECS)
    ids = sorted({i for i, _ in SAME_DEFINITION.values()} | {"treated_diabetes_share"})
    plan = build_plan(catalogue, catalogue.select(ids))
    cells = (
        compute_cells(
            spark,
            small_warehouse,
            plan,
            YEARS,
            EXACT_COUNTS.secret,
        )
        .where((F.col("breakdown_key") == "") & F.col("geo_level").isin("belgium", "region"))
        .select("indicator_id", "period", "geo_level", "geo_code", "num", "den")
        .collect()
    )
    engine = {(r["indicator_id"], r["period"], r["geo_level"], r["geo_code"]): r for r in cells}
    return describe(spark, small_warehouse, year=YEARS[0]), engine


def _belgium(engine, indicator_id, year):
    (row,) = [
        r
        for (i, y, level, _), r in engine.items()
        if (i, y, level) == (indicator_id, year, "belgium")
    ]
    return row


@pytest.mark.parametrize("year", YEARS)
@pytest.mark.parametrize("key", sorted(SAME_DEFINITION))
def test_figure_equals_the_crude_belgium_value_of_its_spec(both, key, year):
    description, engine = both
    indicator_id, factor = SAME_DEFINITION[key]
    row = _belgium(engine, indicator_id, year)
    expected = row["den"] if factor is None else factor * row["num"] / row["den"]
    got = description.figure(year, key)
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-9), (
        f"{key} {year}: describe {got} != {indicator_id} {expected} "
        f"(num {row['num']}, den {row['den']})"
    )


@pytest.mark.parametrize("year", YEARS)
@pytest.mark.parametrize("region", REGIONS)
def test_regional_bim_share_equals_the_region_cell(both, region, year):
    description, engine = both
    row = engine[("bim_share", year, "region", region)]
    assert description.figure(year, f"bim_share_{region}") == pytest.approx(
        row["num"] / row["den"], rel=1e-9
    )


@pytest.mark.parametrize("year", YEARS)
def test_diabetes_90ddd_is_a_lower_bound_of_treated_diabetes(both, year):
    # treated_diabetes = >= 90 DDD of A10 *or* a diabetes care trajectory billed in the year
    description, engine = both
    row = _belgium(engine, "treated_diabetes_share", year)
    assert description.figure(year, "diabetes_90ddd") <= row["num"] / row["den"] + 1e-12


def test_the_comparison_is_not_vacuous(both):
    # every compared figure is non-zero in the complete year, so agreement means something;
    # except the share of deaths in hospital: 300 persons have a handful of deaths, and in this
    # warehouse none of them in hospital (both sides say 0 of the same deaths)
    description, _ = both
    for key in set(SAME_DEFINITION) - {"hospital_death_share"}:
        assert description.figure(2022, key), f"{key} is {description.figure(2022, key)} in 2022"
    assert description.figure(2022, "hospital_death_share") is not None


def test_gp_lines_have_quantity_one(spark, small_warehouse):
    # the premise under which describe's sum(quantity) equals the spec's count of lines
    nomen = small_warehouse.read(spark, "ref_nomenclature").where(
        F.col("service_group").isin("gp_consult", "gp_home_visit")
    )
    gp = small_warehouse.read(spark, "health_care").join(nomen.select("nomen_code"), "nomen_code")
    assert gp.count() > 0 and gp.where(F.col("quantity") != 1).count() == 0
