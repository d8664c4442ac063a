"""How well a scenario's risk model predicts, by subgroup: the table a reviewer of a
risk-equalisation method asks for first (predictive ratios, as the Dutch and German
risk-equalisation evaluations and CMS-HCC report them), and the model's CPM and MAPE.

Per population (``reference``: the rows the model is fitted on; ``pilots``: the pilots'
rows together), per dimension and level:

- ``persons``, ``person_years = Σ w``, ``actual = Σ w y``, ``expected = Σ w ŷ`` (after the
  outlier rule, as the model sees them);
- the **predictive ratio** ``R = actual / expected`` (1: the model predicts the group right;
  above 1: it under-predicts the group's cost), with a 95% interval from the linearised
  variance of a ratio estimator, ``var(R) = n/(n−1) · Σ (w (y − R ŷ))² / expected²``,
  ``R ± 1.96 √var`` (the prediction ŷ taken as fixed: the model's own uncertainty is small
  beside a subgroup's sampling error when the reference holds millions of person-years);
- **CPM**, Cumming's prediction measure ``1 − Σ w |y − ŷ| / Σ w |y − ȳ|`` (``ȳ``: the
  weighted mean outcome of the reference), and **MAPE**, the mean absolute prediction error
  per person-year ``Σ w |y − ŷ| / Σ w``.

Dimensions: ``all``; ``age_band`` (10-year bands by age at 31 December, 90+); ``sex``;
``bim``; ``chronic_status``; ``pseudopathologies`` (how many of the medication-based
pseudopathology flags of :data:`PSEUDOPATHOLOGIES` the person has, when the catalogue has
them); ``prior_cost_decile`` (the previous year's cost band, when the previous year is in the
data: ``D01``..``D10``, ``none`` without a row that year); ``region`` (NIS code of the region
of residence of the year). One aggregation over the year's rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from phm.spec.scenario import PSEUDOPATHOLOGIES

Z95 = 1.959963984540054


def _age_band(age: Column) -> Column:
    low = F.floor(age / 10) * 10
    label = F.format_string("%02d-%02d", low.cast("int"), (low + 9).cast("int"))
    return F.when(age >= 90, F.lit("90+")).otherwise(label)


def dimensions(columns: list[str]) -> dict[str, Column]:
    """Each dimension the rows allow, as a string column of its level."""
    out: dict[str, Column] = {"all": F.lit("all")}
    if "age" in columns:
        out["age_band"] = _age_band(F.col("age"))
    for name in ("sex", "bim", "chronic_status"):
        if name in columns:
            out[name] = F.col(name).cast("string")
    present = [p for p in PSEUDOPATHOLOGIES if p in columns]
    if present and len(present) == len(PSEUDOPATHOLOGIES):
        count = sum((F.coalesce(F.col(p).cast("int"), F.lit(0)) for p in present), F.lit(0))
        out["pseudopathologies"] = count.cast("string")
    if "prior_cost_band" in columns:
        out["prior_cost_decile"] = F.col("prior_cost_band")
    if "reg_nis" in columns:
        out["region"] = F.col("reg_nis").cast("string")
    return out


def levels_column(columns: list[str]) -> Column:
    """An array of (dimension, level) per row, exploded by :func:`predictive_ratios`."""
    return F.array(
        *[
            F.struct(
                F.lit(name).alias("dimension"), F.coalesce(level, F.lit("unknown")).alias("level")
            )
            for name, level in dimensions(columns).items()
        ]
    )


def predictive_ratios(
    design: DataFrame, predicted: Column, reference_mean: float, keyed: bool
) -> pd.DataFrame:
    """The table of the module docstring from rows with ``_w``, ``_y``, ``_levels``
    (:func:`levels_column`), ``pilot``, ``in_reference`` (and ``_key`` when ``keyed``)."""
    w, y, e = F.col("_w"), F.col("_y"), F.col("_e")
    rows = design.select(
        F.when(F.col("in_reference"), "reference").otherwise("pilots").alias("population"),
        F.explode("_levels").alias("_l"),
        "_w",
        "_y",
        predicted.alias("_e"),
        *(["_key"] if keyed else []),
    )
    sums = rows.groupBy(
        "population", F.col("_l.dimension").alias("dimension"), F.col("_l.level").alias("level")
    ).agg(
        F.count(F.lit(1)).alias("persons"),
        F.sum(w).alias("person_years"),
        F.sum(w * y).alias("actual"),
        F.sum(w * e).alias("expected"),
        F.sum(w * w * y * y).alias("_wwyy"),
        F.sum(w * w * y * e).alias("_wwye"),
        F.sum(w * w * e * e).alias("_wwee"),
        F.sum(w * F.abs(y - e)).alias("_abs_error"),
        F.sum(w * F.abs(y - F.lit(reference_mean))).alias("_abs_deviation"),
        *([F.sum("_key").alias("key")] if keyed else []),
    )
    out = sums.orderBy("population", "dimension", "level").toPandas()
    n = out.persons.to_numpy(float)
    ratio = out.actual / out.expected.where(out.expected != 0)
    square = out._wwyy - 2 * ratio * out._wwye + ratio**2 * out._wwee
    spread = np.sqrt(np.clip(square, 0, None) * n / np.maximum(n - 1, 1)) / out.expected
    out["ratio"] = ratio
    out["ratio_low"] = ratio - Z95 * spread
    out["ratio_high"] = ratio + Z95 * spread
    out["cpm"] = 1 - out._abs_error / out._abs_deviation.where(out._abs_deviation != 0)
    out["mape"] = out._abs_error / out.person_years
    return out.drop(columns=["_wwyy", "_wwye", "_wwee", "_abs_error", "_abs_deviation"])
