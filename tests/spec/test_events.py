"""Event sequences and event indicators in the spec language: the models alone, then the checks
across specs with the file, line and field of each problem."""

from __future__ import annotations

import shutil
import textwrap

import pytest
from pydantic import ValidationError

from phm.spec.catalogue import load_catalogue
from phm.spec.issues import SpecError
from phm.spec.models import Event, Feature, Indicator, Window
from spec_helpers import REPO_SPECS, indicator

TEXT = {"nl": "x", "fr": "x", "en": "x"}
EVENT = {
    "id": "readmit",
    "version": 1,
    "label": TEXT,
    "index": {"exclude": {"discharge_destination": ["death", "transfer"]}},
    "follow_up": {
        "source": "hospital_stay",
        "exclude_codes": "planned_care",
        "window": {"from_days": 1, "to_days": 30},
    },
}
PROPORTION = {"kind": "proportion", "per": 100, "unit": "%"}


def error(model, data) -> str:
    with pytest.raises(ValidationError) as info:
        model.model_validate(data)
    errors = info.value.errors()
    assert len(errors) == 1, errors
    return errors[0]["msg"].removeprefix("Value error, ")


def test_event_model():
    event = Event.model_validate(EVENT)
    assert event.index.source == "hospital_stay"
    assert (event.follow_up.window.from_days, event.follow_up.window.to_days) == (1, 30)


def test_window_order():
    assert error(Window, {"from_days": 8, "to_days": 7}) == "to_days (7) is before from_days (8)"


def test_follow_up_source_is_checked():
    bad = {**EVENT, "follow_up": {**EVENT["follow_up"], "source": "pharmacy"}}
    assert "hospital_stay" in error(Event, bad)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"grain": "stay"}, "grain 'stay' counts index events: give 'events'"),
        (
            {"grain": "stay", "events": "readmit", "numerator": {"sum": "x"}},
            "an event indicator's numerator is the index events with a follow-up: leave 'numerator' out",
        ),
        (
            {"grain": "stay", "events": "readmit", "measure": {"kind": "rate", "unit": "x"}},
            "an event indicator is a proportion (of index events with a follow-up): measure.kind must "
            "be 'proportion'",
        ),
        (
            {"events": "readmit", "numerator": {"sum": "x"}},
            "'events' needs grain 'stay' or 'person'",
        ),
        (
            {
                "grain": "person",
                "events": "readmit",
                "hospital_comparison": {"risk_factors": ["sex"]},
            },
            "hospital_comparison needs grain 'stay'",
        ),
    ],
)
def test_event_indicator_shape(changes, message):
    base = {k: v for k, v in indicator("ix", measure=PROPORTION).items()}
    assert error(Indicator, {**base, **changes}) == message


def test_funnel_levels():
    spec = indicator(
        "ix",
        grain="stay",
        events="readmit",
        measure=PROPORTION,
        hospital_comparison={"risk_factors": ["sex"], "funnel": [0.998, 0.95, 1.2]},
    )
    assert "between 0.5 and 1" in error(Indicator, spec)


def test_pdc_needs_pharmacy_codes():
    spec = {
        "id": "pdc",
        "version": 1,
        "label": TEXT,
        "source": "health_care",
        "aggregate": "pdc",
        "of": "quantity",
    }
    assert "source: pharmacy and codes" in error(Feature, spec)


# -- across specs --------------------------------------------------------------------------------


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "specs"
    for kind in ("features", "codelists", "age_schemes"):
        shutil.copytree(REPO_SPECS / kind, root / kind)
    (root / "events").mkdir()
    (root / "indicators").mkdir()
    return root


def write(root, rel, text):
    (root / rel).write_text(textwrap.dedent(text), encoding="utf-8")


def issues_of(root):
    with pytest.raises(SpecError) as info:
        load_catalogue(root)
    return info.value.issues


def test_event_reference_errors(folder):
    write(
        folder,
        "events/bad.yaml",
        """\
        id: bad
        version: 1
        label: {nl: x, fr: x, en: x}
        index:
          codes: gp_contact
          where:
            servise_type: psychiatric
        follow_up:
          source: health_care
          codes: planned_care
          exclude_codes: no_such_list
          window: {from_days: 1, to_days: 7}
        """,
    )
    found = {(i.line, i.field): i.message for i in issues_of(folder)}
    assert found[(5, "index.codes")].startswith(
        "code list 'gp_contact' holds nomenclature codes, matched on health_care.nomen_code; "
        "this event reads hospital_stay"
    )
    assert found[(7, "index.where.servise_type")].startswith(
        "a hospital episode has no column 'servise_type'; did you mean 'service_type'?"
    )
    assert "matched on hospital_stay.main_diagnosis_group" in found[(10, "follow_up.codes")]
    assert found[(11, "follow_up.exclude_codes")].startswith("unknown code list 'no_such_list'")
    assert len(found) == 4


def test_indicator_event_and_risk_factor_errors(folder):
    shutil.copy(REPO_SPECS / "events" / "readmission_30d.yaml", folder / "events")
    write(
        folder,
        "indicators/ind.yaml",
        """\
        id: ind
        version: 1
        status: draft
        owner: tests
        changelog: [{version: 1, date: 2026-11-23, change: Test.}]
        theme: quality_of_care
        label: {nl: x, fr: x, en: x}
        definition: {nl: x, fr: x, en: x}
        grain: stay
        events: readmision_30d
        measure: {kind: proportion, per: 100, unit: "%"}
        hospital_comparison:
          risk_factors: [age5, sex, chronic_statuss]
        """,
    )
    found = {(i.line, i.field): i.message for i in issues_of(folder)}
    assert found == {
        (10, "events"): "unknown event 'readmision_30d'; did you mean 'readmission_30d'?",
        (
            13,
            "hospital_comparison.risk_factors[2]",
        ): "unknown risk factor 'chronic_statuss'; did you mean 'chronic_status'?; expected "
        "'age5', a person attribute or a feature",
    }


def test_repository_events_hash_into_indicators():
    cat = load_catalogue(REPO_SPECS)
    h = cat.hash_of("indicators", "readmission_via_ed_7d")
    assert h == cat.hash_of("indicators", "readmission_via_ed_7d")
    ids = {i.id for i in cat.select(collections=["quality"])}
    assert "readmission_via_ed_7d" in ids and "gp_contacts_per_patient" not in ids
    with pytest.raises(SpecError, match="unknown collection 'qualty'; did you mean 'quality'"):
        cat.select(collections=["qualty"])


def test_hospital_follow_up_starts_the_day_after():
    bad = {**EVENT, "follow_up": {**EVENT["follow_up"], "window": {"from_days": 0, "to_days": 7}}}
    assert "window.from_days must be 1 or more" in error(Event, bad)
    claims = {
        **EVENT,
        "follow_up": {
            "source": "health_care",
            "codes": "gp_contact",
            "window": {"from_days": 0, "to_days": 7},
        },
    }
    assert Event.model_validate(claims).follow_up.window.from_days == 0
