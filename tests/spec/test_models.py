"""models: what one spec must look like on its own (every validator, both ways)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from phm.spec.models import (
    AgeBand,
    AgeScheme,
    AreaSet,
    Breakdowns,
    CodeList,
    Condition,
    Derived,
    Feature,
    Indicator,
    Measure,
    Numerator,
    Standardisation,
)

TEXT = {"nl": "x", "fr": "x", "en": "x"}


def errors_of(model, data) -> list[tuple[tuple, str]]:
    """(location, message) of every error raised validating ``data``."""
    with pytest.raises(ValidationError) as info:
        model.model_validate(data)
    return [(e["loc"], e["msg"].removeprefix("Value error, ")) for e in info.value.errors()]


def one_error(model, data) -> str:
    errors = errors_of(model, data)
    assert len(errors) == 1, errors
    return errors[0][1]


# -- conditions --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "test",
    [
        {"at_least": 1},
        {"at_most": 3},
        {"at_least": 1, "at_most": 3},
        {"equals": True},
        {"equals": False},
        {"equals": 0},
        {"in": ["100", "500"]},
    ],
)
def test_condition_with_one_test(test):
    cond = Condition.model_validate({"feature": "x", **test})
    assert cond.feature == "x"


@pytest.mark.parametrize(
    "test",
    [
        {},
        {"at_least": 1, "equals": 2},
        {"equals": "F", "in": ["F"]},
        {"at_most": 1, "in": [1]},
    ],
)
def test_condition_needs_exactly_one_test(test):
    assert (
        one_error(Condition, {"feature": "x", **test})
        == "give exactly one test: at_least/at_most, equals, in or top"
    )


def test_condition_in_needs_a_value():
    assert one_error(Condition, {"feature": "x", "in": []}) == "'in' needs at least one value"


def test_condition_reads_in_by_its_alias():
    assert Condition.model_validate({"feature": "insurer", "in": ["100"]}).in_ == ["100"]
    loc, msg = errors_of(Condition, {"feature": "x", "equals": 1, "inn": [1]})[0]
    assert loc == ("inn",) and msg == "Extra inputs are not permitted"


# -- features ----------------------------------------------------------------------------------

SOURCE_FEATURE = {
    "id": "gp_contacts",
    "version": 1,
    "label": TEXT,
    "source": "health_care",
    "codes": "gp_contact",
    "aggregate": "count",
}
DERIVED_FEATURE = {
    "id": "treated",
    "version": 1,
    "label": TEXT,
    "derived": {"any_of": [{"feature": "a", "at_least": 90}]},
}


def feature(base=SOURCE_FEATURE, **changes):
    data = {**base, **changes}
    return {k: v for k, v in data.items() if v is not None}


def test_valid_features():
    assert Feature.model_validate(feature()).window_years == 1
    assert Feature.model_validate(DERIVED_FEATURE).derived.any_of[0].feature == "a"
    Feature.model_validate(feature(aggregate="sum", of="amount_reimbursed", window_years=3))
    Feature.model_validate(
        feature(
            source="pharmacy",
            codes=None,
            aggregate="count_distinct",
            of="atc5",
            having={"sum_of": "ddd", "at_least": 80},
        )
    )
    Feature.model_validate(
        feature(aggregate="any", window_years=2, having={"sum_of": "ddd", "at_least": 1})
    )


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("source", "health_care", "source"),
        ("codes", "gp_contact", "codes"),
        ("aggregate", "count", "aggregate"),
        ("of", "atc5", "of"),
        ("having", {"sum_of": "ddd", "at_least": 1}, "having"),
        ("where", {"stay_type": "classic"}, "where"),
    ],
)
def test_derived_feature_takes_no_source_field(field, value, named):
    assert (
        one_error(Feature, feature(DERIVED_FEATURE, **{field: value}))
        == f"a derived feature takes no {named}"
    )


def test_derived_feature_lists_every_source_field_given():
    assert (
        one_error(Feature, feature(DERIVED_FEATURE, source="pharmacy", aggregate="any"))
        == "a derived feature takes no source, aggregate"
    )


def test_derived_feature_takes_no_window():
    assert (
        one_error(Feature, feature(DERIVED_FEATURE, window_years=2))
        == "a derived feature takes no window_years (window its inputs)"
    )


@pytest.mark.parametrize("missing", ["source", "aggregate"])
def test_source_feature_needs_source_and_aggregate(missing):
    assert (
        one_error(Feature, feature(**{missing: None})) == "give source and aggregate (or derived)"
    )


@pytest.mark.parametrize("aggregate", ["sum", "count_distinct", "max"])
def test_aggregate_needs_of(aggregate):
    assert (
        one_error(Feature, feature(aggregate=aggregate))
        == f"aggregate {aggregate!r} needs 'of' (the column)"
    )


@pytest.mark.parametrize("aggregate", ["count", "any"])
def test_aggregate_takes_no_of(aggregate):
    assert (
        one_error(Feature, feature(aggregate=aggregate, of="quantity"))
        == f"aggregate {aggregate!r} takes no 'of'"
    )


@pytest.mark.parametrize(("aggregate", "of"), [("count", None), ("sum", "quantity"), ("any", None)])
def test_window_years_with_count_sum_any(aggregate, of):
    assert (
        Feature.model_validate(feature(aggregate=aggregate, of=of, window_years=5)).window_years
        == 5
    )


@pytest.mark.parametrize(
    ("aggregate", "of"), [("count_distinct", "nomen_code"), ("max", "quantity")]
)
def test_window_years_not_with_count_distinct_or_max(aggregate, of):
    assert (
        one_error(Feature, feature(aggregate=aggregate, of=of, window_years=2))
        == "window_years > 1 only adds up count, sum or any over the years"
    )


@pytest.mark.parametrize("window", [0, 6])
def test_window_years_range(window):
    [(loc, _)] = errors_of(Feature, feature(window_years=window))
    assert loc == ("window_years",)


@pytest.mark.parametrize(("aggregate", "of"), [("count", None), ("sum", "ddd"), ("max", "ddd")])
def test_having_only_with_count_distinct_or_any(aggregate, of):
    message = one_error(
        Feature, feature(aggregate=aggregate, of=of, having={"sum_of": "ddd", "at_least": 80})
    )
    assert message.startswith("'having' goes with aggregate count_distinct")


@pytest.mark.parametrize(
    ("derived", "message"),
    [
        ({}, "give exactly one of any_of, all_of or sum_of"),
        (
            {"any_of": [{"feature": "a", "equals": True}], "sum_of": ["b"]},
            "give exactly one of any_of, all_of or sum_of",
        ),
        ({"all_of": []}, "the list is empty"),
        ({"sum_of": []}, "the list is empty"),
    ],
)
def test_derived_needs_one_non_empty_list(derived, message):
    assert one_error(Derived, derived) == message


@pytest.mark.parametrize("ident", ["GP", "1abc", "a", "gp-contacts", "x" * 65])
def test_ids_are_snake_case(ident):
    [(loc, _)] = errors_of(Feature, feature(id=ident))
    assert loc == ("id",)


# -- numerator, measure, breakdowns, standardisation ------------------------------------------


def test_numerator_one_of_where_or_sum():
    assert Numerator(sum="x").sum == "x"
    assert Numerator.model_validate({"where": [{"feature": "a", "equals": True}]}).where
    # both: a sum over the persons meeting the conditions (the spending of the top 1%)
    both = Numerator.model_validate({"sum": "x", "where": [{"feature": "x", "top": 0.01}]})
    assert both.sum == "x" and both.where[0].top == 0.01
    assert one_error(Numerator, {}) == (
        "give where (persons meeting conditions), sum, or both "
        "(a sum over the persons meeting the conditions)"
    )
    assert one_error(Numerator, {"where": []}) == "'where' needs at least one condition"


@pytest.mark.parametrize(
    ("kind", "ci"),
    [
        ("proportion", "wilson"),
        ("proportion", "exact"),
        ("proportion", "none"),
        ("rate", "poisson"),
        ("rate", "none"),
        ("mean", "normal"),
        ("mean", "none"),
    ],
)
def test_measure_ci_fits_the_kind(kind, ci):
    assert Measure(kind=kind, unit="u", ci=ci).interval == ci


@pytest.mark.parametrize(
    ("kind", "ci", "allowed"),
    [
        ("proportion", "poisson", "['exact', 'none', 'wilson']"),
        ("proportion", "normal", "['exact', 'none', 'wilson']"),
        ("rate", "wilson", "['none', 'poisson']"),
        ("mean", "exact", "['none', 'normal']"),
    ],
)
def test_measure_ci_that_does_not_fit(kind, ci, allowed):
    assert (
        one_error(Measure, {"kind": kind, "unit": "u", "ci": ci})
        == f"ci {ci!r} does not fit a {kind}; use one of {allowed}"
    )


def test_ratio_ci_is_none_only():
    data = {"kind": "ratio", "unit": "%", "denominator_sum": "b"}
    assert Measure.model_validate(data).interval == "none"
    assert one_error(Measure, {**data, "ci": "poisson"}).startswith("ci 'poisson' does not fit")


@pytest.mark.parametrize(
    ("kind", "interval"), [("proportion", "wilson"), ("rate", "poisson"), ("mean", "normal")]
)
def test_measure_default_interval(kind, interval):
    assert Measure(kind=kind, unit="u").interval == interval


def test_ratio_needs_denominator_sum_and_only_ratio_takes_it():
    message = "denominator_sum is required for a ratio and only for a ratio"
    assert one_error(Measure, {"kind": "ratio", "unit": "%"}) == message
    assert one_error(Measure, {"kind": "rate", "unit": "%", "denominator_sum": "b"}) == message


@pytest.mark.parametrize(
    ("field", "value"),
    [("per", 0), ("decimals", 7), ("ci_level", 0.5), ("ci_level", 1), ("unit", "")],
)
def test_measure_bounds(field, value):
    [(loc, _)] = errors_of(Measure, {"kind": "rate", "unit": "u", field: value})
    assert loc == (field,)


def test_breakdowns_default_to_every_level():
    assert Breakdowns().geography == [
        "municipality",
        "arrondissement",
        "province",
        "region",
        "belgium",
    ]
    assert Breakdowns().sets == [()]


def test_breakdowns_must_include_belgium():
    assert (
        one_error(Breakdowns, {"geography": ["municipality", "region"]})
        == "include 'belgium': the national total is the reference of indirect "
        "standardisation and hospital comparisons"
    )
    assert (
        one_error(Breakdowns, {"geography": ["belgium", "region", "region"]})
        == "a level is listed twice"
    )
    assert Breakdowns(geography=["belgium"]).geography == ["belgium"]


def test_breakdown_sets_total_first_sorted_without_repeats():
    b = Breakdowns.model_validate(
        {"by": ["sex", ["sex", "age:atlas"], "bim", "sex", ["age:atlas", "sex"], ["bim", "bim"]]}
    )
    assert b.sets == [(), ("sex",), ("age:atlas", "sex"), ("bim",)]
    assert b.dims == ["age:atlas", "bim", "sex"]


@pytest.mark.parametrize("reference", ["esp2013", "belgium_2019", "belgium_2020", "belgium_2021"])
def test_direct_standardisation_references(reference):
    assert Standardisation(method="direct", reference=reference).reference == reference


@pytest.mark.parametrize(
    "reference",
    ["belgium_2018", "belgium_2022", "belgium_2019x", "esp2013 ", "ESP2013", "esp2010", "belgium"],
)
def test_unknown_direct_reference(reference):
    assert one_error(Standardisation, {"method": "direct", "reference": reference}).startswith(
        f"unknown reference {reference!r}; expected 'esp2013' or 'belgium_<year>'"
    )


def test_standardisation_reference_rules():
    assert one_error(Standardisation, {"method": "direct"}).startswith(
        "direct standardisation needs a reference"
    )
    for method in ("indirect", "none"):
        assert (
            one_error(Standardisation, {"method": method, "reference": "esp2013"})
            == f"method {method!r} takes no reference"
        )
    assert Standardisation(method="indirect").reference is None


# -- indicators ---------------------------------------------------------------------------------

PROPORTION = {
    "id": "share",
    "version": 2,
    "status": "draft",
    "owner": "tests",
    "changelog": [
        {"version": 1, "date": "2026-01-01", "change": "First."},
        {"version": 2, "date": "2026-02-01", "change": "Second."},
    ],
    "theme": "prevention",
    "label": TEXT,
    "definition": TEXT,
    "numerator": {"where": [{"feature": "flu_vaccine", "equals": True}]},
    "measure": {"kind": "proportion", "per": 100, "unit": "%"},
}
MEAN = {
    **PROPORTION,
    "numerator": {"sum": "gp_contacts"},
    "measure": {"kind": "mean", "unit": "contacts"},
}


def test_valid_indicators_and_defaults():
    ind = Indicator.model_validate(PROPORTION)
    assert ind.grain == "person_year" and ind.disclosure.min_count == 5
    assert ind.standardisation.method == "none" and ind.population.age.min is None
    Indicator.model_validate(MEAN)


def test_proportion_needs_numerator_where():
    assert (
        one_error(Indicator, {**PROPORTION, "numerator": {"sum": "gp_contacts"}})
        == "a proportion counts persons: give numerator.where (and no sum)"
    )


@pytest.mark.parametrize("kind", ["rate", "mean"])
def test_other_kinds_need_numerator_sum(kind):
    data = {**PROPORTION, "measure": {"kind": kind, "unit": "u"}}
    assert one_error(Indicator, data) == f"a {kind} adds up a feature: give numerator.sum"


def test_ratio_cannot_be_standardised():
    data = {
        **MEAN,
        "measure": {"kind": "ratio", "unit": "%", "denominator_sum": "b"},
        "standardisation": {"method": "indirect"},
    }
    assert one_error(Indicator, data) == "a ratio of two sums cannot be age-sex standardised here"


def test_changelog_must_contain_the_version():
    assert (
        one_error(Indicator, {**PROPORTION, "version": 3})
        == "the changelog has no entry for version 3"
    )
    [(loc, _)] = errors_of(Indicator, {**PROPORTION, "changelog": []})
    assert loc == ("changelog",)


def test_theme_is_one_of_six():
    [(loc, msg)] = errors_of(Indicator, {**PROPORTION, "theme": "quality"})
    assert loc == ("theme",) and "'demography'" in msg and "'organisation'" in msg


def test_population_age_range_order():
    data = {**PROPORTION, "population": {"age": {"min": 65, "max": 18}}}
    [(loc, msg)] = errors_of(Indicator, data)
    assert loc == ("population", "age") and msg == "min (65) is above max (18)"


def test_unknown_nested_field_is_located():
    data = {**PROPORTION, "measure": {"kind": "proportion", "unit": "%", "decimal": 1}}
    [(loc, msg)] = errors_of(Indicator, data)
    assert loc == ("measure", "decimal") and msg == "Extra inputs are not permitted"


def test_text_needs_three_languages():
    [(loc, _)] = errors_of(Indicator, {**PROPORTION, "label": {"nl": "x", "fr": "x"}})
    assert loc == ("label", "en")


# -- code lists, age schemes, area sets --------------------------------------------------------


def codelist(system, codes):
    return {"id": "cl", "version": 1, "label": TEXT, "system": system, "codes": codes}


@pytest.mark.parametrize(
    ("system", "codes"),
    [
        ("nomenclature", ["101032", "590052"]),
        ("atc", ["A", "A10", "A10B", "A10BA", "A10BA02"]),
        ("cnk", ["0123456", "9999999"]),
        ("diagnosis_group", ["copd_asthma", "stroke"]),
    ],
)
def test_codelist_formats(system, codes):
    assert CodeList.model_validate(codelist(system, codes)).codes == codes


@pytest.mark.parametrize(
    ("system", "bad", "expected"),
    [
        ("nomenclature", "10103", "6-digit codes"),
        ("nomenclature", "1010320", "6-digit codes"),
        ("nomenclature", "10103a", "6-digit codes"),
        ("atc", "a10", "ATC codes or prefixes"),
        ("atc", "A1", "ATC codes or prefixes"),
        ("atc", "A10BA0", "ATC codes or prefixes"),
        ("atc", "A10BA021", "ATC codes or prefixes"),
        ("atc", "A10B1", "ATC codes or prefixes"),
        ("cnk", "123456", "7-digit CNK codes"),
        ("cnk", "12345678", "7-digit CNK codes"),
        ("diagnosis_group", "COPD", "lower-case group names"),
    ],
)
def test_codelist_bad_format(system, bad, expected):
    good = {"nomenclature": "101032", "atc": "A10", "cnk": "1234567", "diagnosis_group": "stroke"}[
        system
    ]
    message = one_error(CodeList, codelist(system, [good, bad]))
    assert message.startswith(f"expected {expected}")
    assert message.endswith(f"got [{bad!r}]")


def test_codelist_duplicates_and_empty():
    assert (
        one_error(CodeList, codelist("nomenclature", ["101032", "101010", "101032"]))
        == "a code is listed twice"
    )
    [(loc, _)] = errors_of(CodeList, codelist("atc", []))
    assert loc == ("codes",)


def scheme(*bands):
    return {
        "id": "bands",
        "label": TEXT,
        "bands": [{"from": f} if t is None else {"from": f, "to": t} for f, t in bands],
    }


def test_age_scheme_contiguous_with_open_last_band():
    s = AgeScheme.model_validate(scheme((0, 17), (18, 64), (65, None)))
    assert [b.label for b in s.bands] == ["0-17", "18-64", "65+"]
    assert AgeScheme.model_validate(scheme((0, None))).bands[0].label == "0+"


@pytest.mark.parametrize(
    ("bands", "message"),
    [
        (((1, 17), (18, None)), "band 0 starts at 1, expected 0 (bands must be contiguous from 0)"),
        (
            ((0, 17), (19, None)),
            "band 1 starts at 19, expected 18 (bands must be contiguous from 0)",
        ),
        (
            ((0, 17), (17, None)),
            "band 1 starts at 17, expected 18 (bands must be contiguous from 0)",
        ),
        (((0, 17), (18, 64)), "the last band must be open-ended (to: none)"),
        (((0, None), (18, None)), "band 0 is open-ended but is not the last"),
        (((0, 17), (18, 10), (11, None)), "band 1 ends before it starts"),
    ],
)
def test_age_scheme_errors(bands, message):
    assert one_error(AgeScheme, scheme(*bands)) == message


def test_age_band_label_and_alias():
    assert AgeBand.model_validate({"from": 85}).label == "85+"
    assert AgeBand.model_validate({"from": 18, "to": 44}).label == "18-44"
    assert AgeBand(from_=5, to=5).label == "5-5"


def test_area_set_needs_areas_and_municipalities():
    base = {"id": "zones", "version": 1, "label": TEXT}
    assert AreaSet.model_validate(
        {**base, "areas": {"a": {"label": "A", "municipalities": ["24062"]}}}
    )
    [(loc, _)] = errors_of(AreaSet, {**base, "areas": {}})
    assert loc == ("areas",)
    [(loc, _)] = errors_of(AreaSet, {**base, "areas": {"a": {"label": "A", "municipalities": []}}})
    assert loc == ("areas", "a", "municipalities")


# -- specs v2 constructs ----------------------------------------------------------------------

RATE = {
    **PROPORTION,
    "numerator": {"sum": "classic_stays"},
    "measure": {
        "kind": "rate",
        "per": 1000,
        "unit": "per 1,000 person-years",
        "denominator": "person_years",
    },
}


def test_person_time_goes_with_rates_only():
    assert Indicator.model_validate(RATE).measure.denominator == "person_years"
    assert (
        one_error(
            Indicator,
            {
                **PROPORTION,
                "measure": {"kind": "proportion", "unit": "%", "denominator": "person_days"},
            },
        )
        == "denominator 'person_days' (person-time) goes with kind 'rate'"
    )


def test_top_is_a_numerator_test_not_a_population_filter():
    assert one_error(
        Indicator, {**RATE, "population": {"where": [{"feature": "reimbursed_total", "top": 0.01}]}}
    ) == (
        "'top' is relative to the indicator's population: use it in numerator.where, not in "
        "the population"
    )
    assert "less than 1" in one_error(Condition, {"feature": "x", "top": 1.5})


def test_pooled_periods_are_refused_where_a_year_is_the_unit():
    assert Indicator.model_validate({**RATE, "pooled_years": 3}).pooled_years == 3
    assert one_error(
        Indicator, {**RATE, "pooled_years": 3, "standardisation": {"method": "indirect"}}
    ).startswith("indirect standardisation takes Belgium's rates of one year")


def test_a_season_is_months_of_one_aggregate_without_window():
    base = {
        "id": "flu",
        "version": 1,
        "label": {"nl": "x", "fr": "x", "en": "x"},
        "source": "pharmacy",
        "codes": "atc_influenza_vaccine",
        "aggregate": "any",
    }
    f = Feature.model_validate({**base, "season": {"from_month": 10, "to_month": 3}})
    assert f.season.crosses_year and f.season.label == "Oct Y - Mar Y+1"
    assert one_error(
        Feature, {**base, "window_years": 2, "season": {"from_month": 10, "to_month": 3}}
    ) == ("a season goes with aggregate count, sum or any, without window_years")
    assert "less than or equal to 12" in one_error(
        Feature, {**base, "season": {"from_month": 13, "to_month": 3}}
    )
