"""A scenario over a generated warehouse: attribution, reference population, cost and the
fraction insured, against an independent recomputation from the raw tables (pandas)."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pandas as pd
import pytest
import yaml
from spec_helpers import REPO_SPECS

from pyspark.sql import functions as F

from phm.runs.simulations import simulate
from phm.simulations.population import person_years, scenario_rows
from phm.spec import load_catalogue
from phm.spec.scenario import Scenario

SCENARIO = {
    "id": "small_guarantee",
    "version": 1,
    "label": {"nl": "S", "fr": "S", "en": "S"},
    "attribution": {"areas": "test_pilots", "timing": "prospective"},
    "cost": {"features": ["reimbursed_hc", "reimbursed_pharmacy"]},
    "risk_model": {"factors": ["bim", "chronic_status"]},
    "years": {"baseline": 2022, "guarantee": [2023]},
}


@pytest.fixture(scope="module")
def setting(spark, small_warehouse, tmp_path_factory):
    wh = small_warehouse
    pop = wh.read(spark, "population").toPandas()
    # the two most populated municipalities of 2022 form pilot P1, the third P2
    top = pop[pop.year == 2022].nis_municipality.value_counts().index[:3]
    root = tmp_path_factory.mktemp("sim_specs") / "specs"
    shutil.copytree(REPO_SPECS, root)
    areas = {
        "id": "test_pilots",
        "version": 1,
        "label": {"nl": "T", "fr": "T", "en": "T"},
        "areas": {
            "P1": {"label": "P1", "municipalities": [str(n) for n in top[:2]]},
            "P2": {"label": "P2", "municipalities": [str(top[2])]},
        },
    }
    (root / "areas" / "test_pilots.yaml").write_text(yaml.safe_dump(areas))
    (root / "simulations" / "small_guarantee.yaml").write_text(yaml.safe_dump(SCENARIO))
    catalogue = load_catalogue(root)
    return wh, catalogue, pop, {"P1": set(top[:2]), "P2": {top[2]}}


def _expected_rows(spark, wh, pop, pilots) -> pd.DataFrame:
    """Independent: residence of 2022 (else 2023), cost from the claim tables, fraction."""
    now = pop[pop.year == 2023].set_index("person_id")
    before = pop[pop.year == 2022].set_index("person_id").nis_municipality
    nis = before.reindex(now.index).fillna(now.nis_municipality)
    cost = pd.Series(0.0, index=now.index)
    for table in ("health_care", "pharmacy"):
        claims = wh.read(spark, table).where("year = 2023").toPandas()
        cost = cost.add(
            claims.groupby("person_id").amount_reimbursed.sum().astype(float), fill_value=0.0
        ).reindex(now.index)
    start = pd.to_datetime(np.where(now.birth_year == 2023, "2023-07-01", "2023-01-01"))
    end = pd.to_datetime(now.death_date).fillna(pd.Timestamp("2023-12-31"))
    fraction = np.maximum((end - start).dt.days + 1, 1) / 365
    out = pd.DataFrame({"nis": nis, "cost": cost, "fraction": np.asarray(fraction)})
    out["pilot"] = None
    for name, members in pilots.items():
        out.loc[out.nis.isin(members), "pilot"] = name
    return out


def test_rows_follow_the_attribution_rules(spark, setting):
    wh, catalogue, pop, pilots = setting
    scenario = catalogue.simulations["small_guarantee"]
    table = person_years(spark, wh, catalogue, scenario, [2023])
    rows = scenario_rows(table, catalogue, scenario).where("year = 2023").toPandas()
    expected = _expected_rows(spark, wh, pop, pilots)
    # every 2023 person once: in a pilot, or in the reference
    assert rows.person_id.is_unique and set(rows.person_id) == set(expected.index)
    got = rows.set_index("person_id").loc[expected.index]
    assert list(got.pilot.fillna("-")) == list(expected.pilot.fillna("-"))
    assert (got.in_reference == expected.pilot.isna()).all()
    assert got.cost.to_numpy() == pytest.approx(expected.cost.to_numpy())
    assert got.fraction.to_numpy() == pytest.approx(expected.fraction.to_numpy())
    assert (expected.pilot.notna().sum() >= 10) and (expected.fraction < 1).any()


@pytest.mark.parametrize(
    "timing, reference, expected",
    [
        # x lived in Leuven (a pilot municipality) and was chronic at the end of 2022, moved to
        # Ghent and lost the status in 2023; y was born in Leuven in 2023; z lives in Ghent
        (
            "prospective",
            "outside_pilots",
            {("x", "zorgzaam_leuven", False), ("y", "zorgzaam_leuven", False), ("z", None, True)},
        ),
        # concurrent: x is in Ghent in 2023 (reference); y is not chronic: neither pilot nor
        # reference (a resident of a pilot area outside the target group)
        ("concurrent", "outside_pilots", {("x", None, True), ("z", None, True)}),
        # all of Belgium as reference: everyone once in the reference, pilot members once more
        (
            "prospective",
            "belgium",
            {
                ("x", "zorgzaam_leuven", False),
                ("y", "zorgzaam_leuven", False),
                ("x", None, True),
                ("y", None, True),
                ("z", None, True),
            },
        ),
    ],
)
def test_attribution_by_hand(spark, timing, reference, expected):
    table = spark.createDataFrame(
        [
            ("x", 2022, "24062", True, 10.0, 1.0),
            ("x", 2023, "44021", False, 20.0, 1.0),
            ("y", 2023, "24062", True, 30.0, 0.5),
            ("z", 2022, "44021", False, 5.0, 1.0),
            ("z", 2023, "44021", True, 40.0, 1.0),
        ],
        "person_id string, year int, nis string, chronic_status boolean, reimbursed_hc double, "
        "fraction double",
    )
    scenario = Scenario.model_validate(
        {
            **SCENARIO,
            "attribution": {
                "areas": "pilot_regions",
                "timing": timing,
                "target_group": [{"feature": "chronic_status", "equals": True}],
            },
            "reference": reference,
            "cost": {"features": ["reimbursed_hc"]},
        }
    )
    if timing == "concurrent":
        table = table.withColumn("chronic_status", F.col("person_id") != "y")
    rows = scenario_rows(table, load_catalogue(REPO_SPECS), scenario).where("year = 2023")
    got = {(r.person_id, r.pilot, r.in_reference) for r in rows.collect()}
    assert got == expected
    assert {r.person_id: r.cost for r in rows.collect()} == {
        k: v for k, v in {"x": 20.0, "y": 30.0, "z": 40.0}.items() if k in {e[0] for e in expected}
    }


def test_a_scenario_runs_end_to_end_with_its_variants(spark, setting):
    wh, catalogue, pop, pilots = setting
    [result] = simulate(spark, wh, catalogue, "small_guarantee")
    assert result.variant == "base"
    [year] = result.years
    expected = _expected_rows(spark, wh, pop, pilots)
    p = year.pilots.set_index("pilot")
    sizes = expected.groupby("pilot").size()
    assert p.persons.to_dict() == sizes.to_dict()
    # actual = sum of annualised cost x fraction = the year's cost, uncapped
    actual = expected.groupby("pilot").cost.sum()
    assert p.actual.to_numpy() == pytest.approx(actual.loc[p.index].to_numpy())
    # the model's expected cost over the whole reference equals its actual (OLS with intercept)
    assert np.isfinite(p.expected).all() and (p.expected > 0).all()
    assert list(p.gain) == pytest.approx(list(p.expected - p.actual))


def test_published_tables_protect_small_pilots_and_a_rerun_converges(spark, setting, tmp_path):
    import shutil as sh

    from phm.data.warehouse import Warehouse
    from phm.disclosure import PTable, Protection
    from phm.runs.simulations import run_simulations
    from spec_helpers import TEST_SECRET

    src, catalogue, pop, pilots = setting
    root = tmp_path / "wh"
    sh.copytree(src.root, root)
    wh = Warehouse.at(root)
    protection = Protection(TEST_SECRET, PTable())
    first = run_simulations(spark, wh, catalogue, ["small_guarantee"], protection=protection)
    results = wh.read(spark, "simulation_results").toPandas()
    models = wh.read(spark, "simulation_models").toPandas()
    assert len(results) == 2 and set(results.area) == {"P1", "P2"}
    truth = _expected_rows(spark, wh, pop, pilots).groupby("pilot").size()
    for row in results.itertuples():
        if truth[row.area] < 5:
            assert row.suppressed and np.isnan(row.actual)
        else:
            assert abs(row.persons - truth[row.area]) <= PTable().max_noise
            assert row.oe_ratio == pytest.approx(row.actual / row.expected)
    assert sorted(models.term) == ["bim", "chronic_status", "intercept"]
    assert (models.replicates == 200).all() and models.cpm.between(-1, 1).all()
    shown = results[~results.suppressed]
    assert (shown.gain_low <= shown.gain).all() and (shown.gain <= shown.gain_high).all()
    assert (shown.oe_low <= shown.oe_ratio).all() and (shown.oe_ratio <= shown.oe_high).all()
    checks = wh.read(spark, "simulation_diagnostics").toPandas()
    whole = checks[(checks.population == "reference") & (checks.dimension == "all")].iloc[0]
    # OLS with an intercept predicts its whole reference population exactly: ratio 1
    assert whole.ratio == pytest.approx(1.0) and whole.ratio_low < 1 < whole.ratio_high
    assert {
        "age_band",
        "sex",
        "bim",
        "chronic_status",
        "region",
        "pseudopathologies",
        "prior_cost_decile",
    } <= set(checks.dimension)
    assert set(checks[checks.dimension == "prior_cost_decile"].level) <= {
        *(f"D{d:02d}" for d in range(1, 11)),
        "none",
    }
    assert checks[checks.suppressed].ratio.isna().all()
    assert (checks[~checks.suppressed].persons >= 5).all()
    ledger = wh.read(spark, "run_ledger").where(f"run_id = '{first.run_id}'").toPandas()
    assert set(ledger.status) == {"started", "succeeded"}
    # same persons, same secret: the same published figures; the scenario's rows replaced
    run_simulations(spark, wh, catalogue, ["small_guarantee"], protection=protection)
    again = wh.read(spark, "simulation_results").toPandas()
    cols = [
        "area",
        "year",
        "persons",
        "actual",
        "expected",
        "payout",
        "suppressed",
        "gain_low",
        "gain_high",
    ]
    pd.testing.assert_frame_equal(
        again[cols].sort_values("area").reset_index(drop=True),
        results[cols].sort_values("area").reset_index(drop=True),
    )


def test_a_prospective_model_on_prior_cost_bands_runs(spark, setting):
    import dataclasses

    wh, catalogue, _, _ = setting
    changed = Scenario.model_validate(
        {
            **SCENARIO,
            "risk_model": {"factors": ["bim", "prior_cost_band"]},
            "uncertainty": {"replicates": 0},
        }
    )
    catalogue = dataclasses.replace(catalogue, simulations={"small_guarantee": changed})
    [result] = simulate(spark, wh, catalogue, "small_guarantee")
    [year] = result.years
    terms = [t for t in year.fit.names if t.startswith("prior_cost_band=")]
    # D01 is the reference level; 'none' (no row in 2022) is a level of its own
    assert terms and "prior_cost_band=D01" not in terms
    assert set(terms) <= {
        *(f"prior_cost_band=D{d:02d}" for d in range(2, 11)),
        "prior_cost_band=none",
    }


@pytest.mark.parametrize(
    "years, missing",
    [
        ({"baseline": 2023, "guarantee": [2024]}, "[2024]"),  # beyond the data
        ({"baseline": 2021, "guarantee": [2022]}, "[2021]"),  # prospective: the year before
    ],
)
def test_years_outside_the_data_are_refused_not_skipped(spark, setting, years, missing):
    import dataclasses

    from phm.errors import WarehouseError

    wh, catalogue, _, _ = setting
    changed = Scenario.model_validate({**SCENARIO, "years": years})
    catalogue = dataclasses.replace(catalogue, simulations={"small_guarantee": changed})
    with pytest.raises(WarehouseError, match=rf"needs population year\(s\) {re.escape(missing)}"):
        simulate(spark, wh, catalogue, "small_guarantee")
