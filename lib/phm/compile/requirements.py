"""Look-backs: the periods a plan cannot compute because what they read lies outside the data.

A period whose window, or whose "insured the year before", reaches before the warehouse's first
year, or whose season ends after its last day, would be computed on fewer years than its
definition says: a silently wrong number. :func:`lookback_gaps` finds them from the plan and
the first and last year of each table, before any Spark work. (The columns a plan reads are
checked against the warehouse by :func:`phm.execute.columns.check_columns`.)
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from phm.compile.plan import Plan
from phm.registry.aggregates import AGGREGATES
from phm.spec.catalogue import indicator_variables
from phm.spec.models import Feature, Indicator

# ---------------------------------------------------------------------------------------------
# look-backs: years a period reads before itself


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


def _years_before(ind: Indicator, features: list[Feature]) -> tuple[int, str]:
    """Population years read before each period year, and why."""
    names = indicator_variables(ind) | {
        c.feature
        for f in features
        if f.derived is not None
        for c in (f.derived.any_of or f.derived.all_of or [])
    }
    if ind.population.insured_years > 1:
        return (
            ind.population.insured_years - 1,
            f"the population keeps persons insured {ind.population.insured_years} years",
        )
    if ind.population.insured_previous_year or "insured_previous_year" in names:
        return 1, "the population keeps persons insured the year before"
    if ind.measure.denominator != "persons" or "insured_days" in names:
        return 1, ("person-time needs the year before (who arrived in the year counts from 1 July)")
    return 0, ""


def season_end(f: Feature, year: int) -> dt.date:
    """The last day a seasonal feature of period ``year`` reads."""
    s = f.season
    assert s is not None  # a seasonal feature
    end_year = year + 1 if s.crosses_year else year
    return dt.date(end_year, s.to_month, calendar.monthrange(end_year, s.to_month)[1])


def lookback_gaps(
    plan: Plan,
    years: list[int],
    starts: Mapping[str, int],
    ends: Mapping[str, dt.date] | None = None,
) -> list[Gap]:
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
        features = plan.features_of(ind)
        windowed = [f for f in features if f.window_years > 1]
        seasonal = [f for f in features if f.season is not None]
        before, why = _years_before(ind, features)
        for period in sorted(years):
            # a pooled period reads each of its years: the earliest reaches back furthest
            year = period - ind.pooled_years + 1
            if year < population:
                gaps.append(
                    Gap(
                        ind.id,
                        period,
                        (
                            f"the period pools {ind.pooled_years} years ({year}-{period}) but the "
                            f"warehouse's population starts in {population} "
                            f"({_missing(year, population)} missing)"
                        ),
                    )
                )
                continue
            for f in windowed:
                # not derived (a derived feature takes no window_years): source and aggregate
                assert f.source is not None and f.aggregate is not None
                first = year - f.window_years + 1
                table = f.source if starts.get(f.source, population) > population else "population"
                start = starts.get(table, population)
                if first < start:
                    gaps.append(
                        Gap(
                            ind.id,
                            period,
                            (
                                f"feature {f.id} {AGGREGATES[f.aggregate].over_years} {f.window_years} years "
                                f"({first}-{year}) but the warehouse's {table} starts in {start} "
                                f"({_missing(first, start)} missing)"
                            ),
                        )
                    )
            for f in seasonal:
                # not derived (a derived feature takes no season): source is set
                assert f.source is not None and f.season is not None
                end = (ends or {}).get(f.source)
                if end is not None and season_end(f, period) > end:
                    gaps.append(
                        Gap(
                            ind.id,
                            period,
                            (
                                f"feature {f.id} reads the season {f.season.label} up to "
                                f"{season_end(f, period)} but the warehouse's {f.source} ends on "
                                f"{end}"
                            ),
                        )
                    )
            if before and year - before < population:
                gaps.append(
                    Gap(
                        ind.id,
                        period,
                        (
                            f"{why}, but the warehouse's population starts in {population} "
                            f"({_missing(year - before, population)} missing)"
                        ),
                    )
                )
    return gaps


# ---------------------------------------------------------------------------------------------
# inputs: the source years a period reads (what makes it stale)


def input_years(plan: Plan, ind: Indicator, period: int) -> tuple[int, int]:
    """First and last year of the source partitions period ``period`` of ``ind`` can read: the
    years it pools, its windows' and its population's look-backs, the previous period when it
    publishes a change, and the year after when a season or an event's follow-up can reach
    into it (an event's exclusions look back at most a year). Deliberately a superset: a
    partition outside this range that changed can never change the period, so an incremental
    run recomputing a period when a partition inside it changed never misses one."""
    features = plan.features_of(ind)
    first = period - ind.pooled_years + 1
    if ind.change:
        first -= ind.pooled_years
    back = max([f.window_years - 1 for f in features] + [_years_before(ind, features)[0]])
    if ind.events:
        back = max(back, 1)
    ahead = 1 if ind.events or any(f.season is not None for f in features) else 0
    return first - back, period + ahead


def indicator_tables(plan: Plan, ind: Indicator) -> list[str]:
    """The source tables an indicator reads: the population, its features' sources and, for an
    event indicator, the stays and the follow-up source."""
    tables = {"population"} | {f.source for f in plan.features_of(ind) if f.source}
    return sorted(tables | _event_tables(plan, ind))


def data_end_tables(plan: Plan, ind: Indicator) -> list[str]:
    """The source tables whose last day of data can change an indicator's figures: the stays
    and follow-up source of its event (the data-end rule) and the sources of its seasonal
    features (a season reaching past the data is not computed)."""
    tables = {f.source for f in plan.features_of(ind) if f.season is not None and f.source}
    return sorted(tables | _event_tables(plan, ind))


def _event_tables(plan: Plan, ind: Indicator) -> set[str]:
    """The stays and follow-up source of an event indicator (none for others)."""
    if not ind.events:
        return set()
    event = plan.event(ind.events)
    return {event.index.source, event.follow_up.source}
