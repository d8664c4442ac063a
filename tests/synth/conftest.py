"""Small generated warehouses shared by the generator tests (generation is the slow part)."""

from __future__ import annotations

import pytest
from generated import CALIBRATION, SMALL, SMALL_AS_OF

from phm.data.warehouse import Warehouse
from phm.synth.generator import generate



@pytest.fixture(scope="session")
def small_warehouse(spark, tmp_path_factory) -> Warehouse:
    """300 persons, 2022-2023, booked up to April 2023, no defects."""
    wh = Warehouse.at(tmp_path_factory.mktemp("small"))
    generate(spark, wh, **SMALL, as_of=SMALL_AS_OF)
    return wh




@pytest.fixture(scope="session")
def calibration_warehouse(spark, tmp_path_factory) -> Warehouse:
    """A modest warehouse with defects planted: for calibration and the quarantine of defects."""
    wh = Warehouse.at(tmp_path_factory.mktemp("calibration"))
    generate(spark, wh, **CALIBRATION, defects=True, defect_rate=0.002)
    return wh
