"""The hand-built warehouse and a spec folder of test indicators over the real features."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

import handbuilt

REPO_SPECS = Path(__file__).resolve().parents[2] / "indicator_specs"


def indicator(id: str, **parts) -> dict:
    """A minimal valid indicator spec; ``parts`` override or add top-level blocks."""
    spec = {
        "id": id, "version": 1, "status": "draft", "owner": "tests",
        "changelog": [{"version": 1, "date": "2026-11-23", "change": "Test indicator."}],
        "theme": "care_consumption",
        "label": {"nl": id, "fr": id, "en": id},
        "definition": {"nl": "Test.", "fr": "Test.", "en": "Test."},
        "disclosure": {"min_count": 1},
    }
    spec.update(parts)
    return spec


def write_specs(root: Path, indicators: list[dict], areas: list[dict] = ()) -> Path:
    """A spec folder: the repository's features, code lists and schemes plus these specs."""
    for folder in ("features", "codelists", "age_schemes"):
        shutil.copytree(REPO_SPECS / folder, root / folder)
    for kind, specs in (("indicators", indicators), ("areas", areas)):
        (root / kind).mkdir(exist_ok=True)
        for spec in specs:
            (root / kind / f"{spec['id']}.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return root


@pytest.fixture(scope="session")
def handbuilt_warehouse(spark, tmp_path_factory):
    return handbuilt.build(spark, tmp_path_factory.mktemp("handbuilt"))
