"""One SparkSession for the whole test session (start-up costs ~7 s)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("PHM_DRIVER_MEMORY", "3g")
os.environ.setdefault("PHM_SPARK_CORES", "2")


@pytest.fixture(scope="session")
def spark():
    from phm.spark import get_spark

    session = get_spark("phm-tests", for_tests=True)
    yield session
    session.stop()
