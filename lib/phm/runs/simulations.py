"""A financing scenario end to end over a warehouse: its person-year rows (one person-year
pass for all variants), then each variant's budget guarantee.

Not yet: publication of the results (tables, disclosure of small pilots), capitation, the
bootstrap and the diagnostics (issue 9).
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark import StorageLevel
from pyspark.sql import SparkSession

from phm.data.warehouse import Warehouse
from phm.simulations.design import kind_of
from phm.simulations.guarantee import YearResult, budget_guarantee
from phm.simulations.population import person_years, scenario_rows
from phm.spec.catalogue import Catalogue


@dataclass(frozen=True)
class VariantResult:
    scenario_id: str
    variant: str
    years: list[YearResult]


def simulate(spark: SparkSession, warehouse: Warehouse, catalogue: Catalogue,
             scenario_id: str) -> list[VariantResult]:
    scenario = catalogue.simulations[scenario_id]
    variants = scenario.variants()
    if any(v.kind != "budget_guarantee" for v in variants.values()):
        raise NotImplementedError(f"{scenario_id}: capitation scenarios are not implemented yet")
    years = sorted({y for v in variants.values() for y in v.years.guarantee})
    table = person_years(spark, warehouse, catalogue, scenario, years).persist(
        StorageLevel.MEMORY_AND_DISK)
    try:
        out = []
        for name, variant in variants.items():
            rows = scenario_rows(table, catalogue, variant)
            kinds = {f: kind_of(f, catalogue) for f in variant.risk_model.factors}
            out.append(VariantResult(scenario_id, name, budget_guarantee(rows, variant, kinds)))
        return out
    finally:
        table.unpersist()
