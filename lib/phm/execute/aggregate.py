"""From the person-year table to indicator cells, all indicators and breakdowns at once.

1. Per person, each indicator becomes seven numbers: ``num`` (numerator value), ``den``
   (denominator value), ``npers`` / ``dpers`` (persons behind them, for disclosure), ``nkey`` /
   ``dkey`` (their secret record keys, whose sums are the cell keys of the cell-key method,
   :mod:`phm.disclosure.cell_key`) and ``sq`` (squares, for the variance of means).
2. The cube: one pass over the person-year table gives one narrow row per person and
   indicator the person counts in, summed per indicator x year x municipality (with the codes
   of the levels above it) x breakdown values x age band x sex. A key the indicator neither
   breaks down nor standardises by is null, so its rows add up early. Every measure is a sum,
   so every coarser cell is a sum of cube cells; the cube is bounded by the cells (not the
   persons) nationally.
3. Each cube row is copied into the breakdown combinations of its own indicator (summed at
   the finest geography), then into the geography levels of each combination: a hand-made
   GROUPING SETS that never copies an indicator into another's sets. The age-sex strata are
   kept for standardised indicators only.
4. Strata are added up per cell: crude sums, the directly standardised rate (weights of the
   reference population) and the expected count for indirect standardisation.

Spark notes (measured at 20k-100k persons): narrow rows and no higher-order functions
(``filter``, ``transform``) on the hot path keep the generated code small and compiled; one
wide row of every indicator's sums side by side ran several times slower. What each stage costs
at 100k and 1M persons: docs/scaling.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from phm.execute.events import followed_count, index_count
from phm.execute.person_year import all_of, any_of, condition, days_in_year
from phm.compile.plan import Plan, dim_column
from phm.disclosure.cell_key import record_key
from phm.publish.tables import CELLS
from phm.registry.geography import GEO
from phm.registry.measures import MEASURES as MEASURE_KINDS
from phm.spec.models import Indicator
from phm.stats.standardise import reference_weights

MEASURES = ("num", "den", "npers", "dpers", "nkey", "dkey", "sq")
STRATA = ("age5", "sex")
RECORD_KEY = "_key"


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
    if pop.insured_years > 1:
        tests.append(F.col("insured_years") >= pop.insured_years)
    return F.coalesce(reduce(lambda a, b: a & b, tests), F.lit(False))


# thresholds of 'top' conditions: {(indicator index, condition index): {year: cut value}}
Tops = dict[tuple[int, int], dict[int, float]]


def _value(feature: str) -> Column:
    return F.coalesce(F.col(feature).cast("double"), F.lit(0.0))


def top_thresholds(person_year: DataFrame, plan: Plan) -> Tops:
    """The cut of every ``top: p`` numerator condition, per period year: the k-th largest
    value of the feature among the N persons of the indicator's population, k = ceil(p x N)
    (computed in decimal, so 0.07 x 100 is 7). A person is in the top when their value reaches
    the cut, so ties at the cut are all in. One Spark job for all conditions; only the cuts
    (a few numbers) come to the driver."""
    parts = []
    for k, ind in enumerate(plan.indicators):
        for i, c in enumerate((ind.numerator.where or []) if ind.numerator else []):
            if c.top is not None:
                parts.append(
                    person_year.where(population_filter(ind)).select(
                        F.lit(k).alias("_k"),
                        F.lit(i).alias("_i"),
                        F.lit(str(c.top)).cast("decimal(12,10)").alias("_p"),
                        "year",
                        _value(c.feature).alias("_v"),
                    )
                )
    if not parts:
        return {}
    by = Window.partitionBy("_k", "_i", "year")
    cuts = (
        reduce(DataFrame.unionByName, parts)
        .withColumn("_n", F.count(F.lit(1)).over(by))
        .withColumn("_r", F.row_number().over(by.orderBy(F.col("_v").desc())))
        .where(F.col("_r") == F.ceil(F.col("_p") * F.col("_n")))
        .select("_k", "_i", "year", "_v")
        .collect()
    )
    out: Tops = {}
    for r in cuts:
        out.setdefault((r["_k"], r["_i"]), {})[r["year"]] = float(r["_v"])
    return out


def _numerator_test(ind: Indicator, k: int, tops: Tops) -> Column:
    """All numerator conditions; a ``top`` condition compares with its cut of the row's year
    (no cut: an empty population that year, nobody is in)."""
    tests = []
    for i, c in enumerate(ind.numerator.where):
        if c.top is None:
            tests.append(condition(c))
            continue
        cuts = tops.get((k, i), {})
        cut = reduce(
            lambda acc, yc: acc.when(F.col("year") == yc[0], F.lit(yc[1])),
            sorted(cuts.items()),
            F.when(F.lit(False), F.lit(0.0)),
        )
        tests.append(F.coalesce(_value(c.feature) >= cut, F.lit(False)))
    return reduce(lambda a, b: a & b, tests)


def person_measures(ind: Indicator, k: int, tops: Tops | None = None) -> dict[str, Column]:
    """The indicator's seven per-person numbers (0 outside its population); the person's
    record key is the column ``_key``."""
    cols = _value_measures(ind, k, tops or {})
    cols["nkey"] = cols["npers"] * F.col(RECORD_KEY)
    cols["dkey"] = cols["dpers"] * F.col(RECORD_KEY)
    return {_m(k, name): col for name, col in cols.items()}


def _value_measures(ind: Indicator, k: int, tops: Tops) -> dict[str, Column]:
    in_pop = population_filter(ind)
    one = lambda c: F.when(c, 1).otherwise(0)  # noqa: E731
    kind = MEASURE_KINDS[ind.measure.kind]
    if ind.grain != "person_year":
        return _event_measures(ind, in_pop)
    if kind.counts_persons:
        hit = in_pop & _numerator_test(ind, k, tops)
        cols = {
            "num": one(hit),
            "den": one(in_pop),
            "npers": one(hit),
            "dpers": one(in_pop),
            "sq": one(hit),
        }
    else:
        counted = in_pop & _numerator_test(ind, k, tops) if ind.numerator.where else in_pop
        value = _value(ind.numerator.sum)
        num = F.when(counted, value).otherwise(0.0)
        cols = {"num": num, "npers": one(counted & (value > 0)), "sq": num * num}
        if kind.summed_denominator:
            below = F.coalesce(F.col(ind.measure.denominator_sum).cast("double"), F.lit(0.0))
            cols["den"] = F.when(in_pop, below).otherwise(0.0)
            cols["dpers"] = one(in_pop & (below > 0))
        else:
            cols["den"] = _exposure(ind, in_pop)
            cols["dpers"] = one(in_pop)
    return cols


def _exposure(ind: Indicator, in_pop: Column) -> Column:
    """A rate's denominator per person: 1, or the person-time insured in the year."""
    per_person = {
        "persons": F.lit(1.0),
        "person_years": F.col("insured_days") / days_in_year(),
        "person_days": F.col("insured_days").cast("double"),
    }[ind.measure.denominator]
    return F.when(in_pop, per_person).otherwise(0.0)


