"""Properties of the whole Atlas catalogue on a generated warehouse (6,000 persons, 2023):
additivity over the geography, disclosure, one scan per source table, standardised = crude on
a reference-shaped population."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from spec_helpers import EXACT_COUNTS, REPO_SPECS, TEST_SECRET, indicator, write_specs

from phm.disclosure import PTable, Protection
from sample_rows import claim, frame, person

from phm.execute.events import index_events
from phm.execute.finalise import finalise
from phm.execute.person_year import build_person_year, source_features
from phm.compile.plan import build_plan
from phm.data.reference_data import esp2013, municipalities
from phm.data.schemas import SOURCE_TABLES
from phm.data.warehouse import Warehouse
from phm.registry.aggregates import AGGREGATES
from phm.runs.indicators import compute_cells, run_indicators
from phm.spec import load_catalogue

MEASURES = ["num", "den", "npers", "dpers"]


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue(REPO_SPECS)


@pytest.fixture(scope="module")
def catalogue_cells(spark, calibration_warehouse, catalogue):
    plan = build_plan(catalogue, catalogue.select())
    # cached: the disclosure test finalises these cells, which would compute them again
    cells = compute_cells(spark, calibration_warehouse, plan, [2023], TEST_SECRET).cache()
    yield plan, cells, cells.drop("breakdown").toPandas()
    cells.unpersist()


def test_catalogue_covers_every_theme(catalogue):
    themes = {i.theme for i in catalogue.indicators.values()}
    assert len(catalogue.indicators) >= 25
    assert themes == {
        "demography",
        "prevention",
        "health_status",
        "care_consumption",
        "accessibility",
        "organisation",
        "quality_of_care",
    }


def test_one_scan_per_source_table(spark, calibration_warehouse, catalogue):
    # the Atlas: person-year features only (events are indexed in their own pass, below)
    plan = build_plan(catalogue, catalogue.select(collections=["atlas"]))
    person_year = build_person_year(spark, calibration_warehouse, plan, [2023])
    physical = person_year._jdf.queryExecution().executedPlan().toString()
    for table in ("health_care", "pharmacy", "hospital_stay"):
        scans = physical.count(f"{calibration_warehouse.path(table)}]") + physical.count(
            f"{calibration_warehouse.path(table)},"
        )
        assert scans == 1, f"{table} is scanned {scans} times:\n{physical}"
    assert len(plan.passes) == 3 and sum(len(p.features) for p in plan.passes) >= 25


def test_list_collecting_features_read_their_rows_again(spark, calibration_warehouse, catalogue):
    # pdc collects lists: in the pass's own group-by it would turn every pharmacy feature's
    # hash aggregate into Spark's sort-based object aggregate, so it gets a second, filtered read
    plan = build_plan(catalogue, catalogue.select())
    pharmacy = next(p for p in plan.passes if p.table == "pharmacy")
    lists = [f for f in pharmacy.features if AGGREGATES[f.aggregate].collects_lists]
    assert lists and len(lists) < len(pharmacy.features)
    path = calibration_warehouse.path("pharmacy")

    def scans(p) -> int:
        frame = source_features(spark, calibration_warehouse, p, plan, [2023])
        physical = frame._jdf.queryExecution().executedPlan().toString()
        return physical.count(f"{path}]") + physical.count(f"{path},")

    assert scans(pharmacy) == 2
    without = type(pharmacy)("pharmacy", tuple(f for f in pharmacy.features if f not in lists))
    assert scans(without) == 1


def test_stays_are_indexed_once_for_every_event(spark, calibration_warehouse, catalogue):
    plan = build_plan(catalogue, catalogue.select())
    assert len(plan.events) >= 8
    index = index_events(
        spark, calibration_warehouse, plan, [2023], {e.id: date(2023, 12, 31) for e in plan.events}
    )
    physical = index._jdf.queryExecution().executedPlan().toString()
    for table, expected in (("hospital_stay", 1), ("health_care", 1)):
        path = calibration_warehouse.path(table)
        scans = physical.count(f"{path}]") + physical.count(f"{path},")
        assert scans == expected, f"{table} is scanned {scans} times:\n{physical}"


def test_hospitals_add_up_to_belgium(catalogue_cells):
    _, _, cells = catalogue_cells
    hospitals = cells[cells.geo_level == "hospital"]
    compared = sorted(hospitals.indicator_id.unique())
    assert "readmission_via_ed_7d" in compared and len(compared) >= 5
    belgium = (
        cells[(cells.geo_level == "belgium") & (cells.breakdown_key == "")]
        .set_index("indicator_id")
        .loc[compared, ["num", "den"]]
    )
    summed = hospitals.groupby("indicator_id")[["num", "den"]].sum()
    pd.testing.assert_frame_equal(summed.sort_index(), belgium.sort_index(), check_dtype=False)
    # a logistic model with an intercept expects as many events as were observed
    expected = hospitals.groupby("indicator_id")["expected_risk"].sum()
    assert expected.to_numpy() == pytest.approx(summed["num"].to_numpy(), rel=1e-6)
    assert hospitals.geo_code.str.match(r"^7\d{10}$").all()


def test_municipalities_add_up_to_every_level(catalogue_cells):
    plan, _, cells = catalogue_cells
    totals = cells[cells.breakdown_key == ""].copy()
    # the persons behind a pooled cell are the most of any one of its years, which does not
    # add up (a maximum); its sums do
    pooled = totals.indicator_id.isin([i.id for i in plan.indicators if i.pooled_years > 1])
    assert pooled.any()
    totals.loc[pooled, ["npers", "dpers"]] = 0
    geo = municipalities().set_index("nis")
    munis = totals[totals.geo_level == "municipality"].copy()
    checked = 0
    for level, column in (
        ("arrondissement", "arr_nis"),
        ("province", "prov_nis"),
        ("region", "reg_nis"),
    ):
        munis[level] = munis.geo_code.map(geo[column])
        summed = munis.dropna(subset=[level]).groupby(["indicator_id", level])[MEASURES].sum()
        actual = totals[totals.geo_level == level].set_index(["indicator_id", "geo_code"])[MEASURES]
        actual.index.names = summed.index.names
        pd.testing.assert_frame_equal(summed.sort_index(), actual.sort_index(), check_dtype=False)
        checked += len(actual)
    belgium = totals[totals.geo_level == "belgium"].set_index("indicator_id")[MEASURES]
    regions = totals[totals.geo_level == "region"].groupby("indicator_id")[MEASURES].sum()
    pd.testing.assert_frame_equal(regions.sort_index(), belgium.sort_index(), check_dtype=False)
    assert checked > 35 * 10


def test_breakdowns_add_up_to_their_total(catalogue_cells):
    _, _, cells = catalogue_cells
    be = cells[cells.geo_level == "belgium"]
    total = be[be.breakdown_key == ""].set_index("indicator_id")[MEASURES]
    for dim in ("sex", "bim", "age:atlas"):
        part = be[
            be.breakdown_key.str.startswith(f"{dim}=")
            & ~be.breakdown_key.str.contains("|", regex=False)
        ]
        summed = part.groupby("indicator_id")[MEASURES].sum()
        pd.testing.assert_frame_equal(summed, total.loc[summed.index], check_dtype=False)


def test_no_published_cell_below_the_threshold(catalogue_cells):
    plan, cells, truth = catalogue_cells
    results = finalise(cells, plan, Protection(TEST_SECRET)).toPandas()
    published = results[~results.suppressed]
    assert len(published) > 1000 and results.suppressed.any()
    key = ["indicator_id", "period", "geo_level", "geo_code", "breakdown_key"]
    merged = published.merge(truth, on=key, validate="one_to_one")
    assert len(merged) == len(published)
    # neither the true counts nor the published (perturbed) ones are under 5 persons
    assert not ((merged.dpers < 5) | merged.npers.between(1, 4)).any()
    assert not ((merged.denominator_persons < 5) | merged.numerator_persons.between(1, 4)).any()
    hidden = results[results.suppressed]
    assert hidden[["value", "numerator", "denominator", "numerator_persons"]].isna().all().all()
    assert set(results.suppression_reason.dropna()) == {"small_count"}
    # counts are perturbed, by at most D, and a zero stays a zero
    noise = merged.denominator_persons - merged.dpers
    assert noise.abs().max() <= PTable().max_noise and (noise != 0).mean() > 0.5
    assert ((merged.npers == 0) == (merged.numerator_persons == 0)).all()
    # the same persons get the same noise: the population of a cell, denominator of every
    # whole-population proportion, is published identically in all of them
    whole = merged[
        merged.indicator_id.isin(["antibiotic_users", "dentist_contact_share", "bim_share"])
        & (merged.breakdown_key == "")
    ]
    same = whole.groupby(["geo_level", "geo_code"]).denominator_persons.nunique()
    assert len(same) > 20 and (same == 1).all()


def test_standardised_equals_crude_on_a_reference_shaped_population(spark, tmp_path):
    # persons per (age band, sex) = ESP2013 weight / 100: the population IS the standard
    rows, claims, n = [], [], 0
    for band in esp2013().itertuples():
        for sex in ("F", "M"):
            for i in range(int(band.esp2013) // 100):
                n += 1
                pid = f"P{n}"
                rows.append(
                    person(
                        year=2023,
                        person_id=pid,
                        sex=sex,
                        nis_municipality="44021",
                        birth_year=2023 - int(band.age_from) - i % 5,
                    )
                )
                if (n * 7919) % 10 < 3 + int(
                    band.age_from
                ) // 30:  # uneven by age: DSR != crude otherwise trivial
                    claims.append(
                        claim(
                            claim_id=f"C{n}",
                            person_id=pid,
                            year=2023,
                            service_date=date(2023, 5, 1),
                            accounting_month=date(2023, 5, 1),
                        )
                    )
    wh = Warehouse.at(tmp_path / "wh")
    from pyspark.sql import functions as F

    for name, data in (("population", rows), ("health_care", claims)):
        table = SOURCE_TABLES[name]
        frame(spark, name, data).withColumn("load_id", F.lit("t")).select(
            *[F.col(c.name).cast(c.dtype.spark()) for c in table.columns]
        ).write.format("delta").save(wh.path(name))
    spec = indicator(
        "t_std",
        numerator={"where": [{"feature": "gp_contacts", "at_least": 1}]},
        measure={"kind": "proportion", "per": 100, "unit": "%", "decimals": 4},
        breakdowns={"geography": ["belgium"]},
        standardisation={"method": "direct", "reference": "esp2013"},
    )
    run_indicators(
        spark, wh, write_specs(tmp_path / "specs", [spec]), years=[2023], protection=EXACT_COUNTS
    )
    be = wh.read(spark, "results").where("breakdown_key = ''").collect()[0]
    assert be.denominator == 2000 and 0 < be.numerator < 2000
    assert be.value_standardised == pytest.approx(be.value, abs=1e-4)
