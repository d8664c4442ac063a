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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import datetime as dt

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

import phm
from phm.execute.aggregate import build_cube, indicator_cells
from phm.execute.events import data_end as last_day_of_data
from phm.execute.events import index_events
from phm.execute.hospital import FittedModel, hospital_cells
from phm.execute.finalise import finalise
from phm.execute.periods import with_period_columns
from phm.execute.person_year import build_person_year, check_person_year
from phm.compile.plan import Plan, build_plan
from phm.compile.requirements import lookback_gaps
from phm.execute.columns import check_columns
from phm.data.warehouse import Warehouse
from phm.disclosure import Protection, default_protection
from phm.disclosure.policy import redact_in_plans
from phm.errors import InputError, WarehouseError
from phm.publish.tables import RESULTS, RISK_MODELS
from phm.registry.sources import STAYS
from phm.publish.write import (
    append_ledger,
    metadata_rows,
    replace_where,
    with_timestamp,
    write_metadata,
    write_results,
    write_risk_models,
)
from phm.spec.catalogue import Catalogue, load_catalogue
from phm.spec.models import Indicator

Progress = Callable[[str], None]

PERSON_YEAR = "person_year"
INDEX_EVENTS = "index_events"


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
    """Last day of data of every source table a seasonal feature reads (``data_end`` when
    given, else 31 December of its last year, as for events)."""
    tables = sorted({p.table for p in plan.passes if any(f.season for f in p.features)})
    return {t: data_end or last_day_of_data(spark, warehouse, t) for t in tables}


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


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _slices(computed: dict[str, list[int]]) -> str:
    """SQL predicate of the (indicator, period) pairs computed: one term per set of years."""
    groups: dict[tuple[int, ...], list[str]] = {}
    for ind, years in computed.items():
        if years:
            groups.setdefault(tuple(years), []).append(ind)
    return " OR ".join(
        f"(indicator_id IN ({', '.join(_quoted(i) for i in ids)}) AND "
        f"period IN ({', '.join(str(int(y)) for y in years)}))"
        for years, ids in groups.items()
    )


def input_versions(spark: SparkSession, warehouse: Warehouse, tables: list[str]) -> dict[str, int]:
    from delta.tables import DeltaTable

    out = {}
    for name in tables:
        history = DeltaTable.forPath(spark, warehouse.path(name)).history(1).select("version")
        out[name] = int(history.collect()[0][0])
    return out


def _materialise(
    spark: SparkSession, warehouse: Warehouse, frame: DataFrame, name: str
) -> DataFrame:
    (
        frame.write.format("delta")
        .mode("overwrite")
        .option("overwriteSchema", "true")
        .partitionBy("year")
        .save(warehouse.path(name))
    )
    return warehouse.read(spark, name)


