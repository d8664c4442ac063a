"""A quick look at a warehouse: row counts, and headline figures to compare with Belgium.

``describe`` answers "does this warehouse look like Belgium?" with a handful of crude yearly
figures (population structure, BIM, GP use, spending, a few medicine-based prevalences, hospital
use), each shown next to the published Belgian value (IMA/AIM publications on https://ima-aim.be,
Statbel, RIZIV/INAMI https://www.inami.fgov.be, healthybelgium.be key data). They are sanity
checks on the data, not indicators: no standardisation, no disclosure control, and definitions
simplified where noted.

Cost of a run: one ``groupBy(year)`` per table for the row counts; one pass over ``health_care``
(joined to a broadcast ``ref_nomenclature``) and one over ``pharmacy``, aggregated to person-year
and joined to ``population`` (with a broadcast ``ref_geography``); that person-year frame is
persisted and read twice (99th percentile of cost, then one ``groupBy(year)`` with conditional
aggregates); one ``groupBy(year)`` over ``hospital_stay``. Only per-year results reach the driver.

Definitions (``year`` = partition year of each table; age = year - birth_year):

* GP contacts: ``sum(quantity)`` of ``health_care`` lines whose nomenclature code is in service
  group ``gp_consult`` or ``gp_home_visit``; the GP-contact share and contacts per patient are
  over persons *not* enrolled in a medical house (IMA excludes forfait patients).
* Spending: reimbursed amount (RIZIV/INAMI share) of ``health_care`` + ``pharmacy``; persons in
  ``population`` without any claim count as zero cost. Top-1% share: spending of persons at or
  above the 99th percentile of yearly cost (``percentile_approx``), over total spending.
* Flu vaccination: home-dwelling (not ``nursing_home``) persons 65+ with >= 1 J07BB delivery in
  the calendar year (the season straddles two years; IMA used seasons).
* Treated diabetes: >= 1 A10 delivery in the year (main figure); the >= 90 DDD variant is shown
  too (that threshold is unconfirmed; no public Belgian list was found).
* Polypharmacy (KCE/IMA): >= 5 distinct ATC5 codes each with >= 80 DDD delivered in the year;
  excessive: >= 10. Public pharmacy only (IMA adds hospital pharmacy, so expect a lower value).
* Hospital: stays by discharge year; deaths in hospital = stays discharged to ``death``.

Cross-checks against the indicator specs. These figures are computed by hand on purpose, as a
check independent of the spec compiler; tests/data/test_describe_vs_specs.py asserts that those
defined like an Atlas spec equal that spec's crude Belgium value (``num / den`` of the cell
without breakdown, exact counts, before disclosure control) on a generated warehouse:

* ``population`` = the denominator of ``bim_share``; ``share_65plus`` = ``population_65plus_share``;
  ``bim_share`` = ``bim_share`` (and ``bim_share_<region>`` = its region cells);
  ``deaths_per_1000`` = ``mortality_per_1000``; ``medical_house_share`` = ``medical_house_share``.
* ``gp_contact_share`` = ``gp_contact_share``, ``gp_contacts_per_patient`` =
  ``gp_contacts_per_patient``: equal while every GP line has quantity 1 (describe sums
  ``quantity``, the ``gp_contacts`` feature counts lines); the test checks that premise.
* ``reimbursed_per_capita``, ``personal_share_per_capita`` = the specs of the same name.
* ``flu_vaccination_65plus`` = ``flu_vaccination_65plus`` (calendar year; not the season spec
  ``flu_vaccination_season_65plus``).
* ``polypharmacy`` = ``polypharmacy_share``; ``polypharmacy_excessive`` =
  ``excessive_polypharmacy_share``.
* ``classic_stays_per_1000``, ``day_stays_per_1000``, ``day_stay_share``,
  ``hospital_death_share`` = the specs of the same name.
* Not compared, definitions differ: ``gmd_share`` (``gmd_coverage`` leaves medical-house
  enrolees out), ``top1_spending_share`` (the spec takes the ceil(1%) costliest persons, ties
  in, not ``percentile_approx``), ``diabetes_treated`` (no spec; ``diabetes_90ddd`` is only a
  lower bound of ``treated_diabetes_share``, which adds care trajectories). No spec:
  ``zero_cost_share``, ``classic_via_ed_share``, ``hospital_deaths``.

Example::

    from phm.data.describe import describe
    d = describe(spark, Warehouse.at("warehouse"))
    d.figure(2023, "bim_share")      # 0.187...
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from phm.data import schemas
from phm.data.warehouse import Warehouse

GP_SERVICE_GROUPS = ("gp_consult", "gp_home_visit")
REGIONS = {"02000": "Flanders", "03000": "Wallonia", "04000": "Brussels"}
FLU_ATC_PREFIX = "J07BB"
DIABETES_ATC_PREFIX = "A10"
DIABETES_MIN_DDD = 90.0
POLY_MIN_DDD = 80.0


@dataclass(frozen=True)
class FigureSpec:
    """One headline figure: how to compute it from the year's aggregates; what Belgium shows."""

    key: str
    section: str
    label: str
    unit: str  # "count" | "%" | "per 1,000" | "EUR" | "ratio"
    compute: Callable[[dict[str, Any]], float | None]
    reference: str = ""  # published Belgian value; [I] marks a synthetic default