def _event_measures(ind: Indicator, in_pop: Column) -> dict[str, Column]:
    """Grain 'stay': index stays and those followed up; grain 'person': persons with an index
    stay and persons with a followed one. Disclosure counts persons either way."""
    one = lambda c: F.when(c, 1).otherwise(0)  # noqa: E731
    n_index = F.when(in_pop, F.col(index_count(ind.events))).otherwise(0)
    n_followed = F.when(in_pop, F.col(followed_count(ind.events))).otherwise(0)
    persons = {"npers": one(n_followed > 0), "dpers": one(n_index > 0)}
    if ind.grain == "person":
        return {"num": persons["npers"], "den": persons["dpers"], "sq": persons["npers"], **persons}
    return {"num": n_followed, "den": n_index, "sq": n_followed, **persons}


# ---------------------------------------------------------------------------------------------
# cube and grouping sets


def cube_columns(plan: Plan) -> list[str]:
    """Grouping columns of the cube: time, geography, breakdowns, then the age-sex strata."""
    geo = [c for _, c in plan.geography if c] + [f"area_{a}" for a, _ in plan.area_sets]
    dims = [dim_column(d) for d in plan.dims if d not in STRATA]
    return ["year", *geo, *dims, *STRATA]


def all_sets(plan: Plan) -> list[tuple[str, tuple[str, ...]]]:
    return list(plan.grouping_sets) + [
        (f"area:{a}", c) for a, combos in plan.area_sets for c in combos
    ]


