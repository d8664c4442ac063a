"""Financing scenarios at scale: the risk-model fits against statsmodels on the same rows, a
whole scenario grid against its variants run one by one, and a planted effect recovered.

    .venv/bin/python benchmarks/bench_simulations.py --warehouse DIR \\
        [--scenario budget_guarantee_2017] [--no-statsmodels] [--no-separate] [--no-planted]
        [--json out.json]
    .venv/bin/python benchmarks/bench_simulations.py --synthetic-rows 1000000 [--warehouse DIR]

The warehouse must exist (``make demo``, or ``phm generate`` with ``--pilot-effect`` to plant
a known change of cost in the pilot areas, recorded in its state). Figures:

- **person-year rows**: building the scenario's person-year table (one pass per source table);
- **fit on random rows** (``--synthetic-rows``): the same comparison on a million rows shaped
  like the shipped model, without generating a million-person warehouse;
- **fit**, per model family, on the reference rows of the first guarantee year: phm's fit
  (one Spark aggregation into risk-pattern sums, then the fit on the driver) against
  statsmodels ``WLS`` / ``GLM`` on the same rows in pandas (collecting them is timed apart:
  the pandas route cannot avoid it), and the largest relative difference of the coefficients;
- **grid vs separate runs**: every variant of the scenario from one person-year pass
  (``simulate``), against each variant run as a scenario of its own (a pass each);
- **planted effect** (when the warehouse has one): the scenario without its grid and without
  an outlier rule, by both methods (risk-adjusted, difference in trend); per pilot and
  guarantee year the gain and its 95% interval against the planted amount,
  ``actual × (1 / (1 + percent/100) − 1)`` from the effect's year on (the cost the pilot's
  residents would have had without the effect, minus what they had), 0 before.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time

import numpy as np
import pandas as pd
from pyspark import StorageLevel
from pyspark.sql import functions as F
from rich.console import Console

from phm.data.warehouse import Warehouse
from phm.runs.simulations import simulate
from phm.simulations.design import build_terms, kind_of
from phm.simulations.fit import INTERCEPT, Patterns, family, fit, pattern_sums
from phm.simulations.guarantee import with_prior_cost_band
from phm.simulations.population import person_years, scenario_rows
from phm.spark import get_spark
from phm.spec import load_catalogue

console = Console()


def _timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def bench_fits(spark, table, catalogue, scenario, statsmodels: bool) -> list[dict]:
    variant = next(iter(scenario.variants().values()))
    year = variant.years.guarantee[0]
    rows = scenario_rows(table, catalogue, variant).where(F.col("year") == year)
    if "prior_cost" in rows.columns and year - 1 in scenario.years_read():
        rows = with_prior_cost_band(rows)
    reference = rows.where("in_reference").withColumns(
        {"_w": F.col("fraction"), "_y": F.col("cost") / F.col("fraction")}
    )
    kinds = {f: kind_of(f, catalogue) for f in variant.risk_model.factors}
    terms = build_terms(
        reference, variant.risk_model.factors, variant.risk_model.interactions, kinds
    )
    names = [t.name for t in terms]
    design = reference.select("_w", "_y", *[t.expr.alias(t.name) for t in terms]).persist(
        StorageLevel.MEMORY_AND_DISK
    )
    return _fits(design, names, design.count(), statsmodels)


def _fits(design, names: list[str], n: int, statsmodels: bool) -> list[dict]:
    out = []
    frame, collect_s = (None, 0.0)
    if statsmodels:
        frame, collect_s = _timed(design.toPandas)
    for name, power in (("ols", None), ("tweedie", 1.5)):
        fam = family(name, power)

        def ours():
            sums = pattern_sums(design, "_y", names, fam, weight="_w")
            return fit(Patterns.of(sums, names), (INTERCEPT, *names), fam), len(sums)

        (model, patterns), phm_s = _timed(ours)
        row = {
            "family": name,
            "rows": n,
            "coefficients": len(names) + 1,
            "patterns": patterns,
            "phm_s": round(phm_s, 2),
        }
        if frame is not None:
            import statsmodels.api as sm

            x = sm.add_constant(frame[names].astype(float), has_constant="add")
            if name == "ols":
                ref, sm_s = _timed(lambda: sm.WLS(frame._y, x, weights=frame._w).fit())
            else:
                tweedie = sm.families.Tweedie(var_power=1.5, link=sm.families.links.Log())
                ref, sm_s = _timed(
                    lambda: sm.GLM(frame._y, x, family=tweedie, var_weights=frame._w).fit(tol=1e-12)
                )
            diff = np.max(
                np.abs(model.coef - ref.params.to_numpy())
                / np.maximum(np.abs(ref.params.to_numpy()), 1e-9)
            )
            row.update(
                {
                    "collect_s": round(collect_s, 2),
                    "statsmodels_s": round(sm_s, 2),
                    "max_rel_coef_diff": float(diff),
                }
            )
        out.append(row)
    design.unpersist()
    return out


def bench_synthetic_fits(spark, rows: int, statsmodels: bool) -> list[dict]:
    """The fits alone on ``rows`` random person-years shaped like the shipped model (40 age-sex
    levels, BIM, chronic status, nursing home; Tweedie-like costs with 30% zeros), for sizes
    beyond the generated warehouses."""
    sexes, bands = ("F", "M"), range(0, 100, 5)
    levels = [f"{s}_{b:02d}" for s in sexes for b in bands]
    u = [F.rand(seed) for seed in range(6)]
    level = F.element_at(F.array(*[F.lit(v) for v in levels]), (u[0] * len(levels)).cast("int") + 1)
    base = spark.range(rows).select(
        level.alias("level"),
        (u[1] < 0.2).cast("double").alias("bim"),
        (u[2] < 0.25).cast("double").alias("chronic"),
        (u[3] < 0.02).cast("double").alias("nh"),
        (0.2 + 0.8 * u[4]).alias("_w"),
    )
    mean = F.exp(6 + 0.5 * F.col("bim") + 0.9 * F.col("chronic") + 1.2 * F.col("nh"))
    base = base.withColumn("_y", F.when(u[5] < 0.3, 0.0).otherwise(-F.log(F.rand(7)) * mean))
    names = [f"level={v}" for v in levels[1:]] + ["bim", "chronic", "nh"]
    design = base.select(
        "_w",
        "_y",
        *[(F.col("level") == v).cast("double").alias(f"level={v}") for v in levels[1:]],
        "bim",
        "chronic",
        "nh",
    ).persist(StorageLevel.MEMORY_AND_DISK)
    design.count()
    return _fits(design, names, rows, statsmodels)


def bench_grid(
    spark, wh, catalogue, scenario_id: str, separate: bool, one_variant: bool = False
) -> dict:
    if one_variant:  # at the largest sizes: the first variant alone, from its own pass
        first = next(iter(catalogue.simulations[scenario_id].variants().values()))
        catalogue = dataclasses.replace(
            catalogue, simulations={scenario_id: first.model_copy(update={"grid": {}})}
        )
    results, grid_s = _timed(simulate, spark, wh, catalogue, scenario_id, "bench-secret")
    out = {"variants": len(results), "grid_s": round(grid_s, 1)}
    if separate:
        total = 0.0
        for name, variant in catalogue.simulations[scenario_id].variants().items():
            single = variant.model_copy(update={"grid": {}})
            one = dataclasses.replace(catalogue, simulations={scenario_id: single})
            _, seconds = _timed(simulate, spark, wh, one, scenario_id, "bench-secret")
            console.print(f"  separately: {name} {seconds:.1f} s")
            total += seconds
        out["separate_s"] = round(total, 1)
    return out, results


def planted(spark, wh: Warehouse, catalogue, scenario_id: str) -> list[dict]:
    """The scenario without its grid and without an outlier rule (a cap would cap the planted
    amount too), under both methods, against the planted amount of each pilot and year."""
    effect = (wh.read_state() or {}).get("pilot_effect")
    if not effect:
        return []
    base = catalogue.simulations[scenario_id]
    check = base.model_validate(
        {
            **base.model_dump(by_alias=True),
            "id": "planted_check",
            "outliers": {"rule": "none"},
            "grid": {"method": ["risk_adjusted", "difference_in_trend"]},
        }
    )
    one = dataclasses.replace(catalogue, simulations={"planted_check": check})
    results, seconds = _timed(simulate, spark, wh, one, "planted_check", "bench-secret")
    console.print(f"planted-effect check ({len(results)} variants): {seconds:.1f} s")
    factor = 1 + effect["percent"] / 100
    out = []
    for result in results:
        for year in result.years:
            for p in year.pilots.itertuples():
                amount = p.actual * (1 / factor - 1) if year.year >= effect["from_year"] else 0.0
                out.append(
                    {
                        "variant": result.variant,
                        "year": year.year,
                        "pilot": p.pilot,
                        "persons": int(p.persons),
                        "gain": round(p.gain),
                        "low": round(p.gain_low),
                        "high": round(p.gain_high),
                        "planted": round(amount),
                        "covered": bool(p.gain_low <= amount <= p.gain_high),
                        "zero_covered": bool(p.gain_low <= 0 <= p.gain_high),
                    }
                )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse")
    parser.add_argument("--specs-dir", default="indicator_specs")
    parser.add_argument("--scenario", default="budget_guarantee_2017")
    parser.add_argument("--no-statsmodels", action="store_true")
    parser.add_argument("--no-separate", action="store_true")
    parser.add_argument("--no-planted", action="store_true", help="skip the planted-effect check")
    parser.add_argument(
        "--one-variant",
        action="store_true",
        help="run only the scenario's first variant (implies --no-separate)",
    )
    parser.add_argument(
        "--synthetic-rows",
        type=int,
        nargs="*",
        default=[],
        help="also time the fits alone on this many random rows (e.g. 1000000)",
    )
    parser.add_argument("--json")
    args = parser.parse_args()

    spark = get_spark("phm-bench-simulations")
    report: dict = {"synthetic_fits": []}
    for rows in args.synthetic_rows:
        fits = bench_synthetic_fits(spark, rows, not args.no_statsmodels)
        report["synthetic_fits"] += fits
        console.print(pd.DataFrame(fits).to_string(index=False))
    if args.warehouse:
        bench_warehouse(spark, args, report)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=2, default=str)


def bench_warehouse(spark, args, report: dict) -> None:
    wh = Warehouse.at(args.warehouse)
    catalogue = load_catalogue(args.specs_dir)
    scenario = catalogue.simulations[args.scenario]
    report.update({"scenario": args.scenario, "state": wh.read_state()})

    table = person_years(spark, wh, catalogue, scenario, scenario.years_read()).persist(
        StorageLevel.MEMORY_AND_DISK
    )
    rows, seconds = _timed(table.count)
    report["person_year"] = {"rows": rows, "seconds": round(seconds, 1)}
    console.print(f"person-year rows: {rows:,} in {seconds:.1f} s")
    report["fits"] = bench_fits(spark, table, catalogue, scenario, not args.no_statsmodels)
    console.print(pd.DataFrame(report["fits"]).to_string(index=False))
    table.unpersist()

    report["grid"], _ = bench_grid(
        spark,
        wh,
        catalogue,
        args.scenario,
        not (args.no_separate or args.one_variant),
        args.one_variant,
    )
    console.print(report["grid"])
    report["planted"] = [] if args.no_planted else planted(spark, wh, catalogue, args.scenario)
    if report["planted"]:
        frame = pd.DataFrame(report["planted"])
        console.print(frame.to_string(index=False))
        console.print(
            f"planted amount inside the 95% interval: {frame.covered.sum()} of "
            f"{len(frame)}; zero inside: {frame.zero_covered.sum()}"
        )


if __name__ == "__main__":
    main()
