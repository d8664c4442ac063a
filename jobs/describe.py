"""spark-submit entry point: row counts and headline figures (what `phm describe` does).

python jobs/describe.py --warehouse warehouse [--year 2023]
"""

from __future__ import annotations

import argparse

from phm.cli import args as checks
from phm.cli import render
from phm.cli.jobs import run
from phm.data.warehouse import Warehouse
from phm.errors import WarehouseError
from rich.console import Console


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", required=True, help="warehouse root (directory or URI)")
    parser.add_argument("--year", type=int)
    ns = parser.parse_args(argv)
    checks.check_year(ns.year)

    from phm.data.describe import describe
    from phm.spark import get_spark

    spark = get_spark("phm-describe")
    description = describe(spark, Warehouse.at(ns.warehouse), year=ns.year)
    if not description.years:
        raise WarehouseError(f"no population rows in {ns.warehouse}")
    console = Console(width=140)
    for table in render.describe_tables(description):
        console.print(table)
    return 0


if __name__ == "__main__":
    run(main)
