"""Where tables live: a warehouse is a directory (or object-store prefix) of path-based Delta tables.

Layout::

    <root>/population/        source tables (Delta, partitioned by year)
    <root>/health_care/
    <root>/pharmacy/
    <root>/hospital_stay/
    <root>/ref_geography/     reference tables (Delta)
    <root>/ref_nomenclature/
    <root>/ref_products/
    <root>/quarantine/        rows that broke the contract, with reasons (Delta)
    <root>/load_log/          one row per load: input / accepted / quarantined counts (Delta)
    <root>/_phm/state.json    what the generator put there (seed, years, accounting as-of month)
    <root>/_phm/lease.json    who is writing the warehouse now (phm.runs.lease)

Path-based tables need no metastore, so the same code runs locally and on a cluster
(``s3://``, ``abfss://`` or ``dbfs:/`` roots). :func:`ensure_table` creates an empty table with a
contract's schema (:mod:`phm.data.schemas`). Spark and Delta are imported by the functions that
use them, so naming a warehouse (the CLI does) needs neither.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from phm.errors import WarehouseError

if TYPE_CHECKING:  # Spark is imported by the functions that use it, not with the module
    from pyspark.sql import DataFrame, SparkSession

    from phm.data.schemas import Table

STATE_FILE = "_phm/state.json"


@dataclass(frozen=True)
class Warehouse:
    root: str

    @classmethod
    def at(cls, root: str | Path) -> "Warehouse":
        text = str(root)
        if "://" not in text and not text.startswith("dbfs:"):
            text = str(Path(text).expanduser().resolve())
        return cls(text)

    @property
    def is_local(self) -> bool:
        return "://" not in self.root and not self.root.startswith("dbfs:")

    def path(self, table: str) -> str:
        return f"{self.root.rstrip('/')}/{table}"

    def exists(self, spark: SparkSession, table: str) -> bool:
        from delta.tables import DeltaTable

        return DeltaTable.isDeltaTable(spark, self.path(table))

    def read(self, spark: SparkSession, table: str) -> DataFrame:
        if not self.exists(spark, table):
            raise WarehouseError(
                f"table {table!r} not found in warehouse {self.root} "
                "(run `phm generate --warehouse ...` first, or check the path)"
            )
        return spark.read.format("delta").load(self.path(table))

    # -- generator state (local warehouses; cluster runs pass parameters explicitly) --
    def read_state(self) -> dict:
        state = Path(self.root) / STATE_FILE
        if not self.is_local or not state.exists():
            return {}
        return json.loads(state.read_text())

    def write_state(self, state: dict) -> None:
        if not self.is_local:
            return
        target = Path(self.root) / STATE_FILE
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2, sort_keys=True, default=str))
        tmp.replace(target)  # atomic on POSIX


def ensure_table(spark: SparkSession, path: str, table: Table) -> bool:
    """Create an empty Delta table with exactly the contract's schema (NOT NULL columns included,
    which Delta then enforces) and partitioning, unless one exists at ``path``.

    Returns:
        True when the table was created.
    """
    from delta.tables import DeltaTable

    if DeltaTable.isDeltaTable(spark, path):
        return False
    builder = DeltaTable.createIfNotExists(spark).location(path).addColumns(table.schema)
    if table.partition_by:
        builder = builder.partitionedBy(*table.partition_by)
    builder.execute()
    return True


def add_missing_columns(spark: SparkSession, path: str, table: Table) -> None:
    """Bring a table written by an older phm up to ``table``'s columns (new columns are
    nullable and null in old rows), so a write never fails on, or drops, a newer column."""
    have = set(spark.read.format("delta").load(path).columns)
    missing = [c for c in table.columns if c.name not in have]
    if missing:
        columns = ", ".join(f"`{c.name}` {c.dtype.ddl}" for c in missing)
        spark.sql(f"ALTER TABLE delta.`{path}` ADD COLUMNS ({columns})")
