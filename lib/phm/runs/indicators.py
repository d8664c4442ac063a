"""One indicator run: specs -> plan -> (index events) -> person-year table -> cells ->
statistics -> publish.

Working tables are materialised as Delta: ``<warehouse>/index_events`` (one row per index
episode, when the plan has event indicators) and ``<warehouse>/person_year``. The aggregation
and the hospital comparison then read small tables instead of re-deriving them, and a failure
after that point does not redo the passes over the claims.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import datetime as dt

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

import phm
from phm.compile.aggregate import build_cube, indicator_cells
from phm.compile.events import data_end as last_day_of_data
from phm.compile.events import index_events
from phm.compile.hospital import FittedModel, hospital_cells
from phm.compile.finalise import finalise
from phm.compile.person_year import build_person_year
from phm.compile.plan import Plan, build_plan
from phm.compile.requirements import check_columns
from phm.data.warehouse import Warehouse
from phm.disclosure import Protection, default_protection
from phm.disclosure.policy import redact_in_plans
from phm.errors import WarehouseError
from phm.publish.write import (append_ledger, metadata_rows, with_timestamp, write_metadata,
                               write_results, write_risk_models)
from phm.spec.catalogue import Catalogue, load_catalogue

PERSON_YEAR = "person_year"
INDEX_EVENTS = "index_events"


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


def _materialise(spark: SparkSession, warehouse: Warehouse, frame: DataFrame, name: str
                 ) -> DataFrame:
    (frame.write.format("delta").mode("overwrite").option("overwriteSchema", "true")
     .partitionBy("year").save(warehouse.path(name)))
    return warehouse.read(spark, name)


def event_data_end(spark: SparkSession, warehouse: Warehouse, plan: Plan,
                   data_end: dt.date | None = None) -> dict[str, dt.date]:
    """Last day of data per event: the earlier end of the stays and of its follow-up source
    (each table read once), or ``data_end`` when given."""
    if data_end is not None:
        return {e.id: data_end for e in plan.events}
    tables = {"hospital_stay"} | {e.follow_up.source for e in plan.events}
    last = {t: last_day_of_data(spark, warehouse, t) for t in sorted(tables)}
    return {e.id: min(last["hospital_stay"], last[e.follow_up.source]) for e in plan.events}


def compute_cells(spark: SparkSession, warehouse: Warehouse, plan: Plan, catalogue: Catalogue,
                  years: list[int], secret: str, *, materialise: bool = True,
                  timings: dict | None = None, data_end: dt.date | None = None,
                  models: list | None = None) -> DataFrame:
    """Indicator cells (pre-statistics) for ``years``, with the cell keys ``secret`` gives;
    materialises the working tables. Fitted hospital risk models are appended to ``models``."""
    timings = timings if timings is not None else {}
    check_columns(spark, warehouse, plan, catalogue)
    index = None
    if plan.events:
        t0 = time.perf_counter()
        ends = event_data_end(spark, warehouse, plan, data_end)
        index = index_events(spark, warehouse, list(plan.events), catalogue, years, ends)
        if materialise:
            index = _materialise(spark, warehouse, index, INDEX_EVENTS)
            timings["index_events"] = round(time.perf_counter() - t0, 2)
    t0 = time.perf_counter()
    person_year = build_person_year(spark, warehouse, plan, catalogue, years, index)
    if materialise:
        person_year = _materialise(spark, warehouse, person_year, PERSON_YEAR)
        timings["person_year"] = round(time.perf_counter() - t0, 2)
    cells = indicator_cells(spark, build_cube(person_year, plan, secret), plan, years)
    if index is not None:
        t0 = time.perf_counter()
        hospitals, fitted = hospital_cells(spark, index, person_year, plan, catalogue, secret)
        if models is not None:
            models += fitted
        if hospitals is not None:
            cells = cells.unionByName(hospitals)
        timings["risk_models"] = round(time.perf_counter() - t0, 2)
    return cells


def run_indicators(spark: SparkSession, warehouse: Warehouse, specs: Path | str | Catalogue,
                   ids: list[str] | None = None, years: list[int] | None = None,
                   run_id: str | None = None, *, collections: list[str] | None = None,
                   data_end: dt.date | None = None,
                   protection: Protection | None = None) -> RunReport:
    """Compute and publish indicators (by id and/or collection; all when neither is given).
    ``data_end`` overrides the last day of data used by the events' data-end rule;
    ``protection`` the warehouse's cell-key secret and the default perturbation table."""
    catalogue = specs if isinstance(specs, Catalogue) else load_catalogue(specs)
    protection = protection or default_protection(warehouse)
    redact_in_plans(spark, protection)
    indicators = catalogue.select(ids, collections=collections)
    plan = build_plan(catalogue, indicators)
    have = available_years(spark, warehouse)
    years = sorted(set(years or have))
    missing = [y for y in years if y not in have]
    if missing:
        raise WarehouseError(f"no population rows for year(s) {missing} in {warehouse.root}; "
                             f"available: {have}")
    run_id = run_id or time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    report = RunReport(run_id, years, [i.id for i in indicators])
    sources = sorted({"population", *[p.table for p in plan.passes],
                      *[t for e in plan.events for t in ("hospital_stay", e.follow_up.source)]})
    ledger = {"run_id": run_id, "periods": years, "spec_hashes": plan.hashes,
              "input_versions": input_versions(spark, warehouse, sources),
              "code_version": phm.__version__, "disclosure": protection.describe()}
    append_ledger(spark, warehouse, {**ledger, "status": "started"})
    start = time.perf_counter()
    try:
        models: list = []
        cells = compute_cells(spark, warehouse, plan, catalogue, years, protection.secret,
                              timings=report.timings, data_end=data_end, models=models)
        t0 = time.perf_counter()
        results = with_timestamp(finalise(cells, plan, protection), run_id)
        write_metadata(spark, warehouse, metadata_rows(catalogue, indicators, plan.hashes))
        compared = [i.id for i in indicators if i.hospital_comparison]
        if compared:
            write_risk_models(spark, warehouse, risk_model_rows(models, plan.hashes, run_id),
                              compared, years)
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


def risk_model_rows(models: list[FittedModel], hashes: dict[str, str], run_id: str) -> list[dict]:
    rows = []
    for m in models:
        for term, coef, se in zip(m.model.spec.columns, m.model.coef, m.model.se):
            rows.append({"indicator_id": m.indicator_id, "spec_hash": hashes[m.indicator_id],
                         "period": m.period, "term": term, "coefficient": float(coef),
                         "std_error": float(se), "stays": m.stays, "events": m.events,
                         "converged": bool(m.model.converged), "run_id": run_id})
    return rows
