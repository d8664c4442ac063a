"""describe() on a hand-built warehouse whose headline figures are worked out by hand below.

Year 2023, ten persons (p01..p10) in three municipalities:

| person | age | region | BIM | flags    | care EUR (GP)   | drugs EUR             | cost |
|--------|-----|--------|-----|----------|-----------------|-----------------------|------|
| p01    | 73  | Fl     | yes | GMD      | 80 (3)          | 22 (A10 100 DDD; flu) | 102  |
| p02    | 83  | Fl     |     | NH, died |                 | 12 (flu)              | 12   |
| p03    | 43  | Fl     |     | GMD      | 50 (1; GMD fee) |                       | 50   |
| p04    | 33  | Fl     |     |          |                 | 10 (A10 60 DDD)       | 10   |
| p05    | 23  | Bxl    | yes | GMD      |                 |                       | 0    |
| p06    | 68  | Bxl    | yes | MH       | 20 (1, ignored) |                       | 20   |
| p07    | 38  | Wal    |     | GMD      | 50 (specialist) |                       | 50   |
| p08    | 53  | Wal    |     |          | 80 (2: qty 2)   | 50 (4 ATC5 >= 80 DDD) | 130  |
| p09    | 13  | Wal    |     |          |                 |                       | 0    |
| p10    | 28  | Wal    |     |          |                 | 60 (5 ATC5 >= 80 DDD) | 60   |

NH = nursing home, MH = medical house (GP contacts of MH patients are not counted).
Total reimbursed 434 (a claim of p11, who is not in the population, is left out).
2022 holds two population rows only.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from phm.data import schemas
from phm.data.describe import FIGURES, describe
from phm.data.warehouse import Warehouse

D = dt.date(2023, 3, 1)
MONTH = dt.date(2023, 4, 1)


def _rows(table: schemas.Table, rows: list[dict], defaults: dict) -> list[tuple]:
    return [tuple({**defaults, **r}.get(c) for c in table.column_names) for r in rows]


def _write(
    spark, root, table: schemas.Table, rows: list[dict], defaults: dict | None = None
) -> None:
    df = spark.createDataFrame(
        _rows(table, rows, {"load_id": "test", **(defaults or {})}), table.schema
    )
    writer = df.coalesce(1).write.format("delta")
    if table.partition_by:
        writer = writer.partitionBy(*table.partition_by)
    writer.save(f"{root}/{table.name}")


def _person(pid, birth, nis, year=2023, **flags):
    base = dict(
        year=year,
        person_id=pid,
        birth_year=birth,
        sex="F",
        nis_municipality=nis,
        insurer="100",
        bim=False,
        chronic_status=False,
        disability=False,
        nursing_home=False,
        medical_house=False,
        gmd=False,
    )
    return {**base, **flags}


def _claim(n, pid, code, reimb, personal, quantity=1):
    return dict(
        claim_id=f"c{n}",
        person_id=pid,
        nomen_code=code,
        service_date=D,
        accounting_month=MONTH,
        quantity=quantity,
        amount_reimbursed=Decimal(reimb),
        amount_personal_share=Decimal(personal),
        amount_supplement=Decimal(0),
        setting="ambulatory",
        year=2023,
    )


def _delivery(n, pid, atc5, ddd, reimb=10, personal=1):
    return dict(
        delivery_id=f"d{n}",
        person_id=pid,
        cnk="1234567",
        atc5=atc5,
        delivery_date=D,
        accounting_month=MONTH,
        packages=1,
        ddd=float(ddd),
        amount_reimbursed=Decimal(reimb),
        amount_personal_share=Decimal(personal),
        amount_supplement=Decimal(0),
        pharmacy_id="60000000000",
        year=2023,
    )


def _stay(sid, pid, stay_type, via_ed, destination):
    return dict(
        stay_id=sid,
        person_id=pid,
        hospital_id="71000000000",
        admission_date=D,
        discharge_date=D,
        stay_type=stay_type,
        admitted_via_ed=via_ed,
        discharge_destination=destination,
        service_type="general",
        accounting_month=MONTH,
        year=2023,
    )


@pytest.fixture(scope="module")
def description(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("describe_wh")
    geo = [("11002", "02000"), ("21004", "04000"), ("62063", "03000")]
    _write(
        spark,
        root,
        schemas.REF_GEOGRAPHY,
        [
            dict(
                nis=nis,
                name_nl=nis,
                name_fr=nis,
                arr_nis=nis[:2] + "000",
                arr_name_nl="a",
                reg_nis=reg,
                reg_name_nl="r",
                nis_2025=nis,
                pop_2020_total=1000,
            )
            for nis, reg in geo
        ],
    )
    _write(
        spark,
        root,
        schemas.REF_NOMENCLATURE,
        [
            dict(
                nomen_code=code,
                label_en=group,
                service_group=group,
                provider_profession="1",
                fee=Decimal("10.00"),
                setting="ambulatory",
                source="I",
            )
            for code, group in [
                ("101032", "gp_consult"),
                ("103132", "gp_home_visit"),
                ("101496", "gp_gmd"),
                ("102012", "specialist"),
            ]
        ],
    )
    _write(
        spark,
        root,
        schemas.POPULATION,
        [
            _person("p01", 1950, "11002", bim=True, gmd=True),
            _person("p02", 1940, "11002", nursing_home=True, death_date=dt.date(2023, 5, 1)),
            _person("p03", 1980, "11002", gmd=True),
            _person("p04", 1990, "11002"),
            _person("p05", 2000, "21004", bim=True, gmd=True),
            _person("p06", 1955, "21004", bim=True, medical_house=True),
            _person("p07", 1985, "62063", gmd=True),
            _person("p08", 1970, "62063"),
            _person("p09", 2010, "62063"),
            _person("p10", 1995, "62063"),
            _person("p01", 1950, "11002", year=2022, bim=True),
            _person("p02", 1940, "11002", year=2022),
        ],
    )
    _write(
        spark,
        root,
        schemas.HEALTH_CARE,
        [
            _claim(1, "p01", "101032", 20, 4),
            _claim(2, "p01", "101032", 20, 4),
            _claim(3, "p01", "103132", 40, 6),
            _claim(4, "p03", "101032", 20, 4),
            _claim(5, "p03", "101496", 30, 0),
            _claim(6, "p06", "101032", 20, 4),
            _claim(7, "p07", "102012", 50, 10),
            _claim(8, "p08", "103132", 80, 12, quantity=2),
            _claim(9, "p11", "101032", 1000, 0),  # not in the population
        ],
    )
    poly8 = [("C07AB02", 90), ("C09AA05", 80), ("C10AA05", 100), ("B01AC06", 85), ("N06AB04", 79.9)]
    poly10 = [
        ("C07AB02", 80),
        ("C09AA05", 80),
        ("C10AA05", 80),
        ("B01AC06", 80),
        ("N06AB04", 40),
        ("N06AB04", 40),
    ]
    _write(
        spark,
        root,
        schemas.PHARMACY,
        [
            _delivery(1, "p01", "A10BA02", 100, reimb=10, personal=2),
            _delivery(2, "p01", "J07BB02", 1, reimb=12, personal=0),
            _delivery(3, "p02", "J07BB02", 1, reimb=12, personal=0),
            _delivery(4, "p04", "A10BA02", 30, reimb=5),
            _delivery(5, "p04", "A10BA02", 30, reimb=5),
            *[_delivery(10 + i, "p08", atc, ddd) for i, (atc, ddd) in enumerate(poly8)],
            *[_delivery(20 + i, "p10", atc, ddd) for i, (atc, ddd) in enumerate(poly10)],
        ],
    )
    _write(
        spark,
        root,
        schemas.HOSPITAL_STAY,
        [
            _stay("s1", "p01", "classic", True, "home"),
            _stay("s2", "p02", "classic", False, "death"),
            _stay("s3", "p03", "day", False, "home"),
            _stay("s4", "p07", "day", False, "home"),
            _stay("s5", "p08", "classic", True, "home"),
        ],
    )
    return describe(spark, Warehouse.at(root))


def test_row_counts_per_table_and_year(description):
    assert description.years == [2022, 2023]
    assert description.row_counts["population"] == {2022: 2, 2023: 10}
    assert description.row_counts["health_care"] == {2023: 9}
    assert description.row_counts["pharmacy"] == {2023: 16}
    assert description.row_counts["hospital_stay"] == {2023: 5}
    assert description.row_counts["ref_geography"] == {0: 3}
    assert description.missing_tables == ["ref_products"]


EXPECTED_2023 = {
    "population": 10,
    "share_65plus": 3 / 10,
    "bim_share": 3 / 10,
    "bim_share_02000": 1 / 4,
    "bim_share_03000": 0 / 4,
    "bim_share_04000": 2 / 2,
    "deaths_per_1000": 1000 * 1 / 10,
    "medical_house_share": 1 / 10,
    "gmd_share": 4 / 10,
    "gp_contact_share": 3 / 9,  # p01, p03, p08 among the 9 not in a medical house
    "gp_contacts_per_patient": (3 + 1 + 2) / 3,
    "reimbursed_per_capita": 434 / 10,
    "personal_share_per_capita": (14 + 4 + 4 + 10 + 12 + 2 + 2 + 5 + 6) / 10,
    "zero_cost_share": 2 / 10,  # p05, p09
    "top1_spending_share": 130 / 434,  # the 99th percentile of 10 costs is the largest
    "flu_vaccination_65plus": 1 / 2,  # p01 of home-dwelling p01, p06 (p02 is in a nursing home)
    "diabetes_treated": 2 / 10,  # p01, p04
    "diabetes_90ddd": 1 / 10,  # p01 (p04 has 60 DDD)
    "polypharmacy": 1 / 10,  # p10 (its N06AB04 adds up to 80 over two deliveries); p08 has 4
    "polypharmacy_excessive": 0.0,
    "classic_stays_per_1000": 1000 * 3 / 10,
    "day_stays_per_1000": 1000 * 2 / 10,
    "day_stay_share": 2 / 5,
    "classic_via_ed_share": 2 / 3,
    "hospital_deaths": 1,
    "hospital_death_share": 1 / 1,
}


@pytest.mark.parametrize("key", sorted(EXPECTED_2023))
def test_headline_figures_2023(description, key):
    assert description.figure(2023, key) == pytest.approx(EXPECTED_2023[key])


def test_every_figure_is_checked():
    assert {f.key for f in FIGURES} == set(EXPECTED_2023)


def test_year_without_claims(description):
    assert description.figure(2022, "population") == 2
    assert description.figure(2022, "bim_share") == pytest.approx(0.5)
    assert description.figure(2022, "reimbursed_per_capita") == 0
    assert description.figure(2022, "gp_contacts_per_patient") is None  # no patient: no ratio
    assert description.figure(2022, "classic_stays_per_1000") is None  # no stays that year


def test_figures_carry_belgian_references(description):
    refs = {f.key: f.reference for f in description.figures[2023]}
    assert refs["bim_share"] == "18.9% (2021)"
    assert refs["gp_contact_share"] == "85% (2021)"
    assert refs["polypharmacy"] == "13.5% (2021)"


def test_year_filter(spark, description):
    filtered = describe(spark, Warehouse.at(description.warehouse), year=2022)
    assert filtered.years == [2022]
    assert filtered.row_counts["population"] == {2022: 2}
    assert filtered.figure(2022, "population") == 2
