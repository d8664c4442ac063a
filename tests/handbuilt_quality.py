"""A hand-built warehouse of stay sequences, claims and deliveries for the quality indicators.

Year 2023 (population rows for 2022 too); data end 31 December 2023. Everyone lives in 11002
Antwerpen. Hospitals H1, H2, H3. Dates are 2023 unless written otherwise.

person sex age  stays (classic unless said; destination home unless said)    other claims
Q1     M   70   S1  H1 01/03-05/03           S2  H1 10/03-12/03 via ED        GP 06/03
Q2     F   80   S3  H1 01/04-04/04 transfer  S4  H2 05/04-09/04 (chained)
                S5  H2 30/04-02/05
Q3     M   60   S6  H1 01/06-03/06 death (died 03/06)
Q4     F   50   S7  H1 01/07-04/07           S8  H1 10/07-11/07 chemotherapy (planned)
Q5     M   75   S9  H3 20/12-22/12 (30-day window past the data end)     GP 24/12
Q6     F   68   S10 H1 01/08-10/08  S11 H2 05/08-07/08 (nested: one episode) GP 12/08
                S12 H1 11/08-13/08 via ED (same hospital the next day: a readmission)
Q7     M   40   S13 H3 psychiatric 01/05-20/05  S14 H3 psychiatric 10/06-25/06
                                                      psychiatrist 25/05, 20/07
Q8     F   30   S15 H1 01/09-03/09   D1 H2 day stay 04/09 (not chained: day stays are no episodes)
Q9     M   85   S16 H2 01/10-05/10 heart failure, via ED   S17 H2 20/10-22/10 diabetes
P1     F   60   atorvastatin 98 DDD on 01/01, 01/03, 01/09 (overlap shifted: PDC 294/365)
P2     M   70   atorvastatin 196 DDD on 02/07, 98 DDD on 01/10 (PDC 183/183 = 1)
P3     F   50   atorvastatin once (not a continuing user)
P4     M   55   atorvastatin 98 DDD on 10/01 and 01/08 (PDC 196/356)

Linked diagnoses: S8 chemotherapy, S16 heart_failure, S17 diabetes, S2 and S5 unlinked (null),
every other stay 'other'. Worked-out counts are in tests/compile/test_quality_indicators.py.
"""

from __future__ import annotations

from datetime import date

from sample_rows import claim, delivery, frame, person, stay

from phm.data.schemas import SOURCE_TABLES
from phm.data.warehouse import Warehouse

H1, H2, H3 = "71000000001", "71000000002", "71000000003"
NIS = "11002"
PERSONS = {  # id: (sex, age in 2023, death date)
    "Q1": ("M", 70, None),
    "Q2": ("F", 80, None),
    "Q3": ("M", 60, date(2023, 6, 3)),
    "Q4": ("F", 50, None),
    "Q5": ("M", 75, None),
    "Q6": ("F", 68, None),
    "Q7": ("M", 40, None),
    "Q8": ("F", 30, None),
    "Q9": ("M", 85, None),
    "P1": ("F", 60, None),
    "P2": ("M", 70, None),
    "P3": ("F", 50, None),
    "P4": ("M", 55, None),
}
STATIN_CNK, STATIN_ATC, STATIN_DDD = "1002192", "C10AA05", 98.0


def d(day: int, month: int, year: int = 2023) -> date:
    return date(year, month, day)


