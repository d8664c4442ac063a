"""From the person-year table to indicator cells, all indicators and breakdowns at once.

1. Per person, each indicator becomes five numbers: ``num`` (numerator value), ``den``
   (denominator value), ``npers`` / ``dpers`` (persons behind them, for disclosure) and ``sq``
   (squares, for the variance of means).
2. The cube: one group-by of the person-year table into municipality x breakdown values x
   age band x sex x year. Every measure is a sum, so every coarser cell is a sum of cube cells;
   the cube is small (tens of thousands of rows nationally) whatever the population size.
3. ONE grouping-sets aggregation of the cube gives every (geography level x breakdown set) of
   every indicator, keeping the age-sex strata for standardisation; each output row is handed to
   the indicators that asked for its grouping set (an explode, not one job per indicator).
4. Strata are rolled up per cell: crude sums, the directly standardised rate (weights of the
   reference population) and the expected count for indirect standardisation.
"""

from __future__ import annotations

from functools import reduce

import pandas as pd
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from phm.compile.person_year import all_of, any_of
from phm.compile.plan import GEO_COLUMNS, Plan, dim_column
from phm.spec.models import Indicator
from phm.stats.standardise import reference_weights

MEASURES = ("num", "den", "npers", "dpers", "sq")
STRATA = ("age5", "sex")
BELGIUM = "01000"


def _m(k: int, measure: str) -> str:
    return f"m{k}_{measure}"


def population_filter(ind: Indicator) -> Column:
    pop = ind.population
    tests = [all_of(pop.where), ~any_of(pop.exclude)]
    if pop.age.min is not None:
        tests.append(F.col("age") >= pop.age.min)
    if pop.age.max is not None:
        tests.append(F.col("age") <= pop.age.max)
    if pop.sex:
        tests.append(F.col("sex") == pop.sex)
    if pop.alive_at_end:
        tests.append(F.col("alive_at_end"))
    if pop.insured_previous_year:
        tests.append(F.col("insured_previous_year"))
    return F.coalesce(reduce(lambda a, b: a & b, tests), F.lit(False))


def person_measures(ind: Indicator, k: int) -> dict[str, Column]:
    """The indicator's five per-person numbers (0 outside its population)."""
    in_pop = population_filter(ind)
    one = lambda c: F.when(c, 1).otherwise(0)  # noqa: E731
    kind = ind.measure.kind
    if kind == "proportion":
        hit = in_pop & all_of(ind.numerator.where)
        cols = {"num": one(hit), "den": one(in_pop), "npers": one(hit), "dpers": one(in_pop),
                "sq": one(hit)}
    else:
        value = F.coalesce(F.col(ind.numerator.sum).cast("double"), F.lit(0.0))
        num = F.when(in_pop, value).otherwise(0.0)
        cols = {"num": num, "npers": one(in_pop & (value > 0)), "sq": num * num}
        if kind == "ratio":
            below = F.coalesce(F.col(ind.measure.denominator_sum).cast("double"), F.lit(0.0))
            cols["den"] = F.when(in_pop, below).otherwise(0.0)
            cols["dpers"] = one(in_pop & (below > 0))
        else:
            cols["den"] = one(in_pop)
            cols["dpers"] = one(in_pop)
    return {_m(k, name): col for name, col in cols.items()}


# ---------------------------------------------------------------------------------------------
# cube and grouping sets


def cube_columns(plan: Plan) -> list[str]:
    """Grouping columns of the cube, in the order grouping_id() bits refer to."""
    geo = [c for c in GEO_COLUMNS.values() if c] + [f"area_{a}" for a, _ in plan.area_sets]
    dims = [dim_column(d) for d in plan.dims if d not in STRATA]
    return ["year", *geo, *dims, *STRATA]


def _set_columns(level: str, combo: tuple[str, ...]) -> list[str]:
    geo = [f"area_{level[5:]}"] if level.startswith("area:") else \
        [GEO_COLUMNS[level]] if GEO_COLUMNS[level] else []
    return ["year", *geo, *(dim_column(d) for d in combo if d not in STRATA), *STRATA]


def all_sets(plan: Plan) -> list[tuple[str, tuple[str, ...]]]:
    return list(plan.grouping_sets) + [(f"area:{a}", c) for a, combos in plan.area_sets
                                       for c in combos]


