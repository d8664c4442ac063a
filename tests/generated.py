"""Parameters of the warehouses generated once per test session (see conftest.py)."""

from __future__ import annotations

import datetime as dt

SMALL = {"persons": 300, "years": [2022, 2023], "seed": 11}
SMALL_AS_OF = dt.date(2023, 4, 1)
CALIBRATION = {"persons": 6000, "years": [2022, 2023], "seed": 5}
