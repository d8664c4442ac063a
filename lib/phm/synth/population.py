"""Persons and person-years: who lives where, how old, how healthy, insured how.

A person carries persistent propensities (morbidity, GP habit, one uniform per condition...)
drawn once; every yearly attribute is a deterministic function of them and of age, so people are
consistent across years: a diabetic stays diabetic, a frail person stays costly.
"""

from __future__ import annotations

import math

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from phm.data import reference_data
from phm.synth import categorical, params as P
from phm.synth.columns import by_key, piecewise
from phm.synth.rng import choice, logistic, normal, uniform


def person_id(seed: int, id_col: Column) -> Column:
    """Pseudonymous 16-hex-character id, stable for (seed, person number)."""
    return F.substring(
        F.sha2(F.concat_ws(":", F.lit("phm-person"), F.lit(seed), id_col.cast("string")), 256),
        1,
        16,
    )


def _municipality_table(spark: SparkSession) -> DataFrame:
    muni = reference_data.municipalities()[["nis", "arr_nis", "reg_nis", "pop_2020_total"]]
    return categorical.cdf_table(
        spark,
        muni,
        weight="pop_2020_total",
        keys=[],
        values=["nis", "arr_nis", "reg_nis"],
        prefix="",
    )


AGE_SEX_BUCKETS = 128  # 40 age-sex cells per arrondissement: ~1.3 cells per bucket


def _age_sex_table(spark: SparkSession) -> DataFrame:
    """Age-sex distribution per arrondissement: its region's, tilted older or younger."""
    pop = reference_data.population_age_sex_region(P.POPULATION_REFERENCE_YEAR)
    pop = pop[pop["reg_nis"].isin(["02000", "03000", "04000"])].copy()
    pop["age_to"] = pop["age_to"].fillna(P.OLDEST_AGE - 5).astype(int)
    arrs = reference_data.municipalities()[["arr_nis", "reg_nis"]].drop_duplicates()
    rows = arrs.merge(pop, on="reg_nis")
    tilt = rows["arr_nis"].map(P.ARR_AGE_TILT).fillna(0.0)
    mid = (rows["age_from"] + rows["age_to"]) / 2.0
    rows["w"] = rows["population"] * (tilt * (mid - 40.0) / 40.0).map(math.exp)
    rows = rows.sort_values(["arr_nis", "sex", "age_from"])
    return categorical.cdf_table(
        spark,
        rows[["arr_nis", "sex", "age_from", "age_to", "w"]],
        weight="w",
        keys=["arr_nis"],
        values=["sex", "age_from", "age_to"],
        prefix="",
        buckets=AGE_SEX_BUCKETS,
    )


def persons(spark: SparkSession, *, n_persons: int, years: list[int], seed: int) -> DataFrame:
    """One row per person ever present: the first-year cohort plus the births of later years."""
    first, last = years[0], years[-1]
    births = int(round(n_persons * P.BIRTH_RATE))
    total = n_persons + births * (len(years) - 1)
    base = spark.range(total).withColumnRenamed("id", "pid")
    newborn = F.col("pid") >= n_persons
    base = base.withColumn(
        "entry_year",
        F.when(
            newborn,
            F.lit(first + 1) + ((F.col("pid") - n_persons) / F.lit(max(births, 1))).cast("int"),
        ).otherwise(F.lit(first)),
    )
    base = categorical.sample(
        base, uniform(seed, "municipality", "pid"), _municipality_table(spark), []
    )
    base = categorical.sample(
        base, uniform(seed, "age_sex", "pid"), _age_sex_table(spark), ["arr_nis"], AGE_SEX_BUCKETS
    )
    age_in_band = F.col("age_from") + F.floor(
        uniform(seed, "age", "pid") * (F.col("age_to") - F.col("age_from") + 1)
    ).cast("int")
    base = (
        base.withColumn(
            "sex",
            F.when(
                newborn, F.when(uniform(seed, "sex0", "pid") < 0.512, "M").otherwise("F")
            ).otherwise(F.col("sex")),
        )
        .withColumn(
            "birth_year", F.when(newborn, F.col("entry_year")).otherwise(F.lit(first) - age_in_band)
        )
        .drop("age_from", "age_to")
    )
    arr_effect = by_key(F.col("arr_nis"), P.ARR_HEALTH_EFFECT)
    deprived = uniform(seed, "bim", "pid") < by_key(F.col("reg_nis"), P.BIM_SHARE_BY_REGION)
    base = (
        base.withColumn("person_id", person_id(seed, F.col("pid")))
        # morbidity propensity: personal + where one lives + deprivation (social gradient)
        .withColumn(
            "morbidity",
            normal(seed, "morbidity", "pid")
            + 2.0 * arr_effect
            + F.when(deprived, 0.35).otherwise(0.0),
        )
        .withColumn("gp_habit", normal(seed, "gp_habit", "pid"))
        .withColumn("death_year", _death_year(seed, last))
    )
    return base


def _mortality(age: Column, morbidity: Column) -> Column:
    q = F.exp(
        F.lit(P.MORTALITY_A)
        + F.lit(P.MORTALITY_B) * age
        + F.lit(P.MORTALITY_FRAILTY) * morbidity
        - F.lit(P.MORTALITY_FRAILTY**2 / 2)
    )
    return F.least(F.when(age == 0, F.lit(P.INFANT_MORTALITY)).otherwise(q), F.lit(0.6))


