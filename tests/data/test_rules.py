"""Each rule catches its defect, a clean row passes, NULLs never vanish, duplicates keep one."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from pyspark.sql import functions as F
from sample_rows import claim, delivery, frame, person, stay

from phm.data import rules
from phm.data.reference import reference_frames
from phm.data.schemas import SOURCE_TABLES

# (row id, row, expected reasons exactly). Row ids are the rows' keys (person ids for population).
CASES = {
    "population": [
        ("ok", person(person_id="ok"), set()),
        (
            "null_nis",
            person(person_id="null_nis", nis_municipality=None),
            {"NULL_NIS_MUNICIPALITY"},
        ),
        ("null_bim", person(person_id="null_bim", bim=None), {"NULL_BIM"}),
        ("sex", person(person_id="sex", sex="X"), {"BAD_SEX"}),
        ("nis_fmt", person(person_id="nis_fmt", nis_municipality="2104"), {"BAD_NIS"}),
        (
            "nis_unknown",
            person(person_id="nis_unknown", nis_municipality="99997"),
            {"UNKNOWN_CODE"},
        ),
        (
            "bim_basis",
            person(person_id="bim_basis", bim=True, bim_basis="lottery"),
            {"BAD_BIM_BASIS"},
        ),
        ("born_later", person(person_id="born_later", birth_year=2022), {"BAD_BIRTH_YEAR"}),
        ("too_old", person(person_id="too_old", birth_year=1900), {"BAD_BIRTH_YEAR"}),
        (
            "death_year",
            person(person_id="death_year", death_date=date(2020, 5, 1)),
            {"DEATH_NOT_IN_YEAR"},
        ),
        (
            "old_year",
            person(person_id="old_year", year=2001, birth_year=1950),
            {"DATE_BEFORE_2002"},
        ),
        ("known", person(person_id="known"), {"ALREADY_LOADED"}),
        ("twin_a", person(person_id="twin"), None),
        ("twin_b", person(person_id="twin"), None),
    ],
    "health_care": [
        ("ok", claim(claim_id="ok"), set()),
        ("null_person", claim(claim_id="null_person", person_id=None), {"NULL_PERSON_ID"}),
        ("null_code", claim(claim_id="null_code", nomen_code=None), {"NULL_NOMEN_CODE"}),
        ("null_date", claim(claim_id="null_date", service_date=None), {"NULL_SERVICE_DATE"}),
        ("code_fmt", claim(claim_id="code_fmt", nomen_code="10107A"), {"BAD_NOMEN_CODE"}),
        ("code_unknown", claim(claim_id="code_unknown", nomen_code="999997"), {"UNKNOWN_CODE"}),
        ("setting", claim(claim_id="setting", setting="home"), {"BAD_SETTING"}),
        (
            "negative",
            claim(claim_id="negative", amount_personal_share=Decimal("-1.00")),
            {"NEGATIVE_AMOUNT"},
        ),
        ("quantity", claim(claim_id="quantity", quantity=0), {"BAD_QUANTITY"}),
        (
            "acc_day",
            claim(claim_id="acc_day", accounting_month=date(2021, 4, 15)),
            {"BAD_ACCOUNTING_MONTH"},
        ),
        (
            "future",
            claim(claim_id="future", service_date=date(2021, 5, 2), year=2021),
            {"DATE_AFTER_ACCOUNTING"},
        ),
        (
            "ancient",
            claim(
                claim_id="ancient",
                service_date=date(2001, 12, 31),
                year=2001,
                accounting_month=date(2002, 1, 1),
            ),
            {"DATE_BEFORE_2002"},
        ),
        ("year", claim(claim_id="year", year=2020), {"YEAR_MISMATCH"}),
        ("orphan", claim(claim_id="orphan", person_id="nobody"), {"ORPHAN"}),
        (
            "dead",
            claim(
                claim_id="dead",
                person_id="P2",
                service_date=date(2021, 7, 1),
                accounting_month=date(2021, 8, 1),
            ),
            {"AFTER_DEATH"},
        ),
        ("known", claim(claim_id="known"), {"ALREADY_LOADED"}),
        # Same key twice: the clean row is kept, whatever the order; exact copies keep one.
        (
            "dup_bad",
            claim(claim_id="dup", amount_reimbursed=Decimal("-5.00")),
            {"NEGATIVE_AMOUNT", "DUPLICATE"},
        ),
        ("dup_ok", claim(claim_id="dup"), set()),
        ("twin_a", claim(claim_id="twin"), None),  # one of the twins: checked below
        ("twin_b", claim(claim_id="twin"), None),
    ],
    "pharmacy": [
        ("ok", delivery(delivery_id="ok"), set()),
        (
            "null_pharmacy",
            delivery(delivery_id="null_pharmacy", pharmacy_id=None),
            {"NULL_PHARMACY_ID"},
        ),
        ("cnk_fmt", delivery(delivery_id="cnk_fmt", cnk="123"), {"BAD_CNK"}),
        ("cnk_unknown", delivery(delivery_id="cnk_unknown", cnk="9999997"), {"UNKNOWN_CODE"}),
        ("packages", delivery(delivery_id="packages", packages=0), {"BAD_QUANTITY"}),
        ("ddd", delivery(delivery_id="ddd", ddd=-1.0), {"NEGATIVE_DDD"}),
        (
            "supplement",
            delivery(delivery_id="supplement", amount_supplement=Decimal("-0.01")),
            {"NEGATIVE_AMOUNT"},
        ),
        (
            "future",
            delivery(delivery_id="future", accounting_month=date(2021, 4, 1)),
            {"DATE_AFTER_ACCOUNTING"},
        ),
        (
            "ancient",
            delivery(
                delivery_id="ancient",
                delivery_date=date(2001, 5, 2),
                year=2001,
                accounting_month=date(2001, 6, 1),
            ),
            {"DATE_BEFORE_2002"},
        ),
        (
            "acc_day",
            delivery(delivery_id="acc_day", accounting_month=date(2021, 5, 31)),
            {"BAD_ACCOUNTING_MONTH"},
        ),
        ("year", delivery(delivery_id="year", year=2022), {"YEAR_MISMATCH"}),
        ("orphan", delivery(delivery_id="orphan", person_id="nobody"), {"ORPHAN"}),
        (
            "dead",
            delivery(
                delivery_id="dead",
                person_id="P2",
                delivery_date=date(2021, 7, 1),
                accounting_month=date(2021, 7, 1),
            ),
            {"AFTER_DEATH"},
        ),
        ("known", delivery(delivery_id="known"), {"ALREADY_LOADED"}),
        ("twin_a", delivery(delivery_id="twin"), None),
        ("twin_b", delivery(delivery_id="twin"), None),
        ("null_atc", delivery(delivery_id="null_atc", atc5=None, ddd=None), set()),  # nullable
    ],
    "hospital_stay": [
        ("ok", stay(stay_id="ok"), set()),
        ("null_ed", stay(stay_id="null_ed", admitted_via_ed=None), {"NULL_ADMITTED_VIA_ED"}),
        ("type", stay(stay_id="type", stay_type="night"), {"BAD_STAY_TYPE"}),
        ("dest", stay(stay_id="dest", discharge_destination="moon"), {"BAD_DISCHARGE_DESTINATION"}),
        ("service", stay(stay_id="service", service_type="dental"), {"BAD_SERVICE_TYPE"}),
        (
            "reversed",
            stay(stay_id="reversed", admission_date=date(2021, 2, 6)),
            {"DISCHARGE_BEFORE_ADMISSION"},
        ),
        ("day_long", stay(stay_id="day_long", stay_type="day"), {"STAY_TYPE_MISMATCH"}),
        (
            "classic_short",
            stay(stay_id="classic_short", admission_date=date(2021, 2, 5)),
            {"STAY_TYPE_MISMATCH"},
        ),
        (
            "future",
            stay(
                stay_id="future", accounting_month=date(2021, 1, 1), admission_date=date(2021, 2, 1)
            ),
            {"DATE_AFTER_ACCOUNTING"},
        ),
        (
            "ancient",
            stay(stay_id="ancient", admission_date=date(2001, 12, 28)),
            {"DATE_BEFORE_2002"},
        ),
        (
            "acc_day",
            stay(stay_id="acc_day", accounting_month=date(2021, 3, 2)),
            {"BAD_ACCOUNTING_MONTH"},
        ),
        ("year", stay(stay_id="year", year=2020), {"YEAR_MISMATCH"}),
        ("orphan", stay(stay_id="orphan", person_id="nobody"), {"ORPHAN"}),
        (
            "dead",
            stay(
                stay_id="dead",
                person_id="P2",
                admission_date=date(2021, 7, 1),
                discharge_date=date(2021, 7, 3),
                accounting_month=date(2021, 8, 1),
            ),
            {"AFTER_DEATH"},
        ),
        ("known", stay(stay_id="known"), {"ALREADY_LOADED"}),
        ("twin_a", stay(stay_id="twin"), None),
        ("twin_b", stay(stay_id="twin"), None),
    ],
}


@pytest.fixture(scope="module")
def refs(spark):
    return reference_frames(spark)


@pytest.fixture(scope="module")
def population(spark):
    return frame(
        spark,
        "population",
        [
            person(person_id="P1"),
            person(person_id="P2", death_date=date(2021, 6, 30)),
        ],
    )


@pytest.fixture(scope="module", params=sorted(CASES))
def outcome(request, spark, refs, population):
    """Validate one table's cases in one Spark job; returns (cases, collected rows)."""
    name = request.param
    table = SOURCE_TABLES[name]
    cases = CASES[name]
    df = rules.conform(frame(spark, name, [row for _, row, _ in cases]), table)
    key = table.key[0]
    existing = frame(spark, name, [{**cases[0][1], key: "known"}]).select(*table.key)
    out = rules.validate(df, table, references=refs, population=population, existing_keys=existing)
    return (
        name,
        cases,
        out.select(
            *table.key, rules.REASONS, rules.row_json(out, table).alias(rules.ROW_JSON)
        ).collect(),
    )


