"""Defects planted by `phm generate --defects` all end in quarantine with their reason."""

from __future__ import annotations

from pyspark.sql import functions as F

from phm.synth.defects import read_manifest


def test_every_planted_defect_is_quarantined_with_its_reason(spark, calibration_warehouse):
    manifest = read_manifest(spark, calibration_warehouse)
    assert manifest.count() > 20
    assert (
        manifest.select("defect").distinct().count() >= 6
    )  # null ids, codes, amounts, dates, duplicates, orphans
    quarantine = calibration_warehouse.read(spark, "quarantine")
    found = manifest.join(
        quarantine.select(F.col("source_table").alias("table"), "row_key", "reject_reasons"),
        ["table", "row_key"],
        "left",
    )
    missing = found.where(
        F.col("reject_reasons").isNull()
        | ~F.array_contains("reject_reasons", F.col("expected_reason"))
    )
    assert missing.count() == 0, missing.limit(10).collect()


def test_rows_are_conserved_in_every_load(spark, calibration_warehouse):
    log = calibration_warehouse.read(spark, "load_log").collect()
    assert len(log) == 4
    for r in log:
        assert r.accepted_rows + r.quarantined_rows == r.input_rows
        table_rows = (
            calibration_warehouse.read(spark, r.table).where(F.col("load_id") == r.load_id).count()
        )
        quarantined = (
            calibration_warehouse.read(spark, "quarantine")
            .where((F.col("source_table") == r.table) & (F.col("load_id") == r.load_id))
            .count()
        )
        assert (table_rows, quarantined) == (r.accepted_rows, r.quarantined_rows)
    assert sum(r.quarantined_rows for r in log) > 0
