"""The reference tables as Spark DataFrames and Delta tables, built from the package data.

The pandas readers (:func:`~phm.data.reference_data.municipalities`,
:func:`~phm.data.reference_data.nomenclature`, :func:`~phm.data.reference_data.products`...) live
in :mod:`phm.data.reference_data`, which needs no Spark. Here: :func:`reference_frames` builds
DataFrames conforming exactly to the ``ref_*`` tables of :mod:`phm.data.schemas`,
:func:`write_reference_tables` writes them as Delta tables and :func:`read_reference` reads them
back (or builds them when the warehouse has none).
"""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from phm.data.reference_data import (
    BRUSSELS_NIS,
    BRUSSELS_PROVINCE,
    municipalities,
    nomenclature,
    products,
)
from phm.data.schemas import REF_GEOGRAPHY, REF_NOMENCLATURE, REF_PRODUCTS, Table
from phm.data.warehouse import Warehouse, ensure_table


def _rows(frame: pd.DataFrame, table: Table) -> list[tuple]:
    """Rows as Python values of the contract's types (Decimal for money, None for NA)."""
    out = []
    for record in frame[table.column_names].itertuples(index=False):
        row = []
        for col, value in zip(table.columns, record, strict=True):
            if value is None or (not isinstance(value, str) and pd.isna(value)):
                row.append(None)
            elif col.dtype.name == "decimal":
                row.append(Decimal(f"{float(value):.{col.dtype.scale}f}"))
            elif col.dtype.name in ("int", "bigint"):
                row.append(int(value))
            elif col.dtype.name == "double":
                row.append(float(value))
            else:
                row.append(str(value))
        out.append(tuple(row))
    return out


_BUILDERS = {
    REF_GEOGRAPHY.name: (REF_GEOGRAPHY, lambda: municipalities().sort_values("nis")),
    REF_NOMENCLATURE.name: (REF_NOMENCLATURE, lambda: nomenclature().sort_values("nomen_code")),
    REF_PRODUCTS.name: (REF_PRODUCTS, lambda: products().sort_values("cnk")),
}


def reference_frame(spark: SparkSession, name: str) -> DataFrame:
    """One reference table (``ref_geography``, ``ref_nomenclature`` or ``ref_products``) as a
    Spark DataFrame with exactly the contract's schema, rows sorted by key."""
    table, build = _BUILDERS[name]
    # createDataFrame verifies every row against the schema (a NULL in a required column raises).
    return spark.createDataFrame(_rows(build(), table), table.schema)


def reference_frames(spark: SparkSession) -> dict[str, DataFrame]:
    """The three reference tables as Spark DataFrames, keyed by table name."""
    return {name: reference_frame(spark, name) for name in _BUILDERS}


def write_reference_tables(spark: SparkSession, warehouse: Warehouse) -> dict[str, int]:
    """Write the reference tables as Delta tables (full overwrite, one file, rows sorted by key).

    Rerunning writes the same rows again, so the content is deterministic.

    Returns:
        Row count per table name.
    """
    counts = {}
    for name, (table, build) in _BUILDERS.items():
        rows = _rows(build(), table)
        path = warehouse.path(name)
        ensure_table(spark, path, table)  # keeps the contract's NOT NULL columns on disk
        spark.createDataFrame(rows, table.schema).coalesce(1).write.format("delta").mode(
            "overwrite"
        ).save(path)
        counts[name] = len(rows)
    return counts


def read_reference(spark: SparkSession, warehouse: Warehouse | None, name: str) -> DataFrame:
    """A reference table from the warehouse when it holds one, else built from package data.

    A ``ref_geography`` written before Brussels-Capital had a province code (its municipalities
    with no ``prov_nis``) is read with the code filled in, so every level covers Belgium without
    rewriting the warehouse."""
    if warehouse is not None and warehouse.exists(spark, name):
        frame = warehouse.read(spark, name)
        return _with_brussels_province(frame) if name == REF_GEOGRAPHY.name else frame
    return reference_frame(spark, name)


def _with_brussels_province(geo: DataFrame) -> DataFrame:
    brussels = F.col("prov_nis").isNull() & (F.col("reg_nis") == BRUSSELS_NIS)
    return geo.withColumns(
        {
            col: F.when(brussels, F.lit(value)).otherwise(F.col(col))
            for col, value in BRUSSELS_PROVINCE.items()
            if col in geo.columns
        }
    )
