"""The cell-key method: the perturbation table, its look-up, and cell keys that depend only on
which persons are counted."""

from __future__ import annotations

import math

import numpy as np
import pytest

from phm.disclosure import EXACT, PTable, cell_key, record_key


HAND = PTable(max_noise=4, scale=2.0)  # small enough to work out by hand


def test_published_parameters_are_the_documented_ones():
    assert (PTable().max_noise, PTable().scale) == (8, 2.0)  # docs/disclosure.md


def test_ptable_for_large_counts_by_hand():
    # D = 4, scale 2: weights exp(-|j|/2); P(0) = 1 / (1 + 2 (e^-.5 + e^-1 + e^-1.5 + e^-2))
    support, p = HAND.distribution(100)
    assert list(support) == [-4, -3, -2, -1, 0, 1, 2, 3, 4]
    total = 1 + 2 * sum(math.exp(-j / 2) for j in range(1, 5))
    assert p[4] == pytest.approx(1 / total)
    assert p[0] == pytest.approx(math.exp(-2) / total)
    assert p == pytest.approx(p[::-1])


@pytest.mark.parametrize("table", [HAND, PTable()])
@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 50])
def test_noise_is_unbiased_and_never_makes_a_count_negative(n, table):
    support, p = table.distribution(n)
    assert p.sum() == pytest.approx(1.0)
    assert (support * p).sum() == pytest.approx(0.0, abs=1e-12)
    assert support.min() == -min(n, table.max_noise) and support.max() == table.max_noise
    assert (p > 0).all()


def test_zero_stays_zero_and_exact_table_adds_nothing():
    keys = np.linspace(0, 0.999, 50)
    assert (PTable().noise(np.zeros(50, dtype=int), keys) == 0).all()
    assert (EXACT.noise(np.arange(50), keys) == 0).all()


def test_lookup_reads_the_cumulative_interval_holding_the_key():
    table = HAND
    support, p = table.distribution(10)
    cdf = np.cumsum(p)
    counts = np.full(4, 10)
    keys = np.array([0.0, cdf[0] - 1e-9, cdf[0], cdf[4] + 1e-9])
    assert list(table.noise(counts, keys)) == [-4, -4, -3, 1]
    # keys are uniform: the noise has the table's frequencies
    rng = np.random.default_rng(1)
    noise = table.noise(np.full(200_000, 3), rng.random(200_000))
    support3, p3 = table.distribution(3)
    freq = np.bincount(noise - support3[0]) / len(noise)
    assert freq == pytest.approx(p3, abs=0.005)


def test_cell_key_is_the_key_sum_modulo_2_20():
    assert cell_key(np.array([0.0, 2**20 + 3, 5 * 2**20 - 1])) == pytest.approx(
        [0.0, 3 / 2**20, 1 - 1 / 2**20]
    )


def test_same_persons_same_cell_key_whatever_the_order(spark):
    from pyspark.sql import functions as F

    ids = [f"P{i}" for i in range(40)]
    people = spark.createDataFrame([(p,) for p in ids], "person_id string")
    keyed = people.withColumn("k", record_key(F.col("person_id"), "s1"))
    keys = {r.person_id: r.k for r in keyed.collect()}
    assert all(0 <= k < 2**20 for k in keys.values()) and len(set(keys.values())) > 35
    one = keyed.where(F.col("person_id").isin(ids[:25])).agg(F.sum(F.col("k").cast("double")))
    other = (
        keyed.orderBy(F.desc("person_id"))
        .repartition(7)
        .where(F.col("person_id").isin(ids[:25]))
        .agg(F.sum(F.col("k").cast("double")))
    )
    assert one.collect()[0][0] == other.collect()[0][0] == sum(keys[p] for p in ids[:25])
    # another secret, other keys
    other_secret = people.withColumn("k", record_key(F.col("person_id"), "s2")).collect()
    assert sum(r.k == keys[r.person_id] for r in other_secret) < 3
