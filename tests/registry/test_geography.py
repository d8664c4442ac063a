"""Geography levels: the registry agrees with the reference table's contract and its data,
and drives the spec grammar."""

from __future__ import annotations

from phm.data.reference_data import municipalities
from phm.data.schemas import REF_GEOGRAPHY
from phm.registry.geography import GEO_LEVELS, LEVELS
from phm.spec.models import Breakdowns


def test_levels_read_existing_reference_columns():
    columns = [lvl.ref_column for lvl in LEVELS if lvl.ref_column]
    assert set(columns) <= set(REF_GEOGRAPHY.column_names)
    assert [lvl.name for lvl in LEVELS if lvl.column is None] == ["belgium"]
    assert Breakdowns.model_json_schema()["properties"]["geography"]["items"]["enum"] == list(
        GEO_LEVELS
    )


def test_each_level_nests_in_the_next():
    """Finest first: every unit of a level lies in exactly one unit of each coarser level, so
    coarser cells add up from finer ones."""
    m = municipalities()
    columns = [lvl.ref_column for lvl in LEVELS if lvl.ref_column]
    assert m["nis"].is_unique and len(m) == 581
    for finer, coarser in zip(columns, columns[1:]):
        parents = m.groupby(finer)[coarser].nunique()
        assert (parents == 1).all(), (finer, coarser)
        assert m[coarser].notna().all()
