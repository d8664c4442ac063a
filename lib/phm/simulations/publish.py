"""What a financing run publishes: per pilot and year its figures under the cell-key method
(docs/disclosure.md), and per year the risk model.

A pilot's ``persons`` is a person count: it is perturbed with the cell key of its persons
(the same persons always get the same noise, across scenarios, variants and indicators). The
pilot is hidden when it has fewer than ``min_count`` persons, true or perturbed; every number of
a hidden row is null. The euro sums (``actual``, ``expected``, ``gain``, ``payout``) and
``person_years`` are multiplied by ``perturbed / true`` persons, as any sum in an indicator
cell, and so are their interval bounds; ``oe_ratio`` is the ratio of the published actual and
expected (so unchanged), its interval bounds too.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from phm.disclosure.cell_key import PTable, cell_key
from phm.disclosure.protect import REASON
from phm.simulations.guarantee import YearResult

MIN_COUNT = 5  # IMA's rule, as for indicators
# euro sums and person-years: scaled with the perturbed persons
SCALED = (
    "person_years",
    "actual",
    "expected",
    "expected_low",
    "expected_high",
    "gain",
    "gain_low",
    "gain_high",
    "payout",
    "allocated",
    "difference",
    "difference_low",
    "difference_high",
)
RATIOS = ("oe_ratio", "oe_low", "oe_high")  # ratios of two scaled sums: unchanged


def _perturbed(
    rows: pd.DataFrame, ptable: PTable, min_count: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Published persons (cell-key noise on ``persons`` with ``key``), whether each row is
    hidden (under ``min_count``, true or perturbed), and the factor that scales its sums."""
    true = rows.persons.to_numpy(np.int64)
    published = ptable.perturb(true, cell_key(rows.key.to_numpy(float)))
    hidden = (true < min_count) | (published < min_count)
    return published, hidden, np.where(true > 0, published / np.maximum(true, 1), 1.0)


def protect_pilots(
    pilots: pd.DataFrame, ptable: PTable, min_count: int = MIN_COUNT
) -> pd.DataFrame:
    """``pilots`` (with ``key``) as published: perturbed persons, scaled sums, hidden rows.
    A figure the scenario does not have (a payout under capitation, intervals without a
    bootstrap) is null."""
    out = pilots.drop(columns="key").rename(columns={"oe": "oe_ratio"}).copy()
    for column in (*SCALED, *RATIOS):
        if column not in out:
            out[column] = np.nan
    published, hidden, factor = _perturbed(pilots, ptable, min_count)
    out["persons"] = published
    for column in SCALED:
        out[column] = np.round(out[column].to_numpy(float) * factor, 2)
    out["oe_ratio"] = out.actual / out.expected
    for column in ("persons", *SCALED, *RATIOS):
        values = out[column].astype(object)
        out[column] = values.where(~hidden & pd.notna(values), None)
    out["suppressed"] = hidden
    out["suppression_reason"] = np.where(hidden, REASON, None)
    return out


def result_rows(
    scenario_id: str, variant: str, spec_hash: str, year: YearResult, ptable: PTable
) -> pd.DataFrame:
    rows = protect_pilots(year.pilots, ptable).rename(columns={"pilot": "area"})
    rows.insert(0, "scenario_id", scenario_id)
    rows.insert(1, "variant", variant)
    rows.insert(2, "spec_hash", spec_hash)
    rows["outlier_threshold"] = year.threshold
    return rows


def model_rows(scenario_id: str, variant: str, spec_hash: str, year: YearResult) -> pd.DataFrame:
    fit = year.fit
    return pd.DataFrame(
        {
            "scenario_id": scenario_id,
            "variant": variant,
            "spec_hash": spec_hash,
            "year": year.year,
            "family": fit.family,
            "term": list(fit.names),
            "coefficient": fit.coef,
            "std_error": fit.se,
            "r2": fit.r2,
            "scale": fit.scale,
            "rows": fit.n,
            "person_years": fit.weight_sum,
            "iterations": fit.iterations,
            "outlier_threshold": year.threshold,
            "replicates": year.replicates,
            "cpm": year.reference_fit().cpm,
            "mape": year.reference_fit().mape,
        }
    )


def diagnostic_rows(
    scenario_id: str,
    variant: str,
    spec_hash: str,
    year: YearResult,
    ptable: PTable,
    min_count: int = MIN_COUNT,
) -> pd.DataFrame:
    """Predictive ratios as published: persons perturbed with their cell key, sums scaled,
    groups under ``min_count`` persons (true or perturbed) hidden; ratios, CPM and MAPE are
    ratios of two scaled sums, so unchanged."""
    d = year.diagnostics
    published, hidden, factor = _perturbed(d, ptable, min_count)
    out = d.drop(columns="key").copy()
    out["persons"] = published
    for column in ("person_years", "actual", "expected"):
        out[column] = np.round(out[column].to_numpy(float) * factor, 2)
    for column in (
        "persons",
        "person_years",
        "actual",
        "expected",
        "ratio",
        "ratio_low",
        "ratio_high",
        "cpm",
        "mape",
    ):
        values = out[column].astype(object)
        out[column] = values.where(~hidden & pd.notna(values), None)
    out["suppressed"] = hidden
    out.insert(0, "scenario_id", scenario_id)
    out.insert(1, "variant", variant)
    out.insert(2, "spec_hash", spec_hash)
    out.insert(3, "year", year.year)
    return out