# stay id: person, hospital, admission, discharge, extra fields
STAYS = {
    "S1": ("Q1", H1, d(1, 3), d(5, 3), {}),
    "S2": ("Q1", H1, d(10, 3), d(12, 3), {"admitted_via_ed": True, "main_diagnosis_group": None}),
    "S3": ("Q2", H1, d(1, 4), d(4, 4), {"discharge_destination": "transfer"}),
    "S4": ("Q2", H2, d(5, 4), d(9, 4), {}),
    "S5": ("Q2", H2, d(30, 4), d(2, 5), {"main_diagnosis_group": None}),
    "S6": ("Q3", H1, d(1, 6), d(3, 6), {"discharge_destination": "death"}),
    "S7": ("Q4", H1, d(1, 7), d(4, 7), {}),
    "S8": ("Q4", H1, d(10, 7), d(11, 7), {"main_diagnosis_group": "chemotherapy"}),
    "S9": ("Q5", H3, d(20, 12), d(22, 12), {}),
    "S10": ("Q6", H1, d(1, 8), d(10, 8), {}),
    "S11": ("Q6", H2, d(5, 8), d(7, 8), {}),
    "S12": ("Q6", H1, d(11, 8), d(13, 8), {"admitted_via_ed": True}),
    "S13": (
        "Q7",
        H3,
        d(1, 5),
        d(20, 5),
        {"service_type": "psychiatric", "main_diagnosis_group": "mental_health"},
    ),
    "S14": (
        "Q7",
        H3,
        d(10, 6),
        d(25, 6),
        {"service_type": "psychiatric", "main_diagnosis_group": "mental_health"},
    ),
    "S15": ("Q8", H1, d(1, 9), d(3, 9), {}),
    "D1": ("Q8", H2, d(4, 9), d(4, 9), {"stay_type": "day"}),
    "S16": (
        "Q9",
        H2,
        d(1, 10),
        d(5, 10),
        {"admitted_via_ed": True, "main_diagnosis_group": "heart_failure"},
    ),
    "S17": ("Q9", H2, d(20, 10), d(22, 10), {"main_diagnosis_group": "diabetes"}),
}
CLAIMS = [  # person, nomenclature code, date
    ("Q1", "101076", d(6, 3)),
    ("Q5", "101076", d(24, 12)),
    ("Q6", "101032", d(12, 8)),
    ("Q7", "102690", d(25, 5)),
    ("Q7", "102690", d(20, 7)),
]
DELIVERIES = [  # person, date, packages
    ("P1", d(1, 1), 1),
    ("P1", d(1, 3), 1),
    ("P1", d(1, 9), 1),
    ("P2", d(2, 7), 2),
    ("P2", d(1, 10), 1),
    ("P3", d(1, 2), 1),
    ("P4", d(10, 1), 1),
    ("P4", d(1, 8), 1),
]


def _population() -> list[dict]:
    return [
        person(
            year=year,
            person_id=pid,
            birth_year=2023 - age,
            sex=sex,
            nis_municipality=NIS,
            death_date=died if year == 2023 else None,
        )
        for year in (2022, 2023)
        for pid, (sex, age, died) in PERSONS.items()
    ]


def _stays() -> list[dict]:
    rows = []
    for sid, (pid, hosp, adm, dis, extra) in STAYS.items():
        fields = {"main_diagnosis_group": "other", **extra}
        rows.append(
            stay(
                stay_id=sid,
                person_id=pid,
                hospital_id=hosp,
                admission_date=adm,
                discharge_date=dis,
                accounting_month=date(dis.year, dis.month, 1),
                year=dis.year,
                **fields,
            )
        )
    return rows


def _claims() -> list[dict]:
    return [
        claim(
            claim_id=f"C{i}",
            person_id=pid,
            nomen_code=code,
            service_date=day,
            accounting_month=date(day.year, day.month, 1),
            year=day.year,
        )
        for i, (pid, code, day) in enumerate(CLAIMS)
    ]


def _deliveries() -> list[dict]:
    return [
        delivery(
            delivery_id=f"D{i}",
            person_id=pid,
            cnk=STATIN_CNK,
            atc5=STATIN_ATC,
            delivery_date=day,
            accounting_month=date(day.year, day.month, 1),
            packages=packages,
            ddd=packages * STATIN_DDD,
            year=day.year,
        )
        for i, (pid, day, packages) in enumerate(DELIVERIES)
    ]


def build(spark, root, *, linked: bool = True) -> Warehouse:
    """Write the four source tables as Delta; ``linked=False`` leaves the stay table without
    its main_diagnosis_group column (a warehouse not linked with discharge data)."""
    from pyspark.sql import functions as F

    wh = Warehouse.at(root)
    for name, rows in (
        ("population", _population()),
        ("health_care", _claims()),
        ("pharmacy", _deliveries()),
        ("hospital_stay", _stays()),
    ):
        table = SOURCE_TABLES[name]
        df = frame(spark, name, rows).withColumn("load_id", F.lit("handbuilt-quality"))
        columns = [c for c in table.columns if linked or c.name != "main_diagnosis_group"]
        df.select(*[F.col(c.name).cast(c.dtype.spark()) for c in columns]).write.format(
            "delta"
        ).partitionBy(*table.partition_by).save(wh.path(name))
    return wh
