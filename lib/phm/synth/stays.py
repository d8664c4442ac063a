"""Hospital stays: classic, day, maternity, planned chemo/dialysis, psychiatric, terminal,
readmissions and inter-hospital transfers, per person-year.

Readmissions are drawn after each classic discharge with a risk that rises with age and
morbidity and differs by hospital (a planted hospital effect, so hospital comparisons have
something to find); transfers produce a second stay admitted the same or next day elsewhere.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from phm.data import reference_data
from phm.synth import params as P
from phm.synth.columns import piecewise, year_start
from phm.synth.rng import choice, geometric, uniform

HOSPITALS_PER_100K = 0.9  # ~103 hospitals for 11.5M [S]
OUTLIER_HOSPITAL_EFFECT = 0.6  # log-multiplier on readmission risk for planted outliers [I]


def hospitals(spark: SparkSession) -> DataFrame:
    """Synthetic hospitals per arrondissement, each with a readmission-risk effect."""
    arr = reference_data.municipalities().groupby("arr_nis", as_index=False)["pop_2020_total"].sum()
    arr["n_hospitals"] = (
        (arr["pop_2020_total"] / 100_000 * HOSPITALS_PER_100K).round().clip(lower=1).astype(int)
    )
    return spark.createDataFrame(arr[["arr_nis", "n_hospitals"]])


def hospital_id(arr_nis: Column, index: Column) -> Column:
    """11-digit RIZIV-like number: 7 (hospital) + 10 + arrondissement (2) + index (3) + 000."""
    return F.concat(
        F.lit("710"), F.substring(arr_nis, 1, 2), F.lpad(index.cast("string"), 3, "0"), F.lit("000")
    )


def hospital_effect(seed: int, hosp: Column) -> Column:
    """Persistent hospital quality effect: mostly small, one in ~15 hospitals a clear outlier."""
    u = uniform(seed, "hospital_effect", hosp)
    return F.when(u < 0.07, F.lit(OUTLIER_HOSPITAL_EFFECT)).otherwise((u - 0.5) * 0.4)


def _events(py: DataFrame, count: Column, kind: str) -> DataFrame:
    return (
        py.withColumn("_n", count)
        .where(F.col("_n") > 0)
        .withColumn("k", F.explode(F.sequence(F.lit(1), F.col("_n"))))
        .withColumn("kind", F.lit(kind))
        .drop("_n")
    )


def _adm_date(seed: int, stream: str) -> Column:
    day = F.floor(uniform(seed, stream, "pid", "year", "kind", "k") * 365).cast("int")
    return F.date_add(year_start(F.col("year")), day)


def index_stays(py: DataFrame, *, seed: int) -> DataFrame:
    """Primary stays (not readmissions or transfers) with admission date and length of stay."""
    age, m = F.col("age"), F.col("morbidity")
    mult = F.exp(P.HOSPITAL_MORBIDITY_WEIGHT * m - P.HOSPITAL_MORBIDITY_WEIGHT**2 / 2)
    u = lambda s: uniform(seed, s, "pid", "year")  # noqa: E731
    classic = _events(
        py, geometric(piecewise(age, P.CLASSIC_RATE_BY_AGE) * mult, u("n_classic")), "classic"
    )
    day = _events(py, geometric(piecewise(age, P.DAY_RATE_BY_AGE) * mult, u("n_day")), "day")
    maternity = _events(
        py,
        F.when(
            (F.col("sex") == "F")
            & age.between(20, 44)
            & (u("maternity") < P.MATERNITY_RATE_WOMEN_20_44),
            1,
        ).otherwise(0),
        "maternity",
    )
    chemo_p = F.lit(P.CHEMO_PREVALENCE) * F.when(age >= 50, 2.0).otherwise(0.4)
    chemo = _events(
        py,
        F.when(uniform(seed, "chemo", "pid", "year") < chemo_p, P.CHEMO_STAYS_PER_YEAR).otherwise(
            0
        ),
        "chemo",
    )
    dialysis_p = F.when(age >= 65, P.DIALYSIS_PREVALENCE_65).otherwise(0.0003)
    dialysis = _events(
        py,
        F.when(uniform(seed, "dialysis", "pid") < dialysis_p, P.DIALYSIS_STAYS_PER_YEAR).otherwise(
            0
        ),
        "dialysis",
    )
    mental = F.col("cond_depression") | F.col("cond_psychosis")
    psy_rate = F.when(mental, P.PSY_STAY_RATE_MENTAL).otherwise(P.PSY_STAY_RATE_GENERAL) * F.when(
        age < 15, 0.2
    ).otherwise(1.0)
    psychiatric = _events(py, F.when(u("psy") < psy_rate, 1).otherwise(0), "psychiatric")
    terminal = _events(
        py,
        F.when(F.col("died") & (u("terminal") < P.DEATH_IN_HOSPITAL_SHARE), 1).otherwise(0),
        "terminal",
    )
    stays = (
        classic.unionByName(day)
        .unionByName(maternity)
        .unionByName(chemo)
        .unionByName(dialysis)
        .unionByName(psychiatric)
        .unionByName(terminal)
    )

    ux = lambda s: uniform(seed, s, "pid", "year", "kind", "k")  # noqa: E731
    los_classic = F.lit(1) + geometric(
        piecewise(age, P.CLASSIC_LOS_MEAN_BY_AGE) * F.exp(0.2 * m) - 1, ux("los")
    )
    kind = F.col("kind")
    los = (
        F.when(kind == "day", F.lit(0))
        .when(
            kind.isin("chemo", "dialysis"),
            F.when(
                ux("planned_classic") < 0.3, F.lit(1) + F.floor(ux("los") * 3).cast("int")
            ).otherwise(F.lit(0)),
        )
        .when(kind == "maternity", F.lit(3) + F.floor(ux("los") * 3).cast("int"))
        .when(kind == "psychiatric", F.lit(2) + geometric(F.lit(float(P.PSY_LOS_MEAN)), ux("los")))
        .otherwise(los_classic)
    )
    # Planned series are spread over the year; others fall on a uniform day.
    series_day = F.floor(
        (F.col("k") - 1)
        * 365.0
        / F.when(kind == "chemo", P.CHEMO_STAYS_PER_YEAR).otherwise(P.DIALYSIS_STAYS_PER_YEAR)
        + ux("jitter") * 2
    ).cast("int")
    admission = F.when(
        kind.isin("chemo", "dialysis"), F.date_add(year_start(F.col("year")), series_day)
    ).otherwise(_adm_date(seed, "admission"))
    stays = stays.withColumn("los", los).withColumn("admission_date", admission)
    # A terminal stay ends on the day of death.
    stays = stays.withColumn(
        "admission_date",
        F.when(kind == "terminal", F.date_sub(F.col("death_date"), F.col("los"))).otherwise(
            F.col("admission_date")
        ),
    ).withColumn("discharge_date", F.date_add(F.col("admission_date"), F.col("los")))
    return stays


def _attributes(stays: DataFrame, *, seed: int) -> DataFrame:
    age, kind = F.col("age"), F.col("kind")
    ux = lambda s: uniform(seed, s, "pid", "year", "kind", "k")  # noqa: E731
    unplanned = kind.isin("classic", "terminal", "psychiatric", "readmission")
    via_ed = (
        F.when(kind == "readmission", ux("ed") < P.READMISSION_VIA_ED)
        .when(
            unplanned,
            ux("ed")
            < piecewise(age, P.VIA_ED_SHARE_BY_AGE)
            * F.when(kind == "psychiatric", 0.7).otherwise(1.0),
        )
        .otherwise(F.lit(False))
    )
    service = (
        F.when(kind == "psychiatric", "psychiatric")
        .when(kind == "maternity", "maternity")
        .when(age < 15, "paediatric")
        .when(kind.isin("chemo", "dialysis"), "general")
        .when((age >= 75) & (ux("service") < 0.35), "geriatric")
        .otherwise(choice(ux("service2"), [("surgical", 0.45), ("general", 0.55)]))
    )
    diag = (
        F.when(ux("linked") >= P.DIAGNOSIS_LINKED_SHARE, F.lit(None).cast("string"))
        .when(kind == "chemo", "chemotherapy")
        .when(kind == "dialysis", "dialysis")
        .when(kind == "maternity", "delivery")
        .when(kind == "psychiatric", "mental_health")
        .when(F.col("stay_type") == "classic", _acsc_group(ux("diag")))
        .otherwise("other")
    )
    destination = (
        F.when(kind == "terminal", "death")
        .when(F.col("transferred"), "transfer")
        .when(F.col("nursing_home"), "nursing_home")
        .otherwise("home")
    )
    return (
        stays.withColumn("admitted_via_ed", via_ed)
        .withColumn("service_type", service)
        .withColumn("main_diagnosis_group", diag)
        .withColumn("discharge_destination", destination)
    )


def _acsc_group(u: Column) -> Column:
    """Ambulatory-care-sensitive groups for people who have the condition [I]."""
    return (
        F.when(F.col("cond_diabetes") & (u < 0.10), "diabetes")
        .when(F.col("cond_airways") & (u < 0.18), "copd_asthma")
        .when(F.col("cond_heart_failure") & (u < 0.25), "heart_failure")
        .otherwise("other")
    )


def stays(spark: SparkSession, py: DataFrame, *, seed: int, years: list[int]) -> DataFrame:
    """All stays with attributes, before accounting lags. One row per stay."""
    first_day, last_day = (
        F.make_date(F.lit(years[0]), F.lit(1), F.lit(1)),
        F.make_date(F.lit(years[-1]), F.lit(12), F.lit(31)),
    )
    people = py.select(
        "pid",
        "person_id",
        "year",
        "age",
        "sex",
        "arr_nis",
        "morbidity",
        "died",
        "death_date",
        "nursing_home",
        "cond_depression",
        "cond_psychosis",
        "cond_diabetes",
        "cond_airways",
        "cond_heart_failure",
    )
    base = index_stays(people, seed=seed)
    # Home hospital of the person, or (15%) a hospital of another arrondissement's capital.
    hosp = F.broadcast(hospitals(spark))
    base = base.join(hosp, "arr_nis", "left")
    ux = lambda s: uniform(seed, s, "pid", "year", "kind", "k")  # noqa: E731
    idx = F.floor(
        F.when(ux("hospital") < 0.85, uniform(seed, "home_hospital", "pid")).otherwise(
            ux("hospital2")
        )
        * F.col("n_hospitals")
    ).cast("int")
    base = base.withColumn("hospital_id", hospital_id(F.col("arr_nis"), idx)).drop("n_hospitals")
    planned_classic = F.col("kind").isin("chemo", "dialysis") & (ux("planned_classic") < 0.3)
    base = base.withColumn(
        "stay_type",
        F.when(F.col("kind").isin("day", "chemo", "dialysis") & ~planned_classic, "day").otherwise(
            "classic"
        ),
    )
    base = base.withColumn(
        "transferred",
        (F.col("stay_type") == "classic")
        & (F.col("kind") != "terminal")
        & (ux("transfer") < P.TRANSFER_SHARE),
    )

    readmissions = _readmissions(base, seed=seed)
    transfers = _transfers(base, seed=seed)
    all_stays = base.unionByName(readmissions).unionByName(transfers)
    all_stays = _attributes(all_stays, seed=seed)
    # Keep what lies inside the simulated years and before death (a readmission drawn after
    # a person's death or after the horizon did not happen).
    alive = F.col("death_date").isNull() | (F.col("discharge_date") <= F.col("death_date"))
    all_stays = all_stays.where(
        (F.col("admission_date") >= first_day) & (F.col("discharge_date") <= last_day) & alive
    )
    all_stays = all_stays.withColumn(
        "stay_id",
        F.substring(
            F.sha2(
                F.concat_ws(
                    ":",
                    F.lit("phm-stay"),
                    F.lit(seed),
                    F.col("pid").cast("string"),
                    F.col("year").cast("string"),
                    F.col("kind"),
                    F.col("k").cast("string"),
                ),
                256,
            ),
            1,
            16,
        ),
    )
    return all_stays


def _readmissions(base: DataFrame, *, seed: int) -> DataFrame:
    age, m = F.col("age"), F.col("morbidity")
    ux = lambda s: uniform(seed, s, "pid", "year", "kind", "k")  # noqa: E731
    psychiatric = F.col("kind") == "psychiatric"
    risk = (
        F.lit(P.READMISSION_30D_BASE)
        + F.when(age >= 75, P.READMISSION_30D_OLD).otherwise(0.0)
        + F.when(m > 1.0, P.READMISSION_30D_CHRONIC).otherwise(0.0)
    ) * F.exp(hospital_effect(seed, F.col("hospital_id")))
    risk = F.when(psychiatric, F.lit(P.PSY_READMISSION_30D)).otherwise(risk)
    eligible = F.col("kind").isin("classic", "psychiatric") & ~F.col("transferred")
    gap = F.lit(1) + F.floor(F.pow(ux("readmit_gap"), P.READMISSION_GAP_SHAPE) * 29).cast("int")
    read = base.where(eligible & (ux("readmit") < risk))
    los = F.lit(1) + geometric(F.lit(5.0), ux("readmit_los"))
    return (
        read.withColumn("admission_date", F.date_add(F.col("discharge_date"), gap))
        .withColumn(
            "los",
            F.when(psychiatric, F.lit(2) + geometric(F.lit(14.0), ux("readmit_los"))).otherwise(
                los
            ),
        )
        .withColumn("discharge_date", F.date_add(F.col("admission_date"), F.col("los")))
        .withColumn("kind", F.when(psychiatric, "psychiatric").otherwise("readmission"))
        .withColumn("k", F.col("k") + 1000)  # distinct stay key
        .withColumn("transferred", F.lit(False))
    )


def _transfers(base: DataFrame, *, seed: int) -> DataFrame:
    ux = lambda s: uniform(seed, s, "pid", "year", "kind", "k")  # noqa: E731
    # a referral centre: 710 + "99" (no arrondissement) + index + 000, 11 digits like the others
    other = F.concat(
        F.lit("71099"), F.lpad(F.floor(ux("transfer_to") * 5).cast("string"), 3, "0"), F.lit("000")
    )
    return (
        base.where(F.col("transferred"))
        .withColumn("hospital_id", other)
        .withColumn(
            "admission_date",
            F.date_add(F.col("discharge_date"), F.floor(ux("transfer_gap") * 2).cast("int")),
        )
        .withColumn("los", F.lit(1) + geometric(F.lit(6.0), ux("transfer_los")))
        .withColumn("discharge_date", F.date_add(F.col("admission_date"), F.col("los")))
        .withColumn("kind", F.lit("transfer_in"))
        .withColumn("k", F.col("k") + 2000)
        .withColumn("transferred", F.lit(False))
    )


def stay_rows(stays_df: DataFrame) -> DataFrame:
    """Stays as the source data model has them (accounting month added by the lag step)."""
    return stays_df.select(
        "stay_id",
        "person_id",
        "hospital_id",
        "admission_date",
        "discharge_date",
        "stay_type",
        "admitted_via_ed",
        "discharge_destination",
        "service_type",
        "main_diagnosis_group",
        F.year("discharge_date").alias("year"),
    )
