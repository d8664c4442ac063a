"""Health-care claims (GZ/SSA): ambulatory contacts, forfaits, nursing home, screening, and the
hospital billing that belongs to each stay, plus follow-up contacts after discharges.

Each kind of claim is a small DataFrame of (person-year, service group, date, quantity, amount
hint) built with one explode; they are unioned, priced from the nomenclature once, and given
provider and accounting information in one final projection.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from phm.data import reference_data
from phm.synth import params as P
from phm.synth.columns import by_age_band, by_key, money, piecewise, year_start
from phm.synth.pilot import PilotEffect, scaled
from phm.synth.rng import geometric, logistic, normal, uniform

GP_POOL = 9000  # GPs (synthetic provider numbers)


def _explode(df: DataFrame, count: Column) -> DataFrame:
    return (
        df.withColumn("_n", count)
        .where(F.col("_n") > 0)
        .withColumn("k", F.explode(F.sequence(F.lit(1), F.col("_n"))))
        .drop("_n")
    )


def _day_in_year(seed: int, stream: str) -> Column:
    return F.date_add(
        year_start(F.col("year")),
        F.floor(uniform(seed, stream, "pid", "year", "k") * 365).cast("int"),
    )


def _finish(
    df: DataFrame,
    group: str,
    date: Column,
    *,
    quantity: Column | None = None,
    amount: Column | None = None,
    code_rank: Column | None = None,
) -> DataFrame:
    return df.select(
        "pid",
        "person_id",
        "year",
        "bim",
        F.lit(group).alias("service_group"),
        (code_rank if code_rank is not None else F.lit(0)).alias("code_rank"),
        date.alias("service_date"),
        (quantity if quantity is not None else F.lit(1)).alias("quantity"),
        (amount if amount is not None else F.lit(None).cast("double")).alias("amount"),
        F.lit(None).cast("string").alias("stay_id"),
        F.lit(None).cast("string").alias("institution_id"),
        "death_date",
        "k",
        "nis",
    )


def gp_contacts(py: DataFrame, *, seed: int) -> DataFrame:
    """Fee-for-service GP consults and home visits (not for medical-house enrolees)."""
    age, m = F.col("age"), F.col("morbidity")
    region = by_key(F.col("reg_nis"), P.GP_REGION_EFFECT)
    any_logit = piecewise(age, P.GP_ANY_LOGIT_BY_AGE) + 0.6 * F.col("gp_habit") + 0.3 * m + region
    users = py.where(
        ~F.col("medical_house")
        & ~F.col("non_user")
        & (uniform(seed, "gp_any", "pid", "year") < logistic(any_logit))
    )
    log_mean = (
        piecewise(age, P.GP_COUNT_LOG_MEAN_BY_AGE)
        + F.when(F.col("sex") == "F", 0.1).otherwise(0.0)
        + 0.35 * F.col("gp_habit")
        + 0.25 * m
        + region
        + F.when(F.col("nursing_home"), 0.5).otherwise(0.0)
        + P.GP_COUNT_SIGMA * normal(seed, "gp_count", "pid", "year")
        - 0.3
    )
    contacts = _explode(users, F.greatest(F.lit(1), F.round(F.exp(log_mean)).cast("int")))
    home = F.col("nursing_home") | (
        uniform(seed, "gp_home", "pid", "year", "k") < piecewise(age, P.GP_HOME_VISIT_SHARE_BY_AGE)
    )
    rank = F.when(uniform(seed, "gp_code", "pid", "year", "k") < 0.7, 0).otherwise(1)
    consults = contacts.where(~home)
    visits = contacts.where(home)
    gmd = users.where(F.col("gmd")).withColumn("k", F.lit(0))
    return (
        _finish(consults, "gp_consult", _day_in_year(seed, "gp_day"), code_rank=rank)
        .unionByName(_finish(visits, "gp_home_visit", _day_in_year(seed, "gp_day"), code_rank=rank))
        .unionByName(_finish(gmd, "gp_gmd", _day_in_year(seed, "gmd_day")))
    )


def medical_house_forfaits(py: DataFrame) -> DataFrame:
    mh = _explode(py.where(F.col("medical_house")), F.lit(12))
    return _finish(mh, "gp_forfait", F.make_date(F.col("year"), F.col("k"), F.lit(1)))


def ambulatory(py: DataFrame, *, seed: int) -> DataFrame:
    """Specialists, dentists, physiotherapy, lab, imaging, emergency visits, psychiatrists."""
    age, m = F.col("age"), F.col("morbidity")
    py = py.where(~F.col("non_user"))
    parts = []
    for group, probs, mean in P.AMBULATORY:
        p = by_age_band(age, probs) * F.exp(0.35 * m - 0.06)
        if group == "dentist":
            p = p * F.when(F.col("bim"), 0.75).otherwise(1.0)
        users = py.where(uniform(seed, f"{group}_any", "pid", "year") < p)
        events = _explode(
            users,
            F.lit(1)
            + geometric(
                F.lit(mean - 1.0) * F.exp(0.3 * m), uniform(seed, f"{group}_n", "pid", "year")
            ),
        )
        parts.append(_finish(events, group, _day_in_year(seed, f"{group}_day")))
    mental = F.col("cond_depression") | F.col("cond_psychosis")
    psy_p = F.lit(P.PSYCHIATRIST_ANY) * F.when(mental, 8.0).otherwise(1.0)
    psy = _explode(
        py.where(uniform(seed, "psychiatrist_any", "pid", "year") < psy_p),
        F.lit(1) + geometric(F.lit(3.0), uniform(seed, "psychiatrist_n", "pid", "year")),
    )
    parts.append(_finish(psy, "psychiatrist", _day_in_year(seed, "psychiatrist_day")))
    out = parts[0]
    for part in parts[1:]:
        out = out.unionByName(part)
    return out


def home_and_nursing_home(py: DataFrame, *, seed: int) -> DataFrame:
    age, m = F.col("age"), F.col("morbidity")
    p = piecewise(age, P.HOME_NURSING_BY_AGE) * F.exp(0.5 * m - 0.125)
    users = py.where(~F.col("nursing_home") & (uniform(seed, "home_nursing", "pid", "year") < p))
    visits = F.greatest(
        F.lit(1),
        F.round(
            F.exp(
                P.HOME_NURSING_VISITS_LOG_MEAN + 0.9 * normal(seed, "home_nursing_n", "pid", "year")
            )
        ).cast("int"),
    )
    # One claim line per month of care, quantity = visits that month (keeps rows bounded).
    months = F.least(F.lit(12), F.greatest(F.lit(1), F.ceil(visits / 8.0).cast("int")))
    nursing = _explode(
        users.withColumn("_visits", visits).withColumn("_months", months), F.col("_months")
    )
    start_month = F.lit(1) + F.floor(
        uniform(seed, "home_nursing_start", "pid", "year") * (F.lit(13) - F.col("_months"))
    ).cast("int")
    per_month = F.greatest(F.lit(1), F.floor(F.col("_visits") / F.col("_months")).cast("int"))
    home = _finish(
        nursing,
        "home_nursing",
        F.make_date(F.col("year"), start_month + F.col("k") - 1, F.lit(15)),
        quantity=per_month,
    )
    nh = _explode(py.where(F.col("nursing_home")), F.lit(12))
    nh_id = F.concat(
        F.lit("7600"),
        F.lpad(F.pmod(F.xxhash64(F.lit(seed), F.col("pid")), F.lit(2000)).cast("string"), 4, "0"),
        F.lit("000"),
    )
    nh_claims = _finish(
        nh, "nursing_home", F.make_date(F.col("year"), F.col("k"), F.lit(1)), quantity=F.lit(30)
    ).withColumn("institution_id", nh_id)
    return home.unionByName(nh_claims)


def screening_and_programmes(py: DataFrame, *, seed: int) -> DataFrame:
    """Breast screening (biennial habit) and diabetes care trajectories."""
    age = F.col("age")
    py = py.where(~F.col("non_user"))
    screener = (
        (F.col("sex") == "F")
        & age.between(50, 69)
        & (
            uniform(seed, "screener", "pid")
            < by_key(F.col("reg_nis"), P.BREAST_SCREENING_2Y_BY_REGION) * 0.97
        )
    )
    parity = F.floor(uniform(seed, "screen_parity", "pid") * 2).cast("int")
    screened = py.where(screener & (F.pmod(F.col("year") + parity, F.lit(2)) == 0)).withColumn(
        "k", F.lit(1)
    )
    group_u = uniform(seed, "screen_kind", "pid", "year")
    mammo = _finish(
        screened.where(group_u >= P.BREAST_SCREENING_DIAGNOSTIC_SHARE),
        "mammography_screening",
        _day_in_year(seed, "screen_day"),
    ).unionByName(
        _finish(
            screened.where(group_u < P.BREAST_SCREENING_DIAGNOSTIC_SHARE),
            "mammography_diagnostic",
            _day_in_year(seed, "screen_day"),
        )
    )
    diab = py.where(
        F.col("cond_diabetes") & (uniform(seed, "diabetes_care", "pid") < 0.35)
    ).withColumn("k", F.lit(1))
    return mammo.unionByName(_finish(diab, "diabetes_care", _day_in_year(seed, "diab_day")))


def follow_up_contacts(stays: DataFrame, py: DataFrame, *, seed: int) -> DataFrame:
    """GP contact within 7 days of a classic discharge (65+), ambulatory contact after a
    psychiatric discharge (7 and 30 days)."""
    us = lambda name: uniform(seed, name, F.col("stay_id"))  # noqa: E731
    home = F.col("discharge_destination").isin("home", "nursing_home")
    # k values of their own keep claim ids distinct from the person's ordinary contacts
    base = stays.join(
        py.select("pid", "year", "medical_house", "bim", "nis"), ["pid", "year"]
    ).withColumn("k", F.lit(9001))
    gp = base.where(
        (F.col("stay_type") == "classic")
        & (F.col("age") >= 65)
        & home
        & ~F.col("medical_house")
        & (F.col("service_type") != "psychiatric")
        & (us("gp_follow") < P.GP_FOLLOW_UP_AFTER_DISCHARGE_65)
    )
    gp_date = F.date_add(
        F.col("discharge_date"), F.lit(1) + F.floor(us("gp_follow_day") * 7).cast("int")
    )
    psy = base.where((F.col("service_type") == "psychiatric") & home).withColumn("k", F.lit(9002))
    u7, gap = us("psy_follow"), us("psy_follow_day")
    psy_days = F.when(u7 < P.PSY_FOLLOW_UP_7D, F.lit(1) + F.floor(gap * 7).cast("int")).when(
        u7 < P.PSY_FOLLOW_UP_30D, F.lit(8) + F.floor(gap * 23).cast("int")
    )
    psy = psy.withColumn("_days", psy_days).where(F.col("_days").isNotNull())
    psy_group = F.when(us("psy_follow_who") < 0.6, "psychiatrist").otherwise("gp_consult")
    psy_lines = psy.select(
        "pid",
        "person_id",
        "year",
        "bim",
        psy_group.alias("service_group"),
        F.lit(0).alias("code_rank"),
        F.date_add(F.col("discharge_date"), F.col("_days")).alias("service_date"),
        F.lit(1).alias("quantity"),
        F.lit(None).cast("double").alias("amount"),
        F.lit(None).cast("string").alias("stay_id"),
        F.lit(None).cast("string").alias("institution_id"),
        "death_date",
        "k",
        "nis",
    )
    return _finish(gp, "gp_consult", gp_date).unionByName(psy_lines)


def hospital_lines(stays: DataFrame, *, seed: int) -> DataFrame:
    """Per-diem, fee, day-hospital and ED lines of every stay, with stay and institution ids."""
    days = F.greatest(F.col("los"), F.lit(1))
    fee = F.exp(
        P.HOSPITAL_FEE_LOG_MEAN
        + P.HOSPITAL_FEE_LOG_SD * normal(seed, "hospital_fee", F.col("stay_id"))
        - P.HOSPITAL_FEE_LOG_SD**2 / 2
    ) * F.when(F.col("service_type") == "surgical", 1.6).otherwise(0.8)
    day_fee = F.exp(F.lit(5.3) + 0.8 * normal(seed, "day_fee", F.col("stay_id")) - 0.32)
    classic = F.col("stay_type") == "classic"
    per_diem_group = F.when(
        F.col("service_type") == "psychiatric", "psychiatric_per_diem"
    ).otherwise("hospital_per_diem")
    specs = F.array(
        F.when(
            classic,
            F.struct(
                per_diem_group.alias("g"), days.alias("q"), F.lit(None).cast("double").alias("a")
            ),
        ),
        F.when(
            classic, F.struct(F.lit("hospital_fee").alias("g"), F.lit(1).alias("q"), fee.alias("a"))
        ),
        F.when(
            ~classic,
            F.struct(
                F.lit("day_hospital").alias("g"),
                F.lit(1).alias("q"),
                F.lit(None).cast("double").alias("a"),
            ),
        ),
        F.when(
            ~classic,
            F.struct(F.lit("hospital_fee").alias("g"), F.lit(1).alias("q"), day_fee.alias("a")),
        ),
        F.when(
            F.col("admitted_via_ed"),
            F.struct(
                F.lit("emergency").alias("g"),
                F.lit(1).alias("q"),
                F.lit(None).cast("double").alias("a"),
            ),
        ),
    )
    lines = stays.withColumn("line", F.explode(F.filter(specs, lambda x: x.isNotNull())))
    return lines.select(
        "pid",
        "person_id",
        "year",
        "bim",
        F.col("line.g").alias("service_group"),
        F.lit(0).alias("code_rank"),
        F.col("admission_date").alias("service_date"),
        F.col("line.q").alias("quantity"),
        F.col("line.a").alias("amount"),
        "stay_id",
        F.col("hospital_id").alias("institution_id"),
        "death_date",
        F.lit(1).alias("k"),
        "nis",
    )


def price(
    spark: SparkSession, events: DataFrame, *, seed: int, pilot_effect: PilotEffect | None = None
) -> DataFrame:
    """Pick the nomenclature code, price it, and give provider, ids and setting: one projection."""
    nomen = reference_data.nomenclature()
    nomen = nomen.assign(code_rank=nomen.groupby("service_group").cumcount())
    nomen_df = F.broadcast(
        spark.createDataFrame(
            nomen[
                [
                    "service_group",
                    "code_rank",
                    "nomen_code",
                    "fee",
                    "provider_profession",
                    "setting",
                ]
            ].astype({"fee": float})
        )
    )
    ev = events.join(nomen_df, ["service_group", "code_rank"], "left")
    # fall back to the group's first code when a rank is missing from the nomenclature
    first = nomen_df.where(F.col("code_rank") == 0).select(
        F.col("service_group").alias("_g"),
        F.col("nomen_code").alias("_code0"),
        F.col("fee").alias("_fee0"),
        F.col("provider_profession").alias("_prof0"),
        F.col("setting").alias("_setting0"),
    )
    ev = ev.join(F.broadcast(first), ev["service_group"] == first["_g"], "left")
    code = F.coalesce(F.col("nomen_code"), F.col("_code0"))
    fee = F.coalesce(F.col("fee"), F.col("_fee0"))
    prof = F.coalesce(F.col("provider_profession"), F.col("_prof0"), F.lit("1"))
    in_hospital = F.col("stay_id").isNotNull()
    # the planted pilot effect scales the gross amount, so all three amounts follow it
    gross = scaled(
        F.coalesce(F.col("amount"), fee * F.col("quantity")),
        pilot_effect,
        nis=F.col("nis"),
        year=F.year("service_date"),
    )
    share = (
        F.when(in_hospital, 0.03)
        .when(F.col("bim"), P.PERSONAL_SHARE_BIM)
        .otherwise(P.PERSONAL_SHARE_OTHER)
    )
    share = F.when(
        F.col("service_group").isin(
            "gp_gmd", "gp_forfait", "mammography_screening", "diabetes_care"
        ),
        0.0,
    ).otherwise(share)
    supplement = F.when(
        in_hospital
        & (uniform(seed, "supplement", "pid", "service_date", "service_group", "k") < 0.3),
        gross * P.SUPPLEMENT_SHARE,
    ).otherwise(0.0)
    gp_seq = F.when(
        uniform(seed, "gp_loyal", "pid", "service_date", "k") < 0.8,
        F.pmod(F.xxhash64(F.lit(seed), F.lit("gp"), F.col("pid")), F.lit(GP_POOL)),
    ).otherwise(
        F.pmod(
            F.xxhash64(F.lit(seed), F.lit("gp_other"), F.col("pid"), F.col("service_date")),
            F.lit(GP_POOL),
        )
    )
    other_seq = F.pmod(F.xxhash64(F.lit(seed), F.col("service_group"), F.col("pid")), F.lit(20000))
    is_gp = F.col("service_group").startswith("gp_")
    seq = F.when(is_gp, gp_seq).otherwise(other_seq)
    qualification = (
        F.when(is_gp, "004")
        .when(F.col("service_group") == "psychiatrist", "780")
        .when(prof == "1", "580")
        .otherwise("000")
    )
    provider = F.concat(prof, F.lpad(seq.cast("string"), 5, "0"), F.lit("00"), qualification)
    claim_id = F.substring(
        F.sha2(
            F.concat_ws(
                ":",
                F.lit("phm-claim"),
                F.lit(seed),
                F.col("pid").cast("string"),
                F.col("service_group"),
                F.col("service_date").cast("string"),
                F.coalesce(F.col("stay_id"), F.lit("")),
                F.col("k").cast("string"),
            ),
            256,
        ),
        1,
        20,
    )
    return ev.select(
        claim_id.alias("claim_id"),
        "person_id",
        code.alias("nomen_code"),
        "service_date",
        F.col("quantity").cast("int").alias("quantity"),
        money(gross * (1 - share)).alias("amount_reimbursed"),
        money(gross * share).alias("amount_personal_share"),
        money(supplement).alias("amount_supplement"),
        F.when(
            F.col("service_group").isin(
                "gp_forfait",
                "nursing_home",
                "hospital_per_diem",
                "psychiatric_per_diem",
                "day_hospital",
            ),
            F.lit(None).cast("string"),
        )
        .otherwise(provider)
        .alias("provider_id"),
        F.when(
            F.col("service_group").isin(
                "gp_forfait",
                "nursing_home",
                "hospital_per_diem",
                "psychiatric_per_diem",
                "day_hospital",
            ),
            F.lit(None).cast("string"),
        )
        .otherwise(qualification)
        .alias("provider_qualification"),
        F.col("institution_id"),
        "stay_id",
        F.when(in_hospital, "hospital").otherwise("ambulatory").alias("setting"),
        F.year("service_date").alias("year"),
        "pid",
    )


def health_care(
    spark: SparkSession,
    py: DataFrame,
    stays: DataFrame,
    *,
    seed: int,
    years: list[int],
    pilot_effect: PilotEffect | None = None,
) -> DataFrame:
    """All claim lines, priced, before accounting lags."""
    people = py
    events = (
        gp_contacts(people, seed=seed)
        .unionByName(medical_house_forfaits(people))
        .unionByName(ambulatory(people, seed=seed))
        .unionByName(home_and_nursing_home(people, seed=seed))
        .unionByName(screening_and_programmes(people, seed=seed))
        .unionByName(follow_up_contacts(stays, people, seed=seed))
    )
    # Nothing is billed after death; follow-ups past the horizon did not happen.
    last_day = F.make_date(F.lit(years[-1]), F.lit(12), F.lit(31))
    events = events.where(
        (F.col("death_date").isNull() | (F.col("service_date") <= F.col("death_date")))
        & (F.col("service_date") <= last_day)
    )
    hosp = hospital_lines(
        stays.join(py.select("pid", "year", "bim", "nis"), ["pid", "year"]), seed=seed
    )
    return price(spark, events.unionByName(hosp), seed=seed, pilot_effect=pilot_effect)
