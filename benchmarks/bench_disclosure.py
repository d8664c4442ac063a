"""The attacker against a whole published catalogue, and what the protection costs (a benchmark,
not a test: at demo size each attacked count costs two linear programs over every atom).

    .venv/bin/python benchmarks/bench_disclosure.py --warehouse warehouse \\
        [--years 2022 2023 2024] [--specs ID ...] [--targets 100] [--json out.json] [--no-run]

The warehouse must exist (``make demo`` or ``phm generate``). Unless ``--no-run``, the whole
catalogue is first published into it with the warehouse's protection, as ``phm run`` does.

Figures:

- **cells / hidden**: result rows of the selected years, and the share hidden;
- **perturbation**: mean absolute difference between published and true person counts over
  published counts (true counts from the attacker's atoms), and the share left unchanged;
- **attack**, per audience (``public``: exports; ``internal``: the results table with its
  perturbed person counts): the counts the rule protects (hidden, 1-4 persons), and for a
  random sample of ``--targets`` of them per year the interval an attacker holding everything
  published, and knowing which atoms exist, cannot narrow (:mod:`phm.disclosure.attack`):
  how many are determined (interval of one value), how many meet the protection level (every
  value from 1 to 4 still possible), and the narrowest width.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd
from pyspark.sql import functions as F
from rich.console import Console

from phm.compile.plan import build_plan
from phm.data.warehouse import Warehouse
from phm.disclosure import PTable
from phm.disclosure import attack as A
from phm.runs.indicators import available_years, latest_work, run_indicators
from phm.spark import get_spark
from phm.spec import load_catalogue

console = Console()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", required=True)
    parser.add_argument("--specs-dir", default="indicator_specs")
    parser.add_argument("--years", type=int, nargs="*")
    parser.add_argument(
        "--specs", nargs="*", help="attack the cells of these indicators only (default: all)"
    )
    parser.add_argument("--targets", type=int, default=100, help="attacked counts per year")
    parser.add_argument("--no-run", action="store_true", help="attack the published results")
    parser.add_argument(
        "--max-noise",
        type=int,
        default=PTable().max_noise,
        help="D of the run that published the results (with --no-run)",
    )
    parser.add_argument("--json")
    args = parser.parse_args()

    spark = get_spark("phm-bench-disclosure")
    wh = Warehouse.at(args.warehouse)
    catalogue = load_catalogue(args.specs_dir)
    # the atoms come from the working tables of the whole catalogue's run (their event
    # columns are positional); --specs only narrows which published cells are attacked
    plan = build_plan(catalogue, catalogue.select())
    attacked = set(args.specs or [i.id for i in plan.indicators])
    years = args.years or available_years(spark, wh)
    figures: dict = {"years": years, "indicators": len(attacked)}
    max_noise = args.max_noise

    if not args.no_run:
        t0 = time.perf_counter()
        # without --years every indicator is computed for the years its data cover
        run_indicators(spark, wh, catalogue, years=args.years or None, full=True)
        figures["run_seconds"] = round(time.perf_counter() - t0, 1)
        console.print(f"catalogue published in {figures['run_seconds']} s")

    results = (
        wh.read(spark, "results")
        .where(F.col("period").isin(years))
        .where(F.col("indicator_id").isin(sorted(attacked)))
        .drop("breakdown")
        .toPandas()
    )
    figures["cells"] = len(results)
    figures["hidden"] = int(results.suppressed.sum())
    figures["hidden_share"] = round(float(results.suppressed.mean()), 4)
    console.print(
        f"cells {figures['cells']:,}, hidden {figures['hidden']:,} ({figures['hidden_share']:.1%})"
    )

    t0 = time.perf_counter()
    work = latest_work(spark, wh)  # the working tables of the (full) run attacked
    index = work.read(spark, "index_events") if plan.events else None
    atoms = A.person_atoms(
        work.read(spark, "person_year").where(F.col("year").isin(years)), plan, index
    )
    figures["atoms"] = len(atoms)
    figures["atoms_seconds"] = round(time.perf_counter() - t0, 1)
    console.print(f"atoms {len(atoms):,} ({figures['atoms_seconds']} s)")

    for audience in (A.INTERNAL, A.PUBLIC):
        t0 = time.perf_counter()
        system = A.linear_system(atoms, results, A.definitions(plan), max_noise, audience)
        if audience == A.INTERNAL:
            figures.update(_perturbation(system, max_noise))
        chosen = A.targets(system)
        sample = pd.concat(
            [
                g.sample(min(len(g), args.targets), random_state=1)
                for _, g in chosen.groupby("period")
            ]
        )
        found = A.audit(system, max_noise, only=sample.index)
        width = found.attack_high - found.attack_low
        figures[audience] = {
            "protected_counts": len(chosen),
            "attacked": len(found),
            "determined": int((width == 0).sum()),
            "meet_protection": int(A.protected(found).sum()),
            "narrowest_width": int(width.min()) if len(found) else None,
            "widths": {int(k): int(v) for k, v in width.value_counts().sort_index().items()},
            "seconds": round(time.perf_counter() - t0, 1),
        }
        console.print(audience, figures[audience])

    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=2)


def _perturbation(system: A.System, max_noise: int) -> dict:
    """Published person counts against the truth behind them (internal audience's bounds are
    the published counts +- D, so the published count is the middle of its bounds)."""
    c = system.counts
    shown = c[~c.hidden & np.isfinite(c.low) & (c.low > 0)]
    published = (shown.high - max_noise).to_numpy()
    noise = published - shown.truth.to_numpy()
    return {
        "published_counts": len(shown),
        "mean_abs_perturbation": round(float(np.abs(noise).mean()), 3),
        "unchanged_share": round(float((noise == 0).mean()), 3),
        "mean_abs_relative_perturbation": round(
            float(np.mean(np.abs(noise) / shown.truth.to_numpy())), 4
        ),
    }


if __name__ == "__main__":
    main()