def breakdown_values(plan: Plan) -> dict[str, Column]:
    """The cube's breakdown columns: strings, never null (null means "all" after grouping
    sets), so a missing value is the category 'unknown'."""
    return {
        dim_column(d): F.coalesce(
            F.col(dim_column(d) if d.startswith("age:") else d).cast("string"), F.lit("unknown")
        )
        for d in plan.dims
        if d not in STRATA
    }


@dataclass(frozen=True)
class Cube:
    """The cube: one row per indicator (``_k``, its position in ``plan.indicators``) and
    :func:`cube_columns` cell, with the seven measures as columns; and Belgium's stratum rates
    of the indirectly standardised indicators (:func:`reference_rates`)."""

    frame: DataFrame
    rates: dict[int, list]


def build_cube(
    person_year: DataFrame,
    plan: Plan,
    secret: str,
    years: list[int],
    periods: list[int] | None = None,
) -> Cube:
    """The cube of ``person_year`` (``years``) for ``periods`` (default: every year): an
    indicator's rows are kept for the years its periods count (the years before a period
    only for a pooled indicator). ``secret`` keys the persons' record keys (never stored).

    Each person-year row becomes one narrow row per indicator the person counts in (all seven
    measures zero elsewhere: those rows add nothing to any sum and are dropped), and these are
    summed per indicator and cell. Narrow rows keep Spark's generated code small: summing all
    indicators' measures side by side in one wide row (hundreds of sums per row) ran an order
    of magnitude slower."""
    tops = top_thresholds(person_year, plan)
    entries = []
    for k, ind in enumerate(plan.indicators):
        cols = person_measures(ind, k, tops)
        entries.append(
            F.struct(
                F.lit(k).alias("_k"), *[cols[_m(k, m)].cast("double").alias(m) for m in MEASURES]
            )
        )
    dims = breakdown_values(plan)
    keys = cube_columns(plan)
    v = F.col("_v")
    # measures read the attributes (bim == true) before breakdowns turn them to strings; the
    # array is a column before it is exploded, and no higher-order function (filter) touches
    # it: either would evaluate this wide expression row by row without generated code.
    # explode_outer, not explode: for explode Spark infers a filter size(array) > 0 and pushes
    # it down the person-year plan, copying the whole array expression into every projection
    # it passes (the driver ran out of memory planning it); null rows fail the test below
    rows = (
        person_year.withColumn(RECORD_KEY, record_key(F.col("person_id"), secret))
        .select(
            *[dims[c].alias(c) if c in dims else F.col(c) for c in keys],
            F.array(*entries).alias("_a"),
        )
        .select(*keys, F.explode_outer("_a").alias("_v"))
        .where((v["den"] != 0) | (v["num"] != 0) | (v["dpers"] != 0))
    )
    counted = [
        sorted({p - o for p in (periods or years) for o in range(ind.pooled_years)})
        for ind in plan.indicators
    ]
    if any(set(ys) != set(years) for ys in counted):
        per_year = _per_indicator([F.array(*[F.lit(y) for y in ys]) for ys in counted])
        rows = rows.where(F.array_contains(F.element_at(per_year, v["_k"] + 1), F.col("year")))
    # a key its indicator never breaks down by (nor standardises by) is null, so its rows
    # add up early instead of staying split by it until the grouping sets
    used = {c: [c in cols for cols in _used_columns(plan)] for c in keys if c != "year"}
    masked = [
        F.when(F.element_at(_per_indicator(flags), v["_k"] + 1), F.col(c)).alias(c)
        if not all(flags)
        else F.col(c)
        for c, flags in used.items()
    ]
    frame = rows.groupBy(v["_k"].alias("_k"), "year", *masked).agg(
        *[F.sum(f"_v.{m}").alias(m) for m in MEASURES]
    )
    return Cube(frame, reference_rates(person_year, plan, years, tops))


