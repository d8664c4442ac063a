"""Ingesting delivered files: tiny hand-written CSV / Parquet files in the IMA population layout.

One module-scoped warehouse takes the loads that succeed (Delta writes are the slow part); the
files that must fail are checked before Spark reads a row, so they never touch it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from phm.data.ingest import default_load_id, ingest
from phm.data.layouts import load_layout, read_layout
from phm.data.schemas import LOAD_LOG, POPULATION, QUARANTINE
from phm.data.warehouse import Warehouse
from phm.errors import InputError

REPO_SPECS = Path(__file__).resolve().parents[2] / "indicator_specs"
HEADER = (
    "PP0005;PP0010;PP0015;PP0020;PP0025;insurer;bim;PP1010;PP0040;"
    "chronic_status;disability;nursing_home;medical_house;gmd"
)


def row(pid: str, *, sex: str = "F", death: str = "", nis: str = "21004") -> str:
    return f"2021;{pid};1950;{sex};{nis};100;false;;{death};false;false;false;false;true"


GOOD = [row("P1"), row("P2", sex="M"), row("P3", death="2021-05-04")]
BAD = [
    row("P4"),
    row("P5", death="2021-02-30"),  # no such day
    row("P6", death="04/05/2021"),  # not the layout's yyyy-MM-dd
    "2021;P7;1950",  # truncated last line, no newline
]


def _write(path: Path, lines: list[str], *, end: str = "\n", encoding: str = "utf-8") -> Path:
    path.write_text("\n".join(lines) + end, encoding=encoding)
    return path


@pytest.fixture(scope="module")
def layout():
    return load_layout("ima_population", REPO_SPECS)


@pytest.fixture(scope="module")
def story(spark, layout, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ingest")
    wh = Warehouse.at(tmp / "wh")
    good = _write(tmp / "pop_2021.csv", [HEADER, *GOOD])
    bad = _write(tmp / "pop_2021_bad.csv", [HEADER, *BAD], end="")
    results = {
        "good": ingest(spark, wh, layout, [good], "G1"),
        "again": ingest(spark, wh, layout, [good], "G1"),
        "bad": ingest(spark, wh, layout, [bad], "B1"),
    }
    return wh, results


def test_good_file_loads_with_exact_counts(story, spark):
    wh, results = story
    result = results["good"]
    assert (result.input_rows, result.accepted_rows, result.quarantined_rows) == (3, 3, 0)
    rows = wh.read(spark, POPULATION.name).filter("load_id = 'G1'").collect()
    by_id = {r["person_id"]: r for r in rows}
    assert sorted(by_id) == ["P1", "P2", "P3"]
    assert by_id["P2"]["sex"] == "M" and by_id["P1"]["year"] == 2021
    assert str(by_id["P3"]["death_date"]) == "2021-05-04" and by_id["P1"]["death_date"] is None


def test_same_load_id_replaces(story, spark):
    wh, results = story
    assert results["again"].accepted_rows == 3
    assert wh.read(spark, POPULATION.name).filter("load_id = 'G1'").count() == 3
    log = wh.read(spark, LOAD_LOG.name).filter("load_id = 'G1'").collect()
    assert len(log) == 1 and log[0]["input_rows"] == 3


def test_bad_date_and_truncated_line_are_quarantined_and_counted(story, spark):
    wh, results = story
    result = results["bad"]
    assert result.input_rows == len(BAD)  # every data line, the truncated one included
    assert (result.accepted_rows, result.quarantined_rows) == (1, 3)
    assert result.conserved
    assert result.reasons["UNPARSABLE_DEATH_DATE"] == 2
    assert result.reasons["MALFORMED_LINE"] == 1
    q = wh.read(spark, QUARANTINE.name).filter("load_id = 'B1'").collect()
    by_key = {r["row_key"].split("|")[0]: r for r in q}
    assert set(by_key) == {"P5", "P6", "P7"}
    assert "UNPARSABLE_DEATH_DATE" in by_key["P6"]["reject_reasons"]
    assert json.loads(by_key["P6"]["row_json"])["death_date"] == "04/05/2021"  # as delivered
    truncated = json.loads(by_key["P7"]["row_json"])
    assert "MALFORMED_LINE" in by_key["P7"]["reject_reasons"]
    assert truncated["_corrupt_record"] == "2021;P7;1950"


def test_parquet_delivery(story, spark, layout, tmp_path):
    wh, _ = story
    specs = tmp_path / "specs" / "layouts"
    specs.mkdir(parents=True)
    text = (REPO_SPECS / "layouts" / "ima_population.yaml").read_text()
    (specs / "pq_population.yaml").write_text(text.replace("format: csv", "format: parquet"))
    pq_layout = read_layout(specs / "pq_population.yaml")
    names = HEADER.split(";")
    values = [dict(zip(names, row(p).split(";"), strict=True)) for p in ("Q1", "Q2")]
    values = [{k: (v or None) for k, v in r.items()} for r in values]
    frame = spark.createDataFrame(values, ", ".join(f"{n} string" for n in names))
    frame.write.parquet(str(tmp_path / "pop.parquet"))
    result = ingest(spark, wh, pq_layout, [tmp_path / "pop.parquet"], "PQ1")
    assert (result.input_rows, result.accepted_rows, result.quarantined_rows) == (2, 2, 0)
    assert wh.read(spark, POPULATION.name).filter("load_id = 'PQ1'").count() == 2


def test_wrong_delimiter_fails_naming_the_file(spark, layout, tmp_path):
    wh = Warehouse.at(tmp_path / "wh")
    path = _write(tmp_path / "comma.csv", [HEADER.replace(";", ","), row("P1").replace(";", ",")])
    with pytest.raises(InputError) as err:
        ingest(spark, wh, layout, [path], "X1")
    message = str(err.value)
    assert "comma.csv" in message and "PP0010" in message and "delimiter ';'" in message
    assert "looks delimited by ','" in message
    assert not (tmp_path / "wh").exists()  # nothing written


def test_missing_header_column_fails_before_any_load(spark, layout, tmp_path):
    wh = Warehouse.at(tmp_path / "wh")
    good = _write(tmp_path / "ok.csv", [HEADER, row("P1")])
    short = _write(tmp_path / "short.csv", [HEADER.replace("PP0020;", ""), "x"])
    with pytest.raises(InputError, match=r"short\.csv: the header lacks \['PP0020'\]"):
        ingest(spark, wh, layout, [good, short], "X2")
    assert not (tmp_path / "wh").exists()


def test_non_utf8_file_fails_clearly(spark, layout, tmp_path):
    wh = Warehouse.at(tmp_path / "wh")
    path = _write(tmp_path / "latin.csv", [HEADER, row("Pè")], encoding="latin-1")
    with pytest.raises(InputError, match=r"latin\.csv: not valid utf-8 text.*line 2"):
        ingest(spark, wh, layout, [path], "X3")
    assert not (tmp_path / "wh").exists()


def test_undecodable_bytes_past_the_checked_head_are_quarantined(
    spark, layout, tmp_path, monkeypatch
):
    """Only the head of a file is decoded in Python: a bad byte further on must not load as
    altered text (Spark reads it as U+FFFD) but be quarantined, and counted."""
    import phm.data.ingest as ingest_module

    head = (HEADER + "\n" + row("P1") + "\n").encode()
    monkeypatch.setattr(ingest_module, "_SAMPLE_BYTES", len(head))  # the check sees 2 lines
    path = tmp_path / "late_latin.csv"
    path.write_bytes(head + (row("P2") + "\n" + row("Pè") + "\n").encode("latin-1"))
    result = ingest(spark, Warehouse.at(tmp_path / "wh"), layout, [path], "X4")
    assert (result.input_rows, result.accepted_rows, result.quarantined_rows) == (3, 2, 1)
    assert result.reasons == {"UNDECODABLE_TEXT": 1}


def test_default_load_id_from_file_names(layout, tmp_path):
    assert default_load_id(layout, ["/x/pop 2021.csv"]) == "ima_population.pop_2021"
    many = [f"/x/{'long_name_' * 3}{i}.csv" for i in range(9)]
    assert len(default_load_id(layout, many)) <= 100


def test_layout_in_a_copied_specs_dir_is_found(tmp_path):
    shutil.copytree(REPO_SPECS / "layouts", tmp_path / "layouts")
    assert load_layout("ima_pharmacy", tmp_path).table.name == "pharmacy"


def test_cli_ingest_prints_counts_and_fails_cleanly(spark, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from phm.cli import main

    monkeypatch.setattr(main, "_start_spark", lambda name: spark)
    monkeypatch.setattr(main, "_stop_spark", lambda: None)
    runner = CliRunner()
    wh = tmp_path / "wh"
    good = _write(tmp_path / "pop_2021.csv", [HEADER, *GOOD[:2]])
    argv = ["ingest", "-w", str(wh), "--layout", "ima_population", "--from", str(good)]
    argv += ["--specs-dir", str(REPO_SPECS)]
    result = runner.invoke(main.app, argv)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "population load ima_population.pop_2021: read 2, accepted 2, quarantined 0" in text

    comma = _write(tmp_path / "comma.csv", [HEADER.replace(";", ","), row("P1")])
    elsewhere = tmp_path / "wh2"
    argv = ["ingest", "-w", str(elsewhere), "--layout", "ima_population", "--from", str(comma)]
    result = runner.invoke(main.app, [*argv, "--specs-dir", str(REPO_SPECS)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "comma.csv" in "".join(result.output.split())  # rich wraps long paths anywhere
    assert not elsewhere.exists()  # no lease file, no table


def test_claims_with_day_first_dates_and_decimal_commas(story, spark, tmp_path):
    wh, _ = story
    (tmp_path / "layouts").mkdir()
    text = (REPO_SPECS / "layouts" / "ima_health_care.yaml").read_text()
    text = text.replace("date_format: yyyy-MM-dd", "date_format: dd/MM/yyyy")
    text = text.replace('decimal_separator: "."', 'decimal_separator: ","')
    (tmp_path / "layouts" / "be_health_care.yaml").write_text(text)
    layout = load_layout("be_health_care", tmp_path)
    header = (
        "claim_id;SS00010;SS00020;SS00015;accounting_month;quantity;amount_reimbursed;"
        "amount_personal_share;amount_supplement;setting;year"
    )  # the nullable provider / institution / stay columns are not delivered
    lines = [
        "C1;P1;101076;10/03/2021;01/04/2021;1;27,81;4,00;0,00;ambulatory;2021",
        "C2;PX;101076;10/03/2021;01/04/2021;1;27,81;4,00;0,00;ambulatory;2021",  # orphan
        "C3;P1;101076;2021-03-10;01/04/2021;1;27,81;4,00;0,00;ambulatory;2021",  # ISO date
    ]
    path = _write(tmp_path / "claims.csv", [header, *lines])
    result = ingest(spark, wh, layout, [path], "HC1")
    assert (result.input_rows, result.accepted_rows, result.quarantined_rows) == (3, 1, 2)
    assert result.reasons["ORPHAN"] == 1
    assert result.reasons["UNPARSABLE_SERVICE_DATE"] == 1
    (claim,) = wh.read(spark, "health_care").filter("load_id = 'HC1'").collect()
    assert str(claim["service_date"]) == "2021-03-10" and str(claim["amount_reimbursed"]) == "27.81"
    assert claim["provider_id"] is None
