"""`phm generate`: build a synthetic warehouse, or add the next accounting month to one.

The whole claims history of the simulated years (the "universe") is a deterministic function of
(persons, years, seed). A warehouse holds the part booked up to its as-of accounting month; the
next month's increment is the part booked in that month (late claims for earlier services
included), so a warehouse grown month by month equals one generated directly at the later as-of.
Every table passes through the same validated load (accepted + quarantined = input).
"""

from __future__ import annotations

import datetime as dt
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Mapping
from typing import TYPE_CHECKING, Callable

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from phm.data import reference
from phm.data.load import LoadResult, load_table
from phm.data.schemas import SOURCE_TABLES
from phm.data.warehouse import Warehouse
from phm.errors import InputError, WarehouseError
from phm.synth import claims, lags, params as P, pharmacy, population, stays
from phm.synth.pilot import PilotEffect, check_pilot_effect

if TYPE_CHECKING:
    from phm.data.layouts import DeliveryLayout

# the order tables are loaded in: claims are checked against the population
SOURCE_TABLE_NAMES = ("population", "hospital_stay", "health_care", "pharmacy")

STAGING = "_phm/staging"
GENERATOR_VERSION = 1

Progress = Callable[[str], None]


@dataclass
class GenerateReport:
    tables: dict[str, LoadResult] = field(default_factory=dict)
    as_of: dt.date | None = None
    seconds: float = 0.0
    defects_planted: int = 0


@dataclass
class Universe:
    population: DataFrame
    hospital_stay: DataFrame
    health_care: DataFrame
    pharmacy: DataFrame

    def tables(self) -> dict[str, DataFrame]:
        return {
            "population": self.population,
            "hospital_stay": self.hospital_stay,
            "health_care": self.health_care,
            "pharmacy": self.pharmacy,
        }


def default_as_of(years: list[int]) -> dt.date:
    return dt.date(years[-1] + 1, P.DEFAULT_AS_OF_MONTHS_AFTER, 1)


def check_parameters(persons: int, years: list[int], seed: int) -> None:
    if persons < 100:
        raise InputError(f"--persons must be at least 100 (got {persons})")
    if not years or years != list(range(years[0], years[-1] + 1)):
        raise InputError(f"--years must be consecutive years (got {years})")
    if years[0] < 2002 or years[-1] > 2100:
        raise InputError(
            f"--years must lie in 2002-2100: IMA data start in 2002 (got {years[0]}-{years[-1]})"
        )
    if seed < 0:
        raise InputError(f"--seed must be non-negative (got {seed})")


def build_universe(
    spark: SparkSession,
    staging: str,
    *,
    persons: int,
    years: list[int],
    seed: int,
    pilot_effect: PilotEffect | None = None,
    progress: Progress = lambda _: None,
) -> Universe:
    """Compute persons and stays once into staging Delta tables; claims are derived lazily.
    ``pilot_effect`` scales the claims' and deliveries' amounts (stays carry no amounts)."""
    progress(f"simulating {persons:,} persons over {years[0]}-{years[-1]}")
    people = population.persons(spark, n_persons=persons, years=years, seed=seed)
    py_path, stays_path = f"{staging}/person_year", f"{staging}/stays"
    population.person_years(people, years=years, seed=seed).write.format("delta").mode(
        "overwrite"
    ).option("overwriteSchema", "true").save(py_path)
    py = spark.read.format("delta").load(py_path)
    progress("simulating hospital stays")
    stays.stays(spark, py, seed=seed, years=years).write.format("delta").mode("overwrite").option(
        "overwriteSchema", "true"
    ).save(stays_path)
    st = spark.read.format("delta").load(stays_path)

    hospital_stay = stays.stay_rows(st).withColumn(
        "accounting_month", lags.hospital_month(seed, F.col("discharge_date"), F.col("stay_id"))
    )
    health_care = claims.health_care(
        spark, py, st, seed=seed, years=years, pilot_effect=pilot_effect
    )
    health_care = health_care.withColumn(
        "accounting_month", lags.health_care_month(seed, F.col("service_date"), F.col("claim_id"))
    ).drop("pid")
    deliveries = pharmacy.pharmacy(spark, py, seed=seed, pilot_effect=pilot_effect)
    deliveries = deliveries.withColumn(
        "accounting_month", lags.pharmacy_month(seed, F.col("delivery_date"), F.col("delivery_id"))
    ).drop("pid")
    return Universe(
        population=population.population_rows(py),
        hospital_stay=hospital_stay,
        health_care=health_care,
        pharmacy=deliveries,
    )


def _conform(df: DataFrame, table: str) -> DataFrame:
    cols = [c for c in SOURCE_TABLES[table].column_names if c != "load_id"]
    return df.select(*cols)


def _clear(warehouse: Warehouse) -> None:
    """A generated warehouse starts empty: no rows of an earlier generation survive."""
    if not warehouse.is_local:
        return
    root = Path(warehouse.root)
    for name in [
        *SOURCE_TABLES,
        "quarantine",
        "load_log",
        "ref_geography",
        "ref_nomenclature",
        "ref_products",
        "defects_manifest",
    ]:
        shutil.rmtree(root / name, ignore_errors=True)
    for path in (root / "_phm").glob("*"):  # phm's state, but the lease this command holds
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        elif not path.name.startswith("lease."):
            path.unlink(missing_ok=True)