def _used_columns(plan: Plan) -> list[set[str]]:
    """Per indicator, the cube columns its cells need: the geography columns of its levels,
    the breakdowns of its grouping sets, and the strata when it is standardised (sex also
    when it is broken down by sex)."""
    geo = dict(plan.geography)
    out = []
    for ind, sets in zip(plan.indicators, _own_sets(plan)):
        cols = {dim_column(d) for _, combo in sets for d in combo}
        cols |= {col for lvl, _ in sets if (col := geo.get(lvl))}
        cols |= {f"area_{lvl[5:]}" for lvl, _ in sets if lvl.startswith("area:")}
        if _by_strata(ind):
            cols |= set(STRATA)
        out.append(cols)
    return out


def _by_strata(ind: Indicator) -> bool:
    """Whether the indicator needs its cells' age-sex strata (it is standardised)."""
    return ind.standardisation.method != "none"


def _stratum_index() -> Column:
    """0..39: (age band, sex) as an array index, so weights are an O(1) lookup per row."""
    return (F.col("age5") / 5).cast("int") * 2 + F.when(F.col("sex") == "M", 1).otherwise(0)


def _weights_array(ind: Indicator) -> list[float]:
    std = ind.standardisation
    w = reference_weights(
        std.reference, min_age=ind.population.age.min, max_age=ind.population.age.max
    )
    out = [0.0] * 40
    for row in w.itertuples():
        out[int(row.age5) // 5 * 2 + (1 if row.sex == "M" else 0)] = float(row.weight)
    return out


def reference_rates(
    person_year: DataFrame, plan: Plan, years: list[int], tops: Tops
) -> dict[int, list]:
    """Belgium's stratum rates per indirectly standardised indicator: [year][stratum] flattened.
    A tiny result (40 strata x years), so it is brought to the driver and inlined; summed from
    the person-year table (its own small job) rather than from the cube, which would then be
    computed twice."""
    ks = [k for k, ind in enumerate(plan.indicators) if ind.standardisation.method == "indirect"]
    if not ks:
        return {}
    measures = {}
    for k in ks:
        cols = person_measures(plan.indicators[k], k, tops)
        measures.update({_m(k, m): cols[_m(k, m)] for m in ("num", "den")})
    rows = (
        person_year.where(F.col("year").isin(years))
        .groupBy("year", _stratum_index().alias("_s"))
        .agg(*[F.sum(v).alias(n) for n, v in measures.items()])
        .collect()
    )
    first = min(years)
    out = {k: [None] * (40 * (max(years) - first + 1)) for k in ks}
    for r in rows:
        for k in ks:
            den = r[_m(k, "den")]
            if den:
                out[k][(r["year"] - first) * 40 + r["_s"]] = float(r[_m(k, "num")]) / float(den)
    return out


def indicator_cells(
    spark: SparkSession,
    cube: Cube,
    plan: Plan,
    years: list[int],
    periods: list[int] | None = None,
) -> DataFrame:
    """One row per indicator x cell of ``periods`` (default: ``years``, which also hold the
    years pooled periods add up) with the sums the statistics need.

    The cube's rows (one per indicator and cube cell, :func:`build_cube`) are summed in two
    steps that each copy a row only into what its own indicator publishes (a hand-made
    GROUPING SETS that does not copy every measure of every indicator into every set):

    1. per breakdown combination of the indicator, at the finest geography (the municipality
       with the codes of every level above it), per (age band, sex) stratum; the strata are
       kept only for standardised indicators, so the others add up to one row per cell early;
    2. per geography level of that combination (its code read from the finest row), still
       per stratum.

    A second group-by then adds the strata up per cell:

    - direct standardisation: sum of w (strata present), w x rate, w^2 x num / den^2 (Poisson
      variance), w^2 x p(1-p) / den (binomial variance, proportions), w^2 x var / den (means)
      and max w / den, with the reference weights as an O(1)
      array lookup. The weights are normalised over the strata present in the cell
      (den > 0): a cell restricted to women or to ages 65-74 is standardised within its own
      strata, and a population shaped like the reference gives standardised = crude exactly;
    - indirect standardisation: the expected count, sum of persons x Belgium's stratum rate of
      the same indicator and year.

    Every measure is a sum, so the order of the steps changes no figure: counts and record
    keys are integers (exact in any order); euro and person-time sums may differ in their last
    bits from another order, below anything published.
    """
    long = _in_periods(cube.frame, plan, periods or years)
    strata = _level_strata(_finest_strata(long, plan), plan)
    persons = None
    if _has_pools(plan):
        persons = _pooled_persons(strata, plan)
        strata = strata.groupBy(*_cell_keys(plan), *STRATA).agg(
            *[F.sum(m).alias(m) for m in MEASURES]
        )
    cells = _standardisation_sums(strata, plan, cube.rates, years)
    if persons is not None:
        cells = _with_pooled_persons(cells, persons, plan)
    return _as_cells_table(cells, plan)


def _position() -> Column:
    """1-based position of the row's indicator (``_k``) in ``plan.indicators``, to look up
    per-indicator arrays with ``element_at``."""
    return F.col("_k") + 1


def _per_indicator(values: list) -> Column:
    """A literal array with one entry per indicator, read at the row's indicator."""
    return F.array(*[v if isinstance(v, Column) else F.lit(v) for v in values])


def _cell_keys(plan: Plan) -> list[str]:
    return ["_k", "year", "geo_level", "geo_code", *[f"_d_{i}" for i in range(len(plan.dims))]]


def _in_periods(cube: DataFrame, plan: Plan, periods: list[int]) -> DataFrame:
    """The cube rows counting in ``periods``: a pooled indicator's row also counts ``_o``
    years later, in the periods of every pool it is in; the years before the periods are read
    for the pools alone."""
    if _has_pools(plan):
        pool = F.element_at(
            _per_indicator([ind.pooled_years for ind in plan.indicators]), _position()
        )
        cube = cube.withColumn("_o", F.explode(F.sequence(F.lit(0), pool - 1))).withColumn(
            "year", F.col("year") + F.col("_o")
        )
    return cube.where(F.col("year").isin(sorted(periods)))


def _own_sets(plan: Plan) -> list[list[tuple[str, tuple[str, ...]]]]:
    """Per indicator, its own grouping sets: (geography level, breakdown dims)."""
    return [
        [
            (level, combo)
            for level, combo in all_sets(plan)
            if (
                level in ind.breakdowns.geography
                or (level.startswith("area:") and level[5:] in ind.breakdowns.areas)
            )
            and combo in ind.breakdowns.sets
        ]
        for ind in plan.indicators
    ]


def _combos(plan: Plan) -> list[tuple[str, ...]]:
    """Every breakdown combination some indicator publishes, in a fixed order."""
    return sorted({combo for sets in _own_sets(plan) for _, combo in sets})


def _has_pools(plan: Plan) -> bool:
    """Whether some indicator pools several years into one period."""
    return any(ind.pooled_years > 1 for ind in plan.indicators)


def _pooled(plan: Plan) -> list[str]:
    """The pool-offset column ``_o`` among the group-by keys, when some indicator pools."""
    return ["_o"] if _has_pools(plan) else []


def _geo_columns(plan: Plan) -> list[str]:
    return [c for _, c in plan.geography if c] + [f"area_{a}" for a, _ in plan.area_sets]


def _finest_strata(long: DataFrame, plan: Plan) -> DataFrame:
    """Step 1: each row copied once per breakdown combination of its own indicator (``_c``,
    an index into :func:`_combos`) and summed at the finest geography, keeping the codes of
    every level. Strata become null for indicators that are not standardised."""
    combos = _combos(plan)
    own = _per_indicator(
        [
            F.array(*[F.lit(combos.index(c)) for c in sorted({c for _, c in sets})]).cast(
                "array<int>"
            )
            for sets in _own_sets(plan)
        ]
    )
    in_combo = F.array(
        *[
            F.array(*[F.lit(d in combo) for d in plan.dims]).cast("array<boolean>")
            for combo in combos
        ]
    )
    breakdown = [
        F.when(
            F.element_at(F.element_at(in_combo, F.col("_c") + 1), i + 1),
            F.col(dim_column(d)).cast("string"),
        ).alias(f"_d_{i}")
        for i, d in enumerate(plan.dims)
    ]
    standardised = F.element_at(
        _per_indicator([_by_strata(ind) for ind in plan.indicators]), _position()
    )
    return (
        long.withColumn("_c", F.explode(F.element_at(own, _position())))
        .groupBy(
            "_k",
            "year",
            "_c",
            *_geo_columns(plan),
            *breakdown,
            *[F.when(standardised, F.col(s)).alias(s) for s in STRATA],
            *_pooled(plan),
        )
        .agg(*[F.sum(m).alias(m) for m in MEASURES])
    )


def _level_strata(finest: DataFrame, plan: Plan) -> DataFrame:
    """Step 2: each finest row copied once per geography level its indicator publishes its
    combination at, summed per (indicator, cell, age band, sex). (Summing each level from the
    one below instead reads fewer rows, but Spark then recomputes the levels below for every
    level above: measured three times slower.)"""
    combos = _combos(plan)
    levels: dict[tuple[int, int], list[str]] = {}
    for k, sets in enumerate(_own_sets(plan)):
        for level, combo in sets:
            levels.setdefault((k, combos.index(combo)), []).append(level)
    width = len(combos)
    own_levels = F.create_map(
        *[
            part
            for (k, c), lv in sorted(levels.items())
            for part in (F.lit(k * width + c), F.array(*[F.lit(x) for x in lv]))
        ]
    )
    level = F.col("geo_level")
    # a level's code is its column's, or the code of its only unit (Belgium)
    sources = [
        (lvl, F.col(col) if col else F.lit(GEO[lvl].code)) for lvl, col in plan.geography
    ] + [(f"area:{a}", F.col(f"area_{a}")) for a, _ in plan.area_sets]
    geo_code = reduce(
        lambda acc, lc: acc.when(level == lc[0], lc[1]),
        sources[1:],
        F.when(level == sources[0][0], sources[0][1]),
    )
    return (
        finest.withColumn(
            "geo_level", F.explode(F.element_at(own_levels, F.col("_k") * width + F.col("_c")))
        )
        .groupBy(
            "_k",
            "year",
            "geo_level",
            geo_code.alias("geo_code"),
            *[f"_d_{i}" for i in range(len(plan.dims))],
            *STRATA,
            *_pooled(plan),
        )
        .agg(*[F.sum(m).alias(m) for m in MEASURES])
        .where(F.col("geo_code").isNotNull())  # a person without a geography code at a level
    )


def _pooled_persons(strata: DataFrame, plan: Plan) -> DataFrame:
    """A person is in a pooled cell once per year: the persons behind it (for disclosure) are
    at least the most of any one year, never the person-years."""
    keys = _cell_keys(plan)
    return (
        strata.groupBy(*keys, "_o")
        .agg(F.sum("npers").alias("npers"), F.sum("dpers").alias("dpers"))
        .groupBy(*keys)
        .agg(F.max("npers").alias("_np"), F.max("dpers").alias("_dp"))
    )


def _standardisation_sums(
    strata: DataFrame, plan: Plan, refs: dict[int, list], years: list[int]
) -> DataFrame:
    """Stage 2: strata add up per cell, with each stratum's standardisation terms: the weight
    ``_w`` of the stratum in the reference population (direct; only strata with den > 0),
    and the stratum's Belgian rate (indirect)."""
    direct = [ind.standardisation.method == "direct" for ind in plan.indicators]
    weights = _per_indicator(
        [
            F.array(*[F.lit(w) for w in (_weights_array(ind) if d else [0.0] * 40)])
            for ind, d in zip(plan.indicators, direct)
        ]
    )
    width = 40 * (max(years) - min(years) + 1)
    belgian_rates = _per_indicator(
        [
            F.array(*[F.lit(r).cast("double") for r in refs.get(k, [None] * width)])
            for k in range(len(plan.indicators))
        ]
    )
    stratum = _stratum_index()
    belgian_rate = F.element_at(
        F.element_at(belgian_rates, _position()), (F.col("year") - min(years)) * 40 + stratum + 1
    )
    num, den, sq = F.col("num"), F.col("den"), F.col("sq")
    rate = F.try_divide(num, den)
    var_s = F.when(den > 1, (sq - num * rate) / (den - 1)).otherwise(0.0)
    w = F.col("_w")
    return (
        strata.withColumn(
            "_w",
            F.when(
                F.element_at(_per_indicator(direct), _position()) & (den > 0),
                F.element_at(F.element_at(weights, _position()), stratum + 1),
            ),
        )
        .groupBy(*_cell_keys(plan))
        .agg(
            *[F.sum(m).alias(m) for m in MEASURES],
            F.sum(w).alias("_w_total"),
            F.sum(w * rate).alias("_w_rate"),
            F.sum(w * w * F.try_divide(num, den * den)).alias("_w2_poisson"),
            F.sum(w * w * F.try_divide(num * (den - num), den * den * den)).alias("_w2_binomial"),
            F.sum(w * w * F.try_divide(var_s, den)).alias("_w2_mean"),
            F.max(F.try_divide(w, den)).alias("_w_max"),
            F.sum(den * belgian_rate).alias("_expected"),
        )
    )


def _with_pooled_persons(cells: DataFrame, persons: DataFrame, plan: Plan) -> DataFrame:
    """Pooled indicators' person counts: those of :func:`_pooled_persons`."""
    c, p = cells.alias("c"), persons.alias("p")
    same = reduce(
        lambda a, b: a & b, [F.col(f"c.{k}").eqNullSafe(F.col(f"p.{k}")) for k in _cell_keys(plan)]
    )
    is_pooled = F.element_at(
        _per_indicator([i.pooled_years > 1 for i in plan.indicators]), _position()
    )
    return (
        c.join(p, same, "left")
        .select("c.*", "p._np", "p._dp")
        .withColumns(
            {
                "npers": F.when(is_pooled, F.col("_np")).otherwise(F.col("npers")),
                "dpers": F.when(is_pooled, F.col("_dp")).otherwise(F.col("dpers")),
            }
        )
    )


def _as_cells_table(cells: DataFrame, plan: Plan) -> DataFrame:
    """The declared ``CELLS`` stage table: indicator id, breakdown map and key, the sums and
    the standardisation terms divided by the total weight."""
    ids = _per_indicator([ind.id for ind in plan.indicators])
    indirect = _per_indicator([ind.standardisation.method == "indirect" for ind in plan.indicators])
    present = [
        F.when(
            F.col(f"_d_{i}").isNotNull(), F.struct(F.lit(d).alias("k"), F.col(f"_d_{i}").alias("v"))
        )
        for i, d in enumerate(plan.dims)
    ]
    entries = (
        F.filter(F.array(*present), lambda e: e.isNotNull())
        if present
        else F.array().cast("array<struct<k:string,v:string>>")
    )
    total = F.col("_w_total")
    out = cells.select(
        *[f"_d_{i}" for i in range(len(plan.dims))],
        F.element_at(ids, _position()).alias("indicator_id"),
        F.col("year").alias("period"),
        "geo_level",
        "geo_code",
        F.map_from_entries(entries).alias("breakdown"),
        *MEASURES,
        F.try_divide(F.col("_w_rate"), total).alias("dsr"),
        F.try_divide(F.col("_w2_poisson"), total * total).alias("dsr_var_poisson"),
        F.try_divide(F.col("_w2_binomial"), total * total).alias("dsr_var_binomial"),
        F.try_divide(F.col("_w2_mean"), total * total).alias("dsr_var_mean"),
        F.try_divide(F.col("_w_max"), total).alias("dsr_w_max"),
        F.when(F.element_at(indirect, _position()), F.col("_expected")).alias("expected"),
        # hospital rows (phm.execute.hospital) carry the risk model's expected count instead
        F.lit(None).cast("double").alias("expected_risk"),
        F.lit(None).cast("double").alias("var_risk"),
    )
    # 'dim=value' of the dims present, by dim name, joined by '|' (concat_ws skips nulls);
    # built from the columns, not the map: higher-order functions get no generated code
    order = sorted(range(len(plan.dims)), key=lambda i: plan.dims[i])
    key = F.concat_ws(
        "|",
        *[F.concat(F.lit(f"{plan.dims[i]}="), F.col(f"_d_{i}")) for i in order],
    )
    out = out.withColumn("breakdown_key", key if order else F.lit(""))
    return out.select(*CELLS.column_names)  # as declared