@dataclass(frozen=True)
class Figure:
    key: str
    section: str
    label: str
    unit: str
    value: float | None  # shares are fractions (0.189), shown as % by the CLI
    reference: str


@dataclass(frozen=True)
class Description:
    warehouse: str
    years: list[int]
    # table -> year -> rows; reference tables (no year) are under year 0
    row_counts: dict[str, dict[int, int]]
    missing_tables: list[str]
    figures: dict[int, list[Figure]] = field(default_factory=dict)

    def figure(self, year: int, key: str) -> float | None:
        for f in self.figures.get(year, []):
            if f.key == key:
                return f.value
        raise KeyError(f"no figure {key!r}; figures are {[f.key for f in FIGURES]}")


def _ratio(num: str, den: str, scale: float = 1.0) -> Callable[[dict[str, Any]], float | None]:
    def compute(agg: dict[str, Any]) -> float | None:
        d = agg.get(den)
        n = agg.get(num)
        if not d or n is None:
            return None
        return scale * float(n) / float(d)

    return compute


def _value(name: str) -> Callable[[dict[str, Any]], float | None]:
    return lambda agg: None if agg.get(name) is None else float(agg[name])


# The registry, in display order.
FIGURES: tuple[FigureSpec, ...] = (
    FigureSpec("population", "population", "insured persons", "count", _value("n")),
    FigureSpec(
        "share_65plus",
        "population",
        "aged 65+",
        "%",
        _ratio("n_65", "n"),
        "19.3% (1/1/2021, Statbel)",
    ),
    FigureSpec("bim_share", "population", "BIM share", "%", _ratio("bim", "n"), "18.9% (2021)"),
    FigureSpec(
        "bim_share_02000",
        "population",
        "BIM, Flanders",
        "%",
        _ratio("bim_02000", "n_02000"),
        "15.6% (2021)",
    ),
    FigureSpec(
        "bim_share_03000",
        "population",
        "BIM, Wallonia",
        "%",
        _ratio("bim_03000", "n_03000"),
        "21.2% (2021)",
    ),
    FigureSpec(
        "bim_share_04000",
        "population",
        "BIM, Brussels",
        "%",
        _ratio("bim_04000", "n_04000"),
        "31.6% (2021)",
    ),
    FigureSpec(
        "deaths_per_1000",
        "population",
        "deaths",
        "per 1,000",
        _ratio("deaths", "n", 1000.0),
        "≈10 [I]",
    ),
    FigureSpec(
        "medical_house_share",
        "population",
        "medical house",
        "%",
        _ratio("medical_house", "n"),
        "4.7% (2021)",
    ),
    FigureSpec("gmd_share", "population", "with a GMD/DMG", "%", _ratio("gmd", "n")),
    FigureSpec(
        "gp_contact_share",
        "health care",
        "≥1 GP contact (no med. house)",
        "%",
        _ratio("gp_patients", "non_medical_house"),
        "85% (2021)",
    ),
    FigureSpec(
        "gp_contacts_per_patient",
        "health care",
        "GP contacts per patient",
        "ratio",
        _ratio("gp_contacts", "gp_patients"),
        "6.1 (2021)",
    ),
    FigureSpec(
        "reimbursed_per_capita",
        "health care",
        "reimbursed per capita",
        "EUR",
        _ratio("reimbursed", "n"),
        "€3,000 (2023), €3,200 (2024)",
    ),
    FigureSpec(
        "personal_share_per_capita",
        "health care",
        "personal share per capita",
        "EUR",
        _ratio("personal_share", "n"),
    ),
    FigureSpec(
        "zero_cost_share",
        "health care",
        "zero reimbursed cost",
        "%",
        _ratio("zero_cost", "n"),
        "10-15% [I]",
    ),
    FigureSpec(
        "top1_spending_share",
        "health care",
        "top 1% share of spending",
        "%",
        _ratio("top1_cost", "reimbursed"),
        "20-25% [I]",
    ),
    FigureSpec(
        "flu_vaccination_65plus",
        "pharmacy",
        "flu vaccine 65+ at home",
        "%",
        _ratio("flu_65_home", "n_65_home"),
        "53% (2020)",
    ),
    FigureSpec(
        "diabetes_treated",
        "pharmacy",
        "diabetes: ≥1 A10 delivery",
        "%",
        _ratio("diabetes_any", "n"),
        "7.1% (2021)",
    ),
    FigureSpec(
        "diabetes_90ddd", "pharmacy", "diabetes: A10 ≥90 DDD", "%", _ratio("diabetes_90ddd", "n")
    ),
    FigureSpec(
        "polypharmacy",
        "pharmacy",
        "polypharmacy (≥5 ATC5)",
        "%",
        _ratio("poly5", "n"),
        "13.5% (2021)",
    ),
    FigureSpec(
        "polypharmacy_excessive",
        "pharmacy",
        "polypharmacy (≥10 ATC5)",
        "%",
        _ratio("poly10", "n"),
        "3.1% (2021)",
    ),
    FigureSpec(
        "classic_stays_per_1000",
        "hospital",
        "classic stays",
        "per 1,000",
        _ratio("classic", "n", 1000.0),
    ),
    FigureSpec(
        "day_stays_per_1000", "hospital", "day stays", "per 1,000", _ratio("day", "n", 1000.0)
    ),
    FigureSpec(
        "day_stay_share",
        "hospital",
        "day stays among stays",
        "%",
        _ratio("day", "stays"),
        "≈55% [I]",
    ),
    FigureSpec(
        "classic_via_ed_share",
        "hospital",
        "classic stays via ED",
        "%",
        _ratio("classic_ed", "classic"),
    ),
    FigureSpec(
        "hospital_deaths", "hospital", "deaths in hospital", "count", _value("hospital_deaths")
    ),
    FigureSpec(
        "hospital_death_share",
        "hospital",
        "share of deaths in hospital",
        "%",
        _ratio("hospital_deaths", "deaths"),
    ),
)


