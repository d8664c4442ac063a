"""Generation throughput at two sizes (a benchmark, not a test).

    .venv/bin/python benchmarks/bench_generate.py [--sizes 50000,200000] [--years 2022-2024]

Prints wall time, rows written per table and rows per second for each size, and the machine
(cores, memory). Sizes should differ by a factor of a few so linearity can be read off.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

from phm.data.warehouse import Warehouse
from phm.spark import get_spark
from phm.synth.generator import generate


def _memory_gib() -> float:
    with open("/proc/meminfo") as fh:
        kib = int(fh.readline().split()[1])
    return kib / 1024 / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="50000,200000")
    parser.add_argument("--years", default="2022-2024")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keep", help="directory to keep the largest warehouse in")
    args = parser.parse_args()
    first, last = (int(y) for y in args.years.split("-"))
    years = list(range(first, last + 1))
    spark = get_spark("phm-bench-generate")
    print(f"machine: {os.cpu_count()} cores, {_memory_gib():.1f} GiB, {platform.platform()}")
    print(
        f"spark {spark.version}, master {spark.sparkContext.master}, shuffle partitions {spark.conf.get('spark.sql.shuffle.partitions')}"
    )
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix=f"phm-bench-{size}-"))
        started = time.perf_counter()
        report = generate(spark, Warehouse.at(root), persons=size, years=years, seed=args.seed)
        seconds = time.perf_counter() - started
        rows = {name: r.accepted_rows for name, r in report.tables.items()}
        total = sum(rows.values())
        results.append((size, seconds, total))
        print(
            f"\n{size:,} persons x {len(years)} years: {seconds:,.1f} s wall, {total:,} rows, {total / seconds:,.0f} rows/s, {size / seconds:,.0f} persons/s"
        )
        for name, n in rows.items():
            print(f"  {name:14s} {n:>14,} rows")
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    if len(results) >= 2:
        (s0, t0, _), (s1, t1, _) = results[0], results[-1]
        print(f"\nscaling: size x{s1 / s0:.1f} -> time x{t1 / t0:.2f}")


if __name__ == "__main__":
    main()
