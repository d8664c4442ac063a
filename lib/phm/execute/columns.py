"""The source columns a plan reads, checked against the warehouse before any work starts.

Specs are checked against the documented data model (:mod:`phm.data.schemas`), but a real
warehouse may lack an optional column: ``hospital_stay.main_diagnosis_group`` exists only where
stays were linked with hospital discharge data. A spec that needs a missing column fails here,
naming the spec file, line and field (resolved into the plan's ``reads``), instead of deep
inside Spark.
"""

from __future__ import annotations

from pyspark.sql import SparkSession

from phm.compile.plan import Plan
from phm.data.warehouse import Warehouse
from phm.spec.issues import SpecError, SpecIssue


def check_columns(spark: SparkSession, warehouse: Warehouse, plan: Plan) -> None:
    """Raise :class:`SpecError` listing every column the plan reads that the warehouse tables
    lack (one issue per spec field)."""
    have = {t: set(warehouse.read(spark, t).columns) for t in sorted({r.table for r in plan.reads})}
    issues, seen = [], set()
    for r in plan.reads:
        if r.column in have[r.table] or (r.file, r.field) in seen:
            continue
        seen.add((r.file, r.field))
        issues.append(
            SpecIssue(
                r.file,
                r.line,
                r.field,
                f"needs column {r.table}.{r.column}, which the warehouse table does not have "
                f"(columns: {', '.join(sorted(have[r.table]))}); used by indicator(s) "
                f"{', '.join(r.used_by) or '-'}. Leave these indicators out (--specs) or load the "
                "column.",
            )
        )
    if issues:
        raise SpecError(issues)
