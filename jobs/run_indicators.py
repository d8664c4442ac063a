"""spark-submit entry point: the nightly indicator run (what `phm run` does).

python jobs/run_indicators.py --warehouse s3://bucket/phm --specs-dir indicator_specs \
    [--specs ID ...] [--collection quality ...] [--years 2022-2024] [--data-end 2024-03-31] \
    [--full] [--no-gate]

Incremental (only the stale indicators and periods) and gated like `phm run`: exit status 3
when the publication gate holds the run (a scheduler should alert, not retry).

The spec folder is read on the driver: ship it with the job (e.g. in the --archives bundle or on
a shared volume). Exit status 1 on a user error (bad spec, missing year), with the message only.
"""

from __future__ import annotations

import argparse

from phm.cli import args as checks
from phm.cli.jobs import log, run
from phm.data.warehouse import Warehouse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", required=True, help="warehouse root (directory or URI)")
    parser.add_argument("--specs-dir", default="indicator_specs")
    parser.add_argument("--specs", nargs="*", help="indicator ids (default: all non-retired)")
    parser.add_argument("--collection", nargs="*", help="collections, e.g. atlas quality")
    parser.add_argument("--years", help="a range 2022-2024 or a list 2022,2023 (default: all)")
    parser.add_argument(
        "--data-end",
        help="last day of complete data (YYYY-MM-DD) for the "
        "follow-up windows (default: 31 December of the last year present)",
    )
    parser.add_argument(
        "--full", action="store_true", help="recompute everything, not only what is stale"
    )
    parser.add_argument(
        "--no-gate", action="store_true", help="publish without the publication gate"
    )
    ns = parser.parse_args(argv)
    years = checks.parse_years(ns.years) if ns.years else None
    data_end = checks.parse_date(ns.data_end) if ns.data_end else None

    from phm.runs.gate import GateRules
    from phm.runs.indicators import run_indicators
    from phm.spark import get_spark
    from phm.spec import load_catalogue

    catalogue = load_catalogue(ns.specs_dir)  # fails on a bad spec before Spark starts
    for warning in catalogue.warnings:
        log(f"warning: {warning}")
    spark = get_spark("phm-run")
    # ids as phm run takes them: repeated, or several in one value (a,b)
    specs = [i for v in ns.specs or [] for i in v.replace(",", " ").split()] or None
    report = run_indicators(
        spark,
        Warehouse.at(ns.warehouse),
        catalogue,
        specs,
        years,
        collections=ns.collection,
        data_end=data_end,
        full=ns.full,
        gate=GateRules(enabled=not ns.no_gate),
    )
    if report.nothing_stale:
        log(f"run {report.run_id}: nothing stale, nothing computed")
        return 0
    if report.held:
        log(f"run {report.run_id} HELD by the publication gate; nothing published:")
        for reason in report.gate.reasons:
            log(f"  {reason}")
        log(f"publish it after review with: phm publish --accept {report.run_id}")
        return 3
    log(
        f"run {report.run_id}: {len(report.indicators)} indicators, years {report.periods}: "
        f"{report.result_rows} cells ({report.suppressed_rows} suppressed); "
        f"timings {report.timings}"
    )
    for warning in report.warnings:  # also in the run ledger
        log(f"warning: {warning}")
    return 0


if __name__ == "__main__":
    run(main)
