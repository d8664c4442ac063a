"""The nightly cycle on a generated warehouse: a full run, then one new accounting month
appended and the incremental run, then a run with nothing stale, side by side.

    .venv/bin/python benchmarks/bench_nightly.py --warehouse DIR [--copy-to DIR] [--json out.json]

The warehouse must be a generated one (``phm generate``: its state file says which month comes
next). It is changed (results published, a month appended): pass ``--copy-to`` to work on a
copy. Prints, with the load average before and after (contended runs show there):

- **full**: ``phm run --full`` of the whole catalogue, published;
- **new month**: ``phm generate --next-month`` (the claims, deliveries and stays booked in the
  next accounting month; not part of the ratios);
- **incremental**: the run after it: only the (indicator, period) pairs whose source partitions
  changed, with what it recomputed;
- **nothing stale**: the run after that;
- **equal to full**: a second full run's results compared with the incremental run's, cell by
  cell (run id and time left out).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time

from phm.data.warehouse import Warehouse
from phm.runs.gate import GateRules
from phm.runs.indicators import accept, run_indicators
from phm.spark import get_spark
from phm.spec import load_catalogue
from phm.synth.generator import generate_next_month

KEY = ["indicator_id", "period", "geo_level", "geo_code", "breakdown_key"]


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, round(time.perf_counter() - start, 1)


def _results(spark, wh: Warehouse):
    frame = wh.read(spark, "results").drop("run_id", "computed_at", "breakdown").toPandas()
    return frame.sort_values(KEY).reset_index(drop=True)


def _differences(a, b) -> dict:
    """Per column, the cells that differ and the (indicator, period) pairs they are in."""
    both = a.merge(b, on=KEY, how="outer", suffixes=("_a", "_b"), indicator=True)
    out: dict = {"only_one_side": int((both["_merge"] != "both").sum())}
    both = both[both["_merge"] == "both"]
    for col in [c for c in a.columns if c not in KEY]:
        x, y = both[f"{col}_a"], both[f"{col}_b"]
        differs = ~((x == y) | (x.isna() & y.isna()))
        if differs.any():
            where = both.loc[differs, ["indicator_id", "period"]].value_counts().head(10)
            out[col] = {
                "cells": int(differs.sum()),
                "where": {str(k): int(v) for k, v in where.items()},
            }
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--warehouse", required=True)
    parser.add_argument("--copy-to")
    parser.add_argument("--specs-dir", default="indicator_specs")
    parser.add_argument("--json")
    args = parser.parse_args()
    if args.copy_to:
        shutil.rmtree(args.copy_to, ignore_errors=True)
        shutil.copytree(args.warehouse, args.copy_to)
    wh = Warehouse.at(args.copy_to or args.warehouse)
    spark = get_spark("phm-bench-nightly")
    catalogue = load_catalogue(args.specs_dir)
    figures: dict = {"load_before": os.getloadavg(), "persons": wh.read_state().get("persons")}
    print(f"machine: {os.cpu_count()} cores; load average {figures['load_before']}")

    full, figures["full_s"] = _timed(
        lambda: run_indicators(spark, wh, catalogue, full=True, gate=GateRules(enabled=False))
    )
    pairs = sum(map(len, full.computed.values()))
    print(f"full run: {figures['full_s']} s, {pairs} indicator x period pairs")

    month, figures["new_month_s"] = _timed(lambda: generate_next_month(spark, wh))
    added = {t: r.accepted_rows for t, r in month.tables.items()}
    print(f"new month {month.as_of}: {added} rows in {figures['new_month_s']} s")

    nightly, figures["incremental_s"] = _timed(lambda: run_indicators(spark, wh, catalogue))
    recomputed = sum(map(len, nightly.computed.values()))
    figures["incremental_pairs"] = recomputed
    figures["incremental_years"] = nightly.periods
    figures["incremental_held"] = nightly.held
    print(
        f"incremental: {figures['incremental_s']} s = "
        f"{figures['incremental_s'] / figures['full_s']:.0%} of full; {recomputed} of {pairs} "
        f"pairs recomputed (years {nightly.periods}); held: {nightly.held}"
    )
    if nightly.held:  # an ordinary month should not be held: say why it was, then accept
        figures["gate_reasons"] = nightly.gate.reasons
        print("held by the gate:\n  " + "\n  ".join(nightly.gate.reasons[:20]))
        accept(spark, wh, nightly.run_id)
    incremental = _results(spark, wh)

    quiet, figures["nothing_stale_s"] = _timed(lambda: run_indicators(spark, wh, catalogue))
    assert quiet.nothing_stale, quiet.computed
    print(
        f"nothing stale: {figures['nothing_stale_s']} s = "
        f"{figures['nothing_stale_s'] / figures['full_s']:.0%} of full"
    )

    run_indicators(spark, wh, catalogue, full=True, gate=GateRules(enabled=False))
    again = _results(spark, wh)
    figures["equal_to_full"] = bool(again.equals(incremental))
    print(f"incremental results equal a full recompute: {figures['equal_to_full']}")
    if not figures["equal_to_full"]:  # say where: columns, indicators and periods
        figures["differences"] = _differences(incremental, again)
        print(json.dumps(figures["differences"], indent=1, default=str)[:3000])
    figures["load_after"] = os.getloadavg()
    print(f"load average after: {figures['load_after']}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(figures, fh, indent=2, default=str)


if __name__ == "__main__":
    main()
