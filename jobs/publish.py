"""spark-submit entry point: publish a run the publication gate held (`phm publish --accept`).

python jobs/publish.py --warehouse s3a://bucket/phm --accept RUN_ID

Run it after a person has looked at the held run (`phm status` lists it with the reasons).
Refused when the run is not held, or when a later run has published since.
"""

from __future__ import annotations

import argparse

from phm.cli.jobs import log, run
from phm.data.warehouse import Warehouse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", required=True, help="warehouse root (directory or URI)")
    parser.add_argument("--accept", required=True, metavar="RUN_ID")
    ns = parser.parse_args(argv)

    from phm.runs.indicators import accept
    from phm.spark import get_spark

    rows = accept(get_spark("phm-publish"), Warehouse.at(ns.warehouse), ns.accept)
    log(f"run {ns.accept} published: {rows} cells")
    return 0


if __name__ == "__main__":
    run(main)
