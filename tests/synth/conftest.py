"""Small generated warehouses shared by the generator tests (generation is the slow part)."""

from __future__ import annotations

import datetime as dt

import pytest

from phm.data.warehouse import Warehouse
from phm.synth.generator import generate

SMALL = {"persons": 300, "years": [2022, 2023], "seed": 11}
SMALL_AS_OF = dt.date(2023, 4, 1)


@pytest.fixture(scope="session")
def small_warehouse(spark, tmp_path_factory) -> Warehouse:
    """300 persons, 2022-2023, booked up to April 2023, no defects."""
    wh = Warehouse.at(tmp_path_factory.mktemp("small"))
    generate(spark, wh, **SMALL, as_of=SMALL_AS_OF)
    return wh
