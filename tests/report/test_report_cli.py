"""``phm report`` on the command line: listed, and a missing warehouse is a one-line error
before Spark starts."""

from __future__ import annotations

from typer.testing import CliRunner

from phm.cli.main import app

runner = CliRunner()


def test_report_is_a_command():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0 and "report" in result.output
    result = runner.invoke(app, ["report", "--help"])
    assert result.exit_code == 0
    for option in ("--warehouse", "--out", "--drafts"):
        assert option in result.output


def test_report_without_a_warehouse_is_a_clean_error(tmp_path):
    result = runner.invoke(
        app, ["report", "--warehouse", str(tmp_path / "none"), "--out", str(tmp_path / "atlas")]
    )
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert " ".join(result.output.split()).startswith("error: no warehouse at")
    assert not (tmp_path / "atlas").exists()
