"""Every geography level partitions Belgium (issue 10 §1: Brussels-Capital at province level).

Each municipality lies in exactly one unit of each level, the units of a level nest in those of
the next, and for a computed indicator the units of every level add up to the Belgium cell: no
one is left out of a level (Brussels-Capital used to have no province, so about a tenth of the
population vanished from every province-level figure).
"""

from __future__ import annotations

import pandas as pd
import pytest
from spec_helpers import EXACT_COUNTS, REPO_SPECS

from phm.execute.finalise import finalise
from phm.compile.plan import build_plan
from phm.data import reference, reference_data
from phm.data.warehouse import ensure_table
from phm.data.schemas import REF_GEOGRAPHY
from phm.data.warehouse import Warehouse
from phm.publish.export import geo_names
from phm.runs.indicators import compute_cells
from phm.spec import load_catalogue

LEVELS = {
    "municipality": "nis",
    "arrondissement": "arr_nis",
    "province": "prov_nis",
    "region": "reg_nis",
}
MEASURES = ["num", "den", "npers", "dpers"]
BRUSSELS = "04000"


def test_every_municipality_is_in_exactly_one_unit_of_each_level():
    m = reference_data.municipalities()
    assert m["nis"].is_unique
    for column in LEVELS.values():
        assert m[column].notna().all(), f"municipalities without {column}"
    # units nest: an arrondissement in one province, a province in one region
    assert (m.groupby("arr_nis")["prov_nis"].nunique() == 1).all()
    assert (m.groupby("prov_nis")["reg_nis"].nunique() == 1).all()
    units = reference_data.provinces_regions()
    provinces = units[units["level"] == "province"].set_index("nis")
    assert provinces.index.is_unique and len(provinces) == 11  # 10 provinces + Brussels-Capital
    assert set(m["prov_nis"]) == set(provinces.index)
    assert set(m.loc[m["reg_nis"] == BRUSSELS, "prov_nis"]) == {BRUSSELS}
    assert (provinces["parent_reg_nis"] == m.groupby("prov_nis")["reg_nis"].first()).all()
    # the population of the provinces is Belgium's, as is that of the regions
    belgium = int(units.loc[units["level"] == "country", "pop_2020_total"].item())
    assert int(provinces["pop_2020_total"].sum()) == belgium
    assert (m.groupby("prov_nis")["pop_2020_total"].sum() == provinces["pop_2020_total"]).all()
    assert int(units.loc[units["level"] == "region", "pop_2020_total"].sum()) == belgium


def test_every_unit_has_a_name_in_three_languages():
    units = reference_data.provinces_regions()
    assert units[["name_nl", "name_fr", "name_en"]].notna().all().all()
    brussels = units[(units["level"] == "province") & (units["nis"] == BRUSSELS)].iloc[0]
    assert brussels["name_nl"] == "Brussels Hoofdstedelijk Gewest"
    assert brussels["name_fr"] == "Région de Bruxelles-Capitale"
    assert brussels["name_en"] == "Brussels-Capital Region"
    # the same province, with the same names, wherever the province is named
    m = reference_data.municipalities().drop_duplicates("prov_nis").set_index("prov_nis")
    a = reference_data.arrondissements().drop_duplicates("prov_nis").set_index("prov_nis")
    p = units[units["level"] == "province"].set_index("nis")
    for frame in (m, a):
        assert frame.index.notna().all()
        assert (frame["prov_name_nl"] == p.loc[frame.index, "name_nl"]).all()
        assert (frame["prov_name_fr"] == p.loc[frame.index, "name_fr"]).all()


def test_written_reference_geography_has_a_province_everywhere(spark, tmp_path):
    warehouse = Warehouse.at(tmp_path / "wh")
    reference.write_reference_tables(spark, warehouse)
    geo = warehouse.read(spark, "ref_geography").toPandas()
    assert len(geo) == 581 and geo["prov_nis"].notna().all() and geo["prov_name_nl"].notna().all()
    brussels = geo[geo["reg_nis"] == BRUSSELS]
    assert len(brussels) == 19 and set(brussels["prov_nis"]) == {BRUSSELS}


