"""Ground truth: a warehouse generated with a known change of cost in one pilot from 2023 on.
The estimated gain's 95% interval must contain the planted amount (and exclude zero) in 2023,
and contain zero in 2022, before the effect."""

from __future__ import annotations

import dataclasses

import pytest
from spec_helpers import REPO_SPECS

from phm.data import reference_data
from phm.data.warehouse import Warehouse
from phm.runs.simulations import simulate
from phm.spec import load_catalogue
from phm.spec.models import AreaSet
from phm.spec.scenario import Scenario
from phm.synth.generator import generate
from phm.synth.pilot import PilotEffect

PERCENT = -30.0  # large, so that a pilot of a thousand persons shows it beyond its noise
PERSONS = 6000


def _pilot_municipalities() -> tuple[str, ...]:
    """The most populous municipalities, until a quarter of Belgium (all three regions)."""
    m = reference_data.municipalities().sort_values("pop_2020_total", ascending=False)
    share = m.pop_2020_total.cumsum() / m.pop_2020_total.sum()
    return tuple(sorted(m.nis[share <= 0.25]))


@pytest.fixture(scope="module")
def planted(spark, tmp_path_factory):
    municipalities = _pilot_municipalities()
    wh = Warehouse.at(tmp_path_factory.mktemp("planted"))
    effect = PilotEffect("test_pilot", municipalities, 2023, PERCENT)
    generate(spark, wh, persons=PERSONS, years=[2021, 2022, 2023], seed=23, pilot_effect=effect)
    catalogue = load_catalogue(REPO_SPECS)
    areas = AreaSet.model_validate(
        {
            "id": "test_pilot",
            "version": 1,
            "label": {"nl": "T", "fr": "T", "en": "T"},
            "areas": {
                "big_cities": {"label": "Big cities", "municipalities": list(municipalities)}
            },
        }
    )
    scenario = Scenario.model_validate(
        {
            "id": "planted",
            "version": 1,
            "label": {"nl": "P", "fr": "P", "en": "P"},
            "attribution": {"areas": "test_pilot", "timing": "concurrent"},
            "cost": {"features": ["reimbursed_hc", "reimbursed_pharmacy"]},
            "risk_model": {"factors": ["age5_sex", "bim", "chronic_status"]},
            "method": "difference_in_trend",
            "years": {"baseline": 2021, "guarantee": [2022, 2023]},
            "uncertainty": {"replicates": 200, "seed": 5},
        }
    )
    catalogue = dataclasses.replace(
        catalogue, areas={**catalogue.areas, "test_pilot": areas}, simulations={"planted": scenario}
    )
    [result] = simulate(spark, wh, catalogue, "planted")
    return wh, {y.year: y.pilots.iloc[0] for y in result.years}


def test_the_effect_is_recorded_in_the_warehouse_state(planted):
    wh, _ = planted
    effect = wh.read_state()["pilot_effect"]
    assert (effect["area_set"], effect["from_year"], effect["percent"]) == (
        "test_pilot",
        2023,
        PERCENT,
    )


def test_the_planted_amount_is_inside_the_gain_interval_and_zero_is_not(planted):
    _, pilot = planted
    p = pilot[2023]
    assert p.persons > 1000
    # without the effect the residents would have cost actual / 0.7: that difference is planted
    amount = p.actual * (1 / (1 + PERCENT / 100) - 1)
    assert p.gain_low <= amount <= p.gain_high
    assert p.gain_low > 0


def test_before_the_effect_the_gain_interval_contains_zero(planted):
    _, pilot = planted
    p = pilot[2022]
    assert p.gain_low <= 0 <= p.gain_high
    assert p.gain_high - p.gain_low < 0.5 * p.actual  # an interval, not everything
