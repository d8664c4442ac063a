"""What a published period is, and how it changed since the one before.

- ``period_label``: the years a period covers, ``2024`` or, pooled, ``2022-2024``.
- ``change`` (indicators with ``change: true``): the value minus the value of the previous
  period (``pooled_years`` earlier, so pools do not overlap), with its interval by the MOVER
  method (Newcombe, "Interval estimation for the difference between independent proportions",
  Statistics in Medicine 1998; Zou and Donner, "Construction of confidence limits about
  effect measures", Statistics in Medicine 2008): from the two published values and
  intervals, as if the periods were independent. The same persons appear in both periods,
  which correlates them positively, so this interval is conservative (too wide, not too
  narrow). The standardised value is compared when the indicator is standardised, else the
  crude value.

Everything here is computed from published figures after disclosure control, so it reveals
nothing the two published cells do not: a change is null when either cell is suppressed or the
previous period was not computed in the same run.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from phm.stats.rounding import SIGNIFICANT

from phm.compile.plan import Plan

CELL = ["indicator_id", "geo_level", "geo_code", "breakdown_key"]


def round_half_away(x: Column, decimals: int) -> Column:
    """The published rounding rule, sign(x) floor(|x| 10^d + 0.5) / 10^d on x snapped to 12
    significant digits, in Spark: the twin of :func:`phm.stats.rounding.round_half_away`
    (numpy), for columns computed in Spark."""
    magnitude = F.pow(F.lit(10.0), F.lit(SIGNIFICANT - 1) - F.floor(F.log10(F.abs(x))))
    snapped = F.when(x == 0, x).otherwise(F.round(x * magnitude) / magnitude)
    scale = float(10**decimals)
    return F.signum(snapped) * F.floor(F.abs(snapped) * scale + 0.5) / scale


def with_period_columns(results: DataFrame, plan: Plan) -> DataFrame:
    """``results`` (one run's published rows) with ``period_label``, ``change``,
    ``change_ci_low`` and ``change_ci_high``."""
    pools = {i.id: i.pooled_years for i in plan.indicators}
    pool = _by_indicator({k: F.lit(v) for k, v in pools.items()}, F.lit(1))
    label = F.when(
        pool > 1,
        F.concat(
            (F.col("period") - pool + 1).cast("string"), F.lit("-"), F.col("period").cast("string")
        ),
    ).otherwise(F.col("period").cast("string"))
    out = results.withColumn("period_label", label)
    changing = [i for i in plan.indicators if i.change]
    if not changing:
        return out.withColumns(
            {c: F.lit(None).cast("double") for c in ("change", "change_ci_low", "change_ci_high")}
        )
    std = {i.id: i.standardisation.method != "none" for i in changing}
    pick = lambda crude, standardised: _by_indicator(  # noqa: E731
        {k: F.col(standardised) if s else F.col(crude) for k, s in std.items()},
        F.lit(None).cast("double"),
    )
    compared = out.where(F.col("indicator_id").isin(list(std))).select(
        *CELL,
        "period",
        pick("value", "value_standardised").alias("_v"),
        pick("ci_low", "std_ci_low").alias("_l"),
        pick("ci_high", "std_ci_high").alias("_u"),
    )
    before = compared.select(
        *CELL,
        (F.col("period") + pool).alias("period"),
        *[F.col(c).alias(f"{c}0") for c in ("_v", "_l", "_u")],
    )
    now = compared.join(before, [*CELL, "period"], "inner")
    v1, l1, u1, v0, l0, u0 = (F.col(c) for c in ("_v", "_l", "_u", "_v0", "_l0", "_u0"))
    d = v1 - v0
    low = d - F.sqrt((v1 - l1) ** 2 + (u0 - v0) ** 2)
    high = d + F.sqrt((u1 - v1) ** 2 + (v0 - l0) ** 2)
    changes = now.select(
        *CELL,
        "period",
        *[
            _round_by(x, changing).alias(name)
            for x, name in ((d, "change"), (low, "change_ci_low"), (high, "change_ci_high"))
        ],
    )
    return out.join(changes, [*CELL, "period"], "left")


def _by_indicator(values: dict[str, Column], otherwise: Column) -> Column:
    expr = None
    for ident, value in values.items():
        test = F.col("indicator_id") == ident
        expr = F.when(test, value) if expr is None else expr.when(test, value)
    return otherwise if expr is None else expr.otherwise(otherwise)


def _round_by(x: Column, indicators) -> Column:
    """Rounded to the indicator's decimals (a literal per indicator, no UDF)."""
    return _by_indicator(
        {i.id: round_half_away(x, i.measure.decimals) for i in indicators},
        F.lit(None).cast("double"),
    )
