"""Bucketed categorical sampling: one category per row, frequencies follow the weights."""

from __future__ import annotations

import pandas as pd
from pyspark.sql import functions as F

from phm.synth import categorical
from phm.synth.rng import uniform


def test_every_row_gets_exactly_one_category_with_the_right_frequency(spark):
    weights = pd.DataFrame(
        {
            "key": ["x", "x", "x", "y", "y"],
            "w": [1.0, 0.0, 3.0, 5.0, 5.0],
            "v": ["a", "never", "b", "c", "d"],
        }
    )
    table = categorical.cdf_table(
        spark, weights, weight="w", keys=["key"], values=["v"], prefix="", buckets=16
    )
    rows = spark.range(20000).withColumn("key", F.when(F.col("id") % 2 == 0, "x").otherwise("y"))
    out = categorical.sample(rows, uniform(5, "cat", "id"), table, ["key"], buckets=16)
    assert out.count() == 20000  # row conservation: nothing lost, nothing doubled
    assert out.select("id").distinct().count() == 20000
    counts = {(r.key, r.v): r["count"] for r in out.groupBy("key", "v").count().collect()}
    assert ("x", "never") not in counts  # zero weight is never drawn
    assert abs(counts[("x", "a")] / 10000 - 0.25) < 0.015
    assert abs(counts[("y", "c")] / 10000 - 0.5) < 0.015


def test_single_category_many_buckets(spark):
    weights = pd.DataFrame({"w": [1.0], "v": ["only"]})
    table = categorical.cdf_table(spark, weights, weight="w", keys=[], values=["v"], prefix="p_")
    out = categorical.sample(spark.range(1000), uniform(1, "one", "id"), table, [])
    assert out.where(F.col("p_v") == "only").count() == 1000
