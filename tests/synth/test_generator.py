"""The generator end to end on a tiny warehouse: contract, determinism, lags and increments."""

from __future__ import annotations

import datetime as dt

import pytest
from generated import SMALL, SMALL_AS_OF
from pyspark.sql import functions as F

from phm.data.load import booked_through
from phm.data.schemas import SOURCE_TABLES
from phm.data.warehouse import Warehouse
from phm.errors import InputError, WarehouseError
from phm.execute.events import data_end
from phm.synth.generator import build_universe, generate, generate_next_month


EVENT_TABLES = ("hospital_stay", "health_care", "pharmacy")


def _rows(spark, wh: Warehouse, table: str):
    return wh.read(spark, table).drop("load_id")


def test_tables_follow_the_contract_and_clean_data_is_all_accepted(spark, small_warehouse):
    for name, table in SOURCE_TABLES.items():
        df = small_warehouse.read(spark, name)
        assert [f.name for f in df.schema.fields] == table.column_names
        assert [f.dataType for f in df.schema.fields] == [c.dtype.spark() for c in table.columns]
        assert df.count() > 0, name
    log = small_warehouse.read(spark, "load_log").collect()
    assert {r.table for r in log} == set(SOURCE_TABLES)
    for r in log:
        assert r.quarantined_rows == 0, (r.table, r.reasons)
        assert r.accepted_rows == r.input_rows


def test_same_seed_gives_identical_tables(spark, small_warehouse, tmp_path):
    """Rebuild the universe with other shuffle partitions: the loaded rows are reproduced exactly."""
    spark.conf.set("spark.sql.shuffle.partitions", "3")
    try:
        universe = build_universe(
            spark,
            str(tmp_path / "staging"),
            persons=SMALL["persons"],
            years=SMALL["years"],
            seed=SMALL["seed"],
        )
        for name, again in universe.tables().items():
            if name != "population":
                again = again.where(F.col("accounting_month") <= F.lit(SMALL_AS_OF))
            loaded = _rows(spark, small_warehouse, name)
            again = again.select(*loaded.columns)
            assert loaded.exceptAll(again).count() == 0, name
            assert again.exceptAll(loaded).count() == 0, name
    finally:
        spark.conf.set("spark.sql.shuffle.partitions", "2")


def test_another_seed_gives_other_people(spark, small_warehouse, tmp_path):
    other = build_universe(
        spark,
        str(tmp_path / "staging"),
        persons=SMALL["persons"],
        years=SMALL["years"],
        seed=SMALL["seed"] + 1,
    )
    ids = other.population.select("person_id")
    assert (
        ids.intersect(_rows(spark, small_warehouse, "population").select("person_id")).count() == 0
    )


def test_nothing_booked_after_as_of_and_lags_are_realistic(spark, small_warehouse):
    hc = small_warehouse.read(spark, "health_care")
    assert hc.where(F.col("accounting_month") > F.lit(SMALL_AS_OF)).count() == 0
    assert hc.where(F.col("accounting_month") < F.trunc("service_date", "month")).count() == 0
    lag = F.months_between("accounting_month", F.trunc("service_date", "month"))
    shares = (
        hc.where(F.col("year") == 2022)
        .agg(F.avg((lag == 0).cast("int")), F.avg((lag >= 3).cast("int")), F.max(lag))
        .first()
    )
    assert 0.25 < shares[0] < 0.45  # about a third booked in the service month
    assert 0.05 < shares[1] < 0.25  # a tail arrives months later
    assert shares[2] > 6
    # Farmanet is booked at the end of the delivery's quarter
    ph = small_warehouse.read(spark, "pharmacy")
    assert ph.where(~F.month("accounting_month").isin(3, 6, 9, 12)).count() == 0
    # the load log keeps the last month booked: the default data end of a run
    assert booked_through(spark, small_warehouse) == {
        "health_care": dt.date(2023, 4, 1),
        "hospital_stay": dt.date(2023, 4, 1),
        "pharmacy": dt.date(2023, 3, 1),
    }
    ends = {t: data_end(spark, small_warehouse, t) for t in EVENT_TABLES}
    assert ends == {
        "health_care": dt.date(2023, 4, 30),
        "hospital_stay": dt.date(2023, 4, 30),
        "pharmacy": dt.date(2023, 3, 31),
    }


# A warehouse grown by --next-month equals one generated directly at the later as-of: tested
# once, with a planted effect (tests/synth/test_pilot_effect.py), which the increment must
# re-apply too; a second generation without the effect would cost a minute for nothing new.


def test_bad_parameters_are_refused(spark, tmp_path):
    wh = Warehouse.at(tmp_path / "w")
    with pytest.raises(InputError, match="at least 100"):
        generate(spark, wh, persons=10, years=[2022], seed=1)
    with pytest.raises(InputError, match="consecutive"):
        generate(spark, wh, persons=500, years=[2022, 2024], seed=1)
    with pytest.raises(InputError, match="before the first"):
        generate(spark, wh, persons=500, years=[2022], seed=1, as_of=dt.date(2021, 5, 1))
    with pytest.raises(WarehouseError, match="phm generate"):
        generate_next_month(spark, Warehouse.at(tmp_path / "empty"))
