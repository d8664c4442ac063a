"""One indicator run: specs -> plan -> what is stale -> (index events) -> person-year table ->
cells -> statistics -> staged results -> publication gate -> publish.

- **Incremental.** Only the (indicator, period) pairs whose fingerprint changed since their
  last publication are computed (:mod:`phm.runs.staleness`); ``full=True`` computes every one.
  A run with nothing stale records so in the ledger and returns at once.
- **Per-run working tables.** ``<warehouse>/_work/<run_id>/`` holds the run's Delta working
  tables: ``index_events`` (one row per index episode, when the plan has event indicators),
  ``person_year``, and the staged output (``results``, ``risk_models``,
  ``indicator_metadata``, ``computation_log``). No run overwrites another's; the aggregation
  and the hospital comparison read small tables instead of re-deriving them.
- **Gate.** The staged results are compared with the published ones (:mod:`phm.runs.gate`);
  a run that changes too much is recorded as ``held`` and publishes nothing until
  :func:`accept` (``phm publish --accept RUN_ID``).
- **Publication** (:func:`publish_staged`) merges the metadata, replaces the run's
  (indicator, period) slices of ``results`` and ``risk_models`` (one Delta transaction each),
  then records the fingerprints. A run killed anywhere leaves each table as before or as after,
  and the next run recomputes whatever was not recorded: it converges.
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from dataclasses import dataclass, field
from pathlib import Path

import datetime as dt

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

import phm
from phm.execute.aggregate import build_cube, indicator_cells
from phm.execute.events import data_ends as last_days_of_data
from phm.execute.events import index_events
from phm.execute.hospital import FittedModel, hospital_cells
from phm.execute.finalise import finalise
from phm.execute.periods import with_period_columns
from phm.execute.person_year import build_person_year, check_person_year
from phm.compile.plan import Plan, build_plan
from phm.compile.requirements import data_end_tables, indicator_tables, lookback_gaps
from phm.execute.columns import check_columns
from phm.data.load import booked_through
from phm.data.warehouse import Warehouse
from phm.disclosure import Protection, default_protection
from phm.disclosure.policy import redact_in_plans
from phm.errors import InputError, WarehouseError
from phm.publish.tables import COMPUTATIONS, METADATA, RESULTS, RISK_MODELS, RUNS, check_stage
from phm.registry.sources import STAYS
from phm.runs.faults import kill_point
from phm.runs.gate import GateReport, GateRules
from phm.runs.gate import compare as gate_compare
from phm.runs.staleness import (
    computation_rows,
    fingerprints,
    last_fingerprints,
    settings_digest,
    stale,
)
from phm.publish.write import (
    slices_predicate,
    append_ledger,
    metadata_rows,
    replace_where,
    with_timestamp,
    write_metadata,
)
from phm.spec.catalogue import Catalogue, load_catalogue
from phm.spec.models import Indicator

Progress = Callable[[str], None]

PERSON_YEAR = "person_year"
INDEX_EVENTS = "index_events"
WORK = "_work"
SETTLED = ("succeeded", "published", "failed")  # a run's final ledger statuses besides held


def work_of(warehouse: Warehouse, run_id: str) -> Warehouse:
    """Where run ``run_id`` keeps its working tables and staged output."""
    return Warehouse(warehouse.path(f"{WORK}/{run_id}"))


@dataclass
class RunReport:
    """What a run computed. ``periods`` are the years computed (for at least one indicator),
    ``computed`` the years of each indicator; ``warnings`` name every period left out and every
    indicator, year and geography level without a single cell (also in the run ledger)."""

    run_id: str
    periods: list[int]
    indicators: list[str]
    result_rows: int = 0
    suppressed_rows: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    computed: dict[str, list[int]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    fresh: int = 0  # (indicator, period) pairs left alone: nothing they read changed
    gate: GateReport | None = None

    @property
    def held(self) -> bool:
        return self.gate is not None and self.gate.held

    @property
    def nothing_stale(self) -> bool:
        return not self.computed


def available_years(spark: SparkSession, warehouse: Warehouse) -> list[int]:
    years = warehouse.read(spark, "population").select("year").distinct().collect()
    return sorted(int(r.year) for r in years)


def data_starts(
    spark: SparkSession, warehouse: Warehouse, plan: Plan, have: list[int]
) -> dict[str, int]:
    """First year of the population (``have``: its years) and of every source table a
    windowed feature reads (the min of its partition column; an empty table is left out)."""
    starts = {"population": min(have)}
    for table in sorted({p.table for p in plan.passes if p.max_window > 1}):
        first = warehouse.read(spark, table).agg(F.min("year")).collect()[0][0]
        if first is not None:
            starts[table] = int(first)
    return starts


def data_ends(
    spark: SparkSession, warehouse: Warehouse, plan: Plan, data_end: dt.date | None = None
) -> dict[str, dt.date]:
    """Last day of data of every source table a seasonal feature reads."""
    tables = {p.table for p in plan.passes if any(f.season for f in p.features)}
    return table_data_ends(spark, warehouse, tables, data_end)


def table_data_ends(
    spark: SparkSession, warehouse: Warehouse, tables: Iterable[str], data_end: dt.date | None
) -> dict[str, dt.date]:
    """Last day of data of each table: ``data_end`` when given, else from the load log and
    the table (:func:`phm.execute.events.data_ends`)."""
    if data_end is not None:
        return {t: data_end for t in sorted(set(tables))}
    return last_days_of_data(spark, warehouse, tables)


def covered_years(
    spark: SparkSession,
    warehouse: Warehouse,
    plan: Plan,
    years: list[int],
    have: list[int],
    *,
    asked: bool,
    data_end: dt.date | None = None,
) -> tuple[dict[str, list[int]], list[str]]:
    """The years of each indicator whose look-backs the data cover, and a warning per period
    left out. Years ``asked`` for explicitly are all computed or the run is refused
    (:class:`InputError` naming each period, feature, window and missing years)."""
    gaps = lookback_gaps(
        plan,
        years,
        data_starts(spark, warehouse, plan, have),
        data_ends(spark, warehouse, plan, data_end),
    )
    if gaps and asked:
        raise InputError(
            "periods whose look-back reaches before the data (a shorter window would publish a "
            "silently wrong number):\n  "
            + "\n  ".join(dict.fromkeys(map(str, gaps)))
            + "\nAsk for later years (--years), leave these indicators out (--specs), or omit "
            "--years to compute each indicator for the years its data cover."
        )
    left_out = {(g.indicator, g.year) for g in gaps}
    computed = {i.id: [y for y in years if (i.id, y) not in left_out] for i in plan.indicators}
    warnings = list(dict.fromkeys(f"{g} - not computed" for g in gaps))
    if not any(computed.values()):
        raise InputError("nothing to compute: " + "; ".join(warnings))
    return computed, warnings


def missing_cells(
    plan: Plan, computed: dict[str, list[int]], present: set[tuple[str, int, str]]
) -> list[str]:
    """A warning per indicator, computed year and geography level (areas and hospitals
    included) without a single result row; ``present`` holds (indicator, year, level) of the
    rows published."""
    out = []
    for ind in plan.indicators:
        levels = [*ind.breakdowns.geography, *[f"area:{a}" for a in ind.breakdowns.areas]]
        if ind.hospital_comparison:
            levels.append("hospital")
        for year in computed.get(ind.id, []):
            empty = [lvl for lvl in levels if (ind.id, year, lvl) not in present]
            if empty:
                out.append(
                    f"{ind.id} {year}: no cell at level(s) {', '.join(empty)} "
                    "(empty population or no data in the year?)"
                )
    return out


def input_versions(spark: SparkSession, warehouse: Warehouse, tables: list[str]) -> dict[str, int]:
    from delta.tables import DeltaTable

    out = {}
    for name in tables:
        history = DeltaTable.forPath(spark, warehouse.path(name)).history(1).select("version")
        out[name] = int(history.collect()[0][0])
    return out


def _materialise(spark: SparkSession, work: Warehouse, frame: DataFrame, name: str) -> DataFrame:
    (
        frame.write.format("delta")
        .mode("overwrite")
        .option("overwriteSchema", "true")
        .partitionBy("year")
        .save(work.path(name))
    )
    return work.read(spark, name)


def event_data_end(
    spark: SparkSession, warehouse: Warehouse, plan: Plan, data_end: dt.date | None = None
) -> dict[str, dt.date]:
    """Last day of data per event: the earlier end of the stays and of its follow-up source
    (each table read once), or ``data_end`` when given."""
    if data_end is not None:
        return {e.id: data_end for e in plan.events}
    tables = {STAYS} | {e.follow_up.source for e in plan.events}
    last = last_days_of_data(spark, warehouse, tables)
    return {e.id: min(last[STAYS], last[e.follow_up.source]) for e in plan.events}


@dataclass
class Computed:
    """What :func:`compute` produced: the cells (pre-statistics), the hospital risk models
    fitted for the periods, and the seconds per stage."""

    cells: DataFrame
    models: list[FittedModel]
    timings: dict[str, float]


def compute(
    spark: SparkSession,
    warehouse: Warehouse,
    plan: Plan,
    years: list[int],
    secret: str,
    *,
    work: Warehouse | None = None,
    data_end: dt.date | None = None,
    progress: Progress = lambda _: None,
    stage_done: Callable[[str, float], None] = lambda stage, seconds: None,
) -> Computed:
    """Indicator cells for ``years``, with the cell keys ``secret`` gives; materialises the
    working tables (index events, person-year) in ``work`` (a run's :func:`work_of`) when
    given. ``stage_done`` is told each stage's seconds as it ends, so a failed run still
    records the stages done."""
    timings: dict[str, float] = {}

    def record(stage: str, t0: float) -> None:
        timings[stage] = round(time.perf_counter() - t0, 2)
        stage_done(stage, timings[stage])

    check_columns(spark, warehouse, plan)
    periods = years
    # a pooled period adds up the years before it: those are read too
    pool = max([i.pooled_years for i in plan.indicators] + [1])
    years = sorted({y - o for y in periods for o in range(pool)})
    index = None
    if plan.events:
        progress("index events (hospital episodes and follow-ups)")
        t0 = time.perf_counter()
        ends = event_data_end(spark, warehouse, plan, data_end)
        index = index_events(spark, warehouse, plan, years, ends)
        if work is not None:
            index = _materialise(spark, work, index, INDEX_EVENTS)
            record("index_events", t0)
    progress(f"person-year table ({len(plan.features)} features, {len(years)} year(s))")
    t0 = time.perf_counter()
    person_year = build_person_year(spark, warehouse, plan, years, index)
    if work is not None:
        person_year = _materialise(spark, work, person_year, PERSON_YEAR)
        record("person_year", t0)
        kill_point("after_person_year")
    check_person_year(person_year, plan)  # the schema only
    cube = build_cube(person_year, plan, secret, years, periods)
    cells = indicator_cells(spark, cube, plan, years, periods)
    models: list[FittedModel] = []
    if index is not None:
        progress("hospital risk models")
        t0 = time.perf_counter()
        hospitals, fitted = hospital_cells(spark, index, person_year, plan, secret)
        models = [m for m in fitted if m.period in periods]
        if hospitals is not None:
            cells = cells.unionByName(hospitals)
        record("risk_models", t0)
    if years != periods:
        cells = cells.where(F.col("period").isin(periods))
    return Computed(cells, models, timings)


def compute_cells(
    spark: SparkSession,
    warehouse: Warehouse,
    plan: Plan,
    years: list[int],
    secret: str,
    *,
    work: Warehouse | None = None,
    data_end: dt.date | None = None,
) -> DataFrame:
    """The cells of :func:`compute` alone (working tables in ``work`` when given)."""
    return compute(spark, warehouse, plan, years, secret, work=work, data_end=data_end).cells


@dataclass(frozen=True)
class Scope:
    """What a run computes: the indicators, their plan, the period years, the years of each
    indicator (look-backs the data cover) and a warning per period left out."""

    indicators: list[Indicator]
    plan: Plan
    years: list[int]
    computed: dict[str, list[int]]
    warnings: list[str]

    @property
    def uniform(self) -> bool:
        """Every indicator is computed for every year of the run."""
        return all(ys == self.years for ys in self.computed.values())

    @property
    def sources(self) -> list[str]:
        """The tables the run reads."""
        plan = self.plan
        return sorted(
            {
                "population",
                *[p.table for p in plan.passes],
                *[t for e in plan.events for t in (STAYS, e.follow_up.source)],
            }
        )


def run_scope(
    spark: SparkSession,
    warehouse: Warehouse,
    catalogue: Catalogue,
    ids: list[str] | None,
    years: list[int] | None,
    collections: list[str] | None,
    data_end: dt.date | None,
) -> Scope:
    """The indicators asked for, and the years each can be computed for: years asked for
    explicitly must all be covered (else :class:`InputError`); by default every population
    year is tried and the periods whose look-backs the data do not cover are left out."""
    indicators = catalogue.select(ids, collections=collections)
    plan = build_plan(catalogue, indicators)
    have = available_years(spark, warehouse)
    asked = bool(years)
    years = sorted(set(years or have))
    missing = [y for y in years if y not in have]
    if missing:
        raise WarehouseError(
            f"no population rows for year(s) {missing} in {warehouse.root}; available: {have}"
        )
    computed, warnings = covered_years(
        spark, warehouse, plan, years, have, asked=asked, data_end=data_end
    )
    if any(computed[i.id] != years for i in indicators):  # some periods left out
        indicators = [i for i in indicators if computed[i.id]]
        plan = build_plan(catalogue, indicators)
        computed = {i.id: computed[i.id] for i in indicators}
        years = sorted({y for ys in computed.values() for y in ys})
    return Scope(indicators, plan, years, computed, warnings)


def booking_warnings(
    scope: Scope, booked: Mapping[str, dt.date], ends_from_log: set[str]
) -> list[str]:
    """A warning per claims table whose data end could not come from the load log (it records
    no accounting month: loaded by an older phm), and per table and year whose claims are not
    booked through December: those periods count the claims booked so far (provisional)."""
    out = [
        f"{t}: the load log records no accounting month (loaded by an older phm?): its last "
        "day of data is taken as 31 December of its last year; pass --data-end if that is wrong"
        for t in sorted(ends_from_log - set(booked))
    ]
    partial: dict[tuple[str, int], list[str]] = {}
    for ind in scope.indicators:
        for t in indicator_tables(scope.plan, ind):
            for year in scope.computed.get(ind.id, []):
                if t in booked and booked[t] < dt.date(year, 12, 1):
                    partial.setdefault((t, year), []).append(ind.id)
    out += [
        f"provisional: {t} is booked through {booked[t]:%Y-%m}, so period {year} of "
        f"{', '.join(ids)} counts only what is booked so far"
        for (t, year), ids in sorted(partial.items())
    ]
    return out


def with_previous_periods(scope: Scope, todo: dict[str, list[int]]) -> dict[str, list[int]]:
    """``todo`` plus, for an indicator publishing a change, the previous period of each period
    in it (when that period can be computed): the change is taken within one run."""
    out = {}
    for ind in scope.indicators:
        years = set(todo.get(ind.id, []))
        if ind.change and years:
            years |= {y - ind.pooled_years for y in years} & set(scope.computed[ind.id])
        if years:
            out[ind.id] = sorted(years)
    return out


def narrowed(catalogue: Catalogue, scope: Scope, todo: dict[str, list[int]]) -> Scope:
    """The scope of the (indicator, period) pairs in ``todo`` alone."""
    if todo == {i: ys for i, ys in scope.computed.items() if ys}:
        return scope
    indicators = [i for i in scope.indicators if todo.get(i.id)]
    years = sorted({y for ys in todo.values() for y in ys})
    return Scope(indicators, build_plan(catalogue, indicators), years, todo, scope.warnings)


def run_indicators(
    spark: SparkSession,
    warehouse: Warehouse,
    specs: Path | str | Catalogue,
    ids: list[str] | None = None,
    years: list[int] | None = None,
    run_id: str | None = None,
    *,
    collections: list[str] | None = None,
    data_end: dt.date | None = None,
    protection: Protection | None = None,
    full: bool = False,
    gate: GateRules | None = None,
    progress: Progress = lambda _: None,
) -> RunReport:
    """Compute and publish indicators (by id and/or collection; all when neither is given).

    Only the stale (indicator, period) pairs are computed unless ``full``; the results pass the
    publication ``gate`` (default :class:`GateRules`) or the run is held.
    ``data_end`` overrides the last day of data used by the events' data-end rule;
    ``protection`` the warehouse's cell-key secret and the default perturbation table;
    ``progress`` is told each stage as it starts (the CLI shows it with elapsed times)."""
    progress("checking specs, data coverage and what is stale")
    catalogue = specs if isinstance(specs, Catalogue) else load_catalogue(specs)
    protection = protection or default_protection(warehouse)
    redact_in_plans(spark, protection)
    scope = run_scope(spark, warehouse, catalogue, ids, years, collections, data_end)
    run_id = run_id or time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    ends = table_data_ends(
        spark,
        warehouse,
        {t for i in scope.indicators for t in data_end_tables(scope.plan, i)},
        data_end,
    )
    booking = booking_warnings(
        scope, booked_through(spark, warehouse), set() if data_end else set(ends)
    )
    prints = fingerprints(
        spark, warehouse, scope.plan, scope.computed, settings_digest(protection), ends
    )
    todo = scope.computed if full else stale(prints, last_fingerprints(spark, warehouse))
    todo = with_previous_periods(scope, todo)
    report = RunReport(
        run_id,
        sorted({y for ys in todo.values() for y in ys}),
        list(todo),
        computed=todo,
        warnings=[*scope.warnings, *booking],
        fresh=len(prints) - sum(map(len, todo.values())),
    )
    ledger = {
        "run_id": run_id,
        "periods": report.periods,
        "spec_hashes": {i: scope.plan.hashes[i] for i in todo},
        "input_versions": input_versions(spark, warehouse, scope.sources),
        "code_version": phm.__version__,
        "disclosure": protection.describe(),
        "recomputed": todo,
    }
    if not todo:
        report.warnings.append(
            f"nothing stale: all {report.fresh} (indicator, period) pairs are as last published"
        )
        append_ledger(
            spark, warehouse, {**ledger, "status": "succeeded", "warnings": report.warnings}
        )
        return report
    scope = narrowed(catalogue, scope, todo)
    plan, years = scope.plan, scope.years
    work = work_of(warehouse, run_id)
    append_ledger(spark, warehouse, {**ledger, "status": "started"})
    start = time.perf_counter()
    try:
        done = compute(
            spark,
            warehouse,
            plan,
            years,
            protection.secret,
            work=work,
            data_end=data_end,
            progress=progress,
            stage_done=report.timings.__setitem__,
        )
        cells, models = done.cells, done.models
        if not scope.uniform:  # the periods left out of some indicators
            cells = cells.where(F.expr(slices_predicate(todo)))
            models = [m for m in models if m.period in todo[m.indicator_id]]
        progress(
            f"cells, statistics, disclosure control and staging "
            f"({len(scope.indicators)} indicator(s))"
        )
        t0 = time.perf_counter()
        results = with_timestamp(
            with_period_columns(finalise(cells, plan, protection), plan), run_id
        )
        stage(
            spark,
            work,
            results,
            risk_model_rows(models, plan.hashes, run_id),
            metadata_rows(catalogue, scope.indicators, plan.hashes),
            computation_rows(
                {k: v for k, v in prints.items() if k[1] in todo.get(k[0], [])}, plan, run_id
            ),
        )
        report.timings["aggregate_stage"] = round(time.perf_counter() - t0, 2)
        progress("publication gate (staged against published results)")
        t0 = time.perf_counter()
        report.gate = check_gate(spark, warehouse, work, gate or GateRules())
        report.timings["gate"] = round(time.perf_counter() - t0, 2)
        if report.held:
            report.warnings += [f"held by the gate: {r}" for r in report.gate.reasons]
            append_ledger(
                spark,
                warehouse,
                {
                    **ledger,
                    "status": "held",
                    "timings": report.timings,
                    "warnings": report.warnings,
                    "gate": report.gate.to_json(),
                },
            )
            return report
        progress("publication")
        t0 = time.perf_counter()
        publish_staged(spark, warehouse, work)
        report.timings["publish"] = round(time.perf_counter() - t0, 2)
        counts = published_counts(spark, warehouse, run_id)
        report.result_rows = sum(int(r.n) for r in counts)
        report.suppressed_rows = sum(int(r.s or 0) for r in counts)
        report.warnings += missing_cells(
            plan, todo, {(r.indicator_id, int(r.period), r.geo_level) for r in counts}
        )
    except Exception as exc:
        append_ledger(
            spark,
            warehouse,
            {
                **ledger,
                "status": "failed",
                "error": str(exc)[:2000],
                "timings": report.timings,
                "warnings": report.warnings or None,
            },
        )
        raise
    report.timings["total"] = round(time.perf_counter() - start, 2)
    append_ledger(
        spark,
        warehouse,
        {
            **ledger,
            "status": "succeeded",
            "timings": report.timings,
            "result_rows": report.result_rows,
            "warnings": report.warnings or None,
            "gate": report.gate.to_json() if report.gate and report.gate.indicators else None,
        },
    )
    remove_old_work(spark, warehouse, keep=run_id)
    return report


# -- staged output, the gate, publication -----------------------------------------------------


def stage(
    spark: SparkSession,
    work: Warehouse,
    results: DataFrame,
    risk_rows: list[dict],
    metadata: list[dict],
    computations: list[tuple],
) -> None:
    """Write a run's output into its working folder (computing the results once): what the
    gate compares and what :func:`publish_staged` (now or on acceptance) publishes."""
    check_stage(results, RESULTS, "stage results")
    results.select(*RESULTS.column_names).write.format("delta").mode("overwrite").save(
        work.path(RESULTS.name)
    )
    for table, rows in (
        (RISK_MODELS, risk_rows),
        (METADATA, metadata),
        (COMPUTATIONS, computations),
    ):
        frame = spark.createDataFrame(rows, table.schema)
        frame.coalesce(1).write.format("delta").mode("overwrite").save(work.path(table.name))


def staged_periods(spark: SparkSession, work: Warehouse) -> dict[str, list[int]]:
    """The (indicator, period) pairs a staged run replaces."""
    out: dict[str, list[int]] = {}
    for r in work.read(spark, COMPUTATIONS.name).select("indicator_id", "period").collect():
        out.setdefault(r.indicator_id, []).append(int(r.period))
    return {i: sorted(ys) for i, ys in out.items()}


def check_gate(
    spark: SparkSession, warehouse: Warehouse, work: Warehouse, rules: GateRules
) -> GateReport:
    """The gate's comparison of the staged results with the published rows of their slices."""
    if not rules.enabled or not warehouse.exists(spark, RESULTS.name):
        return GateReport(rules, [])
    periods = staged_periods(spark, work)
    before = warehouse.read(spark, RESULTS.name).where(F.expr(slices_predicate(periods)))
    return gate_compare(before, work.read(spark, RESULTS.name), rules)


def publish_staged(spark: SparkSession, warehouse: Warehouse, work: Warehouse) -> None:
    """Publish a staged run: merge its metadata (keyed by spec hash, so old results keep
    theirs), replace its (indicator, period) slices of results and risk models (one Delta
    transaction each), then record their fingerprints."""
    periods = staged_periods(spark, work)
    metadata = work.read(spark, METADATA.name)
    write_metadata(spark, warehouse, metadata)
    kill_point("after_metadata")
    compared = [
        r.indicator_id
        for r in metadata.where(F.col("hospital_comparison").isNotNull())
        .select("indicator_id")
        .collect()
    ]
    if compared:
        replace_where(
            spark,
            warehouse,
            RISK_MODELS,
            work.read(spark, RISK_MODELS.name),
            slices_predicate({i: periods[i] for i in compared if i in periods}),
        )
    replace_where(
        spark, warehouse, RESULTS, work.read(spark, RESULTS.name), slices_predicate(periods)
    )
    kill_point("after_results")
    replace_where(
        spark,
        warehouse,
        COMPUTATIONS,
        work.read(spark, COMPUTATIONS.name),
        slices_predicate(periods),
    )


def ledger_rows(spark: SparkSession, warehouse: Warehouse, run_id: str | None = None) -> list:
    """The run ledger's rows (of one run, when given), oldest first."""
    if not warehouse.exists(spark, RUNS.name):
        return []
    frame = warehouse.read(spark, RUNS.name)
    if run_id is not None:
        frame = frame.where(F.col("run_id") == run_id)
    return frame.orderBy("at").collect()


def accept(spark: SparkSession, warehouse: Warehouse, run_id: str) -> int:
    """Publish a held run (``phm publish --accept RUN_ID``); returns the rows published.
    Refused unless the run's last status is ``held`` and no run published since (accepting it
    would put older figures over newer ones: rerun instead)."""
    rows = ledger_rows(spark, warehouse)
    mine = [r for r in rows if r.run_id == run_id]
    if not mine:
        raise InputError(f"no run {run_id!r} in the ledger of {warehouse.root}")
    last = mine[-1]
    if last.status != "held":
        raise InputError(f"run {run_id} is {last.status}, not held: nothing to accept")
    later = [
        r.run_id
        for r in rows
        if r.at > last.at and r.status in ("succeeded", "published") and (r.result_rows or 0)
    ]
    if later:
        raise InputError(
            f"run {run_id} was held, but run(s) {', '.join(dict.fromkeys(later))} published "
            "since: accepting it would replace newer figures with older ones. Run again instead."
        )
    publish_staged(spark, warehouse, work_of(warehouse, run_id))
    counts = published_counts(spark, warehouse, run_id)
    published = sum(int(r.n) for r in counts)
    append_ledger(
        spark,
        warehouse,
        {
            **{c: getattr(last, c) for c in ("run_id", "periods", "spec_hashes", "input_versions")},
            **{c: getattr(last, c) for c in ("code_version", "disclosure", "recomputed", "gate")},
            "status": "published",
            "timings": last.timings,
            "warnings": last.warnings,
            "result_rows": published,
        },
    )
    remove_old_work(spark, warehouse, keep=run_id)
    return published


@dataclass(frozen=True)
class RunStatus:
    """One run as ``phm status`` shows it: its last ledger event and what it did."""

    run_id: str
    status: str
    started: dt.datetime | None
    ended: dt.datetime
    recomputed: dict[str, list[int]]
    result_rows: int | None
    warnings: list[str]
    held_reasons: list[str]
    error: str | None


def run_statuses(spark: SparkSession, warehouse: Warehouse, last: int = 10) -> list[RunStatus]:
    """The ``last`` runs, newest first, from the run ledger."""
    import json

    events: dict[str, list] = {}
    for r in ledger_rows(spark, warehouse):
        events.setdefault(r.run_id, []).append(r)
    out = []
    for run_id, rows in events.items():
        end = rows[-1]
        gate = json.loads(end.gate) if end.gate else {}
        out.append(
            RunStatus(
                run_id,
                end.status,
                next((r.at for r in rows if r.status == "started"), None),
                end.at,
                {k: list(v) for k, v in (end.recomputed or {}).items()},
                end.result_rows,
                list(end.warnings or []),
                list(gate.get("reasons", [])) if end.status == "held" else [],
                end.error,
            )
        )
    return sorted(out, key=lambda s: s.ended, reverse=True)[:last]


def latest_work(spark: SparkSession, warehouse: Warehouse) -> Warehouse:
    """The working folder of the latest run that built a person-year table (what the
    disclosure attack reads the truth from)."""
    for r in reversed(ledger_rows(spark, warehouse)):
        if r.status in ("succeeded", "held", "published") and "person_year" in (r.timings or {}):
            work = work_of(warehouse, r.run_id)
            if work.exists(spark, PERSON_YEAR):
                return work
    raise WarehouseError(f"no run of {warehouse.root} has kept its working tables")


def remove_old_work(spark: SparkSession, warehouse: Warehouse, keep: str) -> None:
    """Remove the working folders of runs other than ``keep``: settled ones (succeeded,
    published, failed) and ones killed over a day ago; held runs keep theirs until accepted
    or superseded (local warehouses; on an object store a lifecycle rule on ``_work/``
    does it)."""
    root = Path(warehouse.root) / WORK
    if not warehouse.is_local or not root.is_dir():
        return
    last: dict[str, Any] = {}
    for r in ledger_rows(spark, warehouse):
        last[r.run_id] = r
    # a run still "started" a day on was killed (a live one renews its lease, and runs of one
    # warehouse never overlap): its folder goes too
    killed_before = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=1)
    for folder in root.iterdir():
        r = last.get(folder.name)
        if folder.name == keep or r is None:
            continue
        if r.status in SETTLED or (r.status == "started" and r.at < killed_before):
            shutil.rmtree(folder, ignore_errors=True)


def published_counts(spark: SparkSession, warehouse: Warehouse, run_id: str) -> list:
    """Rows and suppressed rows per (indicator, period, level) the run published."""
    return (
        warehouse.read(spark, "results")
        .where(F.col("run_id") == run_id)
        .groupBy("indicator_id", "period", "geo_level")
        .agg(F.count("*").alias("n"), F.sum(F.col("suppressed").cast("int")).alias("s"))
        .collect()
    )


def risk_model_rows(models: list[FittedModel], hashes: dict[str, str], run_id: str) -> list[dict]:
    rows = []
    for m in models:
        for term, coef, se in zip(m.model.spec.columns, m.model.coef, m.model.se):
            rows.append(
                {
                    "indicator_id": m.indicator_id,
                    "spec_hash": hashes[m.indicator_id],
                    "period": m.period,
                    "term": term,
                    "coefficient": float(coef),
                    "std_error": float(se),
                    "stays": m.stays,
                    "events": m.events,
                    "converged": bool(m.model.converged),
                    "run_id": run_id,
                }
            )
    return rows
