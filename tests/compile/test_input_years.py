"""The source years a period reads (what makes it stale in an incremental run), from the
shipped catalogue's plan (no Spark here)."""

from __future__ import annotations

import pytest
from spec_helpers import REPO_SPECS

from phm.compile.plan import build_plan
from phm.compile.requirements import indicator_tables, input_years
from phm.spec.catalogue import load_catalogue


@pytest.fixture(scope="module")
def plan():
    catalogue = load_catalogue(REPO_SPECS)
    return build_plan(catalogue, catalogue.select(None))


def _years(plan, ind_id: str, period: int = 2024) -> tuple[int, int]:
    ind = next(i for i in plan.indicators if i.id == ind_id)
    return input_years(plan, ind, period)


def test_a_one_year_population_indicator_reads_its_year(plan):
    assert _years(plan, "bim_share") == (2024, 2024)


def test_a_three_year_window_reads_two_years_back(plan):
    # dentist contact in the last 3 years, among persons insured 3 years
    assert _years(plan, "dentist_contact_share_3y") == (2022, 2024)


def test_a_pooled_period_with_person_time_reads_its_pool_and_the_year_before(plan):
    # 2022-2024 pooled; person-time needs the population of 2021 for arrivals
    assert _years(plan, "mortality_per_1000_person_years_3y") == (2021, 2024)


def test_a_change_reads_the_previous_period_too(plan):
    # antibiotic DID publishes the change versus 2023, and uses person-days (arrivals: 2022)
    assert _years(plan, "antibiotic_ddd_per_1000_per_day") == (2022, 2024)


def test_a_season_or_an_event_reaches_into_the_next_year(plan):
    assert _years(plan, "flu_vaccination_season_65plus") == (2024, 2025)
    assert _years(plan, "readmission_unplanned_30d") == (2023, 2025)


def test_an_event_indicator_reads_the_stays_and_its_follow_up_source(plan):
    ind = next(i for i in plan.indicators if i.id == "gp_contact_after_discharge_65plus")
    assert indicator_tables(plan, ind) == ["health_care", "hospital_stay", "population"]
