"""spark-submit entry point: generate a synthetic warehouse (what `phm generate` does).

python jobs/generate.py --warehouse warehouse --persons 20000 --years 2022-2024 --seed 42
spark-submit ... jobs/generate.py --warehouse s3://bucket/phm --next-month
python jobs/generate.py ... --pilot-effect pilot_regions:2023:-4 --specs-dir indicator_specs
"""

from __future__ import annotations

import argparse

from phm.cli import args as checks
from phm.cli.jobs import log, run
from phm.data.warehouse import Warehouse
from phm.errors import InputError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", required=True, help="warehouse root (directory or URI)")
    parser.add_argument("--persons", type=int)
    parser.add_argument("--years", help="2022-2024 or 2022,2023")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--as-of", help="accounting month YYYY-MM")
    parser.add_argument("--defects", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--defect-rate", type=float, default=0.001)
    parser.add_argument(
        "--next-month", action="store_true", help="append the next accounting month"
    )
    parser.add_argument("--pilot-effect", help="AREA_SET:YEAR:PERCENT, e.g. pilot_regions:2023:-4")
    parser.add_argument("--specs-dir", default="indicator_specs", help="where the area sets are")
    ns = parser.parse_args(argv)

    warehouse = Warehouse.at(ns.warehouse)
    if not ns.next_month:
        if ns.persons is None or ns.years is None:
            raise InputError("--persons and --years are required (unless --next-month)")
        checks.check_persons(ns.persons)
        years = checks.check_consecutive(checks.parse_years(ns.years))
        as_of = checks.check_as_of(checks.parse_month(ns.as_of), years) if ns.as_of else None
        checks.check_defect_rate(ns.defect_rate)
        effect = None
        if ns.pilot_effect:
            from phm.spec import load_catalogue
            from phm.synth.pilot import parse_pilot_effect

            areas = load_catalogue(ns.specs_dir).areas
            effect = parse_pilot_effect(ns.pilot_effect, areas, years)
    elif ns.pilot_effect:
        raise InputError("--next-month keeps the warehouse's own pilot effect; drop --pilot-effect")

    from phm.spark import get_spark
    from phm.synth import generator

    spark = get_spark("phm-generate")
    if ns.next_month:
        report = generator.generate_next_month(spark, warehouse, progress=log)
    else:
        report = generator.generate(
            spark,
            warehouse,
            persons=ns.persons,
            years=years,
            seed=ns.seed,
            as_of=as_of,
            defects=ns.defects,
            defect_rate=ns.defect_rate,
            pilot_effect=effect,
            progress=log,
        )
    for table, result in report.tables.items():
        log(
            f"{table}: {result.input_rows} in, {result.accepted_rows} accepted, "
            f"{result.quarantined_rows} quarantined {dict(result.reasons) or ''}".rstrip()
        )
    log(f"as of {report.as_of:%Y-%m}, {report.seconds:.0f} s, warehouse {warehouse.root}")
    return 0


if __name__ == "__main__":
    run(main)
