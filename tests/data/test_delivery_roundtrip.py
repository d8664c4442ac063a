"""The whole path of a real delivery, file -> warehouse: `phm generate --to-files` writes the
synthetic source tables as delivery files in the shipped IMA layouts, `phm ingest` loads them,
and the warehouse holds exactly what a direct load of the same generation holds."""

from __future__ import annotations

from generated import SMALL, SMALL_AS_OF
from pyspark.sql import functions as F

from phm.data.ingest import ingest
from phm.data.layouts import load_layout
from phm.data.warehouse import Warehouse
from phm.synth.generator import SOURCE_TABLE_NAMES, generate


def test_generated_delivery_files_ingest_to_the_same_tables(spark, small_warehouse, tmp_path):
    layouts = {t: load_layout(f"ima_{t}") for t in SOURCE_TABLE_NAMES}
    wh = Warehouse.at(tmp_path / "warehouse")
    files = tmp_path / "deliveries"
    generate(spark, wh, **SMALL, as_of=SMALL_AS_OF, to_files=files, layouts=layouts)
    assert not wh.exists(spark, "population")  # written as files, not loaded
    header = next((files / "population").glob("*.csv")).read_text().splitlines()[0]
    assert header.split(";")[:3] == ["PP0005", "PP0010", "PP0015"]  # the IMA layout's names
    for table in SOURCE_TABLE_NAMES:  # population first: claims are checked against it
        result = ingest(spark, wh, layouts[table], [files / table], f"{table}-delivered")
        direct = small_warehouse.read(spark, table).drop("load_id")
        delivered = wh.read(spark, table).drop("load_id").select(*direct.columns)
        assert result.quarantined_rows == 0, (table, result.reasons)
        assert result.accepted_rows == direct.count(), table
        assert delivered.exceptAll(direct).count() == 0, table
        assert direct.exceptAll(delivered).count() == 0, table
    assert wh.read(spark, "load_log").where(F.col("load_id").endswith("-delivered")).count() == 4
