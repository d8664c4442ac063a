"""A hand-built warehouse small enough to work every indicator out by hand (see the tests).

Year 2023 (2022 for look-backs). Three municipalities:
A = 11002 Antwerpen and B = 11001 Aartselaar (arrondissement 11000, province 10000, Flanders),
C = 21004 Brussel (arrondissement 21000, Brussels region, no province).

person  sex age bim  other                      2023 care
A1      F   70  yes                             2 GP contacts; 2 classic stays, 1 day stay; metformin 1 pkg
A2      F   70       died 2023-06-01            -
A3      F   30                                  1 GP; 1 day stay; mammography in 2022
A4      F   30                                  mammography in 2023
A5      F   30                                  mammography in 2021 (outside every window)
A6      M   70  yes                             3 GP; 1 classic stay; ramipril, atorvastatin, amlodipine
A7      M   70                                  diabetes care trajectory
A8, A9  M   30                                  -
A10     M   30       medical house              1 GP contact (excluded from GP indicators)
B1      F   30  yes                             1 GP
B2      F   30                                  1 GP; 2 day stays
B3      F   30       new in 2023 (no 2022 row)  -
B4      M   70                                  4 GP; 1 classic stay via ED; 5 medicines >= 80 DDD,
                                                 metformin 3 pkgs = 127.5 DDD
B5, B6  M   30                                  -
C1      F   30                                  1 GP
C2      M   30                                  1 classic stay via ED
Every GP claim reimburses 20.00, each mammography 50.00, the trajectory fee 80.00, every
delivery 10.00.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sample_rows import claim, delivery, frame, person, stay

from phm.data.schemas import SOURCE_TABLES
from phm.data.warehouse import Warehouse

A, B, C = "11002", "11001", "21004"
PERSONS = {  # id: (nis, sex, birth_year, extra population fields)
    "A1": (A, "F", 1953, {"bim": True, "bim_basis": "benefit"}),
    "A2": (A, "F", 1953, {"death_date": date(2023, 6, 1)}),
    "A3": (A, "F", 1993, {}),
    "A4": (A, "F", 1993, {}),
    "A5": (A, "F", 1993, {}),
    "A6": (A, "M", 1953, {"bim": True, "bim_basis": "income"}),
    "A7": (A, "M", 1953, {}),
    "A8": (A, "M", 1993, {}),
    "A9": (A, "M", 1993, {}),
    "A10": (A, "M", 1993, {"medical_house": True}),
    "B1": (B, "F", 1993, {"bim": True, "bim_basis": "benefit"}),
    "B2": (B, "F", 1993, {}),
    "B3": (B, "F", 1993, {}),
    "B4": (B, "M", 1953, {}),
    "B5": (B, "M", 1993, {}),
    "B6": (B, "M", 1993, {}),
    "C1": (C, "F", 1993, {}),
    "C2": (C, "M", 1993, {}),
}
GP = {"A1": 2, "A3": 1, "A6": 3, "B1": 1, "B2": 1, "B4": 4, "C1": 1, "A10": 1}
CNK = {
    "metformin": "1000137",
    "ramipril": "1001096",
    "atorvastatin": "1002192",
    "amlodipine": "1001644",
    "bisoprolol": "1001507",
}
DDD = {
    "metformin": 42.5,
    "ramipril": 200.0,
    "atorvastatin": 98.0,
    "amlodipine": 100.0,
    "bisoprolol": 50.0,
}
ATC = {
    "metformin": "A10BA02",
    "ramipril": "C09AA05",
    "atorvastatin": "C10AA05",
    "amlodipine": "C08CA01",
    "bisoprolol": "C07AB07",
}


def _population() -> list[dict]:
    rows = []
    for year in (2022, 2023):
        for pid, (nis, sex, born, extra) in PERSONS.items():
            if year == 2022 and pid == "B3":
                continue
            fields = dict(extra)
            if year == 2022:
                fields.pop("death_date", None)
            rows.append(
                person(
                    year=year,
                    person_id=pid,
                    birth_year=born,
                    sex=sex,
                    nis_municipality=nis,
                    **fields,
                )
            )
    return rows


def _claims() -> list[dict]:
    rows, n = [], 0

    def add(pid: str, code: str, day: date, amount: str) -> None:
        nonlocal n
        n += 1
        rows.append(
            claim(
                claim_id=f"C{n}",
                person_id=pid,
                nomen_code=code,
                service_date=day,
                accounting_month=date(day.year, day.month, 1),
                year=day.year,
                amount_reimbursed=Decimal(amount),
            )
        )

    for pid, contacts in GP.items():
        for i in range(contacts):
            add(pid, "101076", date(2023, 3, 1 + i), "20.00")
    add("A3", "450096", date(2022, 10, 5), "50.00")
    add("A4", "450096", date(2023, 2, 7), "50.00")
    add("A5", "450096", date(2021, 9, 9), "50.00")
    add("A7", "102852", date(2023, 5, 5), "80.00")
    return rows


def _deliveries() -> list[dict]:
    rows, n = [], 0

    def add(pid: str, drug: str, packages: int) -> None:
        nonlocal n
        n += 1
        rows.append(
            delivery(
                delivery_id=f"D{n}",
                person_id=pid,
                cnk=CNK[drug],
                atc5=ATC[drug],
                delivery_date=date(2023, 4, 1 + n),
                accounting_month=date(2023, 4, 1),
                packages=packages,
                ddd=packages * DDD[drug],
                year=2023,
                amount_reimbursed=Decimal("10.00"),
            )
        )

    add("A1", "metformin", 1)
    for drug in ("ramipril", "atorvastatin", "amlodipine"):
        add("A6", drug, 1)
    add("B4", "metformin", 3)
    for drug in ("ramipril", "atorvastatin", "amlodipine", "bisoprolol", "bisoprolol"):
        add("B4", drug, 1)
    return rows


def _stays() -> list[dict]:
    rows, n = [], 0

    def add(pid: str, kind: str, via_ed: bool = False) -> None:
        nonlocal n
        n += 1
        admitted = date(2023, 6, n)
        discharged = admitted if kind == "day" else date(2023, 6, n + 2)
        rows.append(
            stay(
                stay_id=f"S{n}",
                person_id=pid,
                admission_date=admitted,
                discharge_date=discharged,
                stay_type=kind,
                admitted_via_ed=via_ed,
                accounting_month=date(2023, 7, 1),
                year=2023,
            )
        )

    add("A1", "classic"), add("A1", "classic"), add("A1", "day")
    add("A3", "day"), add("A6", "classic"), add("B4", "classic", True)
    add("B2", "day"), add("B2", "day"), add("C2", "classic", True)
    return rows


def build(spark, root) -> Warehouse:
    """Write the four source tables as Delta (straight, they are contract-valid by design)."""
    from pyspark.sql import functions as F

    wh = Warehouse.at(root)
    for name, rows in (
        ("population", _population()),
        ("health_care", _claims()),
        ("pharmacy", _deliveries()),
        ("hospital_stay", _stays()),
    ):
        table = SOURCE_TABLES[name]
        df = frame(spark, name, rows).withColumn("load_id", F.lit("handbuilt"))
        df.select(*[F.col(c.name).cast(c.dtype.spark()) for c in table.columns]).write.format(
            "delta"
        ).partitionBy(*table.partition_by).save(wh.path(name))
    return wh
