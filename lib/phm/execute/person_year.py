"""The person-year table: one row per insured person and period year, with every built-in
attribute and every feature the run needs.

Each source table is read once: all its features are conditional aggregates of one group-by
(``count(when(cond, 1))``, ``sum(when(cond, x))`` ...). Windowed features (``window_years: 2``)
stay in the same pass: a row that matches one is also counted for the following year(s) by
exploding only those rows into their target years, and every other feature's condition requires
the row's own year. Pharmacy is first summed per person, year and ATC5 so thresholds per medicine
(polypharmacy's >= 80 DDD) come out of the same scan. The one exception to a single read:
features whose aggregate collects lists (``pdc``) get a group-by of their own over their code
lists' rows (a second, filtered read), because in the shared group-by they would slow every
feature down to Spark's sort-based object aggregate.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import reduce

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from phm.execute.codes import column_filters, matches
from phm.execute.events import followed_count, index_count, person_year_counts
from phm.compile.plan import Plan, SourcePass
from phm.registry.aggregates import AGGREGATES, when_selected
from phm.registry.geography import LEVELS
from phm.registry.sources import SOURCES
from phm.data.reference import read_reference
from phm.data.warehouse import Warehouse
from phm.spec.attributes import ATTRIBUTES
from phm.spec.models import AgeScheme, Condition, Feature

TARGET = "_target_year"
OFFSET = "_offset"


# ---------------------------------------------------------------------------------------------
# conditions


def condition(cond: Condition) -> Column:
    """A spec condition as a never-null boolean column (``top`` conditions need their cut:
    :func:`phm.execute.aggregate.top_thresholds`)."""
    if cond.top is not None:
        raise ValueError(
            f"a 'top' condition on {cond.feature} is only defined in an indicator's numerator"
        )
    col = F.col(cond.feature)
    if cond.in_ is not None:
        test = col.isin(cond.in_)
    elif cond.equals is not None:
        test = col == F.lit(cond.equals)
    else:
        tests = []
        if cond.at_least is not None:
            tests.append(col >= F.lit(cond.at_least))
        if cond.at_most is not None:
            tests.append(col <= F.lit(cond.at_most))
        test = reduce(lambda a, b: a & b, tests)
    return F.coalesce(test, F.lit(False))


def all_of(conds: list[Condition]) -> Column:
    return reduce(lambda a, b: a & b, (condition(c) for c in conds), F.lit(True))


def any_of(conds: list[Condition]) -> Column:
    return reduce(lambda a, b: a | b, (condition(c) for c in conds), F.lit(False))


def _row_condition(f: Feature, plan: Plan) -> Column | None:
    """Which source rows a feature reads (None: all rows)."""
    tests: list[Column] = [matches(plan.codelists[f.codes])] if f.codes else []
    tests += column_filters(f.where)
    return reduce(lambda a, b: a & b, tests) if tests else None


# ---------------------------------------------------------------------------------------------
# one pass per source table


def source_features(
    spark: SparkSession, warehouse: Warehouse, p: SourcePass, plan: Plan, years: list[int]
) -> DataFrame:
    """Features of one source table per (person_id, year), from one scan of it."""
    first, last = min(years), max(years)
    crossing = [f for f in p.features if f.season is not None and f.season.crosses_year]
    rows = warehouse.read(spark, p.table).where(
        F.col("year").between(first - p.max_window + 1, last + (1 if crossing else 0))
    )
    conds = {f.id: _row_condition(f, plan) for f in p.features}
    if all(c is not None for c in conds.values()):
        # every feature selects rows: drop the others before the shuffle
        rows = rows.where(reduce(lambda a, b: a | b, conds.values()))
    windowed = [f for f in p.features if f.window_years > 1]
    month = F.month(F.col(SOURCES[p.table].date_column))
    if windowed or crossing:
        # a row counts for its own year (offset 0), the years after it that a window covers
        # (1 .. window - 1) and, early in a year, the season that began the year before (-1)
        selects = lambda f: conds[f.id] if conds[f.id] is not None else F.lit(True)  # noqa: E731
        last_offset = reduce(
            F.greatest,
            [F.when(selects(f), f.window_years - 1).otherwise(0) for f in windowed] + [F.lit(0)],
        )
        first_offset = reduce(
            F.least,
            [F.when(selects(f) & (month <= f.season.to_month), -1).otherwise(0) for f in crossing]
            + [F.lit(0)],
        )
        rows = rows.withColumn(OFFSET, F.explode(F.sequence(first_offset, last_offset)))
        for f in p.features:
            if f.season is not None:  # its own test below places the row
                continue
            own = F.col(OFFSET).between(0, f.window_years - 1)
            conds[f.id] = own if conds[f.id] is None else conds[f.id] & own
        rows = rows.withColumn(TARGET, F.col("year") + F.col(OFFSET))
    else:
        rows = rows.withColumn(TARGET, F.col("year"))
    for f in p.features:
        if f.season is not None:
            season = _in_season(f, F.col(SOURCES[p.table].date_column))
            conds[f.id] = season if conds[f.id] is None else conds[f.id] & season
    rows = rows.where(F.col(TARGET).between(first, last))
    lists = [f for f in p.features if AGGREGATES[f.aggregate].collects_lists]
    plain = [f for f in p.features if f not in lists]
    if not (lists and plain):
        out = _features_frame(rows, p.features, p, conds)
    else:
        # the list-collecting features (pdc) in a group-by of their own, over their rows only:
        # together they would turn the compiled hash aggregate of every feature into Spark's
        # sort-based object aggregate (about 2x slower over the pharmacy pass at 1M persons).
        # Their rows are a subset of the pass's rows, so a left join keeps every person-year.
        selected = [conds[f.id] for f in lists]
        theirs = rows
        if all(c is not None for c in selected):
            theirs = rows.where(reduce(lambda a, b: a | b, selected))
        out = _features_frame(rows, plain, p, conds).join(
            _features_frame(theirs, lists, p, conds), ["person_id", TARGET], "left"
        )
    return out.withColumnRenamed(TARGET, "year")


def _features_frame(
    rows: DataFrame, features: Sequence[Feature], p: SourcePass, conds: dict[str, Column | None]
) -> DataFrame:
    """``features`` of pass ``p`` per (person_id, target year) from ``rows``."""
    if p.per_code:
        return _per_code_aggregate(rows, p, features, conds)
    return rows.groupBy("person_id", TARGET).agg(*[_aggregate(f, conds[f.id]) for f in features])


def _in_season(f: Feature, date: Column) -> Column:
    """The row's date lies in the season of its target year Y: from the first day of
    ``from_month`` of Y to the last day of ``to_month`` (of Y + 1 when the season crosses New
    Year)."""
    s, year, month = f.season, F.year(date), F.month(date)
    if not s.crosses_year:
        return (year == F.col(TARGET)) & month.between(s.from_month, s.to_month)
    return ((year == F.col(TARGET)) & (month >= s.from_month)) | (
        (year == F.col(TARGET) + 1) & (month <= s.to_month)
    )


def _aggregate(f: Feature, cond: Column | None) -> Column:
    return AGGREGATES[f.aggregate].column(f, cond).alias(f.id)


def _per_code_aggregate(
    rows: DataFrame,
    p: SourcePass,
    features: Sequence[Feature],
    conds: dict[str, Column | None],
) -> DataFrame:
    """Two levels: per (person, year, code), then per (person, year)."""
    code = F.col(p.per_code)
    first, second = [], []
    for f in features:
        c, tmp = conds[f.id], F.col(f"_l1_{f.id}")
        if f.having is not None:  # codes reaching a threshold: counted, or any
            first.append(F.sum(when_selected(c, F.col(f.having.sum_of))).alias(f"_l1_{f.id}"))
            reached = code.isNotNull() & (tmp >= F.lit(f.having.at_least))
            second.append(AGGREGATES[f.aggregate].over_codes_reaching(reached).alias(f.id))
            continue
        level1, level2 = AGGREGATES[f.aggregate].per_code(
            f, c, code=code, year=F.col(TARGET), date=F.col(SOURCES[p.table].date_column)
        )
        first.append(level1.alias(f"_l1_{f.id}"))
        second.append(level2(tmp).alias(f.id))
    per_code = rows.groupBy("person_id", TARGET, p.per_code).agg(*first)
    return per_code.groupBy("person_id", TARGET).agg(*second)


# ---------------------------------------------------------------------------------------------
# assembly


def age_band(scheme: AgeScheme) -> Column:
    age = F.col("age")
    out = None
    for band in scheme.bands:
        test = age >= band.from_ if band.to is None else age.between(band.from_, band.to)
        out = F.when(test, band.label) if out is None else out.when(test, band.label)
    return out


def insured_days() -> Column:
    """Days insured in the period year, both ends included: from 1 January, or from 1 July for
    a person born in the year or not in the population the year before (an arrival: the
    population table has birth years and yearly rows, not dates, so mid-year is the
    convention), to 31 December or the day of death; at least 1."""
    year = F.col("year")
    arrived = (F.col("birth_year") == year) | ~F.col("insured_previous_year")
    start = F.when(arrived, F.make_date(year, F.lit(7), F.lit(1))).otherwise(
        F.make_date(year, F.lit(1), F.lit(1))
    )
    end = F.coalesce(F.col("death_date"), F.make_date(year, F.lit(12), F.lit(31)))
    return F.greatest(F.datediff(end, start) + 1, F.lit(1))


def days_in_year(year: Column | None = None) -> Column:
    """Days of the year (``year``, default the column ``year``): 365, or 366 in a leap year."""
    year = F.col("year") if year is None else year
    return F.datediff(
        F.make_date(year + 1, F.lit(1), F.lit(1)), F.make_date(year, F.lit(1), F.lit(1))
    )


def _years_before(pop: DataFrame, lookback: int) -> DataFrame:
    """Per (person_id, year): ``_before``, a bit per earlier year the person is in the
    population (bit k-1 for year - k, k = 1..lookback); absent when in none."""
    k = F.explode(F.sequence(F.lit(1), F.lit(lookback))).alias("_k")
    return (
        pop.select("person_id", "year", k)
        .groupBy("person_id", (F.col("year") + F.col("_k")).alias("year"))
        .agg(F.sum(F.expr("shiftleft(1, _k - 1)")).alias("_before"))
    )


def population_attributes(
    spark: SparkSession, warehouse: Warehouse, years: list[int], lookback: int = 1
) -> DataFrame:
    """Built-in attributes and geography per person-year (see :mod:`phm.spec.attributes`);
    ``lookback`` population years before the first period are read for ``insured_years`` (the
    consecutive years in the population up to the period year, counted up to lookback + 1)."""
    lookback = max(lookback, 1)
    pop = warehouse.read(spark, "population").where(
        F.col("year").between(min(years) - lookback, max(years))
    )
    geo_columns = [lvl.column for lvl in LEVELS if lvl.column]  # nis, arr_nis, prov_nis, reg_nis
    geo = read_reference(spark, warehouse, "ref_geography").select(
        F.col("nis").alias("nis_municipality"),
        *[F.col(lvl.ref_column).alias(lvl.column) for lvl in LEVELS if lvl.column],
    )
    before = F.coalesce(F.col("_before"), F.lit(0))
    consecutive = reduce(
        lambda acc, n: acc
        + F.when(before.bitwiseAND((1 << n) - 1) == (1 << n) - 1, 1).otherwise(0),
        range(1, lookback + 1),
        F.lit(1),
    )
    return (
        pop.where(F.col("year").isin(years))
        .join(_years_before(pop, lookback), ["person_id", "year"], "left")
        .withColumn("insured_previous_year", before.bitwiseAND(1) == 1)
        .withColumn("insured_years", consecutive)
        .join(F.broadcast(geo), "nis_municipality", "left")
        .select(
            "person_id",
            "year",
            *geo_columns,
            (F.col("year") - F.col("birth_year")).alias("age"),
            "sex",
            "bim",
            "bim_basis",
            "insurer",
            "nursing_home",
            "medical_house",
            "gmd",
            "chronic_status",
            "disability",
            F.col("death_date").isNotNull().alias("died"),
            F.col("death_date").isNull().alias("alive_at_end"),
            "insured_previous_year",
            "insured_years",
            insured_days().alias("insured_days"),
        )
        .withColumn("age5", F.least(F.floor(F.col("age") / 5) * 5, F.lit(95)).cast("int"))
    )


def build_person_year(
    spark: SparkSession,
    warehouse: Warehouse,
    plan: Plan,
    years: list[int],
    index: DataFrame | None = None,
) -> DataFrame:
    """The person-year table of ``plan`` (not yet materialised); ``index`` is the index-event
    table of :mod:`phm.execute.events` when the plan has events."""
    lookback = max([i.population.insured_years - 1 for i in plan.indicators] + [1])
    table = population_attributes(spark, warehouse, years, lookback)
    for p in plan.passes:
        table = table.join(
            source_features(spark, warehouse, p, plan, years), ["person_id", "year"], "left"
        )
    fills = {}
    if plan.events:
        if index is None:
            raise ValueError("the plan has events: pass the index-event table")
        table = table.join(
            person_year_counts(index, list(plan.events)), ["person_id", "year"], "left"
        )
        for e in plan.events:
            for name in (index_count(e.id), followed_count(e.id)):
                fills[name] = F.coalesce(F.col(name), F.lit(0))
    for p in plan.passes:
        for f in p.features:
            fills[f.id] = F.coalesce(F.col(f.id), F.lit(AGGREGATES[f.aggregate].fill()))
    table = table.withColumns(fills) if fills else table
    for f in plan.derived:
        d = f.derived
        if d.sum_of is not None:
            value = reduce(lambda a, b: a + b, (F.col(n).cast("double") for n in d.sum_of))
        else:
            value = any_of(d.any_of) if d.any_of is not None else all_of(d.all_of)
        table = table.withColumn(f.id, value)
    table = table.withColumns(
        {f"age_{name}": age_band(scheme) for name, scheme in plan.age_schemes.items()}
    )
    for area, _ in plan.area_sets:
        table = _with_area(spark, table, plan, area)
    return table


def _with_area(spark: SparkSession, table: DataFrame, plan: Plan, area: str) -> DataFrame:
    mapping = spark.createDataFrame(
        list(plan.area_members[area]), f"nis string, area_{area} string"
    )
    return table.join(F.broadcast(mapping), "nis", "left")


def person_year_columns(plan: Plan) -> list[str]:
    """Every column of the person-year table, for tests and docs."""
    base = [
        "person_id",
        "year",
        *[lvl.column for lvl in LEVELS if lvl.column],
        *ATTRIBUTES,
        "insured_years",
        "age5",
    ]
    events = [c for e in plan.events for c in (index_count(e.id), followed_count(e.id))]
    return base + [f.id for f in plan.features] + events


def check_person_year(frame: DataFrame, plan: Plan, stage: str = "aggregate") -> None:
    """Raise :class:`~phm.errors.StageSchemaError` when the person-year table lacks a column
    the aggregation reads (the schema only: no Spark job)."""
    from phm.errors import StageSchemaError

    needed = (
        person_year_columns(plan)
        + [f"age_{s}" for s in plan.age_schemes]
        + [f"area_{a}" for a, _ in plan.area_sets]
    )
    have = set(frame.columns)
    missing = [c for c in needed if c not in have]
    if missing:
        raise StageSchemaError(stage, "person_year", missing, {})