def event_data_end(
    spark: SparkSession, warehouse: Warehouse, plan: Plan, data_end: dt.date | None = None
) -> dict[str, dt.date]:
    """Last day of data per event: the earlier end of the stays and of its follow-up source
    (each table read once), or ``data_end`` when given."""
    if data_end is not None:
        return {e.id: data_end for e in plan.events}
    tables = {STAYS} | {e.follow_up.source for e in plan.events}
    last = {t: last_day_of_data(spark, warehouse, t) for t in sorted(tables)}
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
    materialise: bool = True,
    data_end: dt.date | None = None,
    progress: Progress = lambda _: None,
    stage_done: Callable[[str, float], None] = lambda stage, seconds: None,
) -> Computed:
    """Indicator cells for ``years``, with the cell keys ``secret`` gives; materialises the
    working tables (index events, person-year) unless ``materialise`` is False. ``stage_done``
    is told each stage's seconds as it ends, so a failed run still records the stages done."""
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
        if materialise:
            index = _materialise(spark, warehouse, index, INDEX_EVENTS)
            record("index_events", t0)
    progress(f"person-year table ({len(plan.features)} features, {len(years)} year(s))")
    t0 = time.perf_counter()
    person_year = build_person_year(spark, warehouse, plan, years, index)
    if materialise:
        person_year = _materialise(spark, warehouse, person_year, PERSON_YEAR)
        record("person_year", t0)
    check_person_year(person_year, plan)  # the schema only
    cells = indicator_cells(spark, build_cube(person_year, plan, secret), plan, years)
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
    materialise: bool = True,
    data_end: dt.date | None = None,
) -> DataFrame:
    """The cells of :func:`compute` alone."""
    return compute(
        spark, warehouse, plan, years, secret, materialise=materialise, data_end=data_end
    ).cells


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
    progress: Progress = lambda _: None,
) -> RunReport:
    """Compute and publish indicators (by id and/or collection; all when neither is given).
    ``data_end`` overrides the last day of data used by the events' data-end rule;
    ``protection`` the warehouse's cell-key secret and the default perturbation table;
    ``progress`` is told each stage as it starts (the CLI shows it with elapsed times)."""
    progress("checking specs and data coverage")
    catalogue = specs if isinstance(specs, Catalogue) else load_catalogue(specs)
    protection = protection or default_protection(warehouse)
    redact_in_plans(spark, protection)
    scope = run_scope(spark, warehouse, catalogue, ids, years, collections, data_end)
    plan, years, computed = scope.plan, scope.years, scope.computed
    run_id = run_id or time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    report = RunReport(
        run_id,
        years,
        [i.id for i in scope.indicators],
        computed=computed,
        warnings=list(scope.warnings),
    )
    ledger = {
        "run_id": run_id,
        "periods": years,
        "spec_hashes": plan.hashes,
        "input_versions": input_versions(spark, warehouse, scope.sources),
        "code_version": phm.__version__,
        "disclosure": protection.describe(),
    }
    append_ledger(spark, warehouse, {**ledger, "status": "started"})
    start = time.perf_counter()
    try:
        done = compute(
            spark,
            warehouse,
            plan,
            years,
            protection.secret,
            data_end=data_end,
            progress=progress,
            stage_done=report.timings.__setitem__,
        )
        cells, models = done.cells, done.models
        if not scope.uniform:  # the periods left out of some indicators
            cells = cells.where(F.expr(_slices(computed)))
            models = [m for m in models if m.period in computed[m.indicator_id]]
        progress(
            f"cells, statistics, disclosure control and publication "
            f"({len(scope.indicators)} indicator(s))"
        )
        t0 = time.perf_counter()
        results = with_timestamp(
            with_period_columns(finalise(cells, plan, protection), plan), run_id
        )
        write_metadata(spark, warehouse, metadata_rows(catalogue, scope.indicators, plan.hashes))
        publish(spark, warehouse, scope, results, risk_model_rows(models, plan.hashes, run_id))
        report.timings["aggregate_publish"] = round(time.perf_counter() - t0, 2)
        counts = published_counts(spark, warehouse, run_id)
        report.result_rows = sum(int(r.n) for r in counts)
        report.suppressed_rows = sum(int(r.s or 0) for r in counts)
        report.warnings += missing_cells(
            plan, computed, {(r.indicator_id, int(r.period), r.geo_level) for r in counts}
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
        },
    )
    return report


def publish(
    spark: SparkSession,
    warehouse: Warehouse,
    scope: Scope,
    results: DataFrame,
    risk_rows: list[dict],
) -> None:
    """Replace exactly the (indicator, period) pairs the run computed, results and risk
    models each in ONE Delta transaction."""
    compared = [i.id for i in scope.indicators if i.hospital_comparison]
    if compared:
        if scope.uniform:
            write_risk_models(spark, warehouse, risk_rows, compared, scope.years)
        else:
            replace_where(
                spark,
                warehouse,
                RISK_MODELS,
                spark.createDataFrame(risk_rows, RISK_MODELS.schema),
                _slices({i: scope.computed[i] for i in compared}),
            )
    if scope.uniform:
        write_results(spark, warehouse, results, [i.id for i in scope.indicators], scope.years)
    else:
        replace_where(spark, warehouse, RESULTS, results, _slices(scope.computed))


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
