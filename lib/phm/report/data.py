"""The published tables the Atlas is drawn from, brought to pandas.

Only published tables are read (``results``, ``indicator_metadata``, ``risk_models`` and the
simulation tables when present), never a person-level table; results lose their internal
person counts on the way. They are cells, small enough for the driver.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from phm.errors import WarehouseError
from phm.publish.tables import RESULTS

INTERNAL = ("numerator_persons", "denominator_persons")
SIMULATION_TABLES = ("simulation_results", "simulation_models", "simulation_diagnostics")


@dataclass
class ReportData:
    """Published tables of one warehouse as pandas frames (simulation frames ``None`` when the
    warehouse holds none). ``results`` keeps, per indicator, the latest spec hash only."""

    results: pd.DataFrame
    metadata: pd.DataFrame
    risk_models: pd.DataFrame = field(default_factory=pd.DataFrame)
    simulation_results: pd.DataFrame | None = None
    simulation_models: pd.DataFrame | None = None
    simulation_diagnostics: pd.DataFrame | None = None

    @property
    def has_simulations(self) -> bool:
        return self.simulation_results is not None and not self.simulation_results.empty


def latest_versions(
    results: pd.DataFrame, metadata: pd.DataFrame, include_drafts: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per indicator, the spec hash of its most recently computed rows: results of that hash and
    its metadata row. Drafts (computed for review) are left out unless ``include_drafts``."""
    if results.empty:
        return results, metadata.iloc[0:0]
    r = results.drop(columns=[c for c in INTERNAL if c in results], errors="ignore")
    order = r.sort_values(["indicator_id", "computed_at", "spec_hash"])
    latest = order.groupby("indicator_id", sort=True)["spec_hash"].last()
    keep = r.set_index(["indicator_id", "spec_hash"]).index.isin(list(latest.items()))
    r = r[keep]
    m = metadata[metadata.set_index(["indicator_id", "spec_hash"]).index.isin(list(latest.items()))]
    if not include_drafts:
        m = m[m.status != "draft"]
        r = r[r.indicator_id.isin(m.indicator_id)]
    return r.reset_index(drop=True), m.reset_index(drop=True)


def load(spark, warehouse, include_drafts: bool = False) -> ReportData:
    """Read the published tables of ``warehouse`` with Spark and return them as pandas."""
    if not warehouse.exists(spark, "results"):
        raise WarehouseError(f"no results in {warehouse.root}: run `phm run` first")
    results = warehouse.read(spark, "results").drop(*INTERNAL).toPandas()
    # a table written by an older phm lacks the newer columns: null there
    for column in RESULTS.column_names:
        if column not in results and column not in INTERNAL:
            results[column] = None
    metadata = warehouse.read(spark, "indicator_metadata").drop("spec_yaml").toPandas()
    results, metadata = latest_versions(results, metadata, include_drafts)
    risk = (
        warehouse.read(spark, "risk_models").toPandas()
        if warehouse.exists(spark, "risk_models")
        else pd.DataFrame()
    )
    sims = {
        name: warehouse.read(spark, name).toPandas() if warehouse.exists(spark, name) else None
        for name in SIMULATION_TABLES
    }
    return ReportData(results, metadata, risk, **sims)
