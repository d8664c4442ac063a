"""Counter-based random numbers: deterministic, partition-independent, right distributions."""

from __future__ import annotations

import math

from chispa import assert_df_equality
from pyspark.sql import functions as F

from phm.synth.rng import choice, geometric, normal, uniform


def test_uniform_is_deterministic_and_independent_of_partitioning(spark):
    a = spark.range(5000).repartition(1).withColumn("u", uniform(3, "s", "id"))
    b = spark.range(5000).repartition(7).withColumn("u", uniform(3, "s", "id"))
    assert_df_equality(a, b, ignore_row_order=True)
    other_seed = spark.range(5000).withColumn("u", uniform(4, "s", "id"))
    assert a.join(other_seed, "id").where(a.u == other_seed.u).count() < 5


def test_uniform_range_and_moments(spark):
    row = (
        spark.range(20000)
        .select(uniform(1, "m", "id").alias("u"))
        .agg(F.min("u"), F.max("u"), F.avg("u"), F.variance("u"))
        .first()
    )
    assert 0.0 <= row[0] and row[1] < 1.0
    assert abs(row[2] - 0.5) < 0.01
    assert abs(row[3] - 1 / 12) < 0.003


def test_normal_moments(spark):
    row = (
        spark.range(20000)
        .select(normal(1, "z", "id").alias("z"))
        .agg(F.avg("z"), F.stddev("z"))
        .first()
    )
    assert abs(row[0]) < 0.03 and abs(row[1] - 1.0) < 0.03


def test_geometric_mean(spark):
    df = spark.range(40000).select(geometric(F.lit(2.5), uniform(1, "g", "id")).alias("n"))
    row = df.agg(F.avg("n"), F.min("n")).first()
    assert abs(row[0] - 2.5) < 0.08 and row[1] == 0
    # P(N >= 1) = p = 2.5 / 3.5
    share = df.agg(F.avg((F.col("n") >= 1).cast("int"))).first()[0]
    assert math.isclose(share, 2.5 / 3.5, abs_tol=0.01)


def test_choice_shares(spark):
    df = spark.range(30000).select(
        choice(uniform(2, "c", "id"), [("a", 0.2), ("b", 0.5), ("c", 0.3)]).alias("x")
    )
    shares = {r.x: r["count"] / 30000 for r in df.groupBy("x").count().collect()}
    assert set(shares) == {"a", "b", "c"}
    assert abs(shares["a"] - 0.2) < 0.01 and abs(shares["b"] - 0.5) < 0.012
