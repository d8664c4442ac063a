"""The person-year rows of a scenario: who is in which pilot, who is in the reference
population, the cost of each person-year and the fraction of the year insured.

Features come from the person-year passes of the indicator compiler (one scan per source
table for all the scenario's variants). Rules:

- **Residence and target group** are read from the person's row of the previous year when
  ``timing: prospective`` (situation at 31 December of the previous year), and from the row of
  the year itself when ``concurrent``. A person without a row the year before (born or newly
  insured during the year) is attributed by the row of the year itself. A prospective
  scenario whose previous year is not in the warehouse is refused (the caller checks
  :meth:`~phm.spec.scenario.Scenario.years_read`), never attributed concurrently in silence.
- **Pilot**: each area of the scenario's area set whose municipalities hold that residence (a
  person counts in every area holding the municipality). With a target group, only persons
  meeting all its conditions are attributed.
- **Reference**: ``outside_pilots``, persons whose residence is in no area of the set (target
  group or not); ``belgium``, everyone.
- **Fraction of the year insured**: from 1 January, or from 1 July for a person born in the
  year (the population table has the birth year, not the date: mid-year), to the date of death
  or 31 December, in days, over the days of the year; at least one day.
- **Cost**: the sum of the cost features (0 when a person has none).
- **Prior cost** (``prior_cost``): the person's cost of the previous year divided by the
  fraction of that year insured; null without a row that year (and for the first year read).
"""

from __future__ import annotations

from functools import reduce

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from phm.execute.person_year import all_of, build_person_year, days_in_year
from phm.compile.plan import feature_plan
from phm.data.warehouse import Warehouse
from phm.spec.catalogue import Catalogue, scenario_variables
from phm.spec.scenario import PSEUDOPATHOLOGIES, Scenario


def variables(catalogue: Catalogue, scenario: Scenario) -> list[str]:
    """The person-year variables to compute: the scenario's, and the pseudopathology flags
    of the diagnostics the catalogue has."""
    return sorted(
        scenario_variables(scenario) | {p for p in PSEUDOPATHOLOGIES if p in catalogue.features}
    )


def source_tables(catalogue: Catalogue, scenario: Scenario) -> list[str]:
    """The tables a scenario reads (for the run ledger's input versions)."""
    plan = feature_plan(catalogue, variables(catalogue, scenario))
    return sorted({"population", *[p.table for p in plan.passes]})


def person_years(
    spark: SparkSession,
    warehouse: Warehouse,
    catalogue: Catalogue,
    scenario: Scenario,
    years: list[int],
) -> DataFrame:
    """Person-year table with every variable the scenario's variants read, for ``years`` (all
    present in the warehouse: :meth:`~phm.spec.scenario.Scenario.years_read`), with ``fraction`` added."""
    plan = feature_plan(catalogue, variables(catalogue, scenario))
    table = build_person_year(spark, warehouse, plan, years)
    pop = warehouse.read(spark, "population").select(
        "person_id", "year", "birth_year", "death_date"
    )
    return (
        table.join(pop, ["person_id", "year"], "left")
        .withColumn("fraction", insured_fraction())
        .drop("birth_year", "death_date")
    )


def insured_fraction() -> Column:
    start = F.when(
        F.col("birth_year") == F.col("year"), F.make_date("year", F.lit(7), F.lit(1))
    ).otherwise(F.make_date("year", F.lit(1), F.lit(1)))
    end = F.coalesce(F.col("death_date"), F.make_date("year", F.lit(12), F.lit(31)))
    days = days_in_year()
    insured = F.greatest(F.datediff(end, start) + 1, F.lit(1))
    return (insured / days).cast("double")


def scenario_rows(table: DataFrame, catalogue: Catalogue, variant: Scenario) -> DataFrame:
    """The rows :func:`phm.simulations.guarantee.simulate_variant` reads, for one variant:
    ``year, person_id, pilot, in_reference, cost, fraction`` and the variables of the model."""
    areas = catalogue.areas[variant.attribution.areas].areas
    members = [(name, nis) for name, area in sorted(areas.items()) for nis in area.municipalities]
    spark = table.sparkSession
    area_of = spark.createDataFrame(members, "pilot string, nis string")
    situation = table.select(
        "person_id", "year", "nis", all_of(list(variant.attribution.target_group)).alias("in_group")
    )
    if variant.attribution.timing == "prospective":
        before = situation.select(
            "person_id",
            (F.col("year") + 1).alias("year"),
            F.col("nis").alias("nis_before"),
            F.col("in_group").alias("in_group_before"),
        )
        situation = situation.join(before, ["person_id", "year"], "left").select(
            "person_id",
            "year",
            F.coalesce("nis_before", "nis").alias("nis"),
            F.when(F.col("nis_before").isNotNull(), F.col("in_group_before"))
            .otherwise(F.col("in_group"))
            .alias("in_group"),
        )
    located = situation.join(F.broadcast(area_of), "nis", "left")
    in_any = located.groupBy("person_id", "year").agg(
        F.max(F.col("pilot").isNotNull()).alias("resident")
    )
    pilots = located.where(F.col("pilot").isNotNull() & F.col("in_group")).select(
        "person_id", "year", "pilot"
    )
    if variant.reference == "belgium":
        reference = table.select("person_id", "year", F.lit(True).alias("in_reference"))
    else:
        reference = in_any.select("person_id", "year", (~F.col("resident")).alias("in_reference"))
    cost = reduce(
        lambda a, b: a + b,
        (F.coalesce(F.col(f).cast("double"), F.lit(0.0)) for f in variant.cost.features),
    )
    costed = table.withColumn("cost", cost)
    prior = costed.select(
        "person_id",
        (F.col("year") + 1).alias("year"),
        (F.col("cost") / F.col("fraction")).alias("prior_cost"),
    )
    base = costed.join(prior, ["person_id", "year"], "left").join(reference, ["person_id", "year"])
    # one row per pilot of a pilot resident, one row (pilot null) for the reference
    attributed = base.join(pilots, ["person_id", "year"])
    outside = base.where("in_reference").withColumn("pilot", F.lit(None).cast("string"))
    if variant.reference == "belgium":
        # pilot residents are in the reference once, with their rows as pilot members apart
        attributed = attributed.withColumn("in_reference", F.lit(False))
    columns = [
        "year",
        "person_id",
        "pilot",
        "in_reference",
        "cost",
        "fraction",
        "prior_cost",
        *sorted(set(table.columns) - {"year", "person_id", "cost", "fraction"}),
    ]
    return attributed.select(*columns).unionByName(outside.select(*columns))
