"""Financing scenarios end to end over a warehouse: each scenario's person-year rows (one
person-year pass for all its variants), each variant's budget guarantee, then publication of
``simulation_results`` and ``simulation_models`` (each scenario's rows replaced in one Delta
transaction per table) and a run-ledger entry, as an indicator run does.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from dataclasses import dataclass

import pandas as pd
import yaml
from pydantic import ValidationError
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession

import phm
from phm.data.warehouse import Warehouse
from phm.errors import InputError, WarehouseError
from phm.disclosure.policy import Protection, default_protection, redact_in_plans
from phm.publish.tables import SIMULATION_DIAGNOSTICS, SIMULATION_MODELS, SIMULATION_RESULTS
from phm.publish.write import append_ledger, replace_scenarios
from phm.runs.indicators import available_years, input_versions
from phm.simulations.design import kind_of
from phm.simulations.guarantee import YearResult, simulate_variant
from phm.simulations.population import person_years, scenario_rows, source_tables
from phm.simulations.publish import diagnostic_rows, model_rows, result_rows
from phm.spec.catalogue import Catalogue
from phm.spec.issues import suggest
from phm.spec.scenario import with_overrides


@dataclass(frozen=True)
class VariantResult:
    scenario_id: str
    variant: str
    years: list[YearResult]


def default_scenarios(catalogue: Catalogue) -> list[str]:
    """What runs when no scenario is named: every scenario of the catalogue."""
    return sorted(catalogue.simulations)


def check_scenarios(catalogue: Catalogue, scenario_ids: list[str]) -> None:
    """Known scenarios, or an InputError naming the unknown one (before Spark starts)."""
    for sid in scenario_ids:
        if sid not in catalogue.simulations:
            raise InputError(f"unknown scenario {sid!r}{suggest(sid, catalogue.simulations)}")


def apply_overrides(
    catalogue: Catalogue, scenario_ids: list[str], settings: list[str]
) -> tuple[Catalogue, list[str]]:
    """``--set path=value`` what-ifs: each scenario replaced by its overridden copy, under
    its own id (:func:`phm.spec.scenario.with_overrides`). Values are read as YAML (``0.8``,
    ``tweedie``, ``{rule: none}``, ``[2023, 2024]``)."""
    if not settings:
        return catalogue, scenario_ids
    overrides = {}
    for setting in settings:
        path, sep, text = setting.partition("=")
        if not sep or not path.strip():
            raise InputError(f"--set {setting!r}: expected path=value, e.g. sharing.share=0.8")
        try:
            overrides[path.strip()] = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InputError(f"--set {setting!r}: the value is not YAML ({exc})") from exc
    changed = dict(catalogue.simulations)
    ids = []
    for sid in scenario_ids:
        if sid not in catalogue.simulations:
            raise InputError(f"unknown scenario {sid!r}{suggest(sid, catalogue.simulations)}")
        try:
            new = with_overrides(catalogue.simulations[sid], overrides)
            new.variants()
        except (ValueError, ValidationError) as exc:
            raise InputError(f"{sid}: --set {', '.join(settings)}: {_first_error(exc)}") from exc
        changed[new.id] = new
        ids.append(new.id)
    return dataclasses.replace(catalogue, simulations=changed), ids


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        e = exc.errors()[0]
        return f"{'.'.join(map(str, e['loc'])) or 'scenario'}: {e['msg']}"
    return str(exc)


def simulate(
    spark: SparkSession,
    warehouse: Warehouse,
    catalogue: Catalogue,
    scenario_id: str,
    secret: str | None = None,
) -> list[VariantResult]:
    """Every variant of a scenario (true figures; :func:`run_simulations` publishes them)."""
    check_scenarios(catalogue, [scenario_id])
    scenario = catalogue.simulations[scenario_id]
    variants = scenario.variants()
    years = scenario.years_read()
    missing = sorted(set(years) - set(available_years(spark, warehouse)))
    if missing:
        raise WarehouseError(
            f"{scenario_id} needs population year(s) {missing} in {warehouse.root} (guarantee "
            "years, and the year before each for a prospective attribution)"
        )
    table = person_years(spark, warehouse, catalogue, scenario, years).persist(
        StorageLevel.MEMORY_AND_DISK
    )
    shared: dict[str, DataFrame] = {}  # variants that attribute alike share their rows
    try:
        out = []
        for name, variant in variants.items():
            same = variant.model_dump_json(include={"attribution", "reference", "cost"})
            if same not in shared:
                shared[same] = scenario_rows(table, catalogue, variant).persist(
                    StorageLevel.MEMORY_AND_DISK
                )
            kinds = {f: kind_of(f, catalogue) for f in variant.risk_model.factors}
            areas = sorted(catalogue.areas[variant.attribution.areas].areas)
            try:
                years_out = simulate_variant(
                    shared[same],
                    variant,
                    kinds,
                    secret,
                    areas,
                    frozenset(y for y in years if y - 1 in years),
                )
            except ValueError as exc:  # a model that cannot be fitted (collinear, bad outcome)
                raise InputError(f"{scenario_id}, variant {name}: {exc}") from exc
            out.append(VariantResult(scenario_id, name, years_out))
        return out
    finally:
        for rows in shared.values():
            rows.unpersist()
        table.unpersist()


@dataclass
class SimulationReport:
    run_id: str
    scenarios: list[str]
    results: pd.DataFrame  # as published


def run_simulations(
    spark: SparkSession,
    warehouse: Warehouse,
    catalogue: Catalogue,
    scenario_ids: list[str],
    *,
    protection: Protection | None = None,
    run_id: str | None = None,
) -> SimulationReport:
    protection = protection or default_protection(warehouse)
    redact_in_plans(spark, protection)
    run_id = run_id or time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    hashes = {s: catalogue.hash_of("simulations", s) for s in scenario_ids}
    ledger = {
        "run_id": run_id,
        "periods": [],
        "spec_hashes": hashes,
        "input_versions": input_versions(
            spark,
            warehouse,
            sorted(
                {
                    t
                    for s in scenario_ids
                    for t in source_tables(catalogue, catalogue.simulations[s])
                }
            ),
        ),
        "code_version": phm.__version__,
        "disclosure": protection.describe(),
    }
    append_ledger(spark, warehouse, {**ledger, "status": "started"})
    start = time.perf_counter()
    try:
        results, models, checks = [], [], []
        for sid in scenario_ids:
            for v in simulate(spark, warehouse, catalogue, sid, protection.secret):
                for year in v.years:
                    results.append(
                        result_rows(sid, v.variant, hashes[sid], year, protection.ptable)
                    )
                    models.append(model_rows(sid, v.variant, hashes[sid], year))
                    checks.append(
                        diagnostic_rows(sid, v.variant, hashes[sid], year, protection.ptable)
                    )
        published = pd.concat(results, ignore_index=True).assign(run_id=run_id)
        fitted = pd.concat(models, ignore_index=True).assign(run_id=run_id)
        diagnostics = pd.concat(checks, ignore_index=True).assign(run_id=run_id)
        _write(spark, warehouse, SIMULATION_MODELS, fitted, scenario_ids)
        _write(spark, warehouse, SIMULATION_DIAGNOSTICS, diagnostics, scenario_ids)
        _write(spark, warehouse, SIMULATION_RESULTS, published, scenario_ids)
    except Exception as exc:
        append_ledger(spark, warehouse, {**ledger, "status": "failed", "error": str(exc)[:2000]})
        raise
    append_ledger(
        spark,
        warehouse,
        {
            **ledger,
            "status": "succeeded",
            "timings": {"total": round(time.perf_counter() - start, 2)},
            "result_rows": len(published),
        },
    )
    return SimulationReport(run_id, scenario_ids, published)


def _write(spark, warehouse, table, frame: pd.DataFrame, scenario_ids: list[str]) -> None:
    frame = frame[list(table.column_names)]
    records = [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]
    replace_scenarios(
        spark, warehouse, table, spark.createDataFrame(records, table.schema), scenario_ids
    )


def _plain(value):
    """numpy scalars as Python values, missing as None (Spark's row converter needs both)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def compare(spark: SparkSession, warehouse: Warehouse, first: str, second: str) -> pd.DataFrame:
    """Two published scenario variants side by side, per pilot and year: expected, actual,
    gain, payout (or, for capitation, allocated and difference) of each, and ``B − A``.
    ``first``/``second`` name ``scenario`` or ``scenario@variant`` (a unique part of the
    variant name is enough, e.g. ``budget_guarantee_2017@tweedie``)."""
    if not warehouse.exists(spark, SIMULATION_RESULTS.name):
        raise WarehouseError(f"{warehouse.root} has no simulation_results: run phm simulate")
    published = warehouse.read(spark, SIMULATION_RESULTS.name).toPandas()
    a, b = (_variant_rows(published, ref) for ref in (first, second))
    figures = ["persons", "expected", "actual", "gain", "payout", "allocated", "difference"]
    out = a[["area", "year", *figures]].merge(
        b[["area", "year", *figures]], on=["area", "year"], how="outer", suffixes=("_a", "_b")
    )
    for f in figures:
        out[f"{f}_diff"] = pd.to_numeric(out[f"{f}_b"], errors="coerce") - pd.to_numeric(
            out[f"{f}_a"], errors="coerce"
        )
    return out.sort_values(["area", "year"]).reset_index(drop=True)


def _variant_rows(published: pd.DataFrame, ref: str) -> pd.DataFrame:
    scenario, _, part = ref.partition("@")
    rows = published[published.scenario_id == scenario]
    if rows.empty:
        known = sorted(published.scenario_id.unique())
        raise InputError(
            f"--compare {ref}: no published scenario {scenario!r}"
            f"{suggest(scenario, known)} (published: {', '.join(known) or 'none'})"
        )
    variants = sorted(rows.variant.unique())
    chosen = [v for v in variants if v == part] or [v for v in variants if part in v]
    if len(chosen) != 1:
        raise InputError(
            f"--compare {ref}: {'no' if not chosen else 'more than one'} variant "
            f"of {scenario} matches {part!r}; its variants: {', '.join(variants)} "
            "(write scenario@variant, a unique part of the name is enough)"
        )
    return rows[rows.variant == chosen[0]]