def describe(spark: SparkSession, warehouse: Warehouse, *, year: int | None = None) -> Description:
    """Row counts per table and year, and the headline figures of every year (or of ``year``).

    Missing tables are read as empty (their figures come out as 0 or None) and listed in
    ``missing_tables``.
    """
    frames: dict[str, DataFrame] = {}
    missing: list[str] = []
    for name, table in {**schemas.SOURCE_TABLES, **schemas.REFERENCE_TABLES}.items():
        if warehouse.exists(spark, name):
            df = warehouse.read(spark, name)
        else:
            missing.append(name)
            df = spark.createDataFrame([], table.schema)
        if year is not None and "year" in table.column_names:
            df = df.where(F.col("year") == year)
        frames[name] = df

    row_counts = _row_counts(frames, missing)
    per_year = _person_year_aggregates(frames)
    for y, hosp in _hospital_aggregates(frames["hospital_stay"]).items():
        per_year.setdefault(y, {}).update(hosp)

    years = sorted(per_year)
    figures = {
        y: [
            Figure(s.key, s.section, s.label, s.unit, s.compute(per_year[y]), s.reference)
            for s in FIGURES
        ]
        for y in years
    }
    return Description(warehouse.root, years, row_counts, sorted(missing), figures)


def _row_counts(frames: dict[str, DataFrame], missing: list[str]) -> dict[str, dict[int, int]]:
    counts: dict[str, dict[int, int]] = {}
    for name, df in frames.items():
        if name in missing:
            counts[name] = {}
        elif "year" in df.columns:
            counts[name] = {r["year"]: r["count"] for r in df.groupBy("year").count().collect()}
        else:
            counts[name] = {0: df.count()}
    return counts


