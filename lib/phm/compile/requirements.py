"""Source columns a plan reads, checked against the warehouse before any work starts.

Specs are checked against the documented data model (:mod:`phm.data.schemas`), but a real
warehouse may lack an optional column: ``hospital_stay.main_diagnosis_group`` exists only where
stays were linked with hospital discharge data. A spec that needs a missing column fails here,
naming the spec file, line and field, instead of deep inside Spark.

Look-backs are checked here too (:func:`lookback_gaps`): a period whose window, or whose
"insured the year before", reaches before the warehouse's first year would be computed on fewer
years than its definition says, a silently wrong number.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from pyspark.sql import SparkSession

from phm.compile.codes import code_column
from phm.compile.plan import Plan
from phm.data.warehouse import Warehouse
from phm.spec.catalogue import Catalogue, indicator_variables
from phm.spec.issues import SpecError, SpecIssue, dotted
from phm.spec.models import EPISODE_COLUMNS, Selection

# episode columns computed by the chaining itself, not read from hospital_stay
DERIVED_EPISODE_COLUMNS = {"n_stays", "transferred", "stay_type"}


@dataclass(frozen=True)
class Need:
    table: str
    column: str
    kind: str  # spec folder: features | events
    ident: str
    loc: tuple


def _selection_needs(catalogue: Catalogue, table: str, ident: str, loc: tuple, sel: Selection
                     ) -> list[Need]:
    out = []
    for key in ("codes", "exclude_codes"):
        name = getattr(sel, key)
        if name:
            out.append(Need(table, code_column(catalogue.codelists[name]), "events", ident,
                            loc + (key,)))
    for key in ("where", "exclude"):
        for col in getattr(sel, key):
            if table == "hospital_stay" and col in DERIVED_EPISODE_COLUMNS:
                continue
            out.append(Need(table, col, "events", ident, loc + (key, col)))
    return out


def required_columns(plan: Plan, catalogue: Catalogue) -> list[Need]:
    needs: list[Need] = []
    for p in plan.passes:
        for f in p.features:
            if f.codes:
                needs.append(Need(p.table, code_column(catalogue.codelists[f.codes]), "features",
                                  f.id, ("codes",)))
            needs += [Need(p.table, c, "features", f.id, ("where", c)) for c in f.where]
            if f.of:
                needs.append(Need(p.table, f.of, "features", f.id, ("of",)))
            if f.having:
                needs.append(Need(p.table, f.having.sum_of, "features", f.id,
                                  ("having", "sum_of")))
    for e in plan.events:
        needs += _selection_needs(catalogue, "hospital_stay", e.id, ("index",), e.index)
        needs += _selection_needs(catalogue, e.follow_up.source, e.id, ("follow_up",),
                                  e.follow_up)
    if plan.events:  # chaining itself
        needs += [Need("hospital_stay", c, "events", plan.events[0].id, ("index",))
                  for c in EPISODE_COLUMNS if c not in DERIVED_EPISODE_COLUMNS
                  and c != "main_diagnosis_group"]
    return needs


def check_columns(spark: SparkSession, warehouse: Warehouse, plan: Plan, catalogue: Catalogue
                  ) -> None:
    """Raise :class:`SpecError` listing every needed column the warehouse tables lack."""
    needs = required_columns(plan, catalogue)
    have = {t: set(warehouse.read(spark, t).columns) for t in sorted({n.table for n in needs})}
    issues, seen = [], set()
    for n in needs:
        if n.column in have[n.table] or (n.kind, n.ident, n.loc) in seen:
            continue
        seen.add((n.kind, n.ident, n.loc))
        source = catalogue.sources[(n.kind, n.ident)]
        users = [i.id for i in plan.indicators
                 if (n.kind == "events" and i.events == n.ident)
                 or (n.kind == "features" and n.ident in {f.id for f in
                                                          catalogue.features_for([i])})]
        issues.append(SpecIssue(
            source.name, source.line_of(n.loc), dotted(n.loc),
            f"needs column {n.table}.{n.column}, which the warehouse table does not have "
            f"(columns: {', '.join(sorted(have[n.table]))}); used by indicator(s) "
            f"{', '.join(users) or '-'}. Leave these indicators out (--specs) or load the "
            "column."))
    if issues:
        raise SpecError(issues)


# ---------------------------------------------------------------------------------------------
# look-backs: years a period reads before itself

_READS = {"count": "counts", "sum": "sums", "any": "looks at"}


@dataclass(frozen=True)
class Gap:
    """A period an indicator cannot be computed for: part of what it reads lies before the
    warehouse's data."""

    indicator: str
    year: int
    reason: str

    def __str__(self) -> str:
        return f"{self.indicator} {self.year}: {self.reason}"


