"""The resolved plan, without Spark: what it resolves from the catalogue, its JSON round trip,
and a snapshot of the shipped catalogue's plan (a change to the specs or to the planner shows
up here as a reviewable diff).

Update the snapshot after an intended change with::

    PHM_UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/compile/test_plan.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from spec_helpers import REPO_SPECS, indicator, write_specs

from phm.compile.explain import explain
from phm.compile.plan import (
    GEO_COLUMNS,
    Plan,
    build_plan,
    feature_plan,
    plan_from_json,
    plan_to_json,
)
from phm.spec import load_catalogue

SNAPSHOT = Path(__file__).parent / "snapshots" / "catalogue_plan.json"


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue(REPO_SPECS)


@pytest.fixture(scope="module")
def plan(catalogue) -> Plan:
    return build_plan(catalogue, catalogue.select())


def summary(plan: Plan) -> dict:
    """The plan's structure (ids, versions, counts, hashes), not its texts."""
    return {
        "indicators": {i.id: plan.hashes[i.id] for i in plan.indicators},
        "passes": {p.table: [f.id for f in p.features] for p in plan.passes},
        "derived": [f.id for f in plan.derived],
        "events": [e.id for e in plan.events],
        "dims": list(plan.dims),
        "grouping_sets": [f"{level}:{'+'.join(combo)}" for level, combo in plan.grouping_sets],
        "area_sets": {a: ["+".join(c) for c in combos] for a, combos in plan.area_sets},
        "codelists": {
            n: f"{c.system} v{c.version} {len(c.codes)} codes" for n, c in plan.codelists.items()
        },
        "age_schemes": {n: [b.label for b in s.bands] for n, s in plan.age_schemes.items()},
        "area_members": {a: len(m) for a, m in plan.area_members.items()},
        "variable_kinds": plan.variable_kinds,
        "indicator_features": {i: list(f) for i, f in plan.indicator_features.items()},
        "reads": sorted({f"{r.table}.{r.column} <- {r.file}:{r.field}" for r in plan.reads}),
        "geography": [f"{level}:{column}" for level, column in plan.geography],
    }


def test_shipped_catalogue_plan_matches_snapshot(plan):
    got = json.dumps(summary(plan), indent=1, sort_keys=True) + "\n"
    if os.environ.get("PHM_UPDATE_SNAPSHOTS") == "1" or not SNAPSHOT.exists():
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(got)
    assert got == SNAPSHOT.read_text(), (
        "the shipped catalogue's plan changed; review the diff and, if intended, run "
        "PHM_UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/compile/test_plan.py"
    )


def test_plan_round_trips_through_json(plan):
    again = plan_from_json(plan_to_json(plan))
    assert again == plan
    assert plan_to_json(again) == plan_to_json(plan)


def test_plan_resolves_everything_the_passes_look_up(catalogue, plan):
    used_codelists = {f.codes for f in plan.features if f.codes} | {
        c
        for e in plan.events
        for s in (e.index, e.follow_up)
        for c in (s.codes, s.exclude_codes)
        if c
    }
    assert set(plan.codelists) == used_codelists
    assert all(plan.codelists[n] == catalogue.codelists[n] for n in used_codelists)
    schemes = {d.split(":", 1)[1] for d in plan.dims if d.startswith("age:")}
    assert set(plan.age_schemes) == schemes
    for area, members in plan.area_members.items():
        expected = {
            (nis, code)
            for code, a in catalogue.areas[area].areas.items()
            for nis in a.municipalities
        }
        assert set(members) == expected and len(members) == len(expected)
    factors = {
        f
        for i in plan.indicators
        if i.hospital_comparison
        for f in i.hospital_comparison.risk_factors
    }
    assert factors and {f for f in factors if f != "age5"} <= set(plan.variable_kinds)
    for ind in plan.indicators:
        assert [f.id for f in plan.features_of(ind)] == [
            f.id for f in catalogue.features_for([ind])
        ]
    assert dict(plan.geography) == GEO_COLUMNS


def test_reads_name_the_spec_field_and_its_users(tmp_path):
    root = write_specs(
        tmp_path,
        [
            indicator(
                "t_share",
                numerator={"where": [{"feature": "gp_contacts", "at_least": 1}]},
                measure={"kind": "proportion", "per": 100, "unit": "%"},
            )
        ],
    )
    cat = load_catalogue(root)
    plan = build_plan(cat, cat.select(["t_share"]))
    reads = {(r.table, r.column): r for r in plan.reads}
    assert set(reads) == {("health_care", "nomen_code")}  # gp_contacts counts coded rows
    codes = reads[("health_care", "nomen_code")]
    assert codes.file.endswith("features/gp_contacts.yaml") and codes.field == "codes"
    assert codes.line == 10 and codes.used_by == ("t_share",)  # the line of 'codes: gp_contact'


def test_explain_needs_only_the_plan(plan):
    text = explain(plan)
    assert f"{len(plan.indicators)} indicator(s)" in text
    for p in plan.passes:
        assert f"{p.table}: ONE pass, {len(p.features)} feature(s)" in text
    # code lists are described from the plan's own copies
    name, cl = next(iter(plan.codelists.items()))
    assert f"in {name} v{cl.version} ({len(cl.codes)} code(s))" in text


def test_feature_plan_resolves_its_code_lists(catalogue):
    names = [f for f in ("diabetes", "gp_contacts") if f in catalogue.features]
    assert names
    plan = feature_plan(catalogue, names)
    assert {f.codes for f in plan.features if f.codes} == set(plan.codelists)
    assert plan.indicators == () and plan.reads
