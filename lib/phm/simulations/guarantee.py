"""A financing scenario variant, per guarantee year and pilot: actual cost, expected cost from a
risk model fitted on the reference population of the same year, and what follows from them
(the budget guarantee's gain and payout, or a capitation allocation), with bootstrap intervals.

Input: person-year rows with ``year``, ``person_id``, ``pilot`` (the pilot area, null outside
the pilots), ``in_reference`` (fitted on), ``cost`` (EUR), ``fraction`` (of the year insured,
in (0, 1]) and the risk factors. Per row, with ``annualise``: ``y = cost / fraction`` and
weight ``w = fraction``; without: ``y = cost``, ``w = 1``.

1. **Outliers**, from the reference rows of the year: ``cap_quantile`` caps ``y`` at its exact
   ``quantile`` (linear interpolation between order statistics, unweighted); ``cap_amount`` at
   the amount; ``exclude_above`` drops every row (pilot and reference) whose ``y`` is above the
   quantile or amount.
2. **Model** fitted on the reference rows: ``y`` on the factors, weights ``w``, from the sums
   of the rows per risk pattern (:mod:`phm.simulations.fit`).
3. Per pilot: ``persons`` (rows), ``person_years = Σ w``, ``actual = Σ w y``,
   ``expected = Σ w ŷ``.
   With ``method: difference_in_trend`` the expected cost is instead the pilot's baseline
   actual cost carried forward with the reference's risk-adjusted trend:
   ``expected_t = expected_t(model of t) × actual_base / expected_base(model of base)``, i.e.
   the pilot keeps the ratio of actual to expected cost it had in the baseline year.
4. ``gain = expected − actual``, ``O/E = actual / expected``, the **payout** under the
   sharing rule (:func:`payout`); for a capitation scenario the budget (an amount, or the
   pilots' total actual cost) is **allocated** across the pilots in proportion to their
   expected cost, and ``difference = allocated − actual``.
5. **Intervals** (95%, percentile method over the bootstrap replicates that could be fitted,
   :mod:`phm.simulations.bootstrap`) for expected, gain, O/E and the capitation difference.

Only sums per pilot and risk pattern reach the driver.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from phm.disclosure.cell_key import record_key
from phm.errors import InputError
from phm.simulations import bootstrap
from phm.simulations.design import PRIOR_COST_BAND, build_terms, unseen_levels
from phm.simulations.diagnostics import levels_column, predictive_ratios
from phm.simulations.fit import INTERCEPT, SUMS, Fit, Patterns, family, fit, pattern_sums
from phm.spec.scenario import Scenario, Sharing

INTERVAL = (0.025, 0.975)
MIN_REPLICATE_SHARE = 0.9  # below this share of fitted replicates, intervals are left null
# the figures that get a bootstrap interval, per kind of scenario
WITH_INTERVALS = {
    "budget_guarantee": ("expected", "gain", "oe"),
    "capitation": ("expected", "gain", "oe", "difference"),
}


@dataclass(frozen=True)
class YearResult:
    year: int
    fit: Fit
    threshold: float | None  # the outlier threshold applied, EUR per person-year
    pilots: pd.DataFrame  # one row per pilot
    replicates: int = 0  # bootstrap replicates the intervals come from
    diagnostics: pd.DataFrame | None = None  # predictive ratios (phm.simulations.diagnostics)

    def reference_fit(self) -> pd.Series:
        """CPM and MAPE of the model over its whole reference population."""
        d = self.diagnostics
        return d[(d.population == "reference") & (d.dimension == "all")].iloc[0]


@dataclass(frozen=True)
class _Sums:
    """One year's per-pilot sums, and per (pilot, replicate) when bootstrapping."""

    year: int
    fit: Fit
    threshold: float | None
    pilots: pd.DataFrame  # pilot, persons, person_years, actual, expected[, key]
    replicates: pd.DataFrame | None  # pilot, b, person_years, actual, expected
    failed: int = 0
    diagnostics: pd.DataFrame | None = None


def payout(
    gain: np.ndarray, expected: np.ndarray, person_years: np.ndarray, sharing: Sharing
) -> np.ndarray:
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


