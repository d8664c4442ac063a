"""Delivery layouts (no Spark): the shipped ones load; a wrong one fails with file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from phm.data.layouts import layout_ids, load_layout, read_layout
from phm.data.schemas import SOURCE_TABLES
from phm.errors import InputError
from phm.spec.catalogue import load_catalogue
from phm.spec.issues import SpecError

REPO_SPECS = Path(__file__).resolve().parents[2] / "indicator_specs"


def test_one_shipped_layout_per_source_table():
    ids = layout_ids(REPO_SPECS)
    assert ids == sorted(f"ima_{name}" for name in SOURCE_TABLES)
    for layout_id in ids:
        layout = load_layout(layout_id, REPO_SPECS)
        assert layout.table.name == layout_id.removeprefix("ima_")
        required = {c.name for c in layout.table.columns if not c.nullable} - {"load_id"}
        assert required <= set(layout.renames.values())


def test_population_layout_uses_ima_names():
    layout = load_layout("ima_population", REPO_SPECS)
    for source, target in {
        "PP0005": "year",
        "PP0010": "person_id",
        "PP0015": "birth_year",
        "PP0020": "sex",
        "PP0025": "nis_municipality",
        "PP0040": "death_date",
    }.items():
        assert layout.renames[source] == target
    assert layout.renames["insurer"] == "insurer"  # unmapped: its own name
    assert "PP0040" in layout.required_sources  # mapped, so the header must hold it
    assert layout.spec.format == "csv" and layout.spec.csv.delimiter == ";"


def test_catalogue_ignores_the_layouts_folder():
    assert load_catalogue(REPO_SPECS).indicators


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "layouts" / "bad.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


def test_unknown_target_column_fails_with_file_and_line(tmp_path):
    path = _write(tmp_path, "table: population\ncolumns:\n  PP0010: person_id\n  PP0020: gender\n")
    with pytest.raises(SpecError) as err:
        read_layout(path)
    (issue,) = err.value.issues
    assert issue.file.endswith("bad.yaml") and issue.line == 4
    assert "'gender' is not a column of population" in issue.message


def test_unknown_table_field_and_format_fail(tmp_path):
    path = _write(tmp_path, "table: populaton\nformat: xlsx\ncsv:\n  delimter: ';'\n")
    with pytest.raises(SpecError) as err:
        read_layout(path)
    lines = {i.line for i in err.value.issues}
    assert {2, 4} <= lines, err.value
    path = _write(tmp_path, "table: populaton\n")
    with pytest.raises(SpecError, match="bad.yaml:1.*did you mean 'population'"):
        read_layout(path)


def test_two_sources_for_one_column_and_a_shadowed_name_fail(tmp_path):
    path = _write(tmp_path, "table: population\ncolumns:\n  A: sex\n  B: sex\n  year: birth_year\n")
    with pytest.raises(SpecError) as err:
        read_layout(path)
    text = str(err.value)
    assert "bad.yaml:4" in text and "already delivered as 'A'" in text
    assert "bad.yaml:5" in text and "'year' is itself a contract column" in text


def test_unknown_layout_lists_the_known_ones():
    with pytest.raises(InputError, match="ima_population"):
        load_layout("ima_populaton", REPO_SPECS)
