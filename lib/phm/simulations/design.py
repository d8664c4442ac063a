"""Risk factors of a scenario as numeric model columns (Spark expressions).

- a flag (``bim``, ``chronic_status``, a flag feature) is one 0/1 column;
- a number (``age``, a numeric feature) is itself;
- a category (``sex``, ``insurer``) and ``age5_sex`` (5-year age band by sex) are one 0/1
  column per level except the reference level, the first in sorted order among the rows the
  model is fitted on (age 0-4 girls for ``age5_sex``);
- an interaction is the product of every column of one factor with every column of the other.

The levels are read from the fitting rows (a distinct over a few dozen values); a level met
only outside them cannot be predicted and is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

AGE5_SEX = "age5_sex"
PRIOR_COST_BAND = "prior_cost_band"


@dataclass(frozen=True)
class Term:
    name: str
    expr: Column


def _level_of(factor: str) -> Column:
    if factor == AGE5_SEX:
        age5 = F.least(F.floor(F.col("age") / 5) * 5, F.lit(95)).cast("int")
        return F.concat(F.col("sex"), F.lit("_"), F.lpad(age5.cast("string"), 2, "0"))
    return F.col(factor).cast("string")


def kind_of(factor: str, catalogue) -> str:
    """'flag', 'number' or 'category' ('unknown' for a name the catalogue does not know)."""
    if factor in (AGE5_SEX, PRIOR_COST_BAND):
        return "category"
    return catalogue.variable_kind(factor) or "unknown"


def build_terms(
    fitting: DataFrame, factors: list[str], interactions: list[list[str]], kinds: dict[str, str]
) -> list[Term]:
    """The model's columns, in the order of ``factors`` then ``interactions``."""
    categorical = [f for f in factors if kinds[f] == "category"]
    levels: dict[str, list[str]] = {}
    if categorical:
        row = fitting.agg(
            *[F.sort_array(F.collect_set(_level_of(f))).alias(f) for f in categorical]
        ).first()
        levels = {f: list(row[f]) for f in categorical}
    per_factor: dict[str, list[Term]] = {}
    for f in factors:
        kind = kinds[f]
        if kind == "flag":
            per_factor[f] = [Term(f, F.col(f).cast("int").cast("double"))]
        elif kind == "number":
            per_factor[f] = [Term(f, F.col(f).cast("double"))]
        elif kind == "category":
            per_factor[f] = [
                Term(f"{f}={level}", F.when(_level_of(f) == level, 1.0).otherwise(0.0))
                for level in levels[f][1:]
            ]
        else:
            raise ValueError(f"risk factor {f!r}: unknown variable")
    terms = [t for f in factors for t in per_factor[f]]
    for a, b in interactions:
        terms += [
            Term(f"{x.name}*{y.name}", x.expr * y.expr)
            for x in per_factor[a]
            for y in per_factor[b]
        ]
    return terms


def unseen_levels(
    rows: DataFrame, fitting: DataFrame, factors: list[str], kinds: dict[str, str]
) -> dict[str, list[str]]:
    """Levels of categorical factors present in ``rows`` but not among the fitting rows."""
    out = {}
    for f in (f for f in factors if kinds[f] == "category"):
        seen = fitting.select(_level_of(f).alias("level")).distinct()
        extra = rows.select(_level_of(f).alias("level")).distinct().join(seen, "level", "left_anti")
        found = sorted(r.level for r in extra.collect())
        if found:
            out[f] = found
    return out
