"""Event sequences: index episodes and their follow-ups, every event of a run in one pass.

Stays are read and chained into episodes ONCE (:mod:`phm.execute.episodes`); each event's index
selection becomes a flag on the same episode rows, and so does each event's follow-up selection.
Health-care claims of the events' code lists are read once too. One window per person, ordered
by day, then finds for every index row whether a follow-up of each event lies inside that
event's own window (a range frame per event): no join, one shuffle.

Data-end rule: an index whose window ends after the last day of data (``data_end``) is left
out of that event, so every counted index had its whole window observed.

The result, one row per index episode (person, year of discharge, discharging hospital, and per
event ``index__<event>`` and ``followed__<event>`` flags), is materialised by the run as
``<warehouse>/index_events``; it feeds both the person-year counts (regional publication) and
the hospital comparison.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from functools import reduce

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from phm.execute.codes import column_filters, matches
from phm.execute.episodes import episodes
from phm.compile.plan import Plan
from phm.data.warehouse import Warehouse
from phm.errors import WarehouseError
from phm.registry.sources import HEALTH_CARE, STAYS
from phm.spec.models import CodeList, Event, Selection


EPOCH = dt.date(1970, 1, 1)


def index_flag(event_id: str) -> str:
    """Index-event table column: the episode is an index of this event."""
    return f"index__{event_id}"


def followed_flag(event_id: str) -> str:
    """Index-event table column: the episode is an index of this event and followed up in its
    window."""
    return f"followed__{event_id}"


def index_count(event_id: str) -> str:
    """Person-year column: index events of the year."""
    return f"{event_id}__index"


def followed_count(event_id: str) -> str:
    """Person-year column: index events of the year with a follow-up in the window."""
    return f"{event_id}__followed"


def selection(sel: Selection, codelists: Mapping[str, CodeList]) -> Column:
    """The rows a selection keeps, as a never-null boolean."""
    keep = column_filters(sel.where)
    if sel.codes:
        keep.append(matches(codelists[sel.codes]))
    drop = column_filters(sel.exclude)
    if sel.exclude_codes:
        drop.append(matches(codelists[sel.exclude_codes]))
    out = reduce(lambda a, b: a & b, keep, F.lit(True))
    if drop:
        out = out & ~reduce(lambda a, b: a | b, drop)
    return out


def data_ends(
    spark: SparkSession, warehouse: Warehouse, tables: Iterable[str]
) -> dict[str, dt.date]:
    """Last day of data of each table: the last day of the latest accounting month its loads
    booked (load log, read once), but never after 31 December of the last year present (the
    max of its partition column); that 31 December alone for a table the load log has no month
    of. A table without rows has no last day: :class:`WarehouseError`."""
    from phm.data.load import booked_through

    tables = sorted(set(tables))
    if not tables:
        return {}
    booked = booked_through(spark, warehouse)
    out = {}
    for table in tables:
        last = warehouse.read(spark, table).agg(F.max("year")).collect()[0][0]
        if last is None:
            raise WarehouseError(
                f"{table} in {warehouse.root} has no rows, so no last day of data for the "
                "follow-up windows and seasons that read it: load it, or pass --data-end"
            )
        year_end = dt.date(int(last), 12, 31)
        month = booked.get(table)
        out[table] = year_end if month is None else min(year_end, month_end(month))
    return out


def data_end(spark: SparkSession, warehouse: Warehouse, table: str) -> dt.date:
    """Last day of data of one table (:func:`data_ends`)."""
    return data_ends(spark, warehouse, [table])[table]


def month_end(month: dt.date) -> dt.date:
    """Last day of the month of ``month``."""
    following = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return following - dt.timedelta(days=1)


def index_events(
    spark: SparkSession,
    warehouse: Warehouse,
    plan: Plan,
    years: list[int],
    data_end_by_event: dict[str, dt.date],
) -> DataFrame:
    """One row per episode discharged in ``years`` that is the index of at least one event.

    No join: every episode becomes two rows, one dated by its discharge (its role as an index)
    and one dated by its admission (its role as a follow-up), and the follow-up claims are
    added as rows dated by their service. Per person, ordered by day, a window over the range
    [from_days, to_days] ahead of each index row says whether a follow-up of that event lies
    inside (one range frame per event, one shuffle for all). Stays and claims are each read once.
    """
    first, last = min(years), max(years)
    stays = warehouse.read(spark, STAYS).where(F.col("year").between(first - 1, last + 1))
    eps = episodes(stays)
    events = list(plan.events)
    in_years = F.col("year").between(first, last)
    index_flags = [
        in_years
        & selection(e.index, plan.codelists)
        & (
            F.date_add(F.col("discharge_date"), e.follow_up.window.to_days)
            <= F.lit(data_end_by_event[e.id])
        )
        for e in events
    ]
    follow_flags = [
        selection(e.follow_up, plan.codelists) if e.follow_up.source == STAYS else F.lit(False)
        for e in events
    ]
    is_index = F.col("_role") == "index"
    episode_rows = (
        eps.withColumns({index_flag(e.id): c for e, c in zip(events, index_flags, strict=True)})
        .withColumns({f"_c{k}": c for k, c in enumerate(follow_flags)})
        .withColumn("_role", F.explode(F.array(F.lit("index"), F.lit("follow_up"))))
        .select(
            "person_id",
            "_role",
            "year",
            "episode_id",
            "hospital_id",
            "admission_date",
            "discharge_date",
            F.datediff(
                F.when(is_index, F.col("discharge_date")).otherwise(F.col("admission_date")),
                F.lit(EPOCH),
            ).alias("_day"),
            *[(is_index & F.col(index_flag(e.id))).alias(index_flag(e.id)) for e in events],
            *[(~is_index & F.col(f"_c{k}")).alias(f"_c{k}") for k in range(len(events))],
        )
    )
    rows = episode_rows.where(
        _any([index_flag(e.id) for e in events] + [f"_c{k}" for k in range(len(events))])
    )
    claims = _claim_follow_ups(spark, warehouse, plan, first, last)
    if claims is not None:
        rows = rows.unionByName(claims)
    by_day = Window.partitionBy("person_id").orderBy("_day")
    hits = {
        f"_h{k}": F.max(F.col(f"_c{k}").cast("int")).over(
            by_day.rangeBetween(e.follow_up.window.from_days, e.follow_up.window.to_days)
        )
        for k, e in enumerate(events)
    }
    return (
        rows.withColumns(hits)
        .where(F.col("_role") == "index")
        .select(
            "person_id",
            "year",
            "episode_id",
            "hospital_id",
            "admission_date",
            "discharge_date",
            *[F.col(index_flag(e.id)) for e in events],
            *[
                (F.col(index_flag(e.id)) & (F.coalesce(F.col(f"_h{k}"), F.lit(0)) == 1)).alias(
                    followed_flag(e.id)
                )
                for k, e in enumerate(events)
            ],
        )
    )


def _any(columns: list[str]) -> Column:
    return reduce(lambda a, b: a | b, [F.col(c) for c in columns])


def _claim_follow_ups(
    spark: SparkSession, warehouse: Warehouse, plan: Plan, first: int, last: int
) -> DataFrame | None:
    """Health-care claims that follow up some event, as follow-up rows dated by service."""
    events = list(plan.events)
    mine = [k for k, e in enumerate(events) if e.follow_up.source == HEALTH_CARE.name]
    if not mine:
        return None
    claims = warehouse.read(spark, HEALTH_CARE.name).where(F.col("year").between(first, last + 1))
    flags = {
        f"_c{k}": selection(e.follow_up, plan.codelists) if k in mine else F.lit(False)
        for k, e in enumerate(events)
    }
    return claims.select(
        "person_id",
        F.lit("follow_up").alias("_role"),
        F.lit(None).cast("int").alias("year"),
        *[F.lit(None).cast("string").alias(c) for c in ("episode_id", "hospital_id")],
        *[F.lit(None).cast("date").alias(c) for c in ("admission_date", "discharge_date")],
        F.datediff(F.col(HEALTH_CARE.date_column), F.lit(EPOCH)).alias("_day"),
        *[F.lit(False).alias(index_flag(e.id)) for e in events],
        *[c.alias(name) for name, c in flags.items()],
    ).where(_any(list(flags)))


def person_year_counts(index: DataFrame, events: list[Event]) -> DataFrame:
    """Index and followed counts per person and year, one pair of columns per event."""
    return index.groupBy("person_id", "year").agg(
        *[
            agg
            for e in events
            for agg in (
                F.sum(F.col(index_flag(e.id)).cast("int")).alias(index_count(e.id)),
                F.sum(F.col(followed_flag(e.id)).cast("int")).alias(followed_count(e.id)),
            )
        ]
    )
