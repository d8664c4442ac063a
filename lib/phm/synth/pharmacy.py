"""Farmanet deliveries: chronic treatments of the drug-treated conditions (regular refills that
overlap a little, as people refill early), acute courses, flu vaccination, contraception.

Which chronic drugs a person takes and how adherent they are is drawn once per person, so
medication continuity and polypharmacy are stable from one year to the next.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from phm.data import reference_data
from phm.synth import params as P
from phm.synth.columns import by_age_band, by_key, money, year_start
from phm.synth.pilot import PilotEffect, scaled
from phm.synth.rng import geometric, uniform


def chronic(py: DataFrame, *, seed: int) -> DataFrame:
    """Regular refills: (pid, year, atc5, delivery_date, packages) rows."""
    taken = [
        F.when(F.col(f"cond_{c.name}") & (uniform(seed, "drug." + atc, "pid") < prob), F.lit(atc))
        for c in P.CONDITIONS
        for atc, prob in c.drugs
    ]
    drugs = py.withColumn(
        "atc5", F.explode(F.array_distinct(F.filter(F.array(*taken), lambda x: x.isNotNull())))
    )
    return drugs


def _refills(drugs: DataFrame, products: DataFrame, *, seed: int) -> DataFrame:
    d = drugs.join(F.broadcast(products), "atc5")
    adherence = F.lit(P.ADHERENCE_MIN) + F.lit(1 - P.ADHERENCE_MIN) * F.sqrt(
        uniform(seed, "adherence", "pid", "atc5")
    )
    interval = F.greatest(
        F.lit(7.0), F.col("ddd_per_package") / adherence - P.CHRONIC_PACKAGE_SHIFT_DAYS * adherence
    )
    n = F.ceil(F.lit(365.0) / interval).cast("int")
    offset = uniform(seed, "refill_offset", "pid", "atc5", "year") * interval
    d = d.withColumn("_interval", interval).withColumn(
        "k", F.explode(F.sequence(F.lit(1), F.greatest(n, F.lit(1))))
    )
    day = F.floor(offset + (F.col("k") - 1) * F.col("_interval")).cast("int")
    return (
        d.withColumn("delivery_date", F.date_add(year_start(F.col("year")), day))
        .withColumn("packages", F.lit(1))
        .where(F.year("delivery_date") == F.col("year"))
    )


def acute(py: DataFrame, *, seed: int) -> DataFrame:
    age, m = F.col("age"), F.col("morbidity")
    py = py.where(~F.col("non_user"))
    courses = []
    for atc, probs, mean in P.ACUTE_DRUGS:
        p = by_age_band(age, probs) * F.exp(0.3 * m - 0.045)
        n = F.when(
            uniform(seed, "acute." + atc, "pid", "year") < p,
            F.lit(1) + geometric(F.lit(mean - 1.0), uniform(seed, "acute_n." + atc, "pid", "year")),
        ).otherwise(0)
        courses.append(F.struct(F.lit(atc).alias("atc5"), n.alias("n")))
    c = py.withColumn("_c", F.explode(F.filter(F.array(*courses), lambda x: x["n"] > 0)))
    c = (
        c.withColumn("atc5", F.col("_c.atc5"))
        .withColumn("k", F.explode(F.sequence(F.lit(1), F.col("_c.n"))))
        .drop("_c")
    )
    day = F.floor(uniform(seed, "acute_day", "pid", "year", "atc5", "k") * 365).cast("int")
    return c.withColumn("delivery_date", F.date_add(year_start(F.col("year")), day)).withColumn(
        "packages", F.lit(1)
    )


def flu_and_contraception(py: DataFrame, *, seed: int) -> DataFrame:
    age = F.col("age")
    p = (
        F.when(F.col("nursing_home"), P.FLU_NURSING_HOME)
        .when(age >= 65, by_key(F.col("reg_nis"), P.FLU_65PLUS_BY_REGION))
        .when(F.col("chronic_status") | (F.col("n_conditions") >= 2), P.FLU_UNDER65_CHRONIC)
        .otherwise(P.FLU_UNDER65_OTHER)
    )
    # habit: most of the draw is the person's, the rest is the year's; still U(0,1) overall
    habit = F.when(
        uniform(seed, "flu_mix", "pid", "year") < P.FLU_PERSISTENCE, uniform(seed, "flu", "pid")
    ).otherwise(uniform(seed, "flu_year", "pid", "year"))
    flu = (
        py.where(~F.col("non_user") & (habit < p))
        .withColumn("atc5", F.lit("J07BB02"))
        .withColumn("k", F.lit(1))
    )
    flu = flu.withColumn(
        "delivery_date",
        F.date_add(
            F.make_date(F.col("year"), F.lit(10), F.lit(1)),
            F.floor(uniform(seed, "flu_day", "pid", "year") * 75).cast("int"),
        ),
    ).withColumn("packages", F.lit(1))
    women = py.where(
        (F.col("sex") == "F")
        & age.between(15, 49)
        & (uniform(seed, "contraceptive", "pid") < P.CONTRACEPTIVE_WOMEN_15_49)
    )
    pill = women.withColumn("atc5", F.lit("G03AA07")).withColumn(
        "k", F.explode(F.sequence(F.lit(1), F.lit(4)))
    )
    pill = pill.withColumn(
        "delivery_date",
        F.date_add(
            year_start(F.col("year")),
            ((F.col("k") - 1) * 91 + F.floor(uniform(seed, "pill_day", "pid", "year") * 20)).cast(
                "int"
            ),
        ),
    ).withColumn("packages", F.lit(1))
    return flu.unionByName(pill)


def pharmacy(
    spark: SparkSession, py: DataFrame, *, seed: int, pilot_effect: PilotEffect | None = None
) -> DataFrame:
    """All deliveries, priced and enriched with CNK, ATC and DDD, before accounting lags."""
    prod = reference_data.products()
    first = prod.groupby("atc5", as_index=False).first()  # the typical package of each ATC5
    products = spark.createDataFrame(
        first[["atc5", "cnk", "ddd_per_package", "package_price", "reimbursement_category"]].astype(
            {"ddd_per_package": float, "package_price": float}
        )
    )
    cols = [
        "pid",
        "person_id",
        "year",
        "bim",
        "death_date",
        "atc5",
        "k",
        "delivery_date",
        "packages",
        "nis",
    ]
    chronic_rows = _refills(chronic(py, seed=seed), products, seed=seed).select(*cols)
    rows = chronic_rows.unionByName(acute(py, seed=seed).select(*cols)).unionByName(
        flu_and_contraception(py, seed=seed).select(*cols)
    )
    rows = rows.where(
        F.col("death_date").isNull() | (F.col("delivery_date") <= F.col("death_date"))
    )
    rows = rows.join(F.broadcast(products), "atc5")
    # the planted pilot effect scales the gross amount, so reimbursement and personal share follow
    gross = scaled(
        F.col("package_price") * F.col("packages"),
        pilot_effect,
        nis=F.col("nis"),
        year=F.year("delivery_date"),
    )
    share = by_key(F.col("reimbursement_category"), P.PHARMACY_PERSONAL_SHARE, 0.3) * F.when(
        F.col("bim"), 0.6
    ).otherwise(1.0)
    gp = F.concat(
        F.lit("1"),
        F.lpad(
            F.pmod(F.xxhash64(F.lit(seed), F.lit("gp"), F.col("pid")), F.lit(9000)).cast("string"),
            5,
            "0",
        ),
        F.lit("00004"),
    )
    pharmacy_id = F.concat(
        F.lit("6"),
        F.lpad(
            F.pmod(F.xxhash64(F.lit(seed), F.lit("pharmacy"), F.col("pid")), F.lit(4800)).cast(
                "string"
            ),
            5,
            "0",
        ),
        F.lit("00000"),
    )
    delivery_id = F.substring(
        F.sha2(
            F.concat_ws(
                ":",
                F.lit("phm-delivery"),
                F.lit(seed),
                F.col("pid").cast("string"),
                F.col("atc5"),
                F.col("delivery_date").cast("string"),
                F.col("k").cast("string"),
            ),
            256,
        ),
        1,
        20,
    )
    return rows.select(
        delivery_id.alias("delivery_id"),
        "person_id",
        "cnk",
        "atc5",
        "delivery_date",
        F.col("packages").cast("int").alias("packages"),
        (F.col("ddd_per_package") * F.col("packages")).alias("ddd"),
        money(gross * (1 - share)).alias("amount_reimbursed"),
        money(gross * share).alias("amount_personal_share"),
        money(F.lit(0.0)).alias("amount_supplement"),
        pharmacy_id.alias("pharmacy_id"),
        F.when(F.col("atc5") == "J07BB02", F.lit(None).cast("string"))
        .otherwise(gp)
        .alias("prescriber_id"),
        F.year("delivery_date").alias("year"),
        "pid",
    )