def test_a_warehouse_written_before_gets_brussels_province_when_read(spark, tmp_path):
    # ref_geography written by an earlier phm: Brussels municipalities without a province
    warehouse = Warehouse.at(tmp_path / "old")
    rows = reference_data.municipalities().sort_values("nis")
    brussels = rows["reg_nis"] == BRUSSELS
    rows.loc[brussels, ["prov_nis", "prov_name_nl"]] = None
    ensure_table(spark, warehouse.path("ref_geography"), REF_GEOGRAPHY)
    spark.createDataFrame(reference._rows(rows, REF_GEOGRAPHY), REF_GEOGRAPHY.schema).write.format(
        "delta"
    ).mode("overwrite").save(warehouse.path("ref_geography"))
    read = reference.read_reference(spark, warehouse, "ref_geography")
    assert read.columns == REF_GEOGRAPHY.column_names
    got = read.toPandas().set_index("nis").sort_index()
    expected = (
        reference.reference_frame(spark, "ref_geography").toPandas().set_index("nis").sort_index()
    )
    pd.testing.assert_frame_equal(got, expected)


@pytest.fixture(scope="module")
def cells(spark, small_warehouse):
    """True counts (no noise) of a whole-population indicator, 2022, and its published rows."""
    catalogue = load_catalogue(REPO_SPECS)
    plan = build_plan(catalogue, catalogue.select(["bim_share"]))
    computed = compute_cells(spark, small_warehouse, plan, [2022], EXACT_COUNTS.secret).cache()
    published = finalise(computed, plan, EXACT_COUNTS).toPandas()
    return computed.drop("breakdown").toPandas(), published


def test_each_level_adds_up_to_belgium(cells):
    truth, _ = cells
    totals = truth[truth["breakdown_key"] == ""]
    belgium = totals[totals["geo_level"] == "belgium"]
    assert len(belgium) == 1 and belgium["dpers"].item() > 0
    expected = belgium[MEASURES].iloc[0]
    geo = reference_data.municipalities().set_index("nis", drop=False)
    munis = totals[totals["geo_level"] == "municipality"]
    for level, column in LEVELS.items():
        units = totals[totals["geo_level"] == level]
        assert units["geo_code"].notna().all() and units["geo_code"].is_unique
        summed = units[MEASURES].sum()
        assert (summed == expected).all(), f"{level}: {summed.to_dict()} != {expected.to_dict()}"
        # each municipality counted in exactly the unit its reference geography names
        parent = munis["geo_code"].map(geo[column])
        assert parent.notna().all(), f"municipalities outside every {level}"
        rolled = munis.groupby(parent)[MEASURES].sum().sort_index()
        pd.testing.assert_frame_equal(
            rolled,
            units.set_index("geo_code")[MEASURES].sort_index(),
            check_dtype=False,
            check_names=False,
        )
    provinces = totals[totals["geo_level"] == "province"].set_index("geo_code")
    assert provinces.loc[BRUSSELS, "dpers"] > 0  # the small warehouse has Brussels residents
    # the Brussels-Capital province is the Brussels region, person for person
    regions = totals[totals["geo_level"] == "region"].set_index("geo_code")
    assert (provinces.loc[BRUSSELS, MEASURES] == regions.loc[BRUSSELS, MEASURES]).all()


def test_every_published_unit_has_its_names(cells):
    _, published = cells
    names = geo_names()
    assert not names.duplicated(["geo_level", "geo_code"]).any()
    rows = published[published["geo_level"].isin([*LEVELS, "belgium"])]
    named = rows.merge(names, on=["geo_level", "geo_code"], how="left", validate="many_to_one")
    assert named[["geo_name_nl", "geo_name_fr"]].notna().all().all()
    wide = named[named["geo_level"].isin(["province", "region", "belgium"])]
    assert wide["geo_name_en"].notna().all()
    brussels = named[(named["geo_level"] == "province") & (named["geo_code"] == BRUSSELS)].iloc[0]
    assert (brussels.geo_name_nl, brussels.geo_name_fr, brussels.geo_name_en) == (
        "Brussels Hoofdstedelijk Gewest",
        "Région de Bruxelles-Capitale",
        "Brussels-Capital Region",
    )
    # published (hidden or not): every province, Brussels-Capital included
    totals = published[published["breakdown_key"] == ""]
    assert len(totals[totals["geo_level"] == "province"]) == 11