def simulate_variant(
    rows: DataFrame,
    variant: Scenario,
    kinds: dict[str, str],
    secret: str | None = None,
    areas: list[str] | None = None,
    prior_years: frozenset[int] = frozenset(),
) -> list[YearResult]:
    """One :class:`YearResult` per guarantee year of ``variant``; with the warehouse's
    ``secret``, each pilot also gets ``key``, the sum of its persons' record keys (for the
    cell-key method, :mod:`phm.simulations.publish`). With ``areas`` (every area of the set),
    a pilot nobody is attributed to still gets its row, with 0 persons, rather than none.
    ``prior_years``: the years whose previous year is in the rows (``prior_cost`` known)."""
    annualise = variant.cost.annualise
    base = rows.withColumns(
        {
            "_w": F.col("fraction").cast("double") if annualise else F.lit(1.0),
            "_y": (F.col("cost") / F.col("fraction"))
            if annualise
            else F.col("cost").cast("double"),
        }
    )
    if secret is not None:
        base = base.withColumn("_key", record_key(F.col("person_id"), secret))
    if variant.uncertainty.replicates:
        base = base.withColumn(
            "_h", bootstrap.person_hash(F.col("person_id"), variant.uncertainty.seed)
        )
    if PRIOR_COST_BAND in variant.risk_model.factors:
        missing = sorted(set(variant.model_years()) - set(prior_years))
        if missing:
            raise InputError(f"{variant.id}: prior_cost_band needs the year before {missing}")
    sums = {
        year: _year(
            base.where(F.col("year") == year),
            variant,
            kinds,
            year,
            secret is not None,
            areas,
            year in prior_years,
        )
        for year in variant.model_years()
    }
    return [
        _result(sums[year], sums.get(variant.years.baseline), variant)
        for year in variant.years.guarantee
    ]


def _year(
    rows: DataFrame,
    variant: Scenario,
    kinds: dict[str, str],
    year: int,
    keyed: bool,
    areas: list[str] | None,
    prior_known: bool,
) -> _Sums:
    # the year's rows are read several times (quantile, levels, sums): kept
    rows = rows.persist()
    try:
        if prior_known:
            rows = with_prior_cost_band(rows)
        return _year_of(rows, variant, kinds, year, keyed, areas)
    finally:
        rows.unpersist()


def with_prior_cost_band(rows: DataFrame) -> DataFrame:
    """``prior_cost_band``: the decile of ``prior_cost`` among the reference rows of the year
    that have one (cut at the exact 10th..90th percentiles, a value on a cut point in the
    lower band), ``D01``..``D10``; ``none`` for a person without a row the year before."""
    cuts = (
        rows.where(F.col("in_reference") & F.col("prior_cost").isNotNull())
        .agg(F.percentile("prior_cost", F.array(*[F.lit(q / 10) for q in range(1, 10)])))
        .first()[0]
    )
    if cuts is None:
        raise InputError("prior_cost_band: no reference person has a cost the year before")
    band = sum(
        (F.when(F.col("prior_cost") > F.lit(float(c)), 1).otherwise(0) for c in cuts), F.lit(1)
    )
    return rows.withColumn(
        "prior_cost_band",
        F.when(F.col("prior_cost").isNull(), "none").otherwise(F.format_string("D%02d", band)),
    )


def _year_of(
    rows: DataFrame,
    variant: Scenario,
    kinds: dict[str, str],
    year: int,
    keyed: bool,
    areas: list[str] | None,
) -> _Sums:
    reference = rows.where("in_reference")
    rows, threshold = _outliers(rows, reference, variant)
    reference = rows.where("in_reference")
    model = variant.risk_model
    unseen = unseen_levels(rows.where(F.col("pilot").isNotNull()), reference, model.factors, kinds)
    if unseen:
        raise InputError(
            f"{variant.id} {year}: levels absent from the reference population, "
            f"cannot be predicted: {unseen}"
        )
    terms = build_terms(reference, model.factors, model.interactions, kinds)
    names = [t.name for t in terms]
    fam = family(model.family, model.power)
    boot = variant.uncertainty.replicates
    # the model columns materialised once, with a hash of each row's pattern (its design row)
    design = (
        rows.select(
            "pilot",
            "in_reference",
            "_w",
            "_y",
            fam.contribution(F.col("_y")).alias("_c"),
            *(["_key"] if keyed else []),
            *(["_h"] if boot else []),
            levels_column(rows.columns).alias("_levels"),
            *[t.expr.alias(t.name) for t in terms],
        )
        .withColumn("_pid", F.xxhash64(F.lit(0), *[F.col(n) for n in names]))
        .persist()
    )
    try:
        sums = pattern_sums(
            design,
            "_y",
            names,
            fam,
            weight="_w",
            by=("pilot", "in_reference", "_pid"),
            extra={"key": F.sum("_key")} if keyed else None,
        )
        patterns = _reference_patterns(sums, names)
        point = fit(patterns, (INTERCEPT, *names), fam)
        pilots = _pilot_sums(sums, patterns, point, keyed, areas)
        diagnostics = predictive_ratios(
            design, point.predict(), patterns.swy.sum() / patterns.sw.sum(), keyed
        )
        replicates, failed = None, 0
        if boot:
            replicates, failed = _replicates(design, boot, patterns, names, fam, point)
        return _Sums(year, point, threshold, pilots, replicates, failed, diagnostics)
    finally:
        design.unpersist()