def test_each_case_gets_exactly_its_reasons(outcome):
    name, cases, rows = outcome
    key = SOURCE_TABLES[name].key[0]
    assert len(rows) == len(cases), "validation must keep one output row per input row"
    got: dict[str, list[set[str]]] = {}
    for r in rows:
        got.setdefault(r[key], []).append(set(r[rules.REASONS]))
    for case_id, row, expected in cases:
        if expected is None:  # exact twins: checked by test_exact_twins_keep_one
            continue
        assert expected in got[row[key]], (
            f"{name} case {case_id!r}: expected {expected}, got {got[row[key]]}"
        )


def test_exact_twins_keep_one(outcome):
    name, _, rows = outcome
    key = SOURCE_TABLES[name].key[0]
    twins = sorted(tuple(r[rules.REASONS]) for r in rows if r[key] == "twin")
    assert twins == [(), ("DUPLICATE",)]


def test_every_rule_has_a_case(outcome):
    """A rule added to the registry without a test case makes this fail."""
    name, cases, _ = outcome
    covered = set().union(*[e for _, _, e in cases if e])
    codes = {c for c in rules.reason_codes(name) if not c.startswith("NULL_")}
    assert codes - covered - {"DUPLICATE"} == set()
    assert any(c.startswith("NULL_") for c in covered)


