"""Feature aggregates: the registry drives the spec grammar, and each aggregate's Spark
expression gives the value worked out by hand on a few rows, in one group-by and in the
two-level per-code form (pharmacy)."""

from __future__ import annotations

import datetime as dt

import pytest
from pyspark.sql import functions as F

from phm.registry.aggregates import AGGREGATES
from phm.spec.models import Feature

# person P: three rows, two selected (flag true); person Q: one row, not selected
ROWS = [
    ("P", "A10BA02", 3.0, True, dt.date(2023, 1, 1)),
    ("P", "A10BA02", 5.0, True, dt.date(2023, 3, 1)),
    ("P", "C07AB02", 7.0, False, dt.date(2023, 2, 1)),
    ("Q", "C07AB02", 2.0, False, dt.date(2023, 5, 1)),
]
# by hand: over P's selected rows (3 and 5, one code), and Q (no selected row: empty aggregate)
EXPECTED = {
    "count": {"P": 2, "Q": 0},
    "sum": {"P": 8.0, "Q": None},
    "count_distinct": {"P": 1, "Q": 0},
    "any": {"P": True, "Q": False},
    "max": {"P": 5.0, "Q": None},
}


def feature(aggregate: str, of: str | None = None) -> Feature:
    return Feature.model_validate(
        {
            "id": "f_x",
            "version": 1,
            "label": {"nl": "x", "fr": "x", "en": "x"},
            "source": "pharmacy",
            "codes": "antidiabetics",
            "aggregate": aggregate,
            "of": of,
        }
    )


@pytest.fixture(scope="module")
def rows(spark):
    return spark.createDataFrame(
        ROWS, "person_id string, atc5 string, ddd double, selected boolean, delivery_date date"
    )


def test_the_spec_grammar_and_schema_come_from_the_registry():
    enum = Feature.model_json_schema()["properties"]["aggregate"]["anyOf"][0]["enum"]
    assert enum == list(AGGREGATES)
    assert all(
        a.describe(feature(a.name, "ddd" if a.reads_of else None)) for a in AGGREGATES.values()
    )
    assert {n: a.fill() for n, a in AGGREGATES.items()} == {
        "count": 0,
        "sum": 0,
        "count_distinct": 0,
        "any": False,
        "max": 0,
        "pdc": 0,
    }


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_one_group_by_by_hand(rows, name):
    aggregate = AGGREGATES[name]
    of = {"sum": "ddd", "max": "ddd", "count_distinct": "atc5"}.get(name)
    got = {
        r.person_id: r.v
        for r in rows.groupBy("person_id")
        .agg(aggregate.column(feature(name, of), F.col("selected")).alias("v"))
        .collect()
    }
    assert got == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_per_code_levels_by_hand(rows, name):
    aggregate = AGGREGATES[name]
    of = {"sum": "ddd", "max": "ddd", "count_distinct": "atc5"}.get(name)
    level1, level2 = aggregate.per_code(
        feature(name, of),
        F.col("selected"),
        code=F.col("atc5"),
        year=F.lit(2023),
        date=F.col("delivery_date"),
    )
    per_code = rows.groupBy("person_id", "atc5").agg(level1.alias("_l1"))
    got = {
        r.person_id: r.v
        for r in per_code.groupBy("person_id").agg(level2(F.col("_l1")).alias("v")).collect()
    }
    assert got == EXPECTED[name]  # the same values as in one group-by


def test_pdc_by_hand(rows):
    # P: supplies of 3 and 5 days delivered on days 0 and 59, from day 0 to 31 December
    # (365 days): 8 / 365; Q: no selected delivery, no value
    pdc = AGGREGATES["pdc"]
    level1, level2 = pdc.per_code(
        feature("pdc", "ddd"),
        F.col("selected"),
        code=F.col("atc5"),
        year=F.lit(2023),
        date=F.col("delivery_date"),
    )
    per_code = rows.groupBy("person_id", "atc5").agg(level1.alias("_l1"))
    got = {
        r.person_id: r.v
        for r in per_code.groupBy("person_id").agg(level2(F.col("_l1")).alias("v")).collect()
    }
    assert got["P"] == pytest.approx(8 / 365) and got["Q"] is None
