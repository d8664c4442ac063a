"""Accounting lags: when each row is booked, so data can arrive month by month.

Health-care claims can arrive up to two years after the service [S]; Farmanet is processed per
accounting quarter [S]; stays are booked when their billing is complete.
"""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F

from phm.synth import params as P
from phm.synth.rng import uniform


def _lag_months(u: Column, v: Column, table: list[tuple[float, int, int]]) -> Column:
    """Piecewise inverse CDF: below cumulative probability c, a lag uniform in [lo, hi]."""
    expr = None
    for cum, lo, hi in table:
        lag = F.lit(lo) + F.floor(v * (hi - lo + 1)).cast("int")
        expr = F.when(u < cum, lag) if expr is None else expr.when(u < cum, lag)
    return expr.otherwise(F.lit(table[-1][2]))


def month_start(date: Column) -> Column:
    return F.trunc(date, "month")


def health_care_month(seed: int, date: Column, key: Column) -> Column:
    lag = _lag_months(
        uniform(seed, "hc_lag", key), uniform(seed, "hc_lag2", key), P.HEALTH_CARE_LAG
    )
    return F.add_months(month_start(date), lag)


def hospital_month(seed: int, date: Column, key: Column) -> Column:
    lag = _lag_months(
        uniform(seed, "stay_lag", key), uniform(seed, "stay_lag2", key), P.HOSPITAL_LAG
    )
    return F.add_months(month_start(date), lag)


def pharmacy_month(seed: int, date: Column, key: Column) -> Column:
    """Last month of the delivery's quarter; a few deliveries are booked a quarter later."""
    quarter_end = F.make_date(F.year(date), F.quarter(date) * 3, F.lit(1))
    late = uniform(seed, "ph_lag", key) < P.PHARMACY_LATE_QUARTER_SHARE
    return F.add_months(quarter_end, F.when(late, 3).otherwise(0))
