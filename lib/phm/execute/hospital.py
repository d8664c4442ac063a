"""Hospital comparison: observed vs expected follow-ups per discharging hospital.

For each indicator with ``hospital_comparison`` and each year:

1. its index stays (persons of its population) are summed into covariate patterns: one row per
   combination of risk-factor values, with the number of stays and of followed stays. Patterns
   are few (age bands x sex x flags: hundreds to a few thousand nationally), whatever the number
   of stays, so they are brought to the driver;
2. a logistic model is fitted on the patterns (:mod:`phm.stats.risk_model`, exact maximum
   likelihood on grouped data), and its predicted risk per pattern goes back to Spark as a small
   broadcast table;
3. per hospital: observed = followed stays, expected = sum of the predicted risks of its stays,
   and the variance of the observed count under the model (sum of p(1-p)) for funnel limits.

The rows join the indicator's cells with ``geo_level = 'hospital'``; statistics and disclosure
(:mod:`phm.execute.finalise`) then add the O/E ratio, its interval and the funnel limits.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from phm.execute.aggregate import population_filter
from phm.execute.events import followed_flag, index_flag
from phm.compile.plan import Plan
from phm.disclosure.cell_key import record_key
from phm.publish.tables import CELLS
from phm.spec.models import Indicator
from phm.stats.risk_model import RiskModel, fit_logistic

HOSPITAL = "hospital"


@dataclass(frozen=True)
class FittedModel:
    indicator_id: str
    period: int
    model: RiskModel
    stays: int
    events: int


def categorical_factors(ind: Indicator, plan: Plan) -> list[str]:
    return [
        f
        for f in ind.hospital_comparison.risk_factors
        if f == "age5" or plan.variable_kinds.get(f) == "category"
    ]


def hospital_cells(
    spark: SparkSession, index: DataFrame, person_year: DataFrame, plan: Plan, secret: str
) -> tuple[DataFrame | None, list[FittedModel]]:
    """Hospital rows for every compared indicator (None when there is none), and the models."""
    frames, models = [], []
    for ind in plan.indicators:
        if ind.hospital_comparison is None:
            continue
        frame, fitted = _one_indicator(spark, index, person_year, ind, plan, secret)
        frames.append(frame)
        models += fitted
    if not frames:
        return None, models
    out = frames[0]
    for f in frames[1:]:
        out = out.unionByName(f)
    return out, models


def _one_indicator(
    spark: SparkSession,
    index: DataFrame,
    person_year: DataFrame,
    ind: Indicator,
    plan: Plan,
    secret: str,
) -> tuple[DataFrame, list[FittedModel]]:
    factors = list(ind.hospital_comparison.risk_factors)
    categorical = categorical_factors(ind, plan)
    stays = (
        index.where(F.col(index_flag(ind.events)))
        .select(
            "person_id",
            "year",
            "hospital_id",
            F.col(followed_flag(ind.events)).cast("int").alias("_y"),
        )
        .join(person_year, ["person_id", "year"])
        .where(population_filter(ind))
        .withColumn("_pattern", F.to_json(F.struct(*[F.col(f) for f in factors])))
    )
    per_hospital_pattern = stays.groupBy("year", "hospital_id", "_pattern").agg(
        F.count("*").alias("n")
    )
    patterns = (
        stays.groupBy("year", "_pattern")
        .agg(
            *[F.first(f).alias(f) for f in factors], F.count("*").alias("n"), F.sum("_y").alias("y")
        )
        .toPandas()
    )
    fitted, risk_rows = [], []
    for year, group in patterns.groupby("year"):
        group = group.reset_index(drop=True)
        model = fit_logistic(group, factors, categorical, trials="n", events="y", max_iter=100)
        fitted.append(
            FittedModel(ind.id, int(year), model, int(group["n"].sum()), int(group["y"].sum()))
        )
        risk_rows.append(
            pd.DataFrame(
                {
                    "year": group["year"].astype("int32"),
                    "_pattern": group["_pattern"],
                    "_p": model.predict(group).astype(float),
                }
            )
        )
    schema = "year int, _pattern string, _p double"
    risks = spark.createDataFrame(
        pd.concat(risk_rows) if risk_rows else pd.DataFrame({"year": [], "_pattern": [], "_p": []}),
        schema,
    )
    expected = (
        per_hospital_pattern.join(F.broadcast(risks), ["year", "_pattern"])
        .groupBy("year", "hospital_id")
        .agg(
            F.sum(F.col("n") * F.col("_p")).alias("expected_risk"),
            F.sum(F.col("n") * F.col("_p") * (1 - F.col("_p"))).alias("var_risk"),
        )
    )
    # per person first: the persons behind a hospital's counts, with their record keys
    per_person = stays.groupBy("year", "hospital_id", "person_id").agg(
        F.sum("_y").alias("_followed"), F.count("*").alias("_stays")
    )
    key = record_key(F.col("person_id"), secret).cast("double")
    followed = F.col("_followed") > 0
    observed = per_person.groupBy("year", "hospital_id").agg(
        F.sum("_followed").cast("double").alias("num"),
        F.sum("_stays").cast("double").alias("den"),
        F.sum(followed.cast("double")).alias("npers"),
        F.count("*").cast("double").alias("dpers"),
        F.sum(F.when(followed, key).otherwise(0.0)).alias("nkey"),
        F.sum(key).alias("dkey"),
    )
    cells = observed.join(expected, ["year", "hospital_id"], "left").select(
        F.lit(ind.id).alias("indicator_id"),
        F.col("year").alias("period"),
        F.lit(HOSPITAL).alias("geo_level"),
        F.col("hospital_id").alias("geo_code"),
        F.create_map().cast("map<string,string>").alias("breakdown"),
        "num",
        "den",
        "npers",
        "dpers",
        "nkey",
        "dkey",
        F.col("num").alias("sq"),
        F.lit("").alias("breakdown_key"),
        "expected_risk",
        "var_risk",
    )
    # the declared cells columns in order; the nullable ones a hospital row has no value for
    # (the standardisation terms) typed nulls
    cells = cells.select(
        *[
            c.name
            if c.name in cells.columns or not c.nullable
            else F.lit(None).cast(c.dtype.ddl).alias(c.name)
            for c in CELLS.columns
        ]
    )
    return cells, fitted
