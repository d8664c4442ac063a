"""Statistics and disclosure control, one indicator-period at a time.

Runs inside ``groupBy(indicator_id, period).applyInPandas``: each group is one indicator's cells
for one year (thousands of rows nationally), so scipy's exact intervals run on small pandas
frames, in parallel across groups, on the cluster. This is not a hot path: the claims were
reduced to cells long before. Disclosure control (the cell-key method) needs no other cell than
the one it protects, so it would run just as well on any other partition of the cells.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from phm.execute.hospital import HOSPITAL
from phm.compile.plan import Plan
from phm.disclosure import REASON, Protection, PTable, Published, publish_counts, scale_sum
from phm.publish.tables import CELLS, PERIOD_COLUMNS, RESULTS, RUN_COLUMNS, check_stage
from phm.registry.measures import INTERVALS, MEASURES
from phm.spec.models import Disclosure, Indicator
from phm.stats import funnel, intervals
from phm.stats.rounding import round_half_away, snap

# what finalise computes: the declared results columns but those added after it (periods pass,
# run); per indicator-period in pandas, all but the breakdown map, rebuilt from its key in Spark
FINALISED = [c for c in RESULTS.columns if c.name not in (*PERIOD_COLUMNS, *RUN_COLUMNS)]
OUTPUT_COLUMNS = [c.name for c in FINALISED if c.name != "breakdown"]
RESULT_COLUMNS = ", ".join(f"{c.name} {c.dtype.ddl}" for c in FINALISED if c.name in OUTPUT_COLUMNS)
# the cells columns finalise reads (the breakdown map is rebuilt from the key)
CELL_COLUMNS = [c for c in CELLS.column_names if c != "breakdown"]


@dataclass(frozen=True)
class Settings:
    """What finalisation needs to know of an indicator (small and picklable)."""

    version: int
    spec_hash: str
    kind: str
    per: float
    decimals: int
    ci: str
    level: float
    method: str
    disclosure: Disclosure
    dims: tuple[str, ...]
    funnel: tuple[float, ...] = ()

    @classmethod
    def of(cls, ind: Indicator, spec_hash: str) -> Settings:
        funnel = tuple(ind.hospital_comparison.funnel) if ind.hospital_comparison else ()
        return cls(
            ind.version,
            spec_hash,
            ind.measure.kind,
            ind.measure.per,
            ind.measure.decimals,
            ind.measure.interval,
            ind.measure.ci_level,
            ind.standardisation.method,
            ind.disclosure,
            tuple(ind.breakdowns.dims),
            funnel,
        )


def finalise(cells: DataFrame, plan: Plan, protection: Protection) -> DataFrame:
    settings = {ind.id: Settings.of(ind, plan.hashes[ind.id]) for ind in plan.indicators}
    ptable = protection.ptable

    def per_group(pdf: pd.DataFrame) -> pd.DataFrame:
        return finalise_group(pdf, settings[pdf["indicator_id"].iloc[0]], ptable)

    check_stage(cells, CELLS, "finalise")  # the schema only: no Spark job
    out = (
        cells.select(*CELL_COLUMNS)
        .groupBy("indicator_id", "period")
        .applyInPandas(per_group, RESULT_COLUMNS)
    )
    # rebuilt from the key in Spark: 'dim=value' pairs split at '|', each at its first '='
    # (str_to_map turns '' into {'': null}, so no breakdown is the empty map)
    key = F.col("breakdown_key")
    return out.withColumn(
        "breakdown",
        F.when(key == "", F.create_map().cast("map<string,string>")).otherwise(
            F.str_to_map(key, F.lit(r"\|"), F.lit("="))
        ),
    ).select(*[c.name for c in FINALISED])


def finalise_group(pdf: pd.DataFrame, s: Settings, ptable: PTable) -> pd.DataFrame:
    """Values, intervals, standardised values and disclosure control of one indicator-period.

    Disclosure first: every figure is then computed from the published (perturbed) counts, so
    no published figure reveals a true count (:mod:`phm.disclosure.protect`)."""
    check_stage(pdf, CELLS, "finalise (pandas)", CELL_COLUMNS)
    pdf = pdf.reset_index(drop=True)
    shown = publish_counts(
        pdf["npers"], pdf["dpers"], pdf["nkey"], pdf["dkey"], ptable, s.disclosure
    )
    published = _published_sums(pdf, shown, s)
    hospital = (pdf["geo_level"] == HOSPITAL).to_numpy()
    parts = [_values(published[~hospital].reset_index(drop=True), s)]
    if hospital.any():
        parts.append(_hospital_values(published[hospital].reset_index(drop=True), s))
    out = pd.concat(parts, ignore_index=True)
    hidden = np.concatenate([shown.hidden[~hospital], shown.hidden[hospital]])
    out["suppressed"] = hidden
    out["suppression_reason"] = np.where(hidden, REASON, None)
    return _blank(out)[OUTPUT_COLUMNS]


def _published_sums(pdf: pd.DataFrame, shown: Published, s: Settings) -> pd.DataFrame:
    """The cells as published: person counts perturbed, every other sum scaled with its persons,
    standardisation terms scaled with the crude value, expected counts with the denominator."""
    out = pdf.copy()
    num = scale_sum(pdf["num"], pdf["npers"], shown.npers, shown.num_factor)
    den = scale_sum(pdf["den"], pdf["dpers"], shown.dpers, shown.den_factor)
    share = MEASURES[s.kind].share
    if share:  # a subset of the denominator's persons stays a subset
        num = np.minimum(num, den)
    true_num, true_den = pdf["num"].to_numpy(float), pdf["den"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        f_den = np.where(true_den > 0, den / true_den, 1.0)
        crude = np.where(true_den > 0, true_num / true_den, 0.0)
        f_crude = np.where((crude > 0) & (den > 0), (num / den) / crude, 1.0)
    out["num"], out["den"] = num, den
    out["npers"], out["dpers"] = shown.npers, shown.dpers
    out["sq"] = pdf["sq"].to_numpy(float) * shown.num_factor
    # Spark's sums of the standardisation terms and expected counts differ in their last bits
    # from one plan to the next (another run's indicators, other partitions): snapped to 12
    # significant digits they are the same in every run. Unsnapped, a standardised share of
    # 100% came out as 1.0000000000000002 or 0.9999999999999999, on either side of the
    # intervals' boundary cases (p = 1), and its published lower bound as 72.2 in one run and
    # 0.0 in another.
    out["dsr"] = snap(pdf["dsr"].to_numpy(float) * f_crude)
    if share:  # a share stays a share when the perturbation raises it
        out["dsr"] = np.minimum(out["dsr"], 1.0)
    out["dsr_w_max"] = snap(pdf["dsr_w_max"].to_numpy(float) * f_crude)
    # variances of the standardised value scale with its square, as the variance of a value
    # scaled by f_crude would. For the binomial Σ w² p(1-p)/den (dsr_var_binomial) this is
    # only approximate, since p(1-p) does not scale with p: the error is of the order of the
    # perturbation (a few persons in the cell), small against the interval's width.
    for col in ("dsr_var_poisson", "dsr_var_mean", "dsr_var_binomial"):
        out[col] = snap(pdf[col].to_numpy(float) * f_crude**2)
    for col in ("expected", "expected_risk", "var_risk"):
        out[col] = snap(pdf[col].to_numpy(float) * f_den)
    return out


def _values(pdf: pd.DataFrame, s: Settings) -> pd.DataFrame:
    """Crude and standardised values with their intervals, before disclosure control."""
    num, den = pdf["num"].to_numpy(float), pdf["den"].to_numpy(float)
    out = pd.DataFrame(
        {
            "indicator_id": pdf["indicator_id"],
            "indicator_version": s.version,
            "spec_hash": s.spec_hash,
            "period": pdf["period"].astype("int32"),
            "geo_level": pdf["geo_level"],
            "geo_code": pdf["geo_code"],
            "breakdown_key": pdf["breakdown_key"],
            "numerator": num,
            "denominator": den,
            "numerator_persons": round_half_away(pdf["npers"], 0).astype("int64"),
            "denominator_persons": round_half_away(pdf["dpers"], 0).astype("int64"),
        }
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        crude = np.where(den > 0, num / den, np.nan)
        lo, hi = _crude_interval(s, num, den, pdf)
        out["value"] = crude * s.per
        out["ci_low"], out["ci_high"] = lo * s.per, hi * s.per
        std, std_lo, std_hi, expected, oe = _standardised(s, pdf, num)
    out["value_standardised"], out["std_ci_low"], out["std_ci_high"] = std, std_lo, std_hi
    out["expected"], out["oe_ratio"] = expected, oe
    for col in ("value", "ci_low", "ci_high", "value_standardised", "std_ci_low", "std_ci_high"):
        out[col] = round_half_away(out[col], s.decimals)
    out["oe_ratio"] = round_half_away(out["oe_ratio"], 3)  # expected: snapped, not rounded
    for col in ("funnel_low_inner", "funnel_high_inner", "funnel_low_outer", "funnel_high_outer"):
        out[col] = np.nan
    out["outlier"] = None
    return out


def _hospital_values(pdf: pd.DataFrame, s: Settings) -> pd.DataFrame:
    """Hospital rows: crude proportion, O/E against the risk model with its Poisson interval,
    the risk-adjusted value (O/E x the national crude value) and funnel limits on the O/E
    scale, all from the published (perturbed) counts and expected values."""
    out = _values(pdf, replace(s, method="none", dims=()))
    num = pdf["num"].to_numpy(float)
    expected = pdf["expected_risk"].to_numpy(float)
    variance = pdf["var_risk"].to_numpy(float)
    tot_num, tot_den = float(pdf["num"].sum()), float(pdf["den"].sum())
    rate = tot_num / tot_den if tot_den > 0 else np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        oe, lo, hi = intervals.ratio_poisson(num, expected, s.level)
        out["expected"] = expected
        out["oe_ratio"] = round_half_away(oe, 3)
        out["value_standardised"] = round_half_away(oe * rate * s.per, s.decimals)
        out["std_ci_low"] = round_half_away(lo * rate * s.per, s.decimals)
        out["std_ci_high"] = round_half_away(hi * rate * s.per, s.decimals)
        limits = {level: funnel.oe_limits(expected, variance, level) for level in s.funnel}
    inner, outer = min(s.funnel), max(s.funnel)
    out["funnel_low_inner"], out["funnel_high_inner"] = (
        round_half_away(x, 3) for x in limits[inner]
    )
    out["funnel_low_outer"], out["funnel_high_outer"] = (
        round_half_away(x, 3) for x in limits[outer]
    )
    out["outlier"] = funnel.outlier_flags(oe, limits)
    return out


def _crude_interval(s: Settings, num, den, pdf) -> tuple[np.ndarray, np.ndarray]:
    sq = pdf["sq"].to_numpy(float) if "sq" in pdf else np.full(len(num), np.nan)
    return INTERVALS[s.ci].crude(num, den, sq, s.level)


def _standardised(s: Settings, pdf: pd.DataFrame, num: np.ndarray):
    n = len(pdf)
    nan = np.full(n, np.nan)
    if s.method == "direct":
        dsr = pdf["dsr"].to_numpy(float)
        lo, hi = MEASURES[s.kind].standardised_interval(dsr, pdf, s.level)
        return dsr * s.per, lo * s.per, hi * s.per, nan, nan
    if s.method == "indirect":
        expected = pdf["expected"].to_numpy(float)
        total = (pdf["geo_level"] == "belgium") & (pdf["breakdown_key"] == "")
        ref = pdf.loc[total, ["num", "den"]].sum()
        ref_crude = ref["num"] / ref["den"] if ref["den"] > 0 else np.nan
        oe, lo, hi = intervals.ratio_poisson(num, expected, s.level)
        return oe * ref_crude * s.per, lo * ref_crude * s.per, hi * ref_crude * s.per, expected, oe
    return nan, nan, nan, nan, nan


def _blank(out: pd.DataFrame) -> pd.DataFrame:
    """Every number of a suppressed cell (the columns declared disclosive) becomes null; the
    key, flag and reason stay. Person counts of suppressed cells are disclosive too."""
    hidden = out["suppressed"].to_numpy(bool)
    for c in BLANKED:
        kind = c.dtype.ddl
        if kind == "double":
            out[c.name] = out[c.name].astype(float)
            out.loc[hidden, c.name] = np.nan
        elif kind in _NULLABLE_INTS:
            out[c.name] = out[c.name].astype(_NULLABLE_INTS[kind])
            out.loc[hidden, c.name] = pd.NA
        else:
            out[c.name] = out[c.name].astype(object)
            out.loc[hidden, c.name] = None
    return out


BLANKED = [c for c in FINALISED if c.disclosive]
_NULLABLE_INTS = {"bigint": "Int64", "int": "Int32"}
