"""What the indicator catalogue costs compared with reading the claims once (a benchmark, not a test).

    .venv/bin/python benchmarks/bench_indicators.py --warehouse /tmp/wh20k --years 2023 \\
        [--specs-dir indicator_specs] [--collection atlas quality] [--skip-naive] [--repeat 1]
        [--json out.json]

The warehouse must exist (``phm generate --warehouse DIR ...``). The benchmark writes to it:
``person_year`` is overwritten, and the "catalogue incl. publish" step appends a run to
``results``, ``indicator_metadata`` and ``run_ledger``, as ``phm run`` would.

Figures, all wall-clock seconds (``time.perf_counter``) in one local Spark session; with
``--repeat N`` each figure is the best of N:

- **warm-up** (not a figure): population and claims tables read and counted once, so JVM,
  Delta-log and file-listing start-up costs are kept out of what follows. Gives the person and
  claim-row counts shown.
- **floor**: the least any indicator run must do: one bare ``groupBy(person_id, year)`` with
  ``count`` and ``sum(amount_reimbursed)`` (hospital_stay has no amount: count only) over each
  claims table for the selected years, written to Spark's ``noop`` sink so the whole job runs.
  Sum of the three tables.
- **catalogue**: every indicator in one plan, as ``phm run`` computes it, without publishing:
  ``compute`` (builds and materialises ``index_events`` when quality indicators are selected
  and ``person_year`` as Delta in ``<warehouse>/_work/bench/``, then the cube and roll-ups,
  and the hospital risk models) and ``finalise`` (statistics and disclosure control, pandas
  UDF) to noop. ``index_events``, ``person_year`` and ``risk_models`` are the parts of it spent
  on those steps.
- **catalogue incl. publish**: ``run_indicators(full=True)`` end to end (ledger, input versions,
  fingerprints, person-year table, statistics, staged results, the publication gate against the
  previous repeat's results, Delta writes of ``results`` and ``indicator_metadata``, count of
  cells).
- **naive**: each indicator alone, one plan each, no shared person-year table
  (``compute_cells`` without working tables), finalised to noop; summed over indicators.
  What computing indicators one by one would cost. ``--skip-naive`` leaves it out.

Ratios: catalogue / floor (how far the shared plan is from a single scan of the claims) and
naive / catalogue (what sharing saves).

Timings are only comparable on an idle machine; the load average before and after is printed
(and written to the JSON) so a run under contention can be recognised.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from phm.execute.finalise import finalise
from phm.compile.plan import build_plan
from phm.data.warehouse import Warehouse
from phm.disclosure import default_protection
from phm.runs.indicators import (
    available_years,
    compute,
    covered_years,
    compute_cells,
    run_indicators,
    work_of,
)
from phm.runs.gate import GateRules
from phm.spark import get_spark
from phm.spec import load_catalogue
from phm.spec.models import SOURCES
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from rich.console import Console
from rich.table import Table

console = Console()
NO_GATE = GateRules(enabled=False)  # repeated timings recompute the same figures


def _memory_gib() -> float:
    with open("/proc/meminfo") as fh:
        kib = int(fh.readline().split()[1])
    return kib / 1024 / 1024


def _noop(df: DataFrame) -> None:
    df.write.format("noop").mode("overwrite").save()


def _timed(fn, *args) -> tuple[float, object]:
    started = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - started, out


def _best(runs: list[float]) -> float:
    return min(runs)


def warm_up(spark: SparkSession, wh: Warehouse, years: list[int]) -> dict:
    """Read every source table once; counts for the report."""
    pop = wh.read(spark, "population").where(F.col("year").isin(years))
    row = pop.agg(
        F.count("*").alias("rows"), F.count_distinct("person_id").alias("persons")
    ).collect()[0]
    claims = {t: wh.read(spark, t).where(F.col("year").isin(years)).count() for t in SOURCES}
    return {"person_years": int(row.rows), "persons": int(row.persons), "claim_rows": claims}


def floor(spark: SparkSession, wh: Warehouse, years: list[int]) -> dict[str, float]:
    """One bare aggregation pass per claims table, to the noop sink."""
    out = {}
    for table in SOURCES:
        df = wh.read(spark, table).where(F.col("year").isin(years))
        aggs = [F.count("*").alias("n")]
        if "amount_reimbursed" in df.columns:
            aggs.append(F.sum("amount_reimbursed").alias("amount"))
        seconds, _ = _timed(_noop, df.groupBy("person_id", "year").agg(*aggs))
        out[table] = seconds
    return out


def catalogue_run(
    spark: SparkSession, wh: Warehouse, cat, years: list[int], indicators: list
) -> tuple[float, dict]:
    plan = build_plan(cat, indicators)
    timings: dict = {}

    protection = default_protection(wh)

    def go() -> None:
        computed = compute(spark, wh, plan, years, protection.secret, work=work_of(wh, "bench"))
        timings.update(computed.timings)
        _noop(finalise(computed.cells, plan, protection))

    seconds, _ = _timed(go)
    return seconds, timings


def naive_run(
    spark: SparkSession, wh: Warehouse, cat, years: list[int], indicators: list
) -> dict[str, float]:
    out = {}
    protection = default_protection(wh)

    def go(plan) -> None:
        cells = compute_cells(spark, wh, plan, years, protection.secret)
        _noop(finalise(cells, plan, protection))

    for ind in indicators:
        out[ind.id], _ = _timed(go, build_plan(cat, [ind]))
        console.print(f"  naive {ind.id:40s} {out[ind.id]:7.1f} s")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--warehouse", required=True, help="an existing generated warehouse")
    parser.add_argument("--years", help="e.g. 2023 or 2022-2023 (default: all population years)")
    parser.add_argument("--specs-dir", default="indicator_specs")
    parser.add_argument("--collection", nargs="*", help="only these collections (default: all)")
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument("--repeat", type=int, default=1, help="repeat each figure, keep the best")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    spark = get_spark("phm-bench")
    wh = Warehouse.at(args.warehouse)
    have = available_years(spark, wh)
    if args.years:
        first, _, last = args.years.partition("-")
        years = list(range(int(first), int(last or first) + 1))
    else:
        years = have
    missing = [y for y in years if y not in have]
    if missing:
        raise SystemExit(f"no population rows for {missing} in {wh.root}; available: {have}")
    cat = load_catalogue(args.specs_dir)
    indicators = cat.select(collections=args.collection)
    # only indicators whose look-backs the data cover in every year asked for: a published run
    # refuses the others (a window reaching before the data), so both figures leave them out
    computed, skipped = covered_years(
        spark, wh, build_plan(cat, indicators), years, have, asked=False
    )
    indicators = [i for i in indicators if computed[i.id] == years]
    for warning in skipped:
        console.print(f"left out: {warning}")
    load_before = os.getloadavg()
    machine = f"{os.cpu_count()} cores, {_memory_gib():.1f} GiB, {platform.platform()}"
    console.print(f"machine: {machine}")
    console.print(
        f"spark {spark.version}, master {spark.sparkContext.master}, shuffle partitions "
        f"{spark.conf.get('spark.sql.shuffle.partitions')}"
    )
    console.print(
        f"warehouse {wh.root}, years {years}, {len(indicators)} indicators, "
        f"load average {load_before[0]:.2f}"
    )

    warm_seconds, counts = _timed(lambda: warm_up(spark, wh, years))
    console.print(
        f"warm-up {warm_seconds:.1f} s: {counts['persons']:,} persons, "
        f"{sum(counts['claim_rows'].values()):,} claim rows {counts['claim_rows']}"
    )

    runs: dict[str, list] = {"floor": [], "catalogue": [], "catalogue_publish": [], "naive": []}
    details: dict = {"floor": [], "catalogue": [], "catalogue_publish": [], "naive": []}
    result_rows = suppressed_rows = None
    for i in range(args.repeat):
        tag = f"[{i + 1}/{args.repeat}] " if args.repeat > 1 else ""
        per_table = floor(spark, wh, years)
        runs["floor"].append(sum(per_table.values()))
        details["floor"].append(per_table)
        console.print(
            f"{tag}floor {runs['floor'][-1]:.1f} s "
            + ", ".join(f"{t} {s:.1f}" for t, s in per_table.items())
        )

        seconds, timings = catalogue_run(spark, wh, cat, years, indicators)
        runs["catalogue"].append(seconds)
        details["catalogue"].append(timings)
        console.print(f"{tag}catalogue {seconds:.1f} s {timings}")

        ids = [i.id for i in indicators]
        seconds, report = _timed(
            lambda: run_indicators(spark, wh, cat, ids, years, full=True, gate=NO_GATE)
        )
        runs["catalogue_publish"].append(seconds)
        details["catalogue_publish"].append(report.timings)
        result_rows, suppressed_rows = report.result_rows, report.suppressed_rows
        console.print(f"{tag}catalogue incl. publish {seconds:.1f} s {report.timings}")

        if not args.skip_naive:
            per_indicator = naive_run(spark, wh, cat, years, indicators)
            runs["naive"].append(sum(per_indicator.values()))
            details["naive"].append(per_indicator)
            console.print(f"{tag}naive {runs['naive'][-1]:.1f} s")
    load_after = os.getloadavg()

    best = {k: _best(v) if v else None for k, v in runs.items()}
    ratios = {
        "catalogue_over_floor": best["catalogue"] / best["floor"],
        "naive_over_catalogue": best["naive"] / best["catalogue"] if best["naive"] else None,
    }

    table = Table(title=f"indicator run, {wh.root}, years {years[0]}-{years[-1]}")
    table.add_column("figure")
    table.add_column("seconds", justify="right")
    table.add_column("ratio", justify="right")
    table.add_row("floor (bare pass over claims)", f"{best['floor']:.1f}", "1.00")
    table.add_row(
        "catalogue (one plan, noop)",
        f"{best['catalogue']:.1f}",
        f"{ratios['catalogue_over_floor']:.2f} x floor",
    )
    table.add_row(
        "catalogue incl. publish",
        f"{best['catalogue_publish']:.1f}",
        f"{best['catalogue_publish'] / best['floor']:.2f} x floor",
    )
    if best["naive"]:
        table.add_row(
            "naive (one plan per indicator)",
            f"{best['naive']:.1f}",
            f"{ratios['naive_over_catalogue']:.2f} x catalogue",
        )
    console.print()
    console.print(table)
    console.print(
        f"{len(indicators)} indicators, {result_rows:,} result cells "
        f"({suppressed_rows:,} suppressed), {counts['persons']:,} persons, "
        f"{sum(counts['claim_rows'].values()):,} claim rows; load average "
        f"{load_before[0]:.2f} before, {load_after[0]:.2f} after "
        f"(> {os.cpu_count()}: machine shared, timings under contention)"
    )

    if args.json:
        payload = {
            "machine": machine,
            "spark": spark.version,
            "shuffle_partitions": spark.conf.get("spark.sql.shuffle.partitions"),
            "warehouse": wh.root,
            "years": years,
            "repeat": args.repeat,
            "indicators": len(indicators),
            "result_cells": result_rows,
            "suppressed_cells": suppressed_rows,
            **counts,
            "warm_up_seconds": warm_seconds,
            "seconds": best,
            "ratios": ratios,
            "runs": runs,
            "details": details,
            "load_average": {"before": load_before, "after": load_after},
        }
        Path(args.json).write_text(json.dumps(payload, indent=2))
        console.print(f"figures written to {args.json}")


if __name__ == "__main__":
    main()
