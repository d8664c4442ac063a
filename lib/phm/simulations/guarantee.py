"""The budget guarantee of one scenario variant: expected cost of each pilot's population from
a risk model fitted on the reference population of the same year, minus its actual cost.

Input: person-year rows with ``year``, ``pilot`` (the pilot area, null outside the pilots),
``in_reference`` (fitted on), ``cost`` (the scenario's cost of the year, EUR), ``fraction``
(of the year insured, in (0, 1]) and the risk factors. Per row, with ``annualise``:
``y = cost / fraction`` and weight ``w = fraction``; without: ``y = cost``, ``w = 1``.

1. **Outliers**, from the reference rows of the year: ``cap_quantile`` caps ``y`` at its exact
   ``quantile`` (linear interpolation between order statistics, unweighted); ``cap_amount`` at
   the amount; ``exclude_above`` drops every row (pilot and reference) whose ``y`` is above the
   quantile or amount.
2. **Model** fitted on the reference rows: ``y`` on the factors, weights ``w``
   (:mod:`phm.simulations.fit`).
3. Per pilot: ``persons`` (rows), ``person_years = Σ w``, ``actual = Σ w y``,
   ``expected = Σ w ŷ``, ``gain = expected − actual``, ``O/E = actual / expected``.
4. **Payout** under the sharing rule (:func:`payout`).

Only small per-pilot sums reach the driver.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from phm.disclosure.cell_key import record_key
from phm.errors import InputError
from phm.simulations.design import build_terms, unseen_levels
from phm.simulations.fit import Fit, family, fit_glm, fit_ols
from phm.spec.scenario import Scenario, Sharing


@dataclass(frozen=True)
class YearResult:
    year: int
    fit: Fit
    threshold: float | None     # the outlier threshold applied, EUR per person-year
    pilots: pd.DataFrame         # one row per pilot


def payout(gain: np.ndarray, expected: np.ndarray, person_years: np.ndarray,
           sharing: Sharing) -> np.ndarray:
    """The pilot's payout for a gain: the part of the gain beyond the corridor
    (``corridor × expected`` either side), times ``share``; not below 0 with
    ``floor_at_zero``; at most ``cap_per_capita × person_years`` either way."""
    gain, expected = np.asarray(gain, float), np.asarray(expected, float)
    band = sharing.corridor * np.abs(expected)
    shared = np.sign(gain) * np.maximum(np.abs(gain) - band, 0.0)
    out = sharing.share * shared
    if sharing.floor_at_zero:
        out = np.maximum(out, 0.0)
    if sharing.cap_per_capita is not None:
        cap = sharing.cap_per_capita * np.asarray(person_years, float)
        out = np.clip(out, -cap, cap)
    return out


def budget_guarantee(rows: DataFrame, variant: Scenario, kinds: dict[str, str],
                     secret: str | None = None, areas: list[str] | None = None
                     ) -> list[YearResult]:
    """One :class:`YearResult` per guarantee year of ``variant``; with the warehouse's
    ``secret``, each pilot also gets ``key``, the sum of its persons' record keys (for the
    cell-key method, :mod:`phm.simulations.publish`). With ``areas`` (every area of the set),
    a pilot nobody is attributed to still gets its row, with 0 persons, rather than none."""
    if variant.method != "risk_adjusted":
        raise InputError(f"{variant.id}: method {variant.method!r} is not implemented yet")
    annualise = variant.cost.annualise
    base = rows.withColumns({
        "_w": F.col("fraction").cast("double") if annualise else F.lit(1.0),
        "_y": (F.col("cost") / F.col("fraction")) if annualise else F.col("cost").cast("double"),
    })
    if secret is not None:
        base = base.withColumn("_key", record_key(F.col("person_id"), secret))
    return [_year(base.where(F.col("year") == year), variant, kinds, year, secret is not None,
                  areas) for year in variant.years.guarantee]


def _year(rows: DataFrame, variant: Scenario, kinds: dict[str, str], year: int,
          keyed: bool, areas: list[str] | None) -> YearResult:
    # the year's rows are read a dozen times (quantile, levels, every GLM iteration): kept
    rows = rows.persist()
    try:
        return _year_of(rows, variant, kinds, year, keyed, areas)
    finally:
        rows.unpersist()


def _year_of(rows: DataFrame, variant: Scenario, kinds: dict[str, str], year: int,
             keyed: bool, areas: list[str] | None) -> YearResult:
    reference = rows.where("in_reference")
    rows, threshold = _outliers(rows, reference, variant)
    reference = rows.where("in_reference")
    model = variant.risk_model
    unseen = unseen_levels(rows.where(F.col("pilot").isNotNull()), reference, model.factors,
                           kinds)
    if unseen:
        raise InputError(f"{variant.id} {year}: levels absent from the reference population, "
                         f"cannot be predicted: {unseen}")
    terms = build_terms(reference, model.factors, model.interactions, kinds)
    names = [t.name for t in terms]
    # the model columns materialised: the fits' aggregations then read plain columns instead
    # of the factors' expressions inlined into hundreds of sums (slow to plan and compile)
    design = rows.select("pilot", "in_reference", "_w", "_y", *(["_key"] if keyed else []),
                         *[t.expr.alias(t.name) for t in terms]).persist()
    try:
        return _fit_and_sum(design, variant, names, year, threshold, keyed, areas)
    finally:
        design.unpersist()


def _fit_and_sum(design: DataFrame, variant: Scenario, names: list[str], year: int,
                 threshold: float | None, keyed: bool, areas: list[str] | None) -> YearResult:
    model = variant.risk_model
    fitting = design.where("in_reference")
    if model.family == "ols":
        fit = fit_ols(fitting, "_y", names, weight="_w")
    else:
        fit = fit_glm(fitting, "_y", names, family(model.family, model.power), weight="_w")
    pilots = (design.where(F.col("pilot").isNotNull())
              .withColumn("_e", fit.predict())
              .groupBy("pilot")
              .agg(F.count(F.lit(1)).alias("persons"), F.sum("_w").alias("person_years"),
                   F.sum(F.col("_w") * F.col("_y")).alias("actual"),
                   F.sum(F.col("_w") * F.col("_e")).alias("expected"),
                   *([F.sum("_key").alias("key")] if keyed else []))
              .orderBy("pilot").toPandas())
    if areas is not None:
        pilots = (pilots.set_index("pilot").reindex(sorted(set(areas) | set(pilots.pilot)))
                  .fillna(0).rename_axis("pilot").reset_index())
        pilots["persons"] = pilots.persons.astype("int64")
    pilots.insert(0, "year", year)
    pilots["gain"] = pilots.expected - pilots.actual
    pilots["oe"] = pilots.actual / pilots.expected
    pilots["payout"] = payout(pilots.gain, pilots.expected, pilots.person_years,
                              variant.sharing)
    return YearResult(year, fit, threshold, pilots)


def _outliers(rows: DataFrame, reference: DataFrame, variant: Scenario
              ) -> tuple[DataFrame, float | None]:
    rule = variant.outliers
    if rule.rule == "none":
        return rows, None
    if rule.quantile is not None:
        threshold = reference.agg(F.percentile("_y", F.lit(rule.quantile))).first()[0]
    else:
        threshold = rule.amount
    threshold = float(threshold)
    if rule.rule == "exclude_above":
        return rows.where(F.col("_y") <= threshold), threshold
    return rows.withColumn("_y", F.least(F.col("_y"), F.lit(threshold))), threshold