def _count_if(cond) -> Any:
    return F.count_if(F.coalesce(cond, F.lit(False)))


def _person_year_aggregates(frames: dict[str, DataFrame]) -> dict[int, dict[str, Any]]:
    """Population, health-care and pharmacy figures in one final groupBy(year)."""
    geo = F.broadcast(
        frames["ref_geography"].select(F.col("nis").alias("nis_municipality"), "reg_nis")
    )
    pop = (
        frames["population"]
        .join(geo, "nis_municipality", "left")
        .select(
            "year",
            "person_id",
            (F.col("year") - F.col("birth_year") >= 65).alias("is_65plus"),
            "reg_nis",
            "bim",
            "medical_house",
            "gmd",
            "nursing_home",
            F.col("death_date").isNotNull().alias("died"),
        )
    )

    nomen = F.broadcast(frames["ref_nomenclature"].select("nomen_code", "service_group"))
    care = (
        frames["health_care"]
        .join(nomen, "nomen_code", "left")
        .groupBy("year", "person_id")
        .agg(
            F.sum(F.when(F.col("service_group").isin(*GP_SERVICE_GROUPS), F.col("quantity"))).alias(
                "gp"
            ),
            F.sum("amount_reimbursed").cast("double").alias("care_reimbursed"),
            F.sum("amount_personal_share").cast("double").alias("care_personal"),
        )
    )

    atc = F.coalesce(F.col("atc5"), F.lit(""))
    per_product = (
        frames["pharmacy"]
        .groupBy("year", "person_id", "atc5")
        .agg(
            F.sum("ddd").alias("ddd"),
            F.count(F.lit(1)).alias("deliveries"),
            F.sum("amount_reimbursed").alias("reimbursed"),
            F.sum("amount_personal_share").alias("personal"),
        )
    )
    drugs = per_product.groupBy("year", "person_id").agg(
        F.sum("reimbursed").cast("double").alias("drug_reimbursed"),
        F.sum("personal").cast("double").alias("drug_personal"),
        _count_if(F.col("ddd") >= POLY_MIN_DDD).alias("atc5_80ddd"),
        F.max(atc.startswith(FLU_ATC_PREFIX)).alias("flu"),
        F.max(atc.startswith(DIABETES_ATC_PREFIX)).alias("a10_any"),
        F.sum(F.when(atc.startswith(DIABETES_ATC_PREFIX), F.col("ddd"))).alias("a10_ddd"),
    )

    py = (
        pop.join(care, ["year", "person_id"], "left")
        .join(drugs, ["year", "person_id"], "left")
        .withColumn(
            "cost",
            F.coalesce(F.col("care_reimbursed"), F.lit(0.0))
            + F.coalesce(F.col("drug_reimbursed"), F.lit(0.0)),
        )
        .withColumn(
            "personal",
            F.coalesce(F.col("care_personal"), F.lit(0.0))
            + F.coalesce(F.col("drug_personal"), F.lit(0.0)),
        )
        .withColumn("gp", F.coalesce(F.col("gp"), F.lit(0)))
    )
    # The person-year frame is read twice (the 99th percentile, then everything else): persist it
    # so the claims are scanned once. It is small: one row per person and year.
    py = py.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        return _year_aggregates(py)
    finally:
        py.unpersist()


