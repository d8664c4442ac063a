"""Atlas-ready exports of published values: one CSV and one JSON file per indicator.

Only what may be published leaves: suppressed cells keep their row (so a map shows "not
published" rather than "no data") with every number blank; person counts are not exported.
Results are small (cells, not persons), so they are brought to the driver per indicator.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from phm.data.reference_data import arrondissements, municipalities, provinces_regions
from phm.data.warehouse import Warehouse
from phm.errors import WarehouseError
from phm.publish.tables import RESULTS

# blank in a suppressed cell: the results columns declared disclosive (the person counts among
# them are not exported at all)
VALUE_COLUMNS = [c.name for c in RESULTS.columns if c.disclosive]


def geo_names() -> pd.DataFrame:
    """Names of every geography unit, one row per (``geo_level``, ``geo_code``): NL and FR for
    all, EN for Belgium, the regions and the province-level units (municipalities and
    arrondissements have no English name). Brussels-Capital is ``04000`` at both the province
    and the region level."""
    m = municipalities()[["nis", "name_nl", "name_fr"]].assign(geo_level="municipality")
    a = (
        arrondissements()[["arr_nis", "name_nl", "name_fr"]]
        .rename(columns={"arr_nis": "nis"})
        .assign(geo_level="arrondissement")
    )
    pr = provinces_regions()
    levels = pr["level"].map({"country": "belgium", "region": "region", "province": "province"})
    p = pr[["nis", "name_nl", "name_fr", "name_en"]].assign(geo_level=levels)
    names = pd.concat([m, a, p], ignore_index=True)
    return names.rename(
        columns={
            "nis": "geo_code",
            "name_nl": "geo_name_nl",
            "name_fr": "geo_name_fr",
            "name_en": "geo_name_en",
        }
    )


def export_results(
    spark: SparkSession, warehouse: Warehouse, out: Path, ids: list[str] | None = None
) -> list[Path]:
    if not warehouse.exists(spark, "results"):
        raise WarehouseError(f"no results in {warehouse.root}: run `phm run` first")
    results = warehouse.read(spark, "results")
    metadata = warehouse.read(spark, "indicator_metadata")
    if ids:
        results = results.where(F.col("indicator_id").isin(ids))
    else:  # drafts are computed for review, not published unless asked for by name
        drafts = metadata.where(F.col("status") == "draft").select("indicator_id")
        results = results.join(drafts, "indicator_id", "left_anti")
    out.mkdir(parents=True, exist_ok=True)
    names = geo_names()
    written: list[Path] = []
    present = sorted(r.indicator_id for r in results.select("indicator_id").distinct().collect())
    for ind in present:
        rows = (
            results.where(F.col("indicator_id") == ind)
            .drop("numerator_persons", "denominator_persons")
            .toPandas()
        )
        hashes = sorted(rows["spec_hash"].unique())
        meta = (
            metadata.where((F.col("indicator_id") == ind) & F.col("spec_hash").isin(hashes))
            .drop("spec_yaml")
            .toPandas()
        )
        frame = published_frame(rows, names)
        csv_path = out / f"{ind}.csv"
        frame.to_csv(csv_path, index=False)
        json_path = out / f"{ind}.json"
        json_path.write_text(
            json.dumps(
                {
                    "indicator": json.loads(meta.to_json(orient="records", date_format="iso")),
                    "values": json.loads(frame.to_json(orient="records")),
                },
                ensure_ascii=False,
                indent=1,
            ),
            encoding="utf-8",
        )
        written += [csv_path, json_path]
    return written


def published_frame(rows: pd.DataFrame, names: pd.DataFrame) -> pd.DataFrame:
    """Results of one indicator as a flat table: one column per breakdown dimension."""
    rows = rows.copy()
    rows.loc[rows["suppressed"], [c for c in VALUE_COLUMNS if c in rows]] = None
    breakdowns = pd.DataFrame(
        [dict(b) if b is not None else {} for b in rows["breakdown"]], index=rows.index
    )
    rows = pd.concat([rows.drop(columns=["breakdown"]), breakdowns], axis=1)
    rows = rows.merge(names, on=["geo_level", "geo_code"], how="left")
    keys = [
        "indicator_id",
        "indicator_version",
        "period",
        "geo_level",
        "geo_code",
        "geo_name_nl",
        "geo_name_fr",
        "geo_name_en",
        *sorted(breakdowns.columns),
    ]
    rest = [c for c in rows.columns if c not in keys]
    return rows[keys + rest].sort_values(
        keys[:5] + sorted(breakdowns.columns), na_position="first", kind="stable"
    )
