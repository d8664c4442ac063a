"""A run publishes atomically, records itself in the ledger, and converges on a rerun."""

from __future__ import annotations

import handbuilt
import pytest
from spec_helpers import EXACT_COUNTS, indicator, write_specs

import phm.runs.indicators as runs
from phm.disclosure.policy import warehouse_secret
from phm.errors import WarehouseError
from phm.runs.gate import GateRules

SPECS = [
    indicator(
        "t_rate",
        numerator={"sum": "classic_stays"},
        measure={"kind": "rate", "per": 1000, "unit": "per 1,000"},
        breakdowns={"by": ["sex"]},
    ),
    indicator(
        "t_share",
        numerator={"where": [{"feature": "gp_contacts", "at_least": 1}]},
        measure={"kind": "proportion", "per": 100, "unit": "%"},
        disclosure={"min_count": 5},
    ),
]
VOLATILE = ["run_id", "computed_at"]


@pytest.fixture(scope="module")
def setup(spark, tmp_path_factory):
    wh = handbuilt.build(spark, tmp_path_factory.mktemp("runs_wh"))
    specs = write_specs(tmp_path_factory.mktemp("runs_specs"), SPECS)
    return wh, specs


def _results(spark, wh):
    frame = wh.read(spark, "results").drop(*VOLATILE, "breakdown").toPandas()
    return frame.sort_values(
        ["indicator_id", "geo_level", "geo_code", "breakdown_key"]
    ).reset_index(drop=True)


def test_rerun_gives_identical_results_and_ledger_rows(spark, setup):
    wh, specs = setup
    first = runs.run_indicators(spark, wh, specs, years=[2023], run_id="r1")
    before = _results(spark, wh)
    second = runs.run_indicators(spark, wh, specs, years=[2023], run_id="r2", full=True)
    after = _results(spark, wh)
    assert first.result_rows == second.result_rows == len(after) > 0
    assert before.equals(after)  # replaced, not appended; same numbers
    ledger = wh.read(spark, "run_ledger").toPandas()
    assert sorted(ledger[ledger.run_id == "r2"].status) == ["started", "succeeded"]
    assert ledger[ledger.status == "succeeded"].input_versions.map(len).min() >= 3
    # the protection is recorded, its secret nowhere
    assert set(ledger[ledger.run_id == "r2"].disclosure) == {
        "cell_key max_noise=8 scale=2 key_bits=20"
    }
    secret = warehouse_secret(wh)
    for frame in (ledger, before):
        assert not frame.astype(str).apply(lambda col: col.str.contains(secret)).any().any()


def test_a_failed_run_leaves_published_results_as_they_were(spark, setup, monkeypatch):
    wh, specs = setup
    runs.run_indicators(spark, wh, specs, years=[2023], run_id="good", full=True)
    before = wh.read(spark, "results").toPandas()

    def broken(*args, **kwargs):
        raise RuntimeError("disk full while computing")

    monkeypatch.setattr(runs, "publish_staged", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        runs.run_indicators(spark, wh, specs, years=[2023], run_id="bad", full=True)
    after = wh.read(spark, "results").toPandas()
    assert set(after.run_id) == {"good"} and len(after) == len(before)
    ledger = wh.read(spark, "run_ledger").toPandas()
    failed = ledger[(ledger.run_id == "bad")]
    assert list(failed.status) == ["started", "failed"] or sorted(failed.status) == [
        "failed",
        "started",
    ]
    assert "disk full" in failed[failed.status == "failed"].error.iloc[0]


def test_a_run_failing_mid_computation_records_the_stages_done(spark, setup, monkeypatch):
    wh, specs = setup

    def broken(*args, **kwargs):
        raise RuntimeError("executor lost")

    monkeypatch.setattr(runs, "indicator_cells", broken)  # after the person-year table
    with pytest.raises(RuntimeError, match="executor lost"):
        runs.run_indicators(spark, wh, specs, years=[2023], run_id="mid", full=True)
    ledger = wh.read(spark, "run_ledger").toPandas()
    failed = ledger[(ledger.run_id == "mid") & (ledger.status == "failed")]
    assert "person_year" in failed.timings.iloc[0]


def test_unknown_year_is_a_clear_error(spark, setup):
    wh, specs = setup
    with pytest.raises(WarehouseError, match=r"no population rows for year\(s\) \[2019\]"):
        runs.run_indicators(spark, wh, specs, years=[2019])


def test_export_writes_published_values_only(spark, setup, tmp_path):
    from phm.publish.export import export_results

    wh, specs = setup
    runs.run_indicators(
        spark,
        wh,
        specs,
        years=[2023],
        run_id="export",
        protection=EXACT_COUNTS,
        gate=GateRules(enabled=False),  # exact counts move every perturbed cell on purpose
    )
    files = export_results(spark, wh, tmp_path, ["t_share"])
    assert sorted(p.name for p in files) == ["t_share.csv", "t_share.json"]
    import pandas as pd

    csv = pd.read_csv(tmp_path / "t_share.csv", dtype={"geo_code": str})
    assert "numerator_persons" not in csv.columns and "person_id" not in csv.columns
    hidden = csv[csv.suppressed]
    assert len(hidden) > 0 and hidden.value.isna().all() and hidden.numerator.isna().all()
    belgium = csv[csv.geo_level == "belgium"].iloc[0]
    assert belgium.geo_name_nl == "België" and belgium.value == 44.4  # 8 of 18 (A10 counts here)
