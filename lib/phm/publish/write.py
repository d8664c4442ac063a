"""Writing a run's output so that readers never see half of it.

Order matters (:func:`phm.runs.indicators.publish_staged`): metadata rows (keyed by spec hash,
so new rows never disturb old results) are merged first, then the results of the run's
indicators and periods are replaced in ONE Delta transaction (``replaceWhere``). A run that dies
before that commit leaves the published results exactly as they were; a rerun replaces the same
slice and converges.
"""

from __future__ import annotations

import datetime as dt
import json

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from phm.data.warehouse import Warehouse
from phm.data.warehouse import add_missing_columns as add_table_columns
from phm.data.schemas import Table
from phm.publish.tables import METADATA, RUNS, check_stage
from phm.spec.catalogue import Catalogue, event_codelists
from phm.spec.models import Indicator


def _sql_list(values) -> str:
    return ", ".join("'" + str(v).replace("'", "''") + "'" for v in values)


def add_missing_columns(spark: SparkSession, warehouse: Warehouse, table: Table) -> None:
    """Bring a published table written by an older phm up to ``table``'s columns."""
    if warehouse.exists(spark, table.name):
        add_table_columns(spark, warehouse.path(table.name), table)


def slices_predicate(periods: dict[str, list[int]]) -> str:
    """SQL predicate of (indicator, period) pairs: one term per set of years."""
    groups: dict[tuple[int, ...], list[str]] = {}
    for ind, years in periods.items():
        if years:
            groups.setdefault(tuple(sorted(years)), []).append(ind)
    return " OR ".join(
        f"(indicator_id IN ({_sql_list(ids)}) AND "
        f"period IN ({', '.join(str(int(y)) for y in years)}))"
        for years, ids in groups.items()
    )


def replace_scenarios(
    spark: SparkSession,
    warehouse: Warehouse,
    table: Table,
    rows: DataFrame,
    scenario_ids: list[str],
) -> None:
    """Replace every row of these scenarios (all variants and years) in ONE transaction."""
    replace_where(spark, warehouse, table, rows, f"scenario_id IN ({_sql_list(scenario_ids)})")


def replace_where(
    spark: SparkSession, warehouse: Warehouse, table: Table, rows: DataFrame, predicate: str
) -> None:
    check_stage(rows, table, f"publish {table.name}")  # the schema only: no Spark job
    rows = rows.select(*table.column_names)
    writer = rows.write.format("delta")
    if warehouse.exists(spark, table.name):
        add_missing_columns(spark, warehouse, table)
        writer.mode("overwrite").option("replaceWhere", predicate).save(warehouse.path(table.name))
    else:
        writer.mode("overwrite").save(warehouse.path(table.name))


def metadata_rows(
    catalogue: Catalogue, indicators: list[Indicator], hashes: dict[str, str]
) -> list[dict]:
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    out = []
    for ind in indicators:
        features = catalogue.features_for([ind])
        std = ind.standardisation
        out.append(
            {
                "indicator_id": ind.id,
                "indicator_version": ind.version,
                "spec_hash": hashes[ind.id],
                "status": ind.status,
                "theme": ind.theme,
                "owner": ind.owner,
                "collections": list(ind.collections),
                "grain": ind.grain,
                "event": (
                    catalogue.events[ind.events].model_dump_json(exclude={"label"})
                    if ind.events
                    else None
                ),
                "hospital_comparison": (
                    ind.hospital_comparison.model_dump_json() if ind.hospital_comparison else None
                ),
                **{f"label_{lang}": getattr(ind.label, lang) for lang in ("nl", "fr", "en")},
                **{
                    f"definition_{lang}": getattr(ind.definition, lang)
                    for lang in ("nl", "fr", "en")
                },
                "measure": ind.measure.kind,
                "per": float(ind.measure.per),
                "unit": ind.measure.unit,
                "decimals": ind.measure.decimals,
                "confidence_interval": ind.measure.interval,
                "standardisation": std.method
                if std.method != "direct"
                else f"direct:{std.reference}",
                "min_count": ind.disclosure.min_count,
                "geography": list(ind.breakdowns.geography)
                + [f"area:{a}" for a in ind.breakdowns.areas],
                "breakdowns": ["+".join(s) or "total" for s in ind.breakdowns.sets],
                "features": {f.id: f.version for f in features},
                "codelists": {
                    c: catalogue.codelists[c].version
                    for c in sorted(
                        {f.codes for f in features if f.codes}
                        | set(event_codelists(catalogue.events[ind.events]) if ind.events else [])
                    )
                },
                "sources": sorted(
                    {"population"}
                    | {f.source for f in features if f.source}
                    | _event_sources(catalogue, ind)
                ),
                "references": list(ind.references),
                "changelog": json.dumps([c.model_dump(mode="json") for c in ind.changelog]),
                "spec_yaml": catalogue.sources[("indicators", ind.id)].path.read_text(
                    encoding="utf-8"
                ),
                "updated_at": now,
            }
        )
    return out


def _event_sources(catalogue: Catalogue, ind: Indicator) -> set[str]:
    if not ind.events:
        return set()
    event = catalogue.events[ind.events]
    return {event.index.source, event.follow_up.source}


def write_metadata(spark: SparkSession, warehouse: Warehouse, frame: DataFrame) -> None:
    """Merge metadata rows (keyed by indicator and spec hash) into the published table."""
    path = warehouse.path(METADATA.name)
    if not warehouse.exists(spark, METADATA.name):
        frame.write.format("delta").save(path)
        return
    add_missing_columns(spark, warehouse, METADATA)
    from delta.tables import DeltaTable

    (
        DeltaTable.forPath(spark, path)
        .alias("t")
        .merge(frame.alias("s"), "t.indicator_id = s.indicator_id AND t.spec_hash = s.spec_hash")
        .whenMatchedUpdateAll()
        .whenNotMatchedInsertAll()
        .execute()
    )


def append_ledger(spark: SparkSession, warehouse: Warehouse, row: dict) -> None:
    full = {c: row.get(c) for c in RUNS.column_names}
    full["at"] = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    for key in ("spec_hashes", "input_versions", "timings"):
        full[key] = full[key] or {}
    full["periods"] = full["periods"] or []
    spark.createDataFrame([full], RUNS.schema).write.format("delta").mode("append").option(
        "mergeSchema", "true"
    ).save(warehouse.path(RUNS.name))


def with_timestamp(results: DataFrame, run_id: str) -> DataFrame:
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return results.withColumn("run_id", F.lit(run_id)).withColumn("computed_at", F.lit(now))
