"""One indicator run: specs -> plan -> person-year table -> cells -> statistics -> publish.

The person-year table is materialised (Delta, ``<warehouse>/person_year``): the aggregation then
reads a small table instead of re-deriving features, and a failure after that point does not
redo the passes over the claims on a retry within the same run.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

import phm
from phm.compile.aggregate import build_cube, indicator_cells
from phm.compile.finalise import finalise
from phm.compile.person_year import build_person_year
from phm.compile.plan import Plan, build_plan
from phm.data.warehouse import Warehouse
from phm.errors import WarehouseError
from phm.publish.write import (append_ledger, metadata_rows, with_timestamp, write_metadata,
                               write_results)
from phm.spec.catalogue import Catalogue, load_catalogue

PERSON_YEAR = "person_year"


@dataclass
class RunReport:
    run_id: str
    periods: list[int]
    indicators: list[str]
    result_rows: int = 0
    suppressed_rows: int = 0
    timings: dict[str, float] = field(default_factory=dict)


def available_years(spark: SparkSession, warehouse: Warehouse) -> list[int]:
    years = warehouse.read(spark, "population").select("year").distinct().collect()
    return sorted(int(r.year) for r in years)


def input_versions(spark: SparkSession, warehouse: Warehouse, tables: list[str]) -> dict[str, int]:
    from delta.tables import DeltaTable

    out = {}
    for name in tables:
        history = DeltaTable.forPath(spark, warehouse.path(name)).history(1).select("version")
        out[name] = int(history.collect()[0][0])
    return out


def compute_cells(spark: SparkSession, warehouse: Warehouse, plan: Plan, catalogue: Catalogue,
                  years: list[int], *, materialise: bool = True, timings: dict | None = None
                  ) -> DataFrame:
    """Indicator cells (pre-statistics) for ``years``; materialises the person-year table."""
    timings = timings if timings is not None else {}
    t0 = time.perf_counter()
    person_year = build_person_year(spark, warehouse, plan, catalogue, years)
    if materialise:
        (person_year.write.format("delta").mode("overwrite").option("overwriteSchema", "true")
         .partitionBy("year").save(warehouse.path(PERSON_YEAR)))
        person_year = warehouse.read(spark, PERSON_YEAR)
        timings["person_year"] = round(time.perf_counter() - t0, 2)
    return indicator_cells(spark, build_cube(person_year, plan), plan, years)


def run_indicators(spark: SparkSession, warehouse: Warehouse, specs: Path | str | Catalogue,
                   ids: list[str] | None = None, years: list[int] | None = None,
                   run_id: str | None = None) -> RunReport:
    catalogue = specs if isinstance(specs, Catalogue) else load_catalogue(specs)
    indicators = catalogue.select(ids)
    plan = build_plan(catalogue, indicators)
    have = available_years(spark, warehouse)
    years = sorted(set(years or have))
    missing = [y for y in years if y not in have]
    if missing:
        raise WarehouseError(f"no population rows for year(s) {missing} in {warehouse.root}; "
                             f"available: {have}")
    run_id = run_id or time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    report = RunReport(run_id, years, [i.id for i in indicators])
    sources = ["population"] + [p.table for p in plan.passes]
    ledger = {"run_id": run_id, "periods": years, "spec_hashes": plan.hashes,
              "input_versions": input_versions(spark, warehouse, sources),
              "code_version": phm.__version__}
    append_ledger(spark, warehouse, {**ledger, "status": "started"})
    start = time.perf_counter()
    try:
        cells = compute_cells(spark, warehouse, plan, catalogue, years, timings=report.timings)
        t0 = time.perf_counter()
        results = with_timestamp(finalise(cells, plan, catalogue), run_id)
        write_metadata(spark, warehouse, metadata_rows(catalogue, indicators, plan.hashes))
        write_results(spark, warehouse, results, report.indicators, years)
        report.timings["aggregate_publish"] = round(time.perf_counter() - t0, 2)
        counts = (warehouse.read(spark, "results")
                  .where(F.col("run_id") == run_id)
                  .agg(F.count("*").alias("n"), F.sum(F.col("suppressed").cast("int")).alias("s"))
                  .collect()[0])
        report.result_rows, report.suppressed_rows = int(counts.n), int(counts.s or 0)
    except Exception as exc:
        append_ledger(spark, warehouse, {**ledger, "status": "failed", "error": str(exc)[:2000],
                                         "timings": report.timings})
        raise
    report.timings["total"] = round(time.perf_counter() - start, 2)
    append_ledger(spark, warehouse, {**ledger, "status": "succeeded", "timings": report.timings,
                                     "result_rows": report.result_rows})
    return report
