"""Reference data: package CSVs read with codes intact, Delta tables equal to the contract."""

from __future__ import annotations

import pytest

from phm.data import reference, reference_data
from phm.data.schemas import REFERENCE_TABLES
from phm.data.warehouse import Warehouse


def test_municipalities_keep_nis_codes_as_text():
    m = reference_data.municipalities()
    assert len(m) == 581 and m["nis"].is_unique
    assert m["nis"].str.fullmatch(r"\d{5}").all()
    assert m["arr_nis"].nunique() == 43
    assert sorted(m["reg_nis"].unique()) == ["02000", "03000", "04000"]
    brussels = m[m["reg_nis"] == "04000"]
    # Brussels-Capital, which has no province, is one province-level unit coded as the region
    assert len(brussels) == 19 and (brussels["prov_nis"] == "04000").all()
    assert m["prov_nis"].notna().all() and m["prov_nis"].nunique() == 11
    assert int(m["pop_2020_total"].sum()) == 11_492_641


def test_population_and_esp2013():
    p = reference_data.population_age_sex_region(2020)
    assert int(p["population"].sum()) == 11_492_641  # regions only: no double count
    assert set(p["reg_nis"]) == {"02000", "03000", "04000"}
    assert reference_data.population_age_sex_region(2024)["year"].unique().tolist() == [2021]
    assert int(reference_data.esp2013()["esp2013"].sum()) == 100_000
    assert len(reference_data.esp2013(detailed=True)) == 21


def test_nomenclature_has_a_default_code_per_service_group():
    n = reference_data.nomenclature()
    assert n["nomen_code"].is_unique and n["nomen_code"].str.fullmatch(r"\d{6}").all()
    first = n.groupby("service_group", sort=False)["nomen_code"].first()
    assert first["gp_consult"] == "101076" and first["gp_home_visit"] == "103132"
    assert len(first) >= 20
    sourced = set(n.loc[n["source"] == "S", "nomen_code"])
    assert {"101076", "101032", "101010", "103132", "103110", "101496"} <= sourced
    assert set(n["source"]) == {"S", "I"}


def test_products_cover_the_atc_codes_the_generator_needs():
    p = reference_data.products()
    assert p["cnk"].is_unique and p["cnk"].str.fullmatch(r"\d{7}").all()
    needed = {
        "A10BA02",
        "A10AE04",
        "C10AA05",
        "J07BB02",
        "N06AB10",
        "R03AC02",
        "G03AA07",
        "D07AC01",
    }
    assert needed <= set(p["atc5"])
    assert (p["ddd_per_package"] > 0).all() and (p["package_price"] > 0).all()
    assert set(p["reimbursement_category"]) <= {"A", "B", "C", "Cs", "Cx"}


@pytest.fixture(scope="module")
def written(spark, tmp_path_factory):
    warehouse = Warehouse.at(tmp_path_factory.mktemp("wh_ref"))
    return warehouse, reference.write_reference_tables(spark, warehouse)


def test_written_tables_equal_the_contract(spark, written):
    warehouse, counts = written
    assert counts["ref_geography"] == 581
    for name, table in REFERENCE_TABLES.items():
        df = warehouse.read(spark, name)
        assert df.schema == table.schema, f"{name}: {df.schema} != {table.schema}"
        assert df.count() == counts[name]


def test_written_geography_levels(spark, written):
    warehouse, _ = written
    geo = warehouse.read(spark, "ref_geography")
    row = geo.selectExpr(
        "count(distinct arr_nis) arr",
        "count(distinct reg_nis) reg",
        "count_if(prov_nis is null) no_prov",
        "min(nis) first",
    ).first()
    assert (row.arr, row.reg, row.no_prov, row.first) == (43, 3, 0, "11001")
