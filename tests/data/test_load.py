"""Loading: rows are conserved, reruns replace their load, duplicates keep one, logs add up.

One module-scoped warehouse runs a short story of loads (Delta writes are the slow part):
population L1, health_care L1, health_care L1 again (rerun), health_care L2 (increment).
"""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import date
from decimal import Decimal

import pytest
from sample_rows import claim, frame, person

from phm.data import load
from phm.data.schemas import HEALTH_CARE, LOAD_LOG, POPULATION, QUARANTINE, SOURCE_TABLES
from phm.data.warehouse import Warehouse, ensure_table
from phm.execute.events import data_end, month_end
from phm.errors import InputError, WarehouseError

PEOPLE = [
    person(person_id="P1"),
    person(person_id="P2", sex="M"),
    person(person_id="P3", nis_municipality="99997"),
]  # unknown NIS
CLAIMS_L1 = [
    claim(claim_id="C1"),
    claim(claim_id="C2", person_id="P2", nomen_code="103132"),
    # quarantined: its later accounting month is not the load's
    claim(claim_id="C3", amount_reimbursed=Decimal("-1.00"), accounting_month=date(2021, 9, 1)),
    claim(claim_id="C4", person_id="P3"),  # P3 was quarantined: an orphan now
    claim(claim_id="C5"),
    claim(claim_id="C5"),  # exact duplicate
]
CLAIMS_L2 = [
    claim(claim_id="C6", service_date=date(2021, 4, 1), accounting_month=date(2022, 2, 1)),
    claim(claim_id="C1"),
]


@pytest.fixture(scope="module")
def story(spark, tmp_path_factory):
    warehouse = Warehouse.at(tmp_path_factory.mktemp("wh_load"))
    results = {
        "pop": load.load_table(
            spark, warehouse, "population", frame(spark, "population", PEOPLE), "L1"
        ),
        "hc1": load.load_table(
            spark, warehouse, "health_care", frame(spark, "health_care", CLAIMS_L1), "L1"
        ),
    }
    results["hc1_rerun"] = load.load_table(
        spark, warehouse, "health_care", frame(spark, "health_care", CLAIMS_L1), "L1"
    )
    results["hc2"] = load.load_table(
        spark, warehouse, "health_care", frame(spark, "health_care", CLAIMS_L2), "L2"
    )
    return warehouse, results


def _rows(spark, warehouse, name):
    return warehouse.read(spark, name).collect()


def test_counts_are_conserved(story):
    _, r = story
    assert (r["pop"].input_rows, r["pop"].accepted_rows, r["pop"].quarantined_rows) == (3, 2, 1)
    assert (r["hc1"].input_rows, r["hc1"].accepted_rows, r["hc1"].quarantined_rows) == (6, 3, 3)
    assert r["hc1"].reasons == {"DUPLICATE": 1, "NEGATIVE_AMOUNT": 1, "ORPHAN": 1}
    assert all(res.conserved for res in r.values())


def test_accepted_rows_follow_the_contract(spark, story):
    warehouse, _ = story
    hc = warehouse.read(spark, "health_care")
    assert hc.schema == HEALTH_CARE.schema  # column order, types and NOT NULLs
    assert warehouse.read(spark, "population").schema == POPULATION.schema
    ids = sorted((r.claim_id, r.load_id) for r in hc.collect())
    assert ids == [("C1", "L1"), ("C2", "L1"), ("C5", "L1"), ("C6", "L2")]


def test_rerun_with_the_same_load_id_replaces_it(spark, story):
    warehouse, r = story
    assert r["hc1_rerun"].accepted_rows == r["hc1"].accepted_rows
    quarantine = _rows(spark, warehouse, "quarantine")
    hc_l1 = [q for q in quarantine if q.source_table == "health_care" and q.load_id == "L1"]
    assert sorted(q.row_key for q in hc_l1) == ["C3", "C4", "C5"]  # not doubled
    log = [(x.table, x.load_id) for x in _rows(spark, warehouse, "load_log")]
    assert sorted(log) == [("health_care", "L1"), ("health_care", "L2"), ("population", "L1")]


