"""One SparkSession for the whole test session (start-up costs ~7 s)."""

from __future__ import annotations

import os

import pytest
from generated import CALIBRATION, SMALL, SMALL_AS_OF

from phm.data.warehouse import Warehouse

os.environ.setdefault("PHM_DRIVER_MEMORY", "3g")
os.environ.setdefault("PHM_SPARK_CORES", "2")


@pytest.fixture(scope="session")
def spark():
    from phm.spark import get_spark

    session = get_spark("phm-tests", for_tests=True)
    yield session
    session.stop()


# -- generated warehouses shared by several test folders (generation is the slow part) --------


@pytest.fixture(scope="session")
def small_warehouse(spark, tmp_path_factory) -> Warehouse:
    """300 persons, 2022-2023, booked up to April 2023, no defects."""
    from phm.synth.generator import generate

    wh = Warehouse.at(tmp_path_factory.mktemp("small"))
    generate(spark, wh, **SMALL, as_of=SMALL_AS_OF)
    return wh


@pytest.fixture(scope="session")
def calibration_warehouse(spark, tmp_path_factory) -> Warehouse:
    """A modest warehouse with defects planted: for calibration and the quarantine of defects."""
    from phm.synth.generator import generate

    wh = Warehouse.at(tmp_path_factory.mktemp("calibration"))
    generate(spark, wh, **CALIBRATION, defects=True, defect_rate=0.002)
    return wh
