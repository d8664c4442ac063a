"""Loading a source table: validate every row, write the accepted ones, quarantine the others.

One load = one ``load_id`` for one table. Per load, :func:`load_table` writes three Delta tables:

* the target table (contract columns in schema order plus ``load_id``, partitioned as in
  :mod:`phm.data.schemas`);
* ``quarantine``: rejected rows with their reasons and the original row as JSON;
* ``load_log``: one row with input / accepted / quarantined counts and rows per reason.

Invariant: ``accepted + quarantined == input``. Every input row gets exactly one
``reject_reasons`` array (the rule joins never multiply rows) and goes to exactly one side.

Idempotency. A rerun with the same ``load_id`` *replaces* that load's rows. Each of the three
writes checks whether the table already holds rows of this load (a ``load_id`` filter, cheap
thanks to Delta's file statistics) and then either appends, or overwrites with
``replaceWhere "load_id = '<id>'"`` (for quarantine and load_log, also the source table). Either
way it is one Delta commit per table: a crash leaves each table at its old or its new version,
never half-written. A crash *between* the three commits leaves e.g. the new accepted rows with the
old (or no) quarantine rows; rerunning the same ``load_id`` converges, because every write is
a replace. ``mode="overwrite"`` replaces the whole target table and that table's quarantine.
Loads of one warehouse must run one at a time (quarantine and load_log are shared).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import astuple, dataclass, field
from datetime import datetime, timezone

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from phm.data import checks, reference, rules
from phm.data.schemas import LOAD_LOG, POPULATION, QUARANTINE, SOURCE_TABLES, Table
from phm.data.warehouse import Warehouse, add_missing_columns, ensure_table
from phm.errors import InputError, WarehouseError
from phm.runs.faults import kill_point

_LOAD_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,100}$")
ACCOUNTING_MONTH = "accounting_month"
_ROW_MARK = "__row__"  # counted once per quarantined row next to its reasons


@dataclass(frozen=True)
class LoadResult:
    """What one load did. ``reasons`` counts quarantined rows per reason code."""

    load_id: str
    table: str
    mode: str
    input_rows: int
    accepted_rows: int
    quarantined_rows: int
    reasons: dict[str, int] = field(default_factory=dict)
    loaded_at: datetime | None = None
    accounting_through: dt.date | None = None  # latest accounting month accepted

    @property
    def conserved(self) -> bool:
        return self.accepted_rows + self.quarantined_rows == self.input_rows


def _sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def replace_rows(
    spark: SparkSession, frame: DataFrame, path: str, table: Table, where: str, *, rows: int
) -> None:
    """Write ``frame`` (``rows`` rows) into the table at ``path`` in place of the rows matching
    ``where``, in one commit: a plain append when none match (the common case, and the
    cheapest), else ``replaceWhere``. Nothing to replace and nothing to add: no commit."""
    created = ensure_table(spark, path, table)
    if not created:
        add_missing_columns(spark, path, table)
    has_rows = not created and (
        spark.read.format("delta").load(path).filter(where).limit(1).count() > 0
    )
    if not has_rows and rows == 0:
        return
    writer = frame.select(*table.column_names).write.format("delta")
    if has_rows:
        writer.mode("overwrite").option("replaceWhere", where).save(path)
    else:
        writer.mode("append").save(path)


def _counts(
    validated: DataFrame, table: Table
) -> tuple[int, int, int, dict[str, int], dt.date | None]:
    """Input, accepted and quarantined rows, rows per reason and the latest accounting month of
    the accepted rows (None without one), in one small aggregate."""
    reasons = F.col(rules.REASONS)
    marked = F.when(F.size(reasons) > 0, F.concat(F.array(F.lit(_ROW_MARK)), reasons))
    month = (
        F.col(ACCOUNTING_MONTH)
        if ACCOUNTING_MONTH in table.column_names
        else F.lit(None).cast("date")
    )
    rows = (
        validated.select(F.explode_outer(marked).alias("reason"), month.alias("month"))
        .groupBy("reason")
        .agg(F.count("*").alias("count"), F.max("month").alias("month"))
        .collect()
    )
    by_reason = {r["reason"]: r["count"] for r in rows}
    through = next((r["month"] for r in rows if r["reason"] is None), None)
    accepted = by_reason.pop(None, 0)
    quarantined = by_reason.pop(_ROW_MARK, 0)
    return accepted + quarantined, accepted, quarantined, dict(sorted(by_reason.items())), through


def booked_through(spark: SparkSession, warehouse: Warehouse) -> dict[str, dt.date]:
    """Per source table, the latest accounting month any load of it accepted rows of (first day
    of the month), from the load log; tables without one (the population, loads by a phm older
    than the column) are absent."""
    if not warehouse.exists(spark, LOAD_LOG.name):
        return {}
    log = warehouse.read(spark, LOAD_LOG.name)
    if "accounting_through" not in log.columns:
        return {}
    rows = (
        log.where(F.col("accounting_through").isNotNull())
        .groupBy("table")
        .agg(F.max("accounting_through").alias("through"))
        .collect()
    )
    return {r["table"]: r["through"] for r in rows}


def _checked_table(table_name: str, load_id: str, mode: str) -> Table:
    if table_name not in SOURCE_TABLES:
        raise InputError(f"cannot load {table_name!r}: source tables are {sorted(SOURCE_TABLES)}")
    if not _LOAD_ID.match(load_id):
        raise InputError(f"load_id {load_id!r} must be 1-100 characters among A-Z a-z 0-9 _ . : -")
    if mode not in ("append", "overwrite"):
        raise InputError(f"mode must be 'append' or 'overwrite', got {mode!r}")
    return SOURCE_TABLES[table_name]


def _lookups(
    spark: SparkSession,
    warehouse: Warehouse,
    table: Table,
    load_id: str,
    mode: str,
    references: dict[str, DataFrame] | None,
    population: DataFrame | None,
) -> dict:
    """The keyword arguments of :func:`rules.validate`: references, population, existing keys."""
    refs = dict(references or {})
    for ref_table, _ in table.references.values():
        if ref_table not in refs:
            refs[ref_table] = reference.read_reference(spark, warehouse, ref_table)
    if population is None and table.name != POPULATION.name:
        if not warehouse.exists(spark, POPULATION.name):
            raise WarehouseError(
                f"cannot load {table.name}: the orphan check needs the population table, which "
                f"is not in {warehouse.root}; load population first (or pass population=...)"
            )
        population = warehouse.read(spark, POPULATION.name)
    existing = None
    if mode == "append" and warehouse.exists(spark, table.name):
        # Keys of *other* loads: this load's own rows are about to be replaced.
        existing = warehouse.read(spark, table.name).filter(F.col("load_id") != load_id)
    return {"references": refs, "population": population, "existing_keys": existing}


def load_table(
    spark: SparkSession,
    warehouse: Warehouse,
    table_name: str,
    df: DataFrame,
    load_id: str,
    *,
    mode: str = "append",
    references: dict[str, DataFrame] | None = None,
    population: DataFrame | None = None,
) -> LoadResult:
    """Validate ``df`` against the contract and load it into ``table_name``.

    Args:
        spark: the session.
        warehouse: where the tables live.
        table_name: a source table: population, health_care, pharmacy or hospital_stay.
        df: the rows; columns named as in the contract (other types are ``try_cast``; extra
            columns are ignored but kept in the quarantine's ``row_json``).
        load_id: the batch id (letters, digits, ``_.:-``). Reusing it replaces that load.
        mode: ``append`` (add this load, replacing a previous run of it) or ``overwrite``
            (replace the whole table and its quarantine).
        references: reference DataFrames by name; default: the warehouse's ``ref_*`` tables,
            or the package's reference data when the warehouse has none.
        population: population rows for the orphan / after-death rules; default: the
            warehouse's population table (required for the claims tables).

    Returns:
        The counts; ``accepted_rows + quarantined_rows == input_rows``.
    """
    table = _checked_table(table_name, load_id, mode)
    loaded_at = datetime.now(timezone.utc)
    this_load = f"load_id = {_sql_literal(load_id)}"
    of_table = f"source_table = {_sql_literal(table.name)}"
    lookups = _lookups(spark, warehouse, table, load_id, mode, references, population)
    validated = rules.validate(rules.conform(df, table), table, **lookups)
    # Evaluate the input and the rule joins once; the counts and both writes reuse the result.
    validated = validated.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        input_rows, accepted_rows, quarantined_rows, reasons, through = _counts(validated, table)
        accepted = validated.filter(F.size(rules.REASONS) == 0).withColumn(
            "load_id", F.lit(load_id)
        )
        target = warehouse.path(table.name)
        if mode == "overwrite":
            ensure_table(spark, target, table)
            accepted.select(*table.column_names).write.format("delta").mode("overwrite").save(
                target
            )
        else:
            replace_rows(spark, accepted, target, table, this_load, rows=accepted_rows)
        kill_point("after_load_target")
        quarantined = validated.filter(F.size(rules.REASONS) > 0).select(
            F.lit(table.name).alias("source_table"),
            F.lit(load_id).alias("load_id"),
            rules.row_key(table).alias("row_key"),
            F.col(rules.REASONS).alias("reject_reasons"),
            rules.row_json(validated, table).alias("row_json"),
            F.lit(loaded_at).alias("quarantined_at"),
        )
        where = of_table if mode == "overwrite" else f"{of_table} AND {this_load}"
        replace_rows(
            spark,
            quarantined,
            warehouse.path(QUARANTINE.name),
            QUARANTINE,
            where,
            rows=quarantined_rows,
        )
    finally:
        validated.unpersist()

    result = LoadResult(
        load_id,
        table.name,
        mode,
        input_rows,
        accepted_rows,
        quarantined_rows,
        reasons,
        loaded_at,
        through,
    )
    # the result's fields are the load log's columns, in order
    log = spark.createDataFrame([astuple(result)], LOAD_LOG.schema)
    replace_rows(
        spark,
        log.coalesce(1),
        warehouse.path(LOAD_LOG.name),
        LOAD_LOG,
        f"`table` = {_sql_literal(table.name)} AND {this_load}",
        rows=1,
    )
    return result


# ------------------------------------------------------------------------- validate_warehouse


@dataclass(frozen=True)
class TableValidation:
    """The rules re-run on a loaded table: ``violations`` counts rows per reason (should be 0)."""

    table: str
    rows: int
    violating_rows: int
    violations: dict[str, int]


@dataclass(frozen=True)
class ValidationReport:
    """What ``phm validate`` shows: rule re-checks, the quarantine summary, range checks."""

    warehouse: str
    tables: list[TableValidation]
    missing_tables: list[str]
    quarantine: dict[str, dict[str, int]]  # source table -> reason -> rows
    quarantined_rows: dict[str, int]  # source table -> rows
    checks: list[checks.CheckResult]

    @property
    def ok(self) -> bool:
        """True when no loaded row breaks a rule (range-check warnings do not count)."""
        return all(t.violating_rows == 0 for t in self.tables)

    @property
    def warnings(self) -> list[checks.CheckResult]:
        return [c for c in self.checks if c.status == "warn"]


def _quarantine_summary(spark: SparkSession, warehouse: Warehouse) -> tuple[dict, dict]:
    if not warehouse.exists(spark, QUARANTINE.name):
        return {}, {}
    q = warehouse.read(spark, QUARANTINE.name)
    marked = F.concat(F.array(F.lit(_ROW_MARK)), F.col("reject_reasons"))
    rows = (
        q.select("source_table", F.explode(marked).alias("reason"))
        .groupBy("source_table", "reason")
        .count()
        .collect()
    )
    by_table: dict[str, dict[str, int]] = {}
    totals: dict[str, int] = {}
    for r in sorted(rows, key=lambda r: (r["source_table"], r["reason"])):
        if r["reason"] == _ROW_MARK:
            totals[r["source_table"]] = r["count"]
        else:
            by_table.setdefault(r["source_table"], {})[r["reason"]] = r["count"]
    return by_table, totals


def validate_warehouse(spark: SparkSession, warehouse: Warehouse) -> ValidationReport:
    """Re-check every loaded source table against the rules (one pass each; accepted data should
    show no violation), summarise the quarantine per table and reason, and run the range checks.
    """
    tables, missing = [], []
    refs = {
        name: reference.read_reference(spark, warehouse, name)
        for name in ("ref_geography", "ref_nomenclature", "ref_products")
    }
    people = None
    if warehouse.exists(spark, POPULATION.name):
        people = warehouse.read(spark, POPULATION.name)
    for name, table in SOURCE_TABLES.items():
        if not warehouse.exists(spark, name):
            missing.append(name)
            continue
        validated = rules.validate(
            warehouse.read(spark, name), table, references=refs, population=people
        )
        rows, _, violating, reasons, _ = _counts(validated, table)
        tables.append(TableValidation(name, rows, violating, reasons))
    by_table, totals = _quarantine_summary(spark, warehouse)
    return ValidationReport(
        warehouse.root, tables, missing, by_table, totals, checks.run_checks(spark, warehouse)
    )
