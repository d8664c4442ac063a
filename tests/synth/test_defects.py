"""Planted defects: deterministic, identifiable, and every one quarantined with its reason."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from pyspark.sql import types as T

from phm.data import load, reference, reference_data, rules
from phm.data.schemas import SOURCE_TABLES
from phm.data.warehouse import Warehouse
from phm.synth import defects

SEED = 12  # kinds are drawn by hash: at this size, seed 12 happens to draw every kind
RATE = 0.3
CNKS = reference_data.products()["cnk"].tolist()
CODES = reference_data.nomenclature()["nomen_code"].tolist()
NIS = reference_data.municipalities()["nis"].tolist()


def _source_rows() -> dict[str, list[tuple]]:
    """A clean little year: 30 persons, 60 claims, 40 deliveries, 30 stays."""
    day = date(2021, 1, 4)
    people = [
        (
            2021,
            f"P{i}",
            1950 + i,
            "MF"[i % 2],
            NIS[i * 7],
            "100",
            False,
            None,
            None,
            False,
            False,
            False,
            False,
            True,
        )
        for i in range(30)
    ]
    claims = []
    for i in range(60):
        d = day + timedelta(days=3 * i)
        claims.append(
            (
                f"C{i}",
                f"P{i % 30}",
                CODES[i % len(CODES)],
                d,
                d.replace(day=1),
                1,
                Decimal("21.68"),
                Decimal("4.00"),
                Decimal("0.00"),
                None,
                None,
                None,
                None,
                "ambulatory",
                2021,
            )
        )
    deliveries = []
    for i in range(40):
        d = day + timedelta(days=5 * i)
        deliveries.append(
            (
                f"D{i}",
                f"P{i % 30}",
                CNKS[i % len(CNKS)],
                None,
                d,
                d.replace(day=1),
                1,
                None,
                Decimal("8.00"),
                Decimal("1.00"),
                Decimal("0.00"),
                "60000000012",
                None,
                2021,
            )
        )
    stays = []
    for i in range(30):
        a = day + timedelta(days=7 * i)
        stays.append(
            (
                f"S{i}",
                f"P{i}",
                "71000000001",
                a,
                a + timedelta(days=2),
                "classic",
                False,
                "home",
                "general",
                None,
                (a + timedelta(days=40)).replace(day=1),
                2021,
            )
        )
    return {
        "population": people,
        "health_care": claims,
        "pharmacy": deliveries,
        "hospital_stay": stays,
    }


def _frames(spark):
    out = {}
    for name, rows in _source_rows().items():
        table = SOURCE_TABLES[name]
        schema = [c for c in table.schema if c.name != "load_id"]
        out[name] = spark.createDataFrame(rows, T.StructType(schema))
    return out


@pytest.fixture(scope="module")
def planted(spark):
    clean = _frames(spark)
    dirty, manifest = defects.plant_defects(clean, SEED, RATE)
    return clean, dirty, manifest.collect()


def test_manifest_covers_every_defect_kind(planted):
    _, _, manifest = planted
    kinds = {(m.table, m.defect) for m in manifest}
    expected = {(t, d.kind) for t, ds in defects.DEFECTS.items() for d in ds}
    assert kinds == expected
    assert 0.15 < len(manifest) / 160 < 0.45  # about RATE of the 160 rows


def test_planting_is_deterministic(spark, planted):
    clean, _, manifest = planted
    again = defects.plant_defects(clean, SEED, RATE)[1].collect()
    other = defects.plant_defects(clean, SEED + 1, RATE)[1].collect()
    assert sorted(again) == sorted(manifest)
    assert sorted(other) != sorted(manifest)
    assert defects.plant_defects(clean, SEED, 0.0)[1].count() == 0


def test_unknown_codes_are_really_unknown():
    assert defects.UNKNOWN_NOMEN_CODE not in CODES
    assert defects.UNKNOWN_CNK not in CNKS
    assert defects.UNKNOWN_NIS not in NIS


def test_every_planted_defect_is_quarantined_with_its_reason(spark, planted):
    clean, dirty, manifest = planted
    refs = reference.reference_frames(spark)
    expected = {(m.table, m.row_key): m for m in manifest}
    for name, df in dirty.items():
        table = SOURCE_TABLES[name]
        # Orphans are judged against the clean population, so that no clean row may fail.
        out = rules.validate(
            rules.conform(df, table), table, references=refs, population=clean["population"]
        )
        rows = out.select(rules.row_key(table).alias("k"), rules.REASONS).collect()
        by_key: dict[str, list[list[str]]] = {}
        for r in rows:
            by_key.setdefault(r.k, []).append(list(r[rules.REASONS]))
        for (t, key), m in expected.items():
            if t != name:
                continue
            reasons = by_key[key]
            assert any(m.expected_reason in rs for rs in reasons), (name, key, m.defect, reasons)
            if m.defect == "duplicate":
                assert sorted(len(rs) for rs in reasons) == [0, 1], (key, reasons)  # one kept
        untouched = {k: rs for k, rs in by_key.items() if (name, k) not in expected}
        assert untouched and all(rs == [[]] for rs in untouched.values()), (
            "a clean row was rejected"
        )


def test_planted_claims_end_in_the_quarantine_table(spark, planted, tmp_path):
    """End to end for one table: the quarantine table holds every planted health_care defect."""
    clean, dirty, manifest = planted
    warehouse = Warehouse.at(tmp_path)
    result = load.load_table(
        spark, warehouse, "health_care", dirty["health_care"], "L1", population=clean["population"]
    )
    q = {r.row_key: list(r.reject_reasons) for r in warehouse.read(spark, "quarantine").collect()}
    planted_hc = [m for m in manifest if m.table == "health_care"]
    assert result.quarantined_rows == len(planted_hc) == len(q)
    assert all(m.expected_reason in q[m.row_key] for m in planted_hc)
    assert result.accepted_rows == 60 - len(planted_hc) + sum(
        m.defect == "duplicate" for m in planted_hc
    )


def test_manifest_is_written_to_the_warehouse(spark, planted, tmp_path):
    _, _, manifest = planted
    warehouse = Warehouse.at(tmp_path)
    df = spark.createDataFrame(manifest)
    defects.write_manifest(df, warehouse)
    assert sorted(defects.read_manifest(spark, warehouse).collect()) == sorted(manifest)
