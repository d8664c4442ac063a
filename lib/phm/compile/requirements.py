"""Source columns a plan reads, checked against the warehouse before any work starts.

Specs are checked against the documented data model (:mod:`phm.data.schemas`), but a real
warehouse may lack an optional column: ``hospital_stay.main_diagnosis_group`` exists only where
stays were linked with hospital discharge data. A spec that needs a missing column fails here,
naming the spec file, line and field, instead of deep inside Spark.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import SparkSession

from phm.compile.codes import code_column
from phm.compile.plan import Plan
from phm.data.warehouse import Warehouse
from phm.spec.catalogue import Catalogue
from phm.spec.issues import SpecError, SpecIssue, dotted
from phm.spec.models import EPISODE_COLUMNS, Selection

# episode columns computed by the chaining itself, not read from hospital_stay
DERIVED_EPISODE_COLUMNS = {"n_stays", "transferred", "stay_type"}


@dataclass(frozen=True)
class Need:
    table: str
    column: str
    kind: str  # spec folder: features | events
    ident: str
    loc: tuple


def _selection_needs(catalogue: Catalogue, table: str, ident: str, loc: tuple, sel: Selection
                     ) -> list[Need]:
    out = []
    for key in ("codes", "exclude_codes"):
        name = getattr(sel, key)
        if name:
            out.append(Need(table, code_column(catalogue.codelists[name]), "events", ident,
                            loc + (key,)))
    for key in ("where", "exclude"):
        for col in getattr(sel, key):
            if table == "hospital_stay" and col in DERIVED_EPISODE_COLUMNS:
                continue
            out.append(Need(table, col, "events", ident, loc + (key, col)))
    return out


def required_columns(plan: Plan, catalogue: Catalogue) -> list[Need]:
    needs: list[Need] = []
    for p in plan.passes:
        for f in p.features:
            if f.codes:
                needs.append(Need(p.table, code_column(catalogue.codelists[f.codes]), "features",
                                  f.id, ("codes",)))
            needs += [Need(p.table, c, "features", f.id, ("where", c)) for c in f.where]
            if f.of:
                needs.append(Need(p.table, f.of, "features", f.id, ("of",)))
            if f.having:
                needs.append(Need(p.table, f.having.sum_of, "features", f.id,
                                  ("having", "sum_of")))
    for e in plan.events:
        needs += _selection_needs(catalogue, "hospital_stay", e.id, ("index",), e.index)
        needs += _selection_needs(catalogue, e.follow_up.source, e.id, ("follow_up",),
                                  e.follow_up)
    if plan.events:  # chaining itself
        needs += [Need("hospital_stay", c, "events", plan.events[0].id, ("index",))
                  for c in EPISODE_COLUMNS if c not in DERIVED_EPISODE_COLUMNS
                  and c != "main_diagnosis_group"]
    return needs


def check_columns(spark: SparkSession, warehouse: Warehouse, plan: Plan, catalogue: Catalogue
                  ) -> None:
    """Raise :class:`SpecError` listing every needed column the warehouse tables lack."""
    needs = required_columns(plan, catalogue)
    have = {t: set(warehouse.read(spark, t).columns) for t in sorted({n.table for n in needs})}
    issues, seen = [], set()
    for n in needs:
        if n.column in have[n.table] or (n.kind, n.ident, n.loc) in seen:
            continue
        seen.add((n.kind, n.ident, n.loc))
        source = catalogue.sources[(n.kind, n.ident)]
        users = [i.id for i in plan.indicators
                 if (n.kind == "events" and i.events == n.ident)
                 or (n.kind == "features" and n.ident in {f.id for f in
                                                          catalogue.features_for([i])})]
        issues.append(SpecIssue(
            source.name, source.line_of(n.loc), dotted(n.loc),
            f"needs column {n.table}.{n.column}, which the warehouse table does not have "
            f"(columns: {', '.join(sorted(have[n.table]))}); used by indicator(s) "
            f"{', '.join(users) or '-'}. Leave these indicators out (--specs) or load the "
            "column."))
    if issues:
        raise SpecError(issues)
