"""Periods whose look-back reaches before the data are found before any Spark work (no Spark
here): windowed features and 'insured the previous year'."""

from __future__ import annotations

import datetime as dt

import yaml
from spec_helpers import indicator, write_specs

from phm.compile.plan import build_plan
from phm.compile.requirements import lookback_gaps
from phm.spec.catalogue import load_catalogue

PROPORTION = {"kind": "proportion", "per": 100, "unit": "%"}
DENTIST_3Y = {
    "id": "dentist_3y",
    "version": 1,
    "label": {"nl": "t", "fr": "t", "en": "t"},
    "source": "health_care",
    "codes": "dentist_contact",
    "aggregate": "count",
    "window_years": 3,
}
SPECS = [
    indicator(
        "dentist_share_3y",
        numerator={"where": [{"feature": "dentist_3y", "at_least": 1}]},
        measure=PROPORTION,
    ),
    indicator(
        "dentist_derived_3y",
        numerator={"where": [{"feature": "dentist_or_gp", "equals": True}]},
        measure=PROPORTION,
    ),
    indicator(
        "insured_before",
        population={"insured_previous_year": True},
        numerator={"where": [{"feature": "gp_contacts", "at_least": 1}]},
        measure=PROPORTION,
    ),
    indicator(
        "plain",
        numerator={"where": [{"feature": "gp_contacts", "at_least": 1}]},
        measure=PROPORTION,
    ),
]
DERIVED = {
    "id": "dentist_or_gp",
    "version": 1,
    "label": {"nl": "t", "fr": "t", "en": "t"},
    "derived": {
        "any_of": [
            {"feature": "dentist_3y", "at_least": 1},
            {"feature": "gp_contacts", "at_least": 1},
        ]
    },
}


def _plan(tmp_path, ids):
    root = write_specs(tmp_path / "specs", SPECS)
    for spec in (DENTIST_3Y, DERIVED):
        (root / "features" / f"{spec['id']}.yaml").write_text(yaml.safe_dump(spec))
    catalogue = load_catalogue(root)
    return build_plan(catalogue, catalogue.select(ids)), catalogue


def test_a_window_reaching_before_the_population_is_named(tmp_path):
    plan, catalogue = _plan(tmp_path, ["dentist_share_3y", "plain"])
    gaps = lookback_gaps(plan, [2022, 2023, 2024], {"population": 2022})
    assert [(g.indicator, g.year) for g in gaps] == [
        ("dentist_share_3y", 2022),
        ("dentist_share_3y", 2023),
    ]
    assert str(gaps[1]) == (
        "dentist_share_3y 2023: feature dentist_3y counts 3 years "
        "(2021-2023) but the warehouse's population starts in 2022 "
        "(2021 missing)"
    )
    assert "(2020-2021 missing)" in str(gaps[0])


def test_claims_starting_after_the_population_are_named_and_earlier_claims_do_not_count(tmp_path):
    plan, catalogue = _plan(tmp_path, ["dentist_share_3y"])
    late = lookback_gaps(plan, [2024], {"population": 2022, "health_care": 2023})
    assert [str(g) for g in late] == [
        "dentist_share_3y 2024: feature dentist_3y counts 3 years (2022-2024) but the "
        "warehouse's health_care starts in 2023 (2022 missing)"
    ]
    # claims of a year before the population do not make that year complete
    early = lookback_gaps(plan, [2023], {"population": 2022, "health_care": 2019})
    assert [(g.indicator, g.year) for g in early] == [("dentist_share_3y", 2023)]


def test_a_derived_feature_inherits_the_window_of_its_input(tmp_path):
    plan, catalogue = _plan(tmp_path, ["dentist_derived_3y"])
    gaps = lookback_gaps(plan, [2023], {"population": 2022})
    assert [str(g) for g in gaps] == [
        "dentist_derived_3y 2023: feature dentist_3y counts 3 years (2021-2023) but the "
        "warehouse's population starts in 2022 (2021 missing)"
    ]


def test_insured_previous_year_needs_the_year_before(tmp_path):
    plan, catalogue = _plan(tmp_path, ["insured_before", "plain"])
    gaps = lookback_gaps(plan, [2022, 2023], {"population": 2022})
    assert [str(g) for g in gaps] == [
        "insured_before 2022: the population keeps persons insured the year before, but the "
        "warehouse's population starts in 2022 (2021 missing)"
    ]


def test_the_catalogue_look_backs():
    from spec_helpers import REPO_SPECS

    catalogue = load_catalogue(REPO_SPECS)
    plan = build_plan(catalogue, catalogue.select(None))
    gaps = lookback_gaps(
        plan, [2022, 2023, 2024], {"population": 2022}, {"pharmacy": dt.date(2024, 12, 31)}
    )
    assert {(g.indicator, g.year) for g in gaps} == {
        # a two-year window
        ("breast_cancer_screening_50_69", 2022),
        # person-time reads the year before (arrivals count from 1 July)
        ("mortality_per_1000_person_years", 2022),
        ("antibiotic_ddd_per_1000_per_day", 2022),
        # three pooled years of person-time: 2024 pools 2022-2024 and needs 2021
        *[("mortality_per_1000_person_years_3y", y) for y in (2022, 2023, 2024)],
        # a three-year window, and persons insured for three years
        ("dentist_contact_share_3y", 2022),
        ("dentist_contact_share_3y", 2023),
        # the season of 2024 ends on 31 March 2025
        ("flu_vaccination_season_65plus", 2024),
    }
