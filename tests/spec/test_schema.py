"""schema: the JSON Schemas for editors, and the committed copies kept in step with the models."""

from __future__ import annotations

import json
from pathlib import Path

from phm.spec.catalogue import KINDS
from phm.spec.schema import json_schemas, write_json_schemas

COMMITTED = Path(__file__).resolve().parents[2] / "indicator_specs" / "schema"
REGENERATE = (
    'python -c "from pathlib import Path; from phm.spec.schema import '
    "write_json_schemas; write_json_schemas(Path('indicator_specs/schema'))\""
)


def test_one_schema_per_spec_kind():
    schemas = json_schemas()
    assert list(schemas) == [
        "indicators",
        "features",
        "events",
        "codelists",
        "age_schemes",
        "areas",
        "simulations",
    ]
    assert set(schemas) == set(KINDS)  # the folders the loader reads
    for kind, schema in schemas.items():
        assert schema["$id"] == f"{kind}.schema.json"
        assert kind in schema["title"] and KINDS[kind].__name__ in schema["title"]
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["type"] == "object"
        assert schema["additionalProperties"] is False
        assert "id" in schema["required"]


def test_indicator_schema_forbids_unknown_fields():
    schema = json_schemas()["indicators"]
    assert schema["additionalProperties"] is False
    assert "numerator" in schema["properties"] and "numerater" not in schema["properties"]
    assert {"measure", "changelog", "theme"} <= set(schema["required"])
    assert "numerator" not in schema["required"]  # event indicators have none
    assert schema["properties"]["theme"]["enum"] == [
        "demography",
        "prevention",
        "health_status",
        "care_consumption",
        "accessibility",
        "organisation",
        "quality_of_care",
    ]
    assert schema["properties"]["grain"]["enum"] == ["person_year", "stay", "person"]
    defs = schema["$defs"]
    # nested blocks forbid unknown keys too, and use the YAML spelling of aliased fields
    for name in ("Numerator", "Measure", "Condition", "Population", "Breakdowns"):
        assert defs[name]["additionalProperties"] is False, name
    assert "in" in defs["Condition"]["properties"] and "in_" not in defs["Condition"]["properties"]
    assert defs["Measure"]["properties"]["kind"]["enum"] == ["proportion", "rate", "mean", "ratio"]


def test_other_schemas_use_yaml_names():
    schemas = json_schemas()
    assert "from" in schemas["age_schemes"]["$defs"]["AgeBand"]["properties"]
    assert schemas["codelists"]["properties"]["system"]["enum"] == [
        "nomenclature",
        "atc",
        "cnk",
        "diagnosis_group",
    ]
    assert "derived" in schemas["features"]["properties"]
    assert "areas" in schemas["areas"]["properties"]


def test_write_json_schemas(tmp_path):
    paths = write_json_schemas(tmp_path / "out")
    assert [p.name for p in paths] == [
        "indicators.schema.json",
        "features.schema.json",
        "events.schema.json",
        "codelists.schema.json",
        "age_schemes.schema.json",
        "areas.schema.json",
        "simulations.schema.json",
    ]
    for path, (kind, schema) in zip(paths, json_schemas().items(), strict=True):
        text = path.read_text(encoding="utf-8")
        assert text.endswith("}\n") and not text.endswith("\n\n")
        assert json.loads(text) == schema, kind
        assert text == json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_committed_schemas_are_up_to_date(tmp_path):
    fresh = {p.name: p.read_text(encoding="utf-8") for p in write_json_schemas(tmp_path)}
    committed = {p.name: p.read_text(encoding="utf-8") for p in COMMITTED.glob("*.schema.json")}
    how = f"regenerate them from the repository root with: {REGENERATE}"
    assert sorted(committed) == sorted(fresh), (
        f"indicator_specs/schema holds {sorted(committed)}, expected {sorted(fresh)}; {how}"
    )
    stale = [name for name in fresh if committed[name] != fresh[name]]
    assert not stale, (
        f"indicator_specs/schema/{', '.join(stale)} out of date with lib/phm/spec/models.py; {how}"
    )