def _missing(first: int, start: int) -> str:
    return f"{first}" if first == start - 1 else f"{first}-{start - 1}"


def _years_before(ind, features) -> tuple[int, str]:
    """Population years read before each period year, and why."""
    names = indicator_variables(ind) | {
        c.feature for f in features if f.derived is not None
        for c in (f.derived.any_of or f.derived.all_of or [])}
    if ind.population.insured_years > 1:
        return (ind.population.insured_years - 1,
                f"the population keeps persons insured {ind.population.insured_years} years")
    if ind.population.insured_previous_year or "insured_previous_year" in names:
        return 1, "the population keeps persons insured the year before"
    if ind.measure.denominator != "persons" or "insured_days" in names:
        return 1, ("person-time needs the year before (who arrived in the year counts from "
                   "1 July)")
    return 0, ""


def season_end(f, year: int) -> dt.date:
    """The last day a seasonal feature of period ``year`` reads."""
    s = f.season
    end_year = year + 1 if s.crosses_year else year
    return dt.date(end_year, s.to_month, calendar.monthrange(end_year, s.to_month)[1])


def lookback_gaps(plan: Plan, catalogue: Catalogue, years: list[int], starts: Mapping[str, int],
                  ends: Mapping[str, dt.date] | None = None) -> list[Gap]:
    """Every (indicator, period) of ``plan`` whose look-back reaches before the data, with why.

    ``starts`` gives the first year of the ``population`` table (the warehouse's first complete
    year) and, optionally, of source tables. A windowed feature of period Y reads its table from
    Y - window_years + 1: those years must be population years (claims of a year before the
    population do not make that year complete) and years of the feature's table (a claims table
    that starts later would cut the window short). ``insured_previous_year`` reads the
    population of Y - 1. A seasonal feature reads its table up to the end of the season, which
    ``ends`` (the last day of data per source table) must reach. Pure Python: the run calls it
    before any Spark work."""
    population = starts["population"]
    gaps = []
    for ind in plan.indicators:
        features = catalogue.features_for([ind])
        windowed = [f for f in features if f.window_years > 1]
        seasonal = [f for f in features if f.season is not None]
        before, why = _years_before(ind, features)
        for period in sorted(years):
            # a pooled period reads each of its years: the earliest reaches back furthest
            year = period - ind.pooled_years + 1
            if year < population:
                gaps.append(Gap(ind.id, period, (
                    f"the period pools {ind.pooled_years} years ({year}-{period}) but the "
                    f"warehouse's population starts in {population} "
                    f"({_missing(year, population)} missing)")))
                continue
            for f in windowed:
                first = year - f.window_years + 1
                table = f.source if starts.get(f.source, population) > population \
                    else "population"
                start = starts.get(table, population)
                if first < start:
                    gaps.append(Gap(ind.id, period, (
                        f"feature {f.id} {_READS[f.aggregate]} {f.window_years} years "
                        f"({first}-{year}) but the warehouse's {table} starts in {start} "
                        f"({_missing(first, start)} missing)")))
            for f in seasonal:
                end = (ends or {}).get(f.source)
                if end is not None and season_end(f, period) > end:
                    gaps.append(Gap(ind.id, period, (
                        f"feature {f.id} reads the season {f.season.label} up to "
                        f"{season_end(f, period)} but the warehouse's {f.source} ends on "
                        f"{end}")))
            if before and year - before < population:
                gaps.append(Gap(ind.id, period, (
                    f"{why}, but the warehouse's population starts in {population} "
                    f"({_missing(year - before, population)} missing)")))
    return gaps
