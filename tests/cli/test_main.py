"""The CLI's argument checks: a clean one-line error and a non-zero exit, never a traceback.

These cases fail before Spark starts, so they run in milliseconds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest
from phm.cli import args
from phm.cli.main import app, has_violations
from phm.errors import InputError
from typer.testing import CliRunner

runner = CliRunner()


def invoke(*argv: str):
    return runner.invoke(app, list(argv))


def assert_clean_error(result, *fragments: str) -> None:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    text = " ".join(result.output.split())  # rich may wrap long lines
    assert text.startswith("error: ")
    for fragment in fragments:
        assert fragment in text


def test_help_lists_the_commands():
    result = invoke("--help")
    assert result.exit_code == 0
    for command in (
        "setup",
        "generate",
        "validate",
        "describe",
        "check",
        "explain",
        "run",
        "export",
    ):
        assert command in result.output


def test_version():
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.output.startswith("phm ")


@pytest.mark.parametrize(
    "years, message",
    [
        ("2024-2022", "runs backwards"),
        ("22-24", "expected a range like 2022-2024"),
        ("2022,20x3", "'20x3' is not a 4-digit year"),
        ("2022,2022", "[2022] given twice"),
        ("1990-1992", "1990 is outside"),
        ("2022-2023-2024", "expected a range"),
        ("2022,2024", "2023 missing"),
    ],
)
def test_generate_rejects_bad_years(tmp_path, years, message):
    result = invoke("generate", "--persons", "1000", "--years", years, "--warehouse", str(tmp_path))
    assert_clean_error(result, message)


def test_generate_rejects_too_few_persons(tmp_path):
    result = invoke(
        "generate", "--persons", "99", "--years", "2022-2024", "--warehouse", str(tmp_path)
    )
    assert_clean_error(result, "--persons 99", "at least 100")


@pytest.mark.parametrize(
    "as_of, message",
    [
        ("2024-13", "month 13"),
        ("2024/06", "expected a month as YYYY-MM"),
        ("2021-12", "before the first year"),
    ],
)
def test_generate_rejects_bad_as_of(tmp_path, as_of, message):
    result = invoke(
        "generate",
        "--persons",
        "1000",
        "--years",
        "2022-2024",
        "--as-of",
        as_of,
        "--warehouse",
        str(tmp_path),
    )
    assert_clean_error(result, message)


def test_generate_requires_persons_and_years(tmp_path):
    assert_clean_error(
        invoke("generate", "--warehouse", str(tmp_path)), "--persons and --years required"
    )


def test_generate_rejects_bad_defect_rate(tmp_path):
    result = invoke(
        "generate",
        "--persons",
        "1000",
        "--years",
        "2023",
        "--defect-rate",
        "0.5",
        "--warehouse",
        str(tmp_path),
    )
    assert_clean_error(result, "--defect-rate 0.5")


@pytest.mark.parametrize(
    "effect, message",
    [
        ("pilot_regions:2023", "expected AREA_SET:YEAR:PERCENT"),
        ("nowhere:2023:-4", "unknown area set 'nowhere'; known: pilot_regions"),
        ("pilot_regions:2025:-4", "year 2025 is not a generated year (2022-2023)"),
        ("pilot_regions:2023:-120", "PERCENT must be above -100"),
        ("pilot_regions:2023:lots", "'lots' is not a number"),
    ],
)
def test_generate_rejects_bad_pilot_effect(tmp_path, effect, message):
    result = invoke(
        "generate",
        "--persons",
        "1000",
        "--years",
        "2022-2023",
        "--pilot-effect",
        effect,
        "--warehouse",
        str(tmp_path),
    )
    assert_clean_error(result, "--pilot-effect", message)


def test_generate_reads_the_pilot_areas_from_the_specs_dir(tmp_path):
    (tmp_path / "specs").mkdir()
    result = invoke(
        "generate",
        "--persons",
        "1000",
        "--years",
        "2022-2023",
        "--pilot-effect",
        "pilot_regions:2023:-4",
        "--specs-dir",
        str(tmp_path / "specs"),
        "--warehouse",
        str(tmp_path / "wh"),
    )
    assert_clean_error(result, "unknown area set 'pilot_regions'")


def test_next_month_takes_no_new_settings(tmp_path):
    result = invoke("generate", "--next-month", "--persons", "1000", "--warehouse", str(tmp_path))
    assert_clean_error(result, "drop --persons")
    result = invoke(
        "generate",
        "--next-month",
        "--pilot-effect",
        "pilot_regions:2023:-4",
        "--warehouse",
        str(tmp_path),
    )
    assert_clean_error(result, "drop --pilot-effect")


def test_next_month_needs_a_generated_warehouse(tmp_path):
    assert_clean_error(
        invoke("generate", "--next-month", "--warehouse", str(tmp_path)), "no generated warehouse"
    )


@pytest.mark.parametrize("command", ["validate", "describe"])
def test_missing_warehouse(tmp_path, command):
    result = invoke(command, "--warehouse", str(tmp_path / "nowhere"))
    assert_clean_error(result, "no warehouse at")


def test_describe_rejects_bad_year(tmp_path):
    assert_clean_error(
        invoke("describe", "--year", "1850", "--warehouse", str(tmp_path)), "--year 1850"
    )


def test_typer_usage_errors_are_not_tracebacks():
    result = invoke("generate", "--persons", "many")
    assert_clean_error(result, "Invalid value for '--persons'", "(see phm generate --help)")


def test_parsers():
    assert args.parse_years("2022-2024") == [2022, 2023, 2024]
    assert args.parse_years("2023, 2022") == [2022, 2023]
    assert args.parse_years("2023") == [2023]
    assert args.parse_month("2024-06") == dt.date(2024, 6, 1)
    assert args.parse_date("2024-03-31") == dt.date(2024, 3, 31)
    with pytest.raises(InputError):
        args.parse_years("")
    with pytest.raises(InputError, match="--data-end: expected a date as YYYY-MM-DD"):
        args.parse_date("2024-13-01")


@dataclass
class _Warning:
    check: str
    status: str


@dataclass
class _Report:
    violations: dict[str, int] = field(default_factory=dict)
    warnings: list[_Warning] = field(default_factory=list)


def test_has_violations_reads_counts_not_warnings():
    assert not has_violations(_Report({"population": 0}, [_Warning("bim_share", "warn")]))
    assert has_violations(_Report({"population": 0, "pharmacy": 3}))


def test_warehouse_uris_keep_their_scheme(monkeypatch):
    from phm.cli import main

    seen = []

    def record(path, must_exist):
        seen.append(path)
        raise InputError("stop here")

    monkeypatch.setattr(main, "_warehouse", record)
    assert_clean_error(invoke("describe", "--warehouse", "s3a://bucket/phm/wh"), "stop here")
    assert seen == ["s3a://bucket/phm/wh"]


# ----------------------------------------------------------------------- specs (no Spark)


def test_check_passes_on_the_repository_specs():
    result = invoke("check")
    assert result.exit_code == 0, result.output
    assert "no errors" in " ".join(result.output.split())


def test_check_counts_and_checks_the_financing_scenarios(tmp_path):
    import shutil

    result = invoke("check")
    assert "2 financing scenarios (7 variants)" in " ".join(result.output.split())
    specs = tmp_path / "specs"
    shutil.copytree("indicator_specs", specs)
    target = specs / "simulations" / "capitation_pilots.yaml"
    lines = target.read_text().splitlines()
    number = next(i for i, line in enumerate(lines) if line.startswith("  areas: "))
    lines[number] = "  areas: pilot_regoins"
    target.write_text("\n".join(lines) + "\n")
    result = invoke("check", "--specs-dir", str(specs))
    assert_clean_error(
        result,
        f"capitation_pilots.yaml:{number + 1}",
        "attribution.areas",
        "did you mean 'pilot_regions'?",
    )


def test_check_names_file_line_field_and_suggestion(tmp_path):
    import shutil

    specs = tmp_path / "specs"
    shutil.copytree("indicator_specs", specs)
    target = specs / "indicators" / "atlas" / "gp_contact_share.yaml"
    lines = target.read_text().splitlines()
    number = next(i for i, line in enumerate(lines) if line.startswith("numerator:"))
    lines[number] = "numerater:"
    target.write_text("\n".join(lines) + "\n")
    result = invoke("check", "--specs-dir", str(specs))
    assert_clean_error(
        result, f"gp_contact_share.yaml:{number + 1}", "numerater", "did you mean 'numerator'?"
    )


def test_explain_prints_one_pass_per_source():
    result = invoke("explain", "gp_contact_share", "polypharmacy_65plus")
    assert result.exit_code == 0, result.output
    assert "health_care: ONE pass" in result.output and "pharmacy: ONE pass" in result.output
    assert "copied into the grouping sets" in result.output


def test_explain_json_prints_the_resolved_plan():
    from phm.compile.plan import plan_from_json

    result = invoke("explain", "gp_contact_share", "polypharmacy_65plus", "--json")
    assert result.exit_code == 0, result.output
    plan = plan_from_json(result.output)
    assert [i.id for i in plan.indicators] == ["gp_contact_share", "polypharmacy_65plus"]
    assert {p.table for p in plan.passes} == {"health_care", "pharmacy"}
    assert "gp_contact" in plan.codelists and plan.reads


def test_explain_quality_collection_shows_the_shared_index_pass():
    result = invoke("explain", "--collection", "quality")
    assert result.exit_code == 0, result.output
    assert "hospital_stay read ONCE" in result.output
    assert "readmission_via_ed_7d: index episodes" in result.output
    assert (
        "Hospital comparison" in result.output and "medication_continuity_statins" in result.output
    )


def test_run_rejects_an_unknown_collection_before_spark(tmp_path):
    (tmp_path / "wh").mkdir()
    result = invoke("run", "--warehouse", str(tmp_path / "wh"), "--collection", "qualty")
    assert_clean_error(result, "unknown collection 'qualty'", "did you mean 'quality'?")


def test_simulate_rejects_unknown_and_unimplemented_scenarios_before_spark(tmp_path):
    (tmp_path / "wh").mkdir()
    result = invoke("simulate", "--warehouse", str(tmp_path / "wh"), "budget_guarantee_2071")
    assert_clean_error(
        result, "unknown scenario 'budget_guarantee_2071'", "did you mean 'budget_guarantee_2017'?"
    )


@pytest.mark.parametrize(
    "setting, message",
    [
        ("sharing.share", "expected path=value"),
        ("sharing.share=1.5", "sharing.share: Input should be less than or equal to 1"),
        ("outliers.quantil=0.9", "outliers.quantil: Extra inputs are not permitted"),
        ("id=other", "only the method can change"),
        ("risk_model.interactions=oops", "risk_model.interactions: Input should be a valid list"),
        ("risk_model.family=gamma", "the scenario's grid varies risk_model.family"),
    ],
)
def test_simulate_set_mistakes_are_named_before_spark(tmp_path, setting, message):
    (tmp_path / "wh").mkdir()
    scenario = "budget_guarantee_2017" if "grid" in message else "capitation_pilots"
    result = invoke("simulate", "--warehouse", str(tmp_path / "wh"), scenario, "--set", setting)
    assert_clean_error(result, message)


def test_simulate_compare_needs_published_results(tmp_path):
    (tmp_path / "wh").mkdir()
    result = invoke(
        "simulate",
        "--warehouse",
        str(tmp_path / "wh"),
        "--compare",
        "budget_guarantee_2017",
        "capitation_pilots",
        "capitation_pilots",
    )
    assert_clean_error(result, "--compare reads published results")


def test_run_rejects_an_unknown_indicator_before_spark(tmp_path):
    (tmp_path / "wh").mkdir()
    result = invoke("run", "--warehouse", str(tmp_path / "wh"), "--specs", "gp_contact_shar")
    assert_clean_error(
        result, "unknown indicator 'gp_contact_shar'", "did you mean 'gp_contact_share'?"
    )


def test_explain_a_scenario_in_words():
    result = invoke("explain", "budget_guarantee_2017")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "Scenario budget_guarantee_2017 v1 (budget guarantee), 6 variant(s)" in text
    assert "reads population years 2022, 2023, 2024" in text
    assert "capped at the 99.5th percentile of the reference population's cost" in text
    assert "Tweedie GLM (power 1.5), log link" in text
    assert "200 Poisson-bootstrap replicates, seed 2017" in text


def test_simulation_tables_show_intervals_hidden_pilots_and_the_comparison():
    import pandas as pd
    from rich.console import Console

    from phm.cli import render

    rows = pd.DataFrame(
        {
            "scenario_id": ["g", "g", "c"],
            "variant": ["base"] * 3,
            "area": ["A", "B", "A"],
            "year": [2023] * 3,
            "persons": [120, None, 120],
            "expected": [1000.0, None, 1000.0],
            "actual": [900.0, None, 900.0],
            "gain": [100.0, None, 100.0],
            "gain_low": [-50.0, None, None],
            "gain_high": [260.0, None, None],
            "oe_ratio": [0.9, None, 0.9],
            "payout": [50.0, None, None],
            "difference": [None, None, 40.0],
            "suppressed": [False, True, False],
        }
    )
    console = Console(width=200, record=True)
    console.print(render.simulation_table(rows))
    text = console.export_text()
    assert "g (published figures, EUR)" in text and "c (published figures, EUR)" in text
    assert "100 [-50; 260]" in text and "hidden" in text and "allocated − actual" in text
    compared = pd.DataFrame(
        {
            "area": ["A"],
            "year": [2023],
            **{
                f"{f}_{s}": [v]
                for f, a, b in (
                    ("expected", 1000.0, 1100.0),
                    ("actual", 900.0, 900.0),
                    ("gain", 100.0, 200.0),
                    ("payout", 50.0, 100.0),
                    ("difference", None, None),
                )
                for s, v in (("a", a), ("b", b), ("diff", None if a is None else b - a))
            },
        }
    )
    console = Console(width=200, record=True)
    console.print(render.comparison_table(compared, "g@x", "g@y"))
    text = console.export_text()
    assert "A = g@x" in text and "gain B − A" in text and "100" in text


# ------------------------------------------------------- usage errors and lists of ids


@pytest.mark.parametrize(
    "argv, message",
    [
        (["run", "--spec", "x"], "No such option: --spec"),
        (["rn"], "No such command 'rn'. Did you mean 'run'?"),
        (["--bogus"], "No such option: --bogus (see phm --help)"),
        (["describe", "--year"], "Option '--year' requires an argument. (see phm describe --help)"),
        (
            ["simulate", "--compare", "a"],
            "Option '--compare' requires 2 arguments. (see phm simulate --help)",
        ),
    ],
)
def test_usage_mistakes_are_one_line_and_exit_1(argv, message):
    result = invoke(*argv)
    assert_clean_error(result, message)
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert "╭" not in result.output and "Usage:" not in result.output


def test_phm_alone_still_prints_the_help():
    result = invoke()
    assert "Usage: phm" in result.output and "error:" not in result.output


IDS = ["gp_contact_share", "polypharmacy_65plus"]


@pytest.mark.parametrize(
    "argv",
    [
        ["explain", "gp_contact_share", "polypharmacy_65plus"],
        ["explain", "gp_contact_share,polypharmacy_65plus"],
        ["explain", "--specs", "gp_contact_share", "polypharmacy_65plus"],
        ["run", "--specs", "gp_contact_share", "polypharmacy_65plus", "--warehouse", "@WH"],
        ["run", "--specs", "gp_contact_share", "--specs", "polypharmacy_65plus", "-w", "@WH"],
        ["run", "--specs", "gp_contact_share, polypharmacy_65plus", "--warehouse", "@WH"],
        ["run", "--specs", "gp_contact_share polypharmacy_65plus", "--warehouse", "@WH"],
        ["run", "gp_contact_share", "polypharmacy_65plus", "--warehouse", "@WH"],
        ["export", "--specs", "gp_contact_share", "polypharmacy_65plus", "--warehouse", "@WH"],
        ["export", "--warehouse", "@WH", "gp_contact_share,polypharmacy_65plus"],
    ],
)
def test_lists_of_ids_are_read_the_same_way_everywhere(tmp_path, monkeypatch, argv):
    from phm.cli import main
    from phm.spec.catalogue import Catalogue

    (tmp_path / "wh").mkdir()
    selected = []
    select = Catalogue.select

    def record(self, ids=None, **kw):
        selected.append(list(ids or []))
        return select(self, ids, **kw)

    def no_spark(name):
        raise InputError("stop before Spark")

    monkeypatch.setattr(Catalogue, "select", record)
    monkeypatch.setattr(main, "_start_spark", no_spark)
    parsed = []
    ids = main._ids
    monkeypatch.setattr(main, "_ids", lambda *given: parsed.append(ids(*given)) or parsed[-1])
    result = invoke(*[str(tmp_path / "wh") if a == "@WH" else a for a in argv])
    if argv[0] == "explain":
        assert result.exit_code == 0, result.output
        assert "gp_contact_share v1 (published)" in result.output
        assert selected == [IDS]
    else:
        assert_clean_error(result, "stop before Spark")
        assert IDS in parsed
        assert selected == ([IDS] if argv[0] == "run" else [])


def test_run_with_a_list_of_ids_and_no_warehouse_fails_after_parsing(tmp_path):
    result = invoke(
        "run",
        "--specs",
        "gp_contact_share",
        "polypharmacy_65plus",
        "--warehouse",
        str(tmp_path / "nowhere"),
    )
    assert_clean_error(result, "no warehouse at")


def test_run_names_an_unknown_id_given_after_another(tmp_path):
    (tmp_path / "wh").mkdir()
    result = invoke(
        "run", "--specs", "gp_contact_share", "gp_contact_shar", "--warehouse", str(tmp_path / "wh")
    )
    assert_clean_error(
        result, "unknown indicator 'gp_contact_shar'", "did you mean 'gp_contact_share'?"
    )


def test_explain_says_who_is_counted_what_and_how():
    result = invoke("explain", "polypharmacy_65plus", "gp_contacts_per_patient")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "Indicators, as compiled from their specs" in text
    assert (
        "- polypharmacy_65plus v1 (published): Polypharmacy among persons aged 65+ "
        "population: persons in the population of the year, aged 65 and over at 31 December "
        "numerator: persons with medicines_80ddd >= 5 "
        "measure: proportion = numerator / population x 100, in %, 1 decimal(s); wilson 95% "
        "interval; direct age-sex standardisation on esp2013 "
        "definition: Share of insured persons aged 65 or over at 31 December"
    ) in text
    assert (
        "population: persons in the population of the year, of all ages, with gp_contacts "
        ">= 1, excluding medical_house = true "
        "numerator: sum of gp_contacts (contacts) over the persons of the population "
        "measure: mean = numerator / persons of the population (persons with 0 count as 0), "
        "in contacts, 1 decimal(s); normal 95% interval; crude"
    ) in text


def test_explain_an_event_indicator_counts_index_stays():
    result = invoke("explain", "readmission_unplanned_30d")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert (
        "numerator: index stays of readmission_30d with a follow-up in the window "
        "measure: proportion = numerator / index stays of readmission_30d x 100, in %"
    ) in text


def test_run_shows_each_stage_with_its_elapsed_time(tmp_path, monkeypatch):
    from phm.cli import main

    (tmp_path / "wh").mkdir()

    def fake_run(*args, progress, **kw):
        progress("person-year table (3 features, 1 year(s))")
        progress("cells, statistics, disclosure control and publication (1 indicator(s))")
        raise InputError("stop after two stages")

    monkeypatch.setattr(main, "_start_spark", lambda name: None)
    monkeypatch.setattr(main, "_stop_spark", lambda: None)
    monkeypatch.setattr("phm.runs.indicators.run_indicators", fake_run)
    result = invoke("run", "gp_contact_share", "--warehouse", str(tmp_path / "wh"))
    # a finished stage stays on screen (and in logs, as a plain line) with its duration
    assert "✓ person-year table (3 features, 1 year(s)) (0.0 s)" in result.output
    assert "error: stop after two stages" in result.output and result.exit_code == 1


def _fake_spark(monkeypatch):
    from phm.cli import main

    monkeypatch.setattr(main, "_start_spark", lambda name: None)
    monkeypatch.setattr(main, "_stop_spark", lambda: None)


def test_a_held_run_says_why_and_how_to_publish_it_and_exits_3(monkeypatch, tmp_path):
    from phm.runs.gate import GateReport, GateRules, IndicatorCheck
    from phm.runs.indicators import RunReport

    (tmp_path / "wh").mkdir()
    seen = {}

    def fake_run(*args, full, gate, **kw):
        seen.update(full=full, gate=gate)
        check = IndicatorCheck("gp_contact_share", 10, 10, 10, 4, 0, 0, 0.5, 0.5, ["4 moved"])
        return RunReport(
            "r9",
            [2023],
            ["gp_contact_share"],
            computed={"x": [2023]},
            gate=GateReport(gate, [check]),
        )

    _fake_spark(monkeypatch)
    monkeypatch.setattr("phm.runs.indicators.run_indicators", fake_run)
    result = invoke("run", "--warehouse", str(tmp_path / "wh"), "--full", "--gate-k", "2")
    assert result.exit_code == 3, result.output
    assert "HELD" in result.output and "gp_contact_share: 4 moved" in result.output
    assert "phm publish --accept r9" in result.output
    assert seen["full"] and seen["gate"] == GateRules(k=2.0)


def test_a_run_with_nothing_stale_says_so(monkeypatch, tmp_path):
    from phm.runs.indicators import RunReport

    (tmp_path / "wh").mkdir()
    _fake_spark(monkeypatch)
    monkeypatch.setattr(
        "phm.runs.indicators.run_indicators",
        lambda *a, **k: RunReport("r10", [], [], computed={}, fresh=94),
    )
    result = invoke("run", "--warehouse", str(tmp_path / "wh"))
    assert result.exit_code == 0 and "nothing stale" in result.output and "94" in result.output


def test_status_lists_runs_and_the_reasons_a_run_is_held(monkeypatch, tmp_path):
    import datetime as dt

    from phm.runs.indicators import RunStatus

    (tmp_path / "wh").mkdir()
    at = dt.datetime(2026, 11, 29, 3, 0)
    runs = [
        RunStatus("r2", "held", at, at, {"a": [2023]}, None, [], ["a: 9 of 10 moved"], None),
        RunStatus("r1", "succeeded", at, at, {}, None, ["nothing stale"], [], None),
    ]
    _fake_spark(monkeypatch)
    monkeypatch.setattr("phm.runs.indicators.run_statuses", lambda spark, wh, last: runs)
    result = invoke("status", "--warehouse", str(tmp_path / "wh"))
    assert result.exit_code == 0, result.output
    assert "r2 is held" in result.output and "a: 9 of 10 moved" in result.output
    cells = " ".join(result.output.replace("│", " ").replace("┃", " ").split())  # cells wrap
    assert "r1 succeeded" in cells and "r2 held" in cells and "1 indicator(s)" in cells