def _reference_patterns(sums: pd.DataFrame, names: list[str]) -> Patterns:
    """Every pattern met (pilots' too, to predict them), with the sums of its reference rows."""
    frame = sums.copy()
    outside = ~frame.in_reference.astype(bool)
    frame.loc[outside, list(SUMS)] = 0.0
    frame.loc[outside, "min_y"] = np.inf
    return Patterns.of(frame, names, key="_pid")


def _pilot_sums(
    sums: pd.DataFrame, patterns: Patterns, point: Fit, keyed: bool, areas: list[str] | None
) -> pd.DataFrame:
    yhat = pd.Series(point.predict_x(patterns.x), index=patterns.keys)
    rows = sums[sums.pilot.notna()].copy()
    rows["expected"] = rows.sw * rows._pid.map(yhat)
    pilots = (
        rows.groupby("pilot", sort=True)
        .agg(
            persons=("n", "sum"),
            person_years=("sw", "sum"),
            actual=("swy", "sum"),
            expected=("expected", "sum"),
            **({"key": ("key", "sum")} if keyed else {}),
        )
        .reindex(sorted(set(areas or []) | set(rows.pilot)))
        .fillna(0)
        .rename_axis("pilot")
        .reset_index()
    )
    pilots["persons"] = pilots.persons.astype("int64")
    return pilots


def _replicates(
    design: DataFrame, replicates: int, patterns: Patterns, names: list[str], fam, point: Fit
) -> tuple[pd.DataFrame, int]:
    sums = bootstrap.replicate_sums(design, replicates).persist()
    try:
        predictions, failed = bootstrap.refit(
            sums, replicates, patterns, patterns.keys, (INTERCEPT, *names), fam, point
        )
        return bootstrap.pilot_replicates(sums, predictions), failed
    finally:
        sums.unpersist()


def _result(year: _Sums, baseline: _Sums | None, variant: Scenario) -> YearResult:
    pilots = year.pilots.copy()
    replicates = year.replicates.copy() if year.replicates is not None else None
    if variant.method == "difference_in_trend":
        pilots["expected"] = pilots.expected * _trend_factor(pilots, baseline.pilots, ["pilot"])
        if replicates is not None:
            replicates["expected"] = replicates.expected * _trend_factor(
                replicates, baseline.replicates, ["pilot", "b"]
            )
    pilots = _outcome(pilots, variant)
    used = variant.uncertainty.replicates - year.failed
    if replicates is not None:
        if baseline is not None and variant.method == "difference_in_trend":
            used -= baseline.failed
        replicates = _outcome(replicates, variant, by_replicate=True)
        # too many replicates could not be fitted: no interval rather than one from the rest
        enough = used >= MIN_REPLICATE_SHARE * variant.uncertainty.replicates
        for figure in WITH_INTERVALS[variant.kind]:
            bounds = (
                replicates.groupby("pilot")[figure]
                .quantile(list(INTERVAL))
                .unstack()
                .reindex(pilots.pilot)
            )
            for side, q in zip(("low", "high"), INTERVAL):
                pilots[f"{figure}_{side}"] = bounds[q].to_numpy() if enough else np.nan
    pilots.insert(0, "year", year.year)
    return YearResult(
        year.year,
        year.fit,
        year.threshold,
        pilots,
        max(used, 0) if replicates is not None else 0,
        year.diagnostics,
    )


def _trend_factor(now: pd.DataFrame, base: pd.DataFrame, by: list[str]) -> np.ndarray:
    """actual_base / expected_base of each row's pilot (NaN for a pilot empty at baseline)."""
    ratio = (base.actual / base.expected.where(base.expected != 0)).rename("_ratio")
    ratio = pd.concat([base[by], ratio], axis=1)
    return now.merge(ratio, on=by, how="left")["_ratio"].to_numpy()


def _outcome(frame: pd.DataFrame, variant: Scenario, by_replicate: bool = False) -> pd.DataFrame:
    out = frame.copy()
    out["gain"] = out.expected - out.actual
    out["oe"] = out.actual / out.expected.where(out.expected != 0)
    if variant.kind == "capitation":
        group = out.groupby("b") if by_replicate else None
        budget = (
            variant.capitation.amount
            if variant.capitation.budget == "amount"
            else group.actual.transform("sum")
            if by_replicate
            else out.actual.sum()
        )
        total = group.expected.transform("sum") if by_replicate else out.expected.sum()
        out["allocated"] = budget * out.expected / total
        out["difference"] = out.allocated - out.actual
    elif not by_replicate:
        out["payout"] = payout(out.gain, out.expected, out.person_years, variant.sharing)
    return out


def _outliers(
    rows: DataFrame, reference: DataFrame, variant: Scenario
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
