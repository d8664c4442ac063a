"""Step functions of age and lookups by key, on a few hand-picked rows."""

from __future__ import annotations

from pyspark.sql import functions as F

from phm.synth.columns import by_age_band, by_key, piecewise


def test_piecewise_band_and_key(spark):
    df = spark.createDataFrame(
        [(0, "a"), (14, "b"), (15, "a"), (64, "z"), (65, "b"), (90, "a")], "age int, k string"
    )
    out = (
        df.select(
            "age",
            piecewise(F.col("age"), [(0, 1.0), (15, 2.0), (65, 3.0)]).alias("step"),
            by_age_band(F.col("age"), (10.0, 20.0, 30.0)).alias("band"),
            by_key(F.col("k"), {"a": 0.5, "b": 0.7}, default=-1.0).alias("key"),
        )
        .orderBy("age")
        .collect()
    )
    assert [r.step for r in out] == [1.0, 1.0, 2.0, 2.0, 3.0, 3.0]
    assert [r.band for r in out] == [10.0, 10.0, 20.0, 20.0, 30.0, 30.0]
    assert [r.key for r in out] == [0.5, 0.7, 0.5, -1.0, 0.7, 0.5]
