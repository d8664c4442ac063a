"""spark-submit entry point: write the published values as CSV and JSON (what `phm export` does).

python jobs/export.py --warehouse s3a://bucket/phm --out /mnt/atlas/2025-06-02 [--specs ID ...]

Suppressed cells are written blank; one file pair per indicator. The output folder is written
by the driver (a local or mounted path).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from phm.cli.jobs import log, run
from phm.data.warehouse import Warehouse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", required=True, help="warehouse root (directory or URI)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--specs", nargs="*", help="indicator ids (default: all in results)")
    ns = parser.parse_args(argv)

    from phm.publish.export import export_results
    from phm.spark import get_spark

    written = export_results(
        get_spark("phm-export"), Warehouse.at(ns.warehouse), Path(ns.out), ns.specs or None
    )
    log(f"{len(written)} file(s) in {ns.out}")
    return 0


if __name__ == "__main__":
    run(main)
