"""docs/data_model.md is generated from schemas.py and must be kept in step with it."""

from __future__ import annotations

from pathlib import Path

from phm.data import schemas
from phm.data.docs import render_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "data_model.md"


def test_data_model_doc_is_up_to_date():
    assert DOC.read_text() == render_markdown(), (
        "docs/data_model.md is out of date with lib/phm/data/schemas.py; regenerate it with "
        "`.venv/bin/python -m phm.data.docs > docs/data_model.md`"
    )


def test_every_table_and_column_is_documented():
    text = render_markdown()
    for table in schemas.ALL_TABLES.values():
        assert f"### `{table.name}`" in text
        for column in table.columns:
            assert f"| `{column.name}` |" in text, f"{table.name}.{column.name} missing"
