"""Poisson bootstrap of a financing scenario, in one pass over the person-year rows.

Each person gets, in replicate ``b``, a weight ``m`` drawn from Poisson(1): the inverse
Poisson distribution function of a uniform number hashed from (seed, person, b). A replicate
is the scenario recomputed with every row's weight multiplied by ``m``: the risk model refitted
on the resampled reference population, the pilots' actual and expected cost summed again.
Because the fits need only sums per risk pattern (:mod:`phm.simulations.fit`), all replicates
come from **one** aggregation of ``m·w``, ``m·w·y`` and ``m·w·c(y)`` per (pilot, pattern,
replicate); the refits run on the driver over a few thousand patterns per replicate.

Poisson rather than multinomial resampling: no replicate needs the number of persons, so the
weights are independent per person and computed where the rows are (Hanley & MacGibbon 2006;
Chamandy et al. 2012, "Estimating uncertainty for massive data streams", Google). The same
person has the same weights in every year, scenario and variant of a seed, so replicates of
different years can be combined (difference in trend).

What is resampled: persons, within the reference and within each pilot. What is not: the
outlier threshold (computed once, on all rows), the attribution and the levels of the model.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from phm.simulations.fit import Family, Fit, Patterns, fit

_UNIT = 2**53


def _poisson_cdf(upto: int = 12) -> list[float]:
    out, total, term = [], 0.0, math.exp(-1.0)
    for k in range(upto):
        total += term
        out.append(total)
        term /= k + 1
    return out


def poisson_weight(u: Column) -> Column:
    """The Poisson(1) draw whose distribution function first exceeds ``u`` (0 <= u < 1);
    draws above 12 (probability 1e-10) count as 12."""
    cdf = _poisson_cdf()
    out = F.lit(len(cdf))
    for k in reversed(range(len(cdf))):
        out = F.when(u < F.lit(cdf[k]), F.lit(k)).otherwise(out)
    return out


def person_hash(person: Column, seed: int) -> Column:
    return F.xxhash64(F.lit(seed), person)


def uniform(person_hash_: Column, replicate: Column) -> Column:
    """A uniform number in [0, 1) from the person's hash and the replicate number."""
    return F.pmod(F.xxhash64(person_hash_, replicate), F.lit(_UNIT)).cast("double") / _UNIT


def replicate_sums(design: DataFrame, replicates: int) -> DataFrame:
    """Per (``pilot``, ``in_reference``, ``_pid``, ``b``): the resampled sums ``sw``, ``swy``,
    ``swc`` of rows with ``_h`` (person hash), ``_w``, ``_y``, ``_c`` (= c(y))."""
    draws = (
        design.select(
            "pilot",
            "in_reference",
            "_pid",
            "_h",
            "_w",
            "_y",
            "_c",
            F.explode(F.sequence(F.lit(0), F.lit(replicates - 1))).alias("b"),
        )
        .withColumn("m", poisson_weight(uniform(F.col("_h"), F.col("b"))))
        .where(F.col("m") > 0)
    )
    mw = F.col("m") * F.col("_w")
    return draws.groupBy("pilot", "in_reference", "_pid", "b").agg(
        F.sum(mw).alias("sw"),
        F.sum(mw * F.col("_y")).alias("swy"),
        F.sum(mw * F.col("_c")).alias("swc"),
    )


def refit(
    sums: DataFrame,
    replicates: int,
    patterns: Patterns,
    pids: np.ndarray,
    names: tuple[str, ...],
    fam: Family,
    point: Fit,
) -> tuple[pd.DataFrame, int]:
    """Each replicate's model refitted on its reference sums: the predicted outcome of every
    pattern, rows (b, _pid, yhat), and the number of replicates that could not be fitted (say,
    a gamma model on a resample whose outcome is zero); those are left out of the intervals."""
    reference = (
        sums.where("in_reference")
        .groupBy("b", "_pid")
        .agg(F.sum("sw").alias("sw"), F.sum("swy").alias("swy"), F.sum("swc").alias("swc"))
        .toPandas()
    )
    position = {pid: i for i, pid in enumerate(pids)}
    m = len(pids)
    out = []
    for b, part in reference.groupby("b", sort=True):
        index = part._pid.map(position).to_numpy()
        arrays = []
        for column in ("sw", "swy", "swc"):
            values = np.zeros(m)
            values[index] = part[column].to_numpy(float)
            arrays.append(values)
        try:
            coef = _refit_drawn_levels(_nonempty(patterns.resampled(*arrays)), names, fam, point)
        except (ValueError, RuntimeError, np.linalg.LinAlgError):
            continue
        out.append(
            pd.DataFrame(
                {"b": int(b), "_pid": pids, "yhat": replace(point, coef=coef).predict_x(patterns.x)}
            )
        )
    predictions = (
        pd.concat(out, ignore_index=True)
        if out
        else pd.DataFrame({"b": [], "_pid": [], "yhat": []})
    )
    return predictions, replicates - len(out)


def _refit_drawn_levels(p: Patterns, names: tuple[str, ...], fam: Family, point: Fit) -> np.ndarray:
    """The replicate's coefficients. A model column that is zero in every resampled pattern (a
    rare level nobody was drawn for) carries no information in this replicate: it keeps its
    point estimate, and the other coefficients are refitted (otherwise the design is singular
    and the whole replicate would be lost)."""
    absent = np.zeros(len(names), dtype=bool)
    absent[1:] = ~np.any(p.x[:, 1:] != 0, axis=0)
    keep = ~absent
    replicate = fit(
        replace(p, x=p.x[:, keep]),
        tuple(n for n, k in zip(names, keep) if k),
        fam,
        start=point.coef[keep],
        standard_errors=False,
    )
    coef = point.coef.copy()
    coef[keep] = replicate.coef
    return coef


def _nonempty(p: Patterns) -> Patterns:
    """Patterns nobody was drawn for carry no information (and a zero weight)."""
    keep = p.sw > 0
    return Patterns(
        p.x[keep], p.n[keep], p.sw[keep], p.swy[keep], p.swyy[keep], p.swc[keep], p.min_y
    )


def pilot_replicates(sums: DataFrame, predictions: pd.DataFrame) -> pd.DataFrame:
    """Per (pilot, b): resampled ``person_years``, ``actual`` and ``expected``, joining each
    replicate's predictions to the pilots' resampled sums (in Spark: pilots × patterns ×
    replicates stays there)."""
    spark = sums.sparkSession
    yhat = spark.createDataFrame(
        predictions.astype({"b": "int32", "_pid": "int64"}), "b int, _pid long, yhat double"
    )
    return (
        sums.where(F.col("pilot").isNotNull())
        .join(F.broadcast(yhat), ["b", "_pid"])
        .groupBy("pilot", "b")
        .agg(
            F.sum("sw").alias("person_years"),
            F.sum("swy").alias("actual"),
            F.sum(F.col("sw") * F.col("yhat")).alias("expected"),
        )
        .toPandas()
    )