def grouping_id(columns: list[str], in_set: list[str]) -> int:
    """Spark's grouping_id(): one bit per grouping column, first column most significant, set
    when the column is aggregated away (not in the set)."""
    n = len(columns)
    return sum(1 << (n - 1 - i) for i, c in enumerate(columns) if c not in in_set)


def build_cube(person_year: DataFrame, plan: Plan) -> DataFrame:
    measures = {}
    for k, ind in enumerate(plan.indicators):
        measures.update(person_measures(ind, k))
    dims = {}
    for d in plan.dims:
        if d in STRATA:
            continue
        # breakdown values are strings and never null: null means "all" after grouping sets
        dims[dim_column(d)] = F.coalesce(F.col(dim_column(d) if d.startswith("age:") else d)
                                         .cast("string"), F.lit("unknown"))
    # measures first: they test attributes (bim == true) before breakdowns turn them to strings
    rows = person_year.withColumns(measures).withColumns(dims)
    return rows.groupBy(*cube_columns(plan)).agg(*[F.sum(m).alias(m) for m in measures])


def strata_cells(cube: DataFrame, plan: Plan) -> DataFrame:
    """One row per indicator x cell x stratum from one grouping-sets pass over the cube.

    Several views can share one grouping set: sex is always grouped (it is a stratum), so
    "municipality" and "municipality x sex" are the same set, read twice (summed over sex, or
    not). Each output row is exploded into the (indicator, view) pairs that asked for its set.
    """
    columns = cube_columns(plan)
    views: dict[int, list[tuple[int, str, tuple[str, ...]]]] = {}
    set_columns: dict[int, list[str]] = {}
    for level, combo in all_sets(plan):
        cols = _set_columns(level, combo)
        gid = grouping_id(columns, cols)
        set_columns[gid] = cols
        for k, ind in enumerate(plan.indicators):
            wants = (level in ind.breakdowns.geography or
                     (level.startswith("area:") and level[5:] in ind.breakdowns.areas))
            if wants and combo in ind.breakdowns.sets:
                views.setdefault(gid, []).append((k, level, combo))
    sums = [F.sum(c).alias(c) for c in cube.columns if c not in columns]
    grouped = cube.groupingSets([[F.col(c) for c in cols] for cols in set_columns.values()],
                                *columns).agg(*sums, F.grouping_id().alias("_gid"))
    views_of = F.create_map(*[x for gid, vs in views.items() for x in (F.lit(gid), F.array(*[
        F.struct(F.lit(str(k)).alias("k"), F.lit(level).alias("level"),
                 F.array(*[F.lit(d) for d in combo]).cast("array<string>").alias("dims"))
        for k, level, combo in vs]))])
    measures_of = F.create_map(*[x for k in range(len(plan.indicators)) for x in (
        F.lit(str(k)), F.struct(*[F.col(_m(k, m)).cast("double").alias(m) for m in MEASURES]))])
    ids_of = F.create_map(*[x for k, ind in enumerate(plan.indicators)
                            for x in (F.lit(str(k)), F.lit(ind.id))])
    dim_values = F.create_map(*[x for d in plan.dims
                                for x in (F.lit(d), F.col(dim_column(d)).cast("string"))]) \
        if plan.dims else F.create_map().cast("map<string,string>")
    geo_code = reduce(
        lambda acc, level_col: acc.when(F.col("geo_level") == level_col[0], F.col(level_col[1])),
        [(lvl, GEO_COLUMNS[lvl]) for lvl in ("municipality", "arrondissement", "province", "region")]
        + [(f"area:{a}", f"area_{a}") for a, _ in plan.area_sets],
        F.when(F.col("geo_level") == "belgium", F.lit(BELGIUM)),
    )
    dims = F.col("_v.dims")
    out = (
        grouped.withColumn("_v", F.explode(F.element_at(views_of, F.col("_gid"))))
        .withColumn("geo_level", F.col("_v.level"))
        .withColumn("geo_code", geo_code)
        .where(F.col("geo_code").isNotNull())  # e.g. Brussels at province level
        .withColumn("_m", F.element_at(measures_of, F.col("_v.k")))
        .select(
            F.element_at(ids_of, F.col("_v.k")).alias("indicator_id"),
            F.col("year").alias("period"), "geo_level", "geo_code",
            F.map_from_arrays(dims, F.transform(dims, lambda d: F.element_at(dim_values, d)))
            .alias("breakdown"),
            *STRATA, *[F.col(f"_m.{m}").alias(m) for m in MEASURES],
        )
    )
    key = F.array_join(F.transform(F.array_sort(F.map_keys(F.col("breakdown"))),
                                   lambda d: F.concat(d, F.lit("="), F.col("breakdown")[d])), "|")
    return out.withColumn("breakdown_key", key)


