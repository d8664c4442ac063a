"""Range checks: each check reads one describe figure; values outside the range warn."""

from __future__ import annotations

import pytest

from phm.data import checks
from phm.data.describe import FIGURES, Description, Figure


def _description(values: dict[str, float | None], year: int = 2021) -> Description:
    figures = [
        Figure(f.key, f.section, f.label, f.unit, values.get(f.key), f.reference) for f in FIGURES
    ]
    return Description(
        warehouse="w", years=[year], row_counts={}, missing_tables=[], figures={year: figures}
    )


IN_RANGE = {
    "bim_share": 0.19,
    "deaths_per_1000": 10.0,
    "share_65plus": 0.19,
    "medical_house_share": 0.047,
    "gp_contact_share": 0.85,
    "gp_contacts_per_patient": 6.1,
    "flu_vaccination_65plus": 0.53,
    "classic_stays_per_1000": 160.0,
    "day_stay_share": 0.55,
    "reimbursed_per_capita": 3000.0,
}


def test_every_check_names_a_describe_figure():
    keys = {f.key for f in FIGURES}
    assert {spec.name for spec in checks.CHECKS} <= keys
    assert all(spec.low < spec.high and spec.source for spec in checks.CHECKS)


def test_belgian_values_pass():
    results = checks.evaluate(_description(IN_RANGE))
    assert len(results) == len(checks.CHECKS)
    assert {r.status for r in results} == {"ok"}


@pytest.mark.parametrize(
    "name, value",
    [
        ("bim_share", 0.60),
        ("deaths_per_1000", 0.0),
        ("gp_contacts_per_patient", 1.2),
        ("reimbursed_per_capita", 150.0),
        ("classic_stays_per_1000", 900.0),
    ],
)
def test_a_value_outside_its_range_warns(name, value):
    results = {r.name: r for r in checks.evaluate(_description({**IN_RANGE, name: value}))}
    assert results[name].status == "warn"
    assert results[name].value == value
    assert all(r.status == "ok" for n, r in results.items() if n != name)


def test_missing_figures_are_not_available():
    results = {r.name: r.status for r in checks.evaluate(_description({"bim_share": 0.2}))}
    assert results.pop("bim_share") == "ok"
    assert set(results.values()) == {"n/a"}