def test_increment_rejects_keys_already_loaded(spark, story):
    warehouse, r = story
    assert r["hc2"].reasons == {"ALREADY_LOADED": 1} and r["hc2"].accepted_rows == 1
    q = [x for x in _rows(spark, warehouse, "quarantine") if x.load_id == "L2"]
    assert [(x.row_key, list(x.reject_reasons)) for x in q] == [("C1", ["ALREADY_LOADED"])]


def test_quarantine_keeps_the_original_row(spark, story):
    warehouse, _ = story
    q = warehouse.read(spark, "quarantine")
    assert q.schema == QUARANTINE.schema
    by_key = {x.row_key: x for x in q.collect()}
    original = json.loads(by_key["C3"].row_json)
    assert original["amount_reimbursed"] == -1.0 and original["institution_id"] is None
    assert list(by_key["P3|2021"].reject_reasons) == ["UNKNOWN_CODE"]


def test_load_log_records_each_load(spark, story):
    warehouse, _ = story
    log = warehouse.read(spark, "load_log")
    assert log.schema == LOAD_LOG.schema
    # a load's result is written as its log row: the same fields, in the same order
    assert [f.name for f in fields(load.LoadResult)] == LOAD_LOG.column_names
    row = [x for x in log.collect() if x.table == "health_care" and x.load_id == "L1"][0]
    assert (row.input_rows, row.accepted_rows, row.quarantined_rows) == (6, 3, 3)
    assert row.reasons == {"DUPLICATE": 1, "NEGATIVE_AMOUNT": 1, "ORPHAN": 1}
    through = {(x.table, x.load_id): x.accounting_through for x in log.collect()}
    assert through == {
        ("population", "L1"): None,
        ("health_care", "L1"): date(2021, 4, 1),  # accepted rows only (C3 is 2021-09)
        ("health_care", "L2"): date(2022, 2, 1),
    }


def test_data_end_is_the_last_booked_day_within_the_last_year(spark, story):
    warehouse, _ = story
    assert load.booked_through(spark, warehouse) == {"health_care": date(2022, 2, 1)}
    # booked through February 2022, but the claims stop in 2021: a window reaching into 2022
    # would see no claims, so the data end is 31 December 2021, not 28 February 2022
    assert data_end(spark, warehouse, "health_care") == date(2021, 12, 31)
    assert [month_end(date(2023, m, 1)) for m in (2, 4, 12)] == [
        date(2023, 2, 28),
        date(2023, 4, 30),
        date(2023, 12, 31),
    ]


def test_an_empty_table_has_no_data_end_and_says_so(spark, tmp_path):
    warehouse = Warehouse.at(tmp_path)
    ensure_table(spark, warehouse.path("pharmacy"), SOURCE_TABLES["pharmacy"])
    with pytest.raises(WarehouseError, match="pharmacy .* has no rows.*--data-end"):
        data_end(spark, warehouse, "pharmacy")


def test_validate_warehouse_finds_clean_tables_and_sums_quarantine(spark, story):
    warehouse, _ = story
    report = load.validate_warehouse(spark, warehouse)
    assert report.ok
    assert {t.table: t.rows for t in report.tables} == {"population": 2, "health_care": 4}
    assert sorted(report.missing_tables) == ["hospital_stay", "pharmacy"]
    assert report.quarantined_rows == {"health_care": 4, "population": 1}
    assert report.quarantine["health_care"]["ALREADY_LOADED"] == 1
    assert {c.name for c in report.checks} >= {"bim_share", "gp_contact_share"}


def test_bad_arguments_are_refused(spark, tmp_path):
    warehouse = Warehouse.at(tmp_path)
    df = frame(spark, "health_care", [claim()])
    with pytest.raises(InputError):
        load.load_table(spark, warehouse, "ref_products", df, "L1")
    with pytest.raises(InputError):
        load.load_table(spark, warehouse, "health_care", df, "L1'; drop")
    with pytest.raises(WarehouseError, match="population"):
        load.load_table(spark, warehouse, "health_care", df, "L1")
