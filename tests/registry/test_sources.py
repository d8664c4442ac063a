"""Source tables: the registry agrees with the data contract and drives the spec grammar."""

from __future__ import annotations

from phm.data.schemas import SOURCE_TABLES
from phm.registry.sources import CODE_SYSTEMS, FOLLOW_UP_SOURCES, SOURCES, STAYS
from phm.spec.models import CodeList, Feature, FollowUp


def test_every_declared_column_exists_in_the_contract():
    for source in SOURCES.values():
        contract = SOURCE_TABLES[source.name]
        columns = [source.date_column, *source.code_systems.values()]
        columns += [source.per_code] if source.per_code else []
        assert set(columns) <= set(contract.column_names), source.name


def test_the_spec_grammar_comes_from_the_registry():
    props = Feature.model_json_schema()["properties"]
    assert props["source"]["anyOf"][0]["enum"] == list(SOURCES)
    assert FollowUp.model_json_schema()["properties"]["source"]["enum"] == list(FOLLOW_UP_SOURCES)
    assert CodeList.model_json_schema()["properties"]["system"]["enum"] == list(CODE_SYSTEMS)
    assert STAYS == "hospital_stay" and SOURCES[STAYS].episodes
    assert CODE_SYSTEMS["atc"] == ("pharmacy", "atc5")
