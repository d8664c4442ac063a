"""Sampling a category from a small weighted table, for millions of rows, with one broadcast join.

Spark has no vectorised "searchsorted". A range join (u between lo and hi) against K categories
costs K comparisons a row; instead the cumulative distribution is cut into B buckets, each bucket
lists the (one or two) categories overlapping it, and rows join on (keys, bucket) then keep the
category whose [lo, hi) holds u. Exactly one category matches every u in [0, 1).
"""

from __future__ import annotations

import pandas as pd
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

BUCKETS = 1024


def cdf_table(
    spark: SparkSession,
    weights: pd.DataFrame,
    *,
    weight: str,
    keys: list[str],
    values: list[str],
    prefix: str,
    buckets: int = BUCKETS,
) -> DataFrame:
    """Bucketed CDF per key: columns keys + [_bucket, _lo, _hi] + prefixed values."""
    rows = []
    groups = weights.groupby(keys, sort=True) if keys else [((), weights)]
    for key, grp in groups:
        key = key if isinstance(key, tuple) else (key,)
        w = grp[weight].astype(float).clip(lower=0.0)
        if w.sum() <= 0:
            raise ValueError(f"no positive weight for {dict(zip(keys, key))}")
        cum = (w.cumsum() / w.sum()).tolist()
        lo = 0.0
        for (_, rec), hi in zip(grp.iterrows(), cum):
            if hi <= lo:
                continue
            hi_eff = 1.0 + 1e-12 if hi >= 1.0 - 1e-12 else hi
            first, last = int(lo * buckets), min(int(hi_eff * buckets), buckets - 1)
            for b in range(first, last + 1):
                rows.append((*key, b, lo, hi_eff, *[rec[v] for v in values]))
            lo = hi
    columns = [*keys, "_bucket", "_lo", "_hi", *[f"{prefix}{v}" for v in values]]
    pdf = pd.DataFrame(rows, columns=columns)
    return spark.createDataFrame(pdf)


def sample(
    df: DataFrame, u: Column, table: DataFrame, keys: list[str], buckets: int = BUCKETS
) -> DataFrame:
    """Add the table's value columns to every row of df, drawn with uniform u.

    ``buckets`` must be the value the table was built with.
    """
    with_u = df.withColumn("_u", u).withColumn(
        "_bucket", F.floor(F.col("_u") * buckets).cast("long")
    )
    cond = [with_u["_bucket"] == table["_bucket"]] + [with_u[k] == table[k] for k in keys]
    joined = with_u.join(F.broadcast(table), cond, "inner").where(
        (F.col("_u") >= table["_lo"]) & (F.col("_u") < table["_hi"])
    )
    keep = [with_u[c] for c in df.columns] + [
        table[c] for c in table.columns if c not in keys and not c.startswith("_")
    ]
    return joined.select(*keep)
