"""Range checks: computed values on a tiny hand-built year, and a value outside its range warns."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sample_rows import claim, delivery, frame, person, stay

from phm.data import checks, reference

FLU_CNK = reference.products().query("atc5 == 'J07BB02'")["cnk"].iloc[0]


def _population():
    rows = []
    for i in range(20):
        rows.append(person(
            person_id=f"P{i:02d}",
            birth_year=1940 if i < 4 else 1980,  # 4 of 20 are 65+
            bim=4 <= i < 8, bim_basis="income" if 4 <= i < 8 else None,  # 20% BIM
            medical_house=i == 19,  # 5% medical house
        ))  # nobody dies: death rate 0 is below the range
    return rows


def _claims():
    rows = [claim(claim_id=f"G{i}", person_id=f"P{i:02d}", quantity=5,
                  amount_reimbursed=Decimal("100.00")) for i in range(17)]
    # The medical-house patient's GP contact does not count; the big bill makes EUR 50,000.
    rows.append(claim(claim_id="G19", person_id="P19", quantity=5, amount_reimbursed=Decimal("0.00")))
    rows.append(claim(claim_id="X19", person_id="P19", nomen_code="102093",
                      amount_reimbursed=Decimal("48300.00")))
    return rows


def _deliveries():
    return [delivery(delivery_id=f"V{i}", person_id=f"P{i:02d}", cnk=FLU_CNK, atc5=None,
                     amount_reimbursed=Decimal("5000.00")) for i in range(2)]  # 2 of 4 home 65+


def _stays():
    kinds = [("classic", False)] * 3 + [("day", False)] * 3 + [("classic", True)]
    return [stay(stay_id=f"S{i}", stay_type=t, admitted_via_ed=ed,
                 discharge_date=date(2021, 2, 1) if t == "day" else date(2021, 2, 5))
            for i, (t, ed) in enumerate(kinds)]


@pytest.fixture(scope="module")
def results(spark):
    refs = reference.reference_frames(spark)
    out = checks.compute_checks(
        frame(spark, "population", _population()),
        health_care=frame(spark, "health_care", _claims()),
        pharmacy=frame(spark, "pharmacy", _deliveries()),
        hospital_stay=frame(spark, "hospital_stay", _stays()),
        nomenclature=refs["ref_nomenclature"],
        products=refs["ref_products"],
    )
    return {r.name: r for r in out}


def test_every_check_is_computed_once_per_year(results):
    assert set(results) == {spec.name for spec in checks.CHECKS}
    assert all(r.year == 2021 and r.source for r in results.values())


@pytest.mark.parametrize("name, value", [
    ("bim_share", 0.20), ("age65_share", 0.20), ("medical_house_share", 0.05),
    ("gp_contact_share", 17 / 19), ("gp_contacts_per_patient", 5.0),
    ("flu_vaccination_65plus", 0.5), ("classic_stays_per_1000", 200.0),
    ("day_stay_share", 0.5), ("reimbursed_per_capita", 3000.0), ("death_rate", 0.0),
])
def test_values(results, name, value):
    assert results[name].value == pytest.approx(value)


def test_out_of_range_values_warn_and_others_pass(results):
    statuses = {name: r.status for name, r in results.items()}
    assert statuses.pop("death_rate") == "warn"  # 0 deaths < 0.5%
    assert set(statuses.values()) == {"ok"}


def test_missing_tables_give_not_available(spark):
    out = checks.compute_checks(frame(spark, "population", _population()[:4]))
    status = {r.name: r.status for r in out}
    assert status["gp_contact_share"] == "n/a" and status["reimbursed_per_capita"] == "n/a"
    assert status["age65_share"] == "warn"  # 4 of 4 are 65+