def _year_aggregates(py: DataFrame) -> dict[int, dict[str, Any]]:
    """Per year: counts and sums over the persisted person-year frame."""
    thresholds = py.groupBy("year").agg(F.percentile_approx("cost", 0.99).alias("p99")).collect()
    p99 = F.coalesce(
        *[F.when(F.col("year") == r["year"], F.lit(r["p99"])) for r in thresholds], F.lit(None)
    )
    py = py.withColumn("p99", p99)

    not_mh = ~F.coalesce(F.col("medical_house"), F.lit(False))
    home_65 = F.col("is_65plus") & ~F.coalesce(F.col("nursing_home"), F.lit(False))
    gp_patient = not_mh & (F.col("gp") > 0)
    aggs = [
        F.count(F.lit(1)).alias("n"),
        _count_if(F.col("is_65plus")).alias("n_65"),
        _count_if(F.col("bim")).alias("bim"),
        _count_if(F.col("died")).alias("deaths"),
        _count_if(F.col("medical_house")).alias("medical_house"),
        _count_if(F.col("gmd")).alias("gmd"),
        _count_if(not_mh).alias("non_medical_house"),
        _count_if(gp_patient).alias("gp_patients"),
        F.sum(F.when(gp_patient, F.col("gp"))).alias("gp_contacts"),
        F.sum("cost").alias("reimbursed"),
        F.sum("personal").alias("personal_share"),
        _count_if(F.col("cost") <= 0).alias("zero_cost"),
        F.sum(F.when(F.col("cost") >= F.col("p99"), F.col("cost"))).alias("top1_cost"),
        _count_if(home_65).alias("n_65_home"),
        _count_if(home_65 & F.col("flu")).alias("flu_65_home"),
        _count_if(F.col("a10_any")).alias("diabetes_any"),
        _count_if(F.col("a10_ddd") >= DIABETES_MIN_DDD).alias("diabetes_90ddd"),
        _count_if(F.col("atc5_80ddd") >= 5).alias("poly5"),
        _count_if(F.col("atc5_80ddd") >= 10).alias("poly10"),
    ]
    for reg in REGIONS:
        in_reg = F.col("reg_nis") == reg
        aggs += [
            _count_if(in_reg).alias(f"n_{reg}"),
            _count_if(in_reg & F.col("bim")).alias(f"bim_{reg}"),
        ]
    return {r["year"]: r.asDict() for r in py.groupBy("year").agg(*aggs).collect()}


def _hospital_aggregates(stays: DataFrame) -> dict[int, dict[str, Any]]:
    classic = F.col("stay_type") == "classic"
    rows = stays.groupBy("year").agg(
        F.count(F.lit(1)).alias("stays"),
        _count_if(classic).alias("classic"),
        _count_if(F.col("stay_type") == "day").alias("day"),
        _count_if(classic & F.col("admitted_via_ed")).alias("classic_ed"),
        _count_if(F.col("discharge_destination") == "death").alias("hospital_deaths"),
    )
    return {r["year"]: {k: v for k, v in r.asDict().items() if k != "year"} for r in rows.collect()}
