"""spark-submit entry point: financing scenarios (what `phm simulate` does).

python jobs/simulate.py --warehouse s3://bucket/phm --specs-dir indicator_specs \
    [--scenarios ID ...] [--set path=value ...]

The spec folder is read on the driver: ship it with the job. Exit status 1 on a user error
(bad spec, unknown scenario, bad override), with the message only.
"""

from __future__ import annotations

import argparse

from phm.cli.jobs import log, run
from phm.data.warehouse import Warehouse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", required=True, help="warehouse root (directory or URI)")
    parser.add_argument("--specs-dir", default="indicator_specs")
    parser.add_argument("--scenarios", nargs="*", help="scenario ids (default: every scenario)")
    parser.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        help="path=value override (repeatable), as phm simulate --set",
    )
    ns = parser.parse_args(argv)

    from phm.runs.simulations import (
        apply_overrides,
        check_scenarios,
        default_scenarios,
        run_simulations,
    )
    from phm.spark import get_spark
    from phm.spec import load_catalogue

    catalogue = load_catalogue(ns.specs_dir)  # fails on a bad spec before Spark starts
    chosen = ns.scenarios or default_scenarios(catalogue)
    catalogue, chosen = apply_overrides(catalogue, chosen, ns.settings)
    check_scenarios(catalogue, chosen)
    spark = get_spark("phm-simulate")
    report = run_simulations(spark, Warehouse.at(ns.warehouse), catalogue, chosen)
    log(
        f"run {report.run_id}: {len(chosen)} scenario(s), "
        f"{report.results.variant.nunique()} variant(s), {len(report.results)} rows"
    )
    return 0


if __name__ == "__main__":
    run(main)