def _death_year(seed: int, last: int) -> Column:
    """First year in [entry, last] in which the yearly death draw falls below q(age)."""
    years = F.sequence(F.col("entry_year"), F.lit(last))
    dies = F.filter(
        years,
        lambda y: uniform(seed, "death", F.col("pid"), y)
        < _mortality(y - F.col("birth_year"), F.col("morbidity")),
    )
    return F.array_min(dies)


def person_years(people: DataFrame, *, years: list[int], seed: int) -> DataFrame:
    """Explode persons into the years they are insured and derive every yearly attribute."""
    last = years[-1]
    py = people.withColumn(
        "year",
        F.explode(F.sequence(F.col("entry_year"), F.coalesce(F.col("death_year"), F.lit(last)))),
    )
    age = F.col("year") - F.col("birth_year")
    py = py.withColumn("age", age)
    age = F.col("age")
    m = F.col("morbidity")
    reg = F.col("reg_nis")
    arr_effect = by_key(F.col("arr_nis"), P.ARR_HEALTH_EFFECT)

    bim_p = by_key(reg, P.BIM_SHARE_BY_REGION) * F.exp(arr_effect)
    for lo, hi, factor in P.BIM_AGE_FACTOR:
        bim_p = F.when((age >= lo) & (age < hi), bim_p * factor).otherwise(bim_p)
    day_of_death = F.floor(uniform(seed, "death_day", "pid") * 365).cast("int")
    py = (
        py.withColumn("bim", uniform(seed, "bim", "pid") < bim_p)
        .withColumn(
            "bim_basis",
            F.when(
                F.col("bim"),
                F.when(
                    uniform(seed, "bim_basis", "pid") < P.BIM_BENEFIT_SHARE, "benefit"
                ).otherwise("income"),
            ),
        )
        .withColumn("insurer", _insurer(seed))
        .withColumn("died", F.col("death_year") == F.col("year"))
        .withColumn(
            "death_date",
            F.when(
                F.col("died"),
                F.date_add(F.make_date(F.col("year"), F.lit(1), F.lit(1)), day_of_death),
            ),
        )
        .withColumn(
            "medical_house",
            uniform(seed, "medical_house", "pid")
            < by_key(reg, P.MEDICAL_HOUSE_BY_REGION) * F.when(age >= 75, 0.6).otherwise(1.0),
        )
        .withColumn(
            "nursing_home",
            (age >= 60)
            & (
                uniform(seed, "nursing_home", "pid")
                < logistic(P.NURSING_HOME_A + P.NURSING_HOME_B * age + 0.5 * m)
            ),
        )
        .withColumn(
            "disability",
            (age >= 20)
            & (age < 65)
            & (
                uniform(seed, "disability", "pid")
                < (0.015 + 0.09 * (age - 20) / 45.0) * F.exp(0.5 * m - 0.125)
            ),
        )
    )
    for c in P.CONDITIONS:
        sex_mult = F.when(F.col("sex") == "F", c.female).otherwise(c.male)
        p = F.least(
            logistic(F.lit(c.a) + c.b * age + P.CONDITION_MORBIDITY_WEIGHT * m) * sex_mult,
            F.lit(c.cap),
        )
        py = py.withColumn(
            f"cond_{c.name}", (age >= c.min_age) & (uniform(seed, "cond." + c.name, "pid") < p)
        )
    n_conditions = sum(F.col(f"cond_{c.name}").cast("int") for c in P.CONDITIONS)
    py = py.withColumn("n_conditions", n_conditions)
    # Statute chronic condition [I]: lasting high costs proxied by the same drivers of cost.
    py = py.withColumn(
        "chronic_status",
        F.col("nursing_home")
        | (F.col("n_conditions") >= 3)
        | (F.col("cond_diabetes") & (age >= 60))
        | F.col("cond_heart_failure")
        | F.col("cond_dementia")
        | (F.col("disability") & (m > 1.0)),
    )
    non_user_p = piecewise(age, P.NON_USER_BY_AGE) * F.exp(-0.5 * F.col("gp_habit") - 0.125)
    py = py.withColumn(
        "non_user",
        (F.col("n_conditions") == 0)
        & ~F.col("nursing_home")
        & ~F.col("disability")
        & (uniform(seed, "non_user", "pid", "year") < non_user_p),
    )
    gmd_logit = (
        F.lit(P.GMD_BASE)
        + P.GMD_AGE_SLOPE * (age - 40)
        + 0.5 * F.col("gp_habit")
        + 0.3 * F.col("n_conditions")
    )
    py = py.withColumn(
        "gmd", F.col("medical_house") | (uniform(seed, "gmd", "pid") < logistic(gmd_logit))
    )
    return py


def _insurer(seed: int) -> Column:
    u = uniform(seed, "insurer", "pid")
    expr = None
    for reg, shares in P.INSURERS_BY_REGION.items():
        pick = choice(u, shares)
        expr = (
            F.when(F.col("reg_nis") == reg, pick)
            if expr is None
            else expr.when(F.col("reg_nis") == reg, pick)
        )
    return expr.otherwise(F.lit("100"))


def population_rows(py: DataFrame) -> DataFrame:
    """The person-year table as the source data model has it."""
    return py.select(
        "year",
        "person_id",
        "birth_year",
        "sex",
        F.col("nis").alias("nis_municipality"),
        "insurer",
        "bim",
        "bim_basis",
        "death_date",
        "chronic_status",
        "disability",
        "nursing_home",
        "medical_house",
        "gmd",
    )
