"""spark-submit entry point: ingest delivered files into a source table (what `phm ingest` does).

python jobs/ingest.py --warehouse s3a://bucket/phm --specs-dir indicator_specs \
    --layout ima_health_care --from /landing/2025-06/health_care [--from ...] [--load-id ID]

The files are checked on the driver before Spark reads a row (encoding, header, delimiter), so
the landing folder must be visible to the driver (a mount). The same --load-id again replaces
that load. Exit status 1 on a user error (bad layout, bad file), with the message only.
"""

from __future__ import annotations

import argparse

from phm.cli.jobs import log, run
from phm.data.warehouse import Warehouse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", required=True, help="warehouse root (directory or URI)")
    parser.add_argument("--specs-dir", default="indicator_specs")
    parser.add_argument("--layout", required=True, help="layout id, e.g. ima_population")
    parser.add_argument("--from", dest="paths", action="append", required=True)
    parser.add_argument("--load-id", help="batch id (default: from the layout and file names)")
    ns = parser.parse_args(argv)

    from phm.data.ingest import check_delivery, default_load_id, ingest
    from phm.data.layouts import load_layout
    from phm.spark import get_spark

    layout = load_layout(ns.layout, ns.specs_dir)
    check_delivery(layout, ns.paths)  # a wrong file fails before Spark starts
    spark = get_spark("phm-ingest")
    result = ingest(
        spark,
        Warehouse.at(ns.warehouse),
        layout,
        ns.paths,
        ns.load_id or default_load_id(layout, ns.paths),
    )
    log(
        f"{result.table} load {result.load_id}: read {result.input_rows}, accepted "
        f"{result.accepted_rows}, quarantined {result.quarantined_rows} {result.reasons}"
    )
    return 0


if __name__ == "__main__":
    run(main)
