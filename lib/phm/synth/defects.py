"""Plant known defects in generated source data, so the loader's quarantine can be tested.

:func:`plant_defects` alters a small, deterministic share of the rows of each source table: a row
is picked when a hash of (seed, table, key) falls below ``rate`` (no ``F.rand``: the same seed
and data always give the same defects, whatever the partitioning), and a second hash picks which
of the table's defect kinds it gets. Each picked row gets exactly one defect and keeps its natural
key, so it can be found again; a duplicate is an exact copy of its row (same key).

The manifest lists one row per planted defect: ``table``, ``row_key`` (key columns joined by
``|``, as in the quarantine), ``defect``, ``expected_reason`` (the reason code the loader must
give) and ``seed``. Inputs must be deterministic DataFrames (the generator's are): the manifest
and the altered tables are evaluated separately.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from phm.data.rules import row_key
from phm.data.schemas import MONEY, SOURCE_TABLES
from phm.data.warehouse import Warehouse

# Well-formed codes that are in no reference table (tests check they stay absent).
UNKNOWN_NOMEN_CODE = "999997"
UNKNOWN_CNK = "9999997"
UNKNOWN_NIS = "99997"
MANIFEST_TABLE = "defects_manifest"
_BUCKETS = 1_000_000


@dataclass(frozen=True)
class Defect:
    """A defect kind: the columns it rewrites (``None`` for an exact duplicate of the row)."""

    kind: str
    expected_reason: str
    changes: Callable[[], dict[str, Column]] | None


def _negative(col: str) -> Column:
    c = F.col(col)
    return F.when(c > 0, -c).otherwise(F.lit(-1).cast(MONEY.spark()))


def _before(date_col: str) -> dict[str, Column]:
    # The accounting month before the event's month: the event is "in the future" of it.
    return {"accounting_month": F.add_months(F.trunc(F.col(date_col), "month"), -1)}


def _orphan() -> dict[str, Column]:
    return {"person_id": F.concat(F.lit("orphan-"), F.xxhash64("person_id").cast("string"))}


_NULL_PERSON = Defect(
    "null_person_id", "NULL_PERSON_ID", lambda: {"person_id": F.lit(None).cast("string")}
)
_ORPHAN = Defect("orphan", "ORPHAN", _orphan)
_DUPLICATE = Defect("duplicate", "DUPLICATE", None)

DEFECTS: dict[str, tuple[Defect, ...]] = {
    "population": (
        Defect("unknown_nis", "UNKNOWN_CODE", lambda: {"nis_municipality": F.lit(UNKNOWN_NIS)}),
        Defect("birth_year_future", "BAD_BIRTH_YEAR", lambda: {"birth_year": F.col("year") + 1}),
        _DUPLICATE,
    ),
    "health_care": (
        _NULL_PERSON,
        Defect(
            "unknown_nomen_code", "UNKNOWN_CODE", lambda: {"nomen_code": F.lit(UNKNOWN_NOMEN_CODE)}
        ),
        Defect(
            "negative_amount",
            "NEGATIVE_AMOUNT",
            lambda: {"amount_reimbursed": _negative("amount_reimbursed")},
        ),
        Defect(
            "service_after_accounting", "DATE_AFTER_ACCOUNTING", lambda: _before("service_date")
        ),
        _ORPHAN,
        _DUPLICATE,
    ),
    "pharmacy": (
        _NULL_PERSON,
        Defect("unknown_cnk", "UNKNOWN_CODE", lambda: {"cnk": F.lit(UNKNOWN_CNK)}),
        Defect(
            "negative_amount",
            "NEGATIVE_AMOUNT",
            lambda: {"amount_reimbursed": _negative("amount_reimbursed")},
        ),
        Defect(
            "delivery_after_accounting", "DATE_AFTER_ACCOUNTING", lambda: _before("delivery_date")
        ),
        _ORPHAN,
        _DUPLICATE,
    ),
    "hospital_stay": (
        _NULL_PERSON,
        Defect(
            "discharge_before_admission",
            "DISCHARGE_BEFORE_ADMISSION",
            lambda: {"admission_date": F.date_add(F.col("discharge_date"), 1)},
        ),
        Defect(
            "admission_after_accounting", "DATE_AFTER_ACCOUNTING", lambda: _before("admission_date")
        ),
        _ORPHAN,
        _DUPLICATE,
    ),
}


def _pick(table: str, seed: int, rate: float) -> tuple[Column, Column]:
    """(is the row picked, index of its defect kind), both from hashes of seed, table and key."""
    key = [F.col(k) for k in SOURCE_TABLES[table].key]
    bucket = F.pmod(F.xxhash64(F.lit(seed), F.lit(table), *key), F.lit(_BUCKETS))
    kind = F.pmod(F.xxhash64(F.lit(seed + 1), F.lit(table), *key), F.lit(len(DEFECTS[table])))
    return bucket < F.lit(int(round(rate * _BUCKETS))), kind


def plant_table(df: DataFrame, table: str, seed: int, rate: float) -> tuple[DataFrame, DataFrame]:
    """Plant defects in one source table; returns (altered rows, manifest rows)."""
    defects = DEFECTS[table]
    picked, kind = _pick(table, seed, rate)
    # One projection over the original row: column -> CASE over the defects that rewrite it
    # (a row gets at most one defect, so their order does not matter).
    cases: dict[str, Column] = {}
    for i, defect in enumerate(defects):
        for col, value in (defect.changes() if defect.changes else {}).items():
            cases[col] = F.when(picked & (kind == i), value).otherwise(cases.get(col, F.col(col)))
    out = df.select(*[cases[c].alias(c) if c in cases else F.col(c) for c in df.columns])
    dup = [i for i, d in enumerate(defects) if d.changes is None]
    if dup:
        out = out.unionByName(df.filter(picked & kind.isin(*dup)))
    names = F.array(*[F.lit(d.kind) for d in defects])
    reasons = F.array(*[F.lit(d.expected_reason) for d in defects])
    manifest = df.filter(picked).select(
        F.lit(table).alias("table"),
        row_key(SOURCE_TABLES[table]).alias("row_key"),
        F.get(names, kind.cast("int")).alias("defect"),
        F.get(reasons, kind.cast("int")).alias("expected_reason"),
        F.lit(seed).alias("seed"),
    )
    return out, manifest


def plant_defects(
    dfs: dict[str, DataFrame], seed: int, rate: float = 0.001
) -> tuple[dict[str, DataFrame], DataFrame]:
    """Plant defects in every source table of ``dfs`` (other entries pass through unchanged).

    Args:
        dfs: DataFrames by table name, with the source tables' key columns.
        seed: the defects depend only on it, the table and the rows' keys.
        rate: share of rows of each table given a defect (duplicates add rows).

    Returns:
        The altered DataFrames and the manifest (``table, row_key, defect, expected_reason,
        seed``), one row per planted defect.
    """
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate must be within [0, 1], got {rate}")
    out, manifests = {}, []
    for name, df in dfs.items():
        if name not in DEFECTS:
            out[name] = df
            continue
        out[name], manifest = plant_table(df, name, seed, rate)
        manifests.append(manifest)
    if not manifests:
        raise ValueError(f"no source table among {sorted(dfs)}; expected some of {sorted(DEFECTS)}")
    manifest = manifests[0]
    for other in manifests[1:]:
        manifest = manifest.unionByName(other)
    return out, manifest


def write_manifest(manifest: DataFrame, warehouse: Warehouse, *, mode: str = "overwrite") -> str:
    """Write the manifest as the Delta table ``<warehouse>/defects_manifest``; returns its path.
    ``mode="append"`` adds the defects of a later increment."""
    path = warehouse.path(MANIFEST_TABLE)
    manifest.coalesce(1).write.format("delta").mode(mode).save(path)
    return path


def read_manifest(spark: SparkSession, warehouse: Warehouse) -> DataFrame:
    """The manifest written by :func:`write_manifest`."""
    return warehouse.read(spark, MANIFEST_TABLE)