def generate(
    spark: SparkSession,
    warehouse: Warehouse,
    *,
    persons: int,
    years: list[int],
    seed: int,
    as_of: dt.date | None = None,
    defects: bool = False,
    defect_rate: float = 0.001,
    pilot_effect: PilotEffect | None = None,
    progress: Progress = lambda _: None,
    to_files: Path | None = None,
    layouts: Mapping[str, DeliveryLayout] | None = None,
) -> GenerateReport:
    """Build a fresh warehouse holding everything booked up to ``as_of``.

    With ``to_files``, the source tables are not loaded: each is written as a delivery file in
    ``to_files/<table>/`` in ``layouts[table]`` (the warehouse gets its reference tables only),
    for ``phm ingest`` to load: the path file -> warehouse of real deliveries."""
    if to_files is not None and set(layouts or {}) != set(SOURCE_TABLE_NAMES):
        raise InputError(
            f"--to-files needs a delivery layout per source table: {SOURCE_TABLE_NAMES}"
        )
    check_parameters(persons, years, seed)
    if pilot_effect is not None:
        check_pilot_effect(pilot_effect, years)
    as_of = (as_of or default_as_of(years)).replace(day=1)
    if as_of < dt.date(years[0], 1, 1):
        raise InputError(f"--as-of {as_of:%Y-%m} lies before the first simulated year {years[0]}")
    started = time.perf_counter()
    _clear(warehouse)
    progress("writing reference tables")
    reference.write_reference_tables(spark, warehouse)
    universe = build_universe(
        spark,
        warehouse.path(STAGING),
        persons=persons,
        years=years,
        seed=seed,
        pilot_effect=pilot_effect,
        progress=progress,
    )
    frames = {name: _conform(df, name) for name, df in universe.tables().items()}
    frames = {
        name: (df if name == "population" else df.where(F.col("accounting_month") <= F.lit(as_of)))
        for name, df in frames.items()
    }
    report = GenerateReport(as_of=as_of)
    if defects:
        from phm.synth.defects import plant_defects, write_manifest

        progress("planting defects")
        frames, manifest = plant_defects(frames, seed=seed, rate=defect_rate)
        write_manifest(manifest, warehouse)
        report.defects_planted = (
            spark.read.format("delta").load(warehouse.path("defects_manifest")).count()
        )
    if to_files is not None:
        from phm.data.ingest import write_delivery

        assert layouts is not None
        for name in SOURCE_TABLE_NAMES:
            progress(f"writing {name} as {layouts[name].id} files")
            write_delivery(frames[name], layouts[name], Path(to_files) / name)
        _drop_staging(warehouse)
        report.seconds = time.perf_counter() - started
        return report
    for name in SOURCE_TABLE_NAMES:
        progress(f"loading {name}")
        report.tables[name] = load_table(
            spark, warehouse, name, frames[name], load_id=f"{name}-initial"
        )
    # the effect's municipalities are recorded, so --next-month re-applies it identically
    # whatever the area set's file says by then
    warehouse.write_state(
        {
            "persons": persons,
            "years": years,
            "seed": seed,
            "as_of": as_of.isoformat(),
            "defects": defects,
            "defect_rate": defect_rate,
            "pilot_effect": pilot_effect.to_state() if pilot_effect else None,
            "generator_version": GENERATOR_VERSION,
        }
    )
    _drop_staging(warehouse)
    report.seconds = time.perf_counter() - started
    return report


def generate_next_month(
    spark: SparkSession, warehouse: Warehouse, *, progress: Progress = lambda _: None
) -> GenerateReport:
    """Load the claims, deliveries and stays booked in the month after the warehouse's as-of."""
    state = warehouse.read_state()
    if not state:
        raise WarehouseError(
            f"{warehouse.root} holds no generated warehouse (no {warehouse.root}/_phm/state.json); run `phm generate` first"
        )
    started = time.perf_counter()
    month = dt.date.fromisoformat(state["as_of"])
    month = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
    universe = build_universe(
        spark,
        warehouse.path(STAGING),
        persons=state["persons"],
        years=state["years"],
        seed=state["seed"],
        pilot_effect=PilotEffect.from_state(state.get("pilot_effect")),
        progress=progress,
    )
    report = GenerateReport(as_of=month)
    for name in ("hospital_stay", "health_care", "pharmacy"):
        progress(f"loading {name} booked in {month:%Y-%m}")
        df = _conform(universe.tables()[name], name).where(
            F.col("accounting_month") == F.lit(month)
        )
        report.tables[name] = load_table(spark, warehouse, name, df, load_id=f"{name}-{month:%Y%m}")
    warehouse.write_state({**state, "as_of": month.isoformat()})
    _drop_staging(warehouse)
    report.seconds = time.perf_counter() - started
    return report


def _drop_staging(warehouse: Warehouse) -> None:
    if warehouse.is_local:
        shutil.rmtree(Path(warehouse.path(STAGING)), ignore_errors=True)
