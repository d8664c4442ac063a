"""Financing scenarios end to end over a warehouse: each scenario's person-year rows (one
person-year pass for all its variants), each variant's budget guarantee, then publication of
``simulation_results`` and ``simulation_models`` (each scenario's rows replaced in one Delta
transaction per table) and a run-ledger entry, as an indicator run does.

Not yet (issue 9): capitation, ``difference_in_trend``, the bootstrap and the diagnostics.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import pandas as pd
from pyspark import StorageLevel
from pyspark.sql import SparkSession

import phm
from phm.data.warehouse import Warehouse
from phm.errors import InputError, WarehouseError
from phm.disclosure.policy import Protection, default_protection, redact_in_plans
from phm.publish.tables import SIMULATION_MODELS, SIMULATION_RESULTS
from phm.publish.write import append_ledger, replace_scenarios
from phm.runs.indicators import available_years, input_versions
from phm.simulations.design import kind_of
from phm.simulations.guarantee import YearResult, budget_guarantee
from phm.simulations.population import (person_years, required_years, scenario_rows,
                                        source_tables)
from phm.simulations.publish import model_rows, result_rows
from phm.spec.catalogue import Catalogue
from phm.spec.issues import suggest


@dataclass(frozen=True)
class VariantResult:
    scenario_id: str
    variant: str
    years: list[YearResult]


def default_scenarios(catalogue: Catalogue) -> list[str]:
    """What runs when no scenario is named: every budget-guarantee scenario."""
    return sorted(s for s, sc in catalogue.simulations.items() if sc.kind == "budget_guarantee")


def check_scenarios(catalogue: Catalogue, scenario_ids: list[str]) -> None:
    """Known scenarios of a kind and method this version runs, or an InputError naming why."""
    for sid in scenario_ids:
        if sid not in catalogue.simulations:
            raise InputError(f"unknown scenario {sid!r}{suggest(sid, catalogue.simulations)}")
        for variant in catalogue.simulations[sid].variants().values():
            if variant.kind != "budget_guarantee":
                raise InputError(f"{sid}: capitation scenarios are not implemented yet")
            if variant.method != "risk_adjusted":
                raise InputError(f"{sid}: method {variant.method!r} is not implemented yet")
            if "prior_cost_band" in variant.risk_model.factors:
                raise InputError(f"{sid}: risk factor 'prior_cost_band' is not implemented yet")


def simulate(spark: SparkSession, warehouse: Warehouse, catalogue: Catalogue,
             scenario_id: str, secret: str | None = None) -> list[VariantResult]:
    """Every variant of a scenario (true figures; :func:`run_simulations` publishes them)."""
    check_scenarios(catalogue, [scenario_id])
    scenario = catalogue.simulations[scenario_id]
    variants = scenario.variants()
    years = required_years(scenario)
    missing = sorted(set(years) - set(available_years(spark, warehouse)))
    if missing:
        raise WarehouseError(
            f"{scenario_id} needs population year(s) {missing} in {warehouse.root} (guarantee "
            "years, and the year before each for a prospective attribution)")
    table = person_years(spark, warehouse, catalogue, scenario, years).persist(
        StorageLevel.MEMORY_AND_DISK)
    try:
        out = []
        for name, variant in variants.items():
            rows = scenario_rows(table, catalogue, variant)
            kinds = {f: kind_of(f, catalogue) for f in variant.risk_model.factors}
            areas = sorted(catalogue.areas[variant.attribution.areas].areas)
            try:
                years_out = budget_guarantee(rows, variant, kinds, secret, areas)
            except ValueError as exc:  # a model that cannot be fitted (collinear, bad outcome)
                raise InputError(f"{scenario_id}, variant {name}: {exc}") from exc
            out.append(VariantResult(scenario_id, name, years_out))
        return out
    finally:
        table.unpersist()


@dataclass
class SimulationReport:
    run_id: str
    scenarios: list[str]
    results: pd.DataFrame  # as published


def run_simulations(spark: SparkSession, warehouse: Warehouse, catalogue: Catalogue,
                    scenario_ids: list[str], *, protection: Protection | None = None,
                    run_id: str | None = None) -> SimulationReport:
    protection = protection or default_protection(warehouse)
    redact_in_plans(spark, protection)
    run_id = run_id or time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    hashes = {s: catalogue.hash_of("simulations", s) for s in scenario_ids}
    ledger = {"run_id": run_id, "periods": [], "spec_hashes": hashes,
              "input_versions": input_versions(spark, warehouse, sorted(
                  {t for s in scenario_ids
                   for t in source_tables(catalogue, catalogue.simulations[s])})),
              "code_version": phm.__version__, "disclosure": protection.describe()}
    append_ledger(spark, warehouse, {**ledger, "status": "started"})
    start = time.perf_counter()
    try:
        results, models = [], []
        for sid in scenario_ids:
            for v in simulate(spark, warehouse, catalogue, sid, protection.secret):
                for year in v.years:
                    results.append(result_rows(sid, v.variant, hashes[sid], year,
                                               protection.ptable))
                    models.append(model_rows(sid, v.variant, hashes[sid], year))
        published = pd.concat(results, ignore_index=True).assign(run_id=run_id)
        fitted = pd.concat(models, ignore_index=True).assign(run_id=run_id)
        _write(spark, warehouse, SIMULATION_MODELS, fitted, scenario_ids)
        _write(spark, warehouse, SIMULATION_RESULTS, published, scenario_ids)
    except Exception as exc:
        append_ledger(spark, warehouse, {**ledger, "status": "failed", "error": str(exc)[:2000]})
        raise
    append_ledger(spark, warehouse, {**ledger, "status": "succeeded",
                                     "timings": {"total": round(time.perf_counter() - start, 2)},
                                     "result_rows": len(published)})
    return SimulationReport(run_id, scenario_ids, published)


def _write(spark, warehouse, table, frame: pd.DataFrame, scenario_ids: list[str]) -> None:
    frame = frame[list(table.column_names)]
    records = [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]
    replace_scenarios(spark, warehouse, table, spark.createDataFrame(records, table.schema),
                      scenario_ids)


def _plain(value):
    """numpy scalars as Python values, missing as None (Spark's row converter needs both)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value
