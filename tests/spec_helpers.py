"""Spec folders for compiler and run tests: the repository's features, code lists and age
schemes plus test indicators written from dicts."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from phm.disclosure import EXACT, Protection

REPO_SPECS = Path(__file__).resolve().parents[1] / "indicator_specs"

# Tests of definitions read exact counts: the same run with a perturbation table of no noise.
# Publication tests use the default table (phm.disclosure.PTable()) with this secret.
TEST_SECRET = "phm-tests"
EXACT_COUNTS = Protection(TEST_SECRET, EXACT)


def indicator(id: str, **parts) -> dict:
    """A minimal valid indicator spec; ``parts`` override or add top-level blocks."""
    spec = {
        "id": id,
        "version": 1,
        "status": "draft",
        "owner": "tests",
        "changelog": [{"version": 1, "date": "2026-11-23", "change": "Test indicator."}],
        "theme": "care_consumption",
        "label": {"nl": id, "fr": id, "en": id},
        "definition": {"nl": "Test.", "fr": "Test.", "en": "Test."},
        "disclosure": {"min_count": 1},
    }
    spec.update(parts)
    return spec


def write_specs(root: Path, indicators: list[dict], areas: list[dict] = ()) -> Path:
    """A spec folder: the repository's features, events, code lists and schemes plus these
    specs."""
    for folder in ("features", "events", "codelists", "age_schemes"):
        shutil.copytree(REPO_SPECS / folder, root / folder)
    for kind, specs in (("indicators", indicators), ("areas", areas)):
        (root / kind).mkdir(exist_ok=True)
        for spec in specs:
            (root / kind / f"{spec['id']}.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return root
