"""Hand-built, contract-valid source rows for the data-layer tests; override fields per case."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from phm.data.schemas import SOURCE_TABLES


def person(**over) -> dict:
    row = dict(
        year=2021,
        person_id="P1",
        birth_year=1950,
        sex="F",
        nis_municipality="21004",
        insurer="100",
        bim=False,
        bim_basis=None,
        death_date=None,
        chronic_status=False,
        disability=False,
        nursing_home=False,
        medical_house=False,
        gmd=True,
    )
    return {**row, **over}


def claim(**over) -> dict:
    row = dict(
        claim_id="C1",
        person_id="P1",
        nomen_code="101076",
        service_date=date(2021, 3, 10),
        accounting_month=date(2021, 4, 1),
        quantity=1,
        amount_reimbursed=Decimal("27.81"),
        amount_personal_share=Decimal("4.00"),
        amount_supplement=Decimal("0.00"),
        provider_id="10000000003",
        provider_qualification="003",
        institution_id=None,
        stay_id=None,
        setting="ambulatory",
        year=2021,
    )
    return {**row, **over}


def delivery(**over) -> dict:
    row = dict(
        delivery_id="D1",
        person_id="P1",
        cnk="1000137",
        atc5="A10BA02",
        delivery_date=date(2021, 5, 2),
        accounting_month=date(2021, 5, 1),
        packages=1,
        ddd=42.5,
        amount_reimbursed=Decimal("8.46"),
        amount_personal_share=Decimal("0.00"),
        amount_supplement=Decimal("0.00"),
        pharmacy_id="60000000012",
        prescriber_id=None,
        year=2021,
    )
    return {**row, **over}


def stay(**over) -> dict:
    row = dict(
        stay_id="S1",
        person_id="P1",
        hospital_id="71000000001",
        admission_date=date(2021, 2, 1),
        discharge_date=date(2021, 2, 5),
        stay_type="classic",
        admitted_via_ed=False,
        discharge_destination="home",
        service_type="general",
        main_diagnosis_group=None,
        accounting_month=date(2021, 3, 1),
        year=2021,
    )
    return {**row, **over}


def input_schema(table_name: str) -> T.StructType:
    """The contract's columns without ``load_id``, all nullable (so tests can plant NULLs)."""
    table = SOURCE_TABLES[table_name]
    return T.StructType(
        [T.StructField(c.name, c.dtype.spark(), True) for c in table.columns if c.name != "load_id"]
    )


def frame(spark: SparkSession, table_name: str, rows: list[dict]) -> DataFrame:
    schema = input_schema(table_name)
    return spark.createDataFrame([tuple(r[f.name] for f in schema) for r in rows], schema)
