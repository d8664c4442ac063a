"""The cell-key secret: made once per local warehouse, owner-only, reused; from the
environment on clusters."""

from __future__ import annotations

import stat

import pytest

from phm.data.warehouse import Warehouse
from phm.disclosure.policy import SECRET_ENV, SECRET_FILE, Protection, warehouse_secret
from phm.errors import WarehouseError


def test_secret_made_once_and_reused(tmp_path, monkeypatch):
    monkeypatch.delenv(SECRET_ENV, raising=False)
    wh = Warehouse.at(tmp_path)
    first = warehouse_secret(wh)
    assert len(first) == 64 and warehouse_secret(wh) == first
    mode = (tmp_path / SECRET_FILE).stat().st_mode
    assert stat.S_IMODE(mode) == 0o600
    assert warehouse_secret(Warehouse.at(tmp_path / "other")) != first


def test_secret_from_the_environment_and_never_printed(tmp_path, monkeypatch):
    monkeypatch.setenv(SECRET_ENV, "from-vault")
    assert warehouse_secret(Warehouse.at(tmp_path)) == "from-vault"
    assert not (tmp_path / SECRET_FILE).exists()
    assert "from-vault" not in repr(Protection("from-vault"))


def test_object_store_warehouse_needs_the_environment(monkeypatch):
    monkeypatch.delenv(SECRET_ENV, raising=False)
    with pytest.raises(WarehouseError, match=SECRET_ENV):
        warehouse_secret(Warehouse.at("s3://bucket/phm"))


def test_secret_redacted_from_spark_plans(spark):
    from pyspark.sql import functions as F

    from phm.disclosure import record_key
    from phm.disclosure.policy import redact_in_plans

    secret = "s3cr3t-" + "ab" * 8
    redact_in_plans(spark, Protection(secret))
    frame = spark.range(3).select(record_key(F.col("id").cast("string"), secret).alias("k"))
    plan = frame._jdf.queryExecution().toString()
    assert secret not in plan and "REDACTED" in plan.upper()
