"""Small column-expression builders for step functions of age and lookups by key."""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F


def piecewise(age: Column, table: list[tuple[int, float]]) -> Column:
    """Step function of age: value of the last (from_age, value) with from_age <= age."""
    expr = F.lit(table[0][1])
    for start, value in table[1:]:
        expr = F.when(age >= start, F.lit(value)).otherwise(expr)
    return expr


def by_key(col: Column, mapping: dict[str, float], default: float = 0.0) -> Column:
    """``mapping[col]``, or ``default`` for keys not in the mapping."""
    expr = F.lit(default)
    for key, value in mapping.items():
        expr = F.when(col == key, F.lit(value)).otherwise(expr)
    return expr


def by_age_band(age: Column, values: tuple[float, float, float]) -> Column:
    """Value for children (< 15), adults (15-64) and the elderly (65+)."""
    return F.when(age < 15, values[0]).when(age < 65, values[1]).otherwise(values[2])


def year_start(year: Column) -> Column:
    """1 January of ``year``."""
    return F.make_date(year, F.lit(1), F.lit(1))


def money(amount: Column) -> Column:
    """An amount in EUR as the contract's decimal(12,2)."""
    return F.round(amount, 2).cast("decimal(12,2)")
