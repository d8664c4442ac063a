"""JSON Schemas of the spec files, for completion and checking while typing in an editor.

One schema per spec kind, generated from the pydantic models of :mod:`phm.spec.models`, so the
editor knows exactly the keys the loader accepts (unknown keys are flagged, as ``phm check``
does) together with their descriptions, enums and defaults. The schemas are committed under
``indicator_specs/schema/<kind>.schema.json`` (a test keeps them in step with the models);
regenerate them after changing a model::

    .venv/bin/python -c "from pathlib import Path; from phm.spec.schema import \\
        write_json_schemas; write_json_schemas(Path('indicator_specs/schema'))"

Using them in VS Code (Red Hat's YAML extension, which runs yaml-language-server; other editors
with a YAML language server work the same way): make the first line of a spec file a comment
naming its schema, relative to the file::

    # yaml-language-server: $schema=../../schema/indicators.schema.json
    id: gp_contact_share
    ...

That path fits ``indicator_specs/indicators/atlas/<id>.yaml``; a feature in
``indicator_specs/features/<id>.yaml`` takes ``$schema=../schema/features.schema.json`` (likewise
``codelists``, ``age_schemes``, ``areas``). The comment does not change the spec or its hash.

The schemas check the shape of one file only: references between specs (does this feature or code
list exist?), source columns and the rules spanning several fields are checked by ``phm check``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from phm.spec.models import AgeScheme, AreaSet, CodeList, Event, Feature, Indicator
from phm.spec.scenario import Scenario

# spec folder (kind) -> model of one file in it; same order as the loader's
SCHEMA_MODELS: dict[str, type[BaseModel]] = {
    "indicators": Indicator,
    "features": Feature,
    "events": Event,
    "codelists": CodeList,
    "age_schemes": AgeScheme,
    "areas": AreaSet,
    "simulations": Scenario,
}
DRAFT = "https://json-schema.org/draft/2020-12/schema"


def json_schemas() -> dict[str, dict[str, Any]]:
    """``{kind: JSON Schema}`` for the spec kinds (indicators, features, events, codelists,
    age_schemes, areas, simulations), keys as written in YAML (``in``, ``from``)."""
    out: dict[str, dict[str, Any]] = {}
    for kind, model in SCHEMA_MODELS.items():
        schema = model.model_json_schema(by_alias=True)
        schema["$schema"] = DRAFT
        schema["$id"] = f"{kind}.schema.json"
        schema["title"] = (
            f"phm spec: {kind} ({model.__name__}, one file of indicator_specs/{kind}/)"
        )
        out[kind] = schema
    return out


def render(schema: dict[str, Any]) -> str:
    """The committed text of a schema: sorted keys, indent 2, trailing newline."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_json_schemas(folder: Path) -> list[Path]:
    """Write ``<folder>/<kind>.schema.json`` for every kind; returns the paths written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for kind, schema in json_schemas().items():
        path = folder / f"{kind}.schema.json"
        path.write_text(render(schema), encoding="utf-8")
        paths.append(path)
    return paths
