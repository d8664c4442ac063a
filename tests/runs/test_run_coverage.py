"""A run never publishes a silently wrong or missing number: periods whose window reaches before
the data are refused (or, when the years were not asked for, left out and named), and an
indicator without a cell for a year or geography level is reported in the run report and in
the ledger."""

from __future__ import annotations

import handbuilt
import pytest
import yaml
from spec_helpers import EXACT_COUNTS, indicator, write_specs

import phm.runs.indicators as runs
from phm.runs.gate import GateRules
from phm.errors import InputError

PROPORTION = {"kind": "proportion", "per": 100, "unit": "%"}
DENTIST_3Y = {
    "id": "dentist_3y",
    "version": 1,
    "label": {"nl": "t", "fr": "t", "en": "t"},
    "source": "health_care",
    "codes": "dentist_contact",
    "aggregate": "sum",
    "of": "amount_reimbursed",
    "window_years": 3,
}
SPECS = [
    indicator(
        "dentist_share_3y",
        numerator={"where": [{"feature": "dentist_3y", "at_least": 1}]},
        measure=PROPORTION,
    ),
    indicator(
        "t_mammo",
        population={"sex": "F"},
        numerator={"where": [{"feature": "mammography_2y", "equals": True}]},
        measure=PROPORTION,
    ),
    indicator(
        "t_share",
        numerator={"where": [{"feature": "gp_contacts", "at_least": 1}]},
        measure=PROPORTION,
    ),
    # A2 died in 2023: no one in 2022
    indicator(
        "t_died",
        population={"where": [{"feature": "died", "equals": True}]},
        numerator={"where": [{"feature": "gp_contacts", "at_least": 1}]},
        measure=PROPORTION,
    ),
]


@pytest.fixture(scope="module")
def setup(spark, tmp_path_factory):
    """The hand-built warehouse: population 2022-2023, one health_care claim in 2021."""
    wh = handbuilt.build(spark, tmp_path_factory.mktemp("coverage_wh"))
    root = write_specs(tmp_path_factory.mktemp("coverage_specs"), SPECS)
    (root / "features" / "dentist_3y.yaml").write_text(yaml.safe_dump(DENTIST_3Y))
    return wh, root


def _ledger(spark, wh, run_id):
    ledger = wh.read(spark, "run_ledger").toPandas()
    return ledger[ledger.run_id == run_id]


def test_asked_years_a_window_does_not_cover_are_refused_before_any_work(spark, setup):
    wh, specs = setup
    with pytest.raises(InputError) as err:
        runs.run_indicators(
            spark,
            wh,
            specs,
            ["dentist_share_3y", "t_share"],
            [2022, 2023],
            run_id="refused",
            protection=EXACT_COUNTS,
        )
    message = str(err.value)
    assert (
        "dentist_share_3y 2023: feature dentist_3y sums 3 years (2021-2023) but the "
        "warehouse's population starts in 2022 (2021 missing)"
    ) in message
    assert "dentist_share_3y 2022: feature dentist_3y sums 3 years (2020-2022)" in message
    assert "\n  t_share" not in message
    assert not wh.exists(spark, "run_ledger") or _ledger(spark, wh, "refused").empty


def test_default_years_leave_uncovered_periods_out_and_say_so(spark, setup):
    wh, specs = setup
    report = runs.run_indicators(
        spark, wh, specs, ["t_mammo", "t_share"], run_id="default", protection=EXACT_COUNTS
    )
    assert report.computed == {"t_mammo": [2023], "t_share": [2022, 2023]}
    assert report.periods == [2022, 2023]
    assert any(
        "t_mammo 2022: feature mammography_2y" in w and "not computed" in w for w in report.warnings
    )
    results = wh.read(spark, "results").where("run_id = 'default'").toPandas()
    assert sorted(set(zip(results.indicator_id, results.period))) == [
        ("t_mammo", 2023),
        ("t_share", 2022),
        ("t_share", 2023),
    ]
    ledger = _ledger(spark, wh, "default")
    done = ledger[ledger.status == "succeeded"].iloc[0]
    assert list(done.warnings) == report.warnings


def test_a_year_without_any_cell_is_reported_in_the_report_and_the_ledger(spark, setup):
    wh, specs = setup
    report = runs.run_indicators(
        spark,
        wh,
        specs,
        ["t_died", "t_share"],
        [2022, 2023],
        run_id="empty",
        protection=EXACT_COUNTS,
    )
    no_cells = [w for w in report.warnings if "no cell" in w]
    assert no_cells and all(w.startswith("t_died 2022: no cell") for w in no_cells)
    assert "belgium" in no_cells[0]
    assert not any("2023" in w for w in report.warnings)
    ledger = _ledger(spark, wh, "empty")
    assert list(ledger[ledger.status == "succeeded"].iloc[0].warnings) == report.warnings


def test_a_clean_run_has_no_warnings(spark, setup):
    wh, specs = setup
    report = runs.run_indicators(
        spark,
        wh,
        specs,
        ["t_share"],
        [2022, 2023],
        run_id="clean",
        protection=EXACT_COUNTS,
        full=True,  # the warehouse is shared with the module's other runs
        gate=GateRules(enabled=False),
    )
    assert report.warnings == []
    assert report.computed == {"t_share": [2022, 2023]}
    ledger = _ledger(spark, wh, "clean")
    warnings = ledger[ledger.status == "succeeded"].iloc[0].warnings
    assert warnings is None or len(warnings) == 0


def test_the_run_summary_shows_years_per_indicator_and_the_warnings():
    from rich.console import Console

    from phm.cli import render

    report = runs.RunReport(
        "r",
        [2022, 2023],
        ["t_mammo", "t_share"],
        result_rows=12,
        suppressed_rows=2,
        timings={"total": 3.0},
        computed={"t_mammo": [2023], "t_share": [2022, 2023]},
        warnings=[
            "t_mammo 2022: feature mammography_2y looks at 2 years (2021-2022) ... - not computed"
        ],
    )
    console = Console(record=True, width=200)
    render.render_run(console, report, "/wh/results")
    text = console.export_text()
    assert "run r: 2 indicator(s), years 2022, 2023" in text
    assert "t_mammo: 2023 only" in text
    assert "1 warning" in text and "t_mammo 2022: feature mammography_2y" in text