def test_clean_rows_of_every_table_pass(outcome):
    name, _, rows = outcome
    key = SOURCE_TABLES[name].key[0]
    assert [list(r[rules.REASONS]) for r in rows if r[key] == "ok"] == [[]]


def test_unparsable_values_are_reported_not_raised(spark):
    """ANSI mode: a string that is no date must become a reason, not an exception."""
    rows = [("C1", "2021-03-10", "1"), ("C2", "2021-13-45", "x")]
    df = spark.createDataFrame(rows, "claim_id string, service_date string, quantity string")
    with pytest.raises(Exception, match="lacks required columns"):
        rules.conform(df, SOURCE_TABLES["health_care"])
    typed = frame(spark, "health_care", [claim(claim_id="C1"), claim(claim_id="C2")])
    as_text = typed.withColumn(
        "service_date",
        F.when(F.col("claim_id") == "C2", "2021-13-45").otherwise(
            F.col("service_date").cast("string")
        ),
    )
    assert dict(as_text.dtypes)["service_date"] == "string"
    table = SOURCE_TABLES["health_care"]
    out = rules.validate(rules.conform(as_text, table), table).collect()
    got = {r.claim_id: set(r[rules.REASONS]) for r in out}
    # The unreadable value counts as missing too, so its NULL_ rule fires with it.
    assert got == {"C1": set(), "C2": {"UNPARSABLE_SERVICE_DATE", "NULL_SERVICE_DATE"}}
    assert (
        '"service_date":"2021-13-45"' in [r[rules.ROW_JSON] for r in out if r.claim_id == "C2"][0]
    )