# ---------------------------------------------------------------------------------------------
# standardisation inputs and roll-up over strata


def weights_frame(spark: SparkSession, plan: Plan) -> DataFrame | None:
    frames = []
    for ind in plan.indicators:
        std = ind.standardisation
        if std.method != "direct":
            continue
        w = reference_weights(std.reference, min_age=ind.population.age.min,
                              max_age=ind.population.age.max)
        frames.append(w.assign(indicator_id=ind.id)[["indicator_id", "age5", "sex", "weight"]])
    if not frames:
        return None
    pdf = pd.concat(frames, ignore_index=True)
    pdf["age5"] = pdf["age5"].astype("int32")
    pdf["weight"] = pdf["weight"].astype(float)
    return spark.createDataFrame(pdf, "indicator_id string, age5 int, sex string, weight double")


def roll_up(strata: DataFrame, plan: Plan, weights: DataFrame | None) -> DataFrame:
    """Per cell: crude sums and the standardisation sums the statistics need.

    Direct standardisation normalises the reference weights over the strata present in the cell
    (den > 0): a cell restricted to women or to ages 65-74 is standardised within its own strata,
    and a population shaped like the reference gives standardised = crude exactly.
    Indirect standardisation uses Belgium's stratum rates of the same indicator and year.
    """
    indirect = [ind.id for ind in plan.indicators if ind.standardisation.method == "indirect"]
    rows = strata
    if weights is not None:
        rows = rows.join(F.broadcast(weights), ["indicator_id", *STRATA], "left")
    else:
        rows = rows.withColumn("weight", F.lit(None).cast("double"))
    if indirect:
        ref = (strata.where(F.col("indicator_id").isin(indirect) & (F.col("geo_level") == "belgium")
                            & (F.col("breakdown_key") == ""))
               .select("indicator_id", "period", *STRATA,
                       F.try_divide(F.col("num"), F.col("den")).alias("ref_rate")))
        rows = rows.join(ref, ["indicator_id", "period", *STRATA], "left")
    else:
        rows = rows.withColumn("ref_rate", F.lit(None).cast("double"))
    present = F.col("den") > 0
    w = F.when(present, F.col("weight"))
    rate = F.try_divide(F.col("num"), F.col("den"))
    stratum_var = F.when(F.col("den") > 1, (F.col("sq") - F.col("num") * rate) / (F.col("den") - 1)) \
        .otherwise(0.0)
    agg = (
        rows.groupBy("indicator_id", "period", "geo_level", "geo_code", "breakdown_key")
        .agg(
            F.first("breakdown").alias("breakdown"),
            *[F.sum(m).alias(m) for m in MEASURES],
            F.sum(w).alias("w_total"),
            F.sum(w * rate).alias("w_rate"),
            F.sum(w * w * F.try_divide(F.col("num"), F.col("den") * F.col("den"))).alias("w2_poisson"),
            F.sum(w * w * F.try_divide(stratum_var, F.col("den"))).alias("w2_var"),
            F.max(F.try_divide(w, F.col("den"))).alias("w_max"),
            F.sum(F.col("den") * F.col("ref_rate")).alias("expected"),
        )
    )
    total = F.col("w_total")
    return agg.select(
        "indicator_id", "period", "geo_level", "geo_code", "breakdown_key", "breakdown",
        *MEASURES,
        F.try_divide(F.col("w_rate"), total).alias("dsr"),
        F.try_divide(F.col("w2_poisson"), total * total).alias("dsr_var_poisson"),
        F.try_divide(F.col("w2_var"), total * total).alias("dsr_var_mean"),
        F.try_divide(F.col("w_max"), total).alias("dsr_w_max"),
        F.when(F.col("indicator_id").isin(indirect) if indirect else F.lit(False),
               F.col("expected")).alias("expected"),
    )
