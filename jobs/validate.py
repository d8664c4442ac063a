"""spark-submit entry point: validate a warehouse (what `phm validate` does).

Exit status 0 when the loaded tables hold no violations, 2 otherwise (warnings do not fail).

    python jobs/validate.py --warehouse warehouse
"""

from __future__ import annotations

import argparse

from phm.cli import render
from phm.cli.jobs import run
from phm.cli.main import EXIT_VIOLATIONS, has_violations
from phm.data.warehouse import Warehouse
from rich.console import Console


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", required=True, help="warehouse root (directory or URI)")
    ns = parser.parse_args(argv)

    from phm.data.load import validate_warehouse
    from phm.spark import get_spark

    spark = get_spark("phm-validate")
    report = validate_warehouse(spark, Warehouse.at(ns.warehouse))
    render.render_report(Console(width=140), report, "Validation")
    return EXIT_VIOLATIONS if has_violations(report) else 0


if __name__ == "__main__":
    run(main)
