"""``phm report`` end to end: a real (small) warehouse, run, then the whole Atlas written."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from phm.cli import main as cli


def test_report_from_a_real_warehouse(spark, report_warehouse, tmp_path, monkeypatch):
    # the command as typed, on the session's Spark (which it must not stop)
    monkeypatch.setattr(cli, "_start_spark", lambda name: spark)
    monkeypatch.setattr(cli, "_stop_spark", lambda: None)
    monkeypatch.setattr(cli.console, "width", 400)
    result = CliRunner().invoke(
        cli.app, ["report", "--warehouse", report_warehouse.root, "--out", str(tmp_path / "atlas")]
    )
    assert result.exit_code == 0, result.output
    output = result.output.strip().splitlines()
    index = tmp_path / "atlas" / "index.html"
    assert output[-1] == str(index.resolve())
    lines = [line for line in output if "✓" in line]
    html = index.read_text(encoding="utf-8")
    for ind in ("t_readmit", "t_readmit_protected"):
        assert f'href="indicators/{ind}.html"' in html
        assert (tmp_path / "atlas" / "indicators" / f"{ind}.html").exists()
    assert "simulation_results" in html  # no scenarios: said on the index
    assert not (tmp_path / "atlas" / "scenarios").exists()
    assert len(lines) >= 4 and all(re.search(r"\(\d+\.\d s\)$", line) for line in lines)

    readmit = (tmp_path / "atlas" / "indicators" / "t_readmit.html").read_text()
    assert 'class="funnel"' in readmit and 'class="limit-outer"' in readmit
    assert "sex=M" in readmit or "sex=F" in readmit  # the risk model's terms
    assert readmit.count('class="map"') == 2
    assert re.search(r'class="c\d" data-code="11002"', readmit)  # everyone lives in Antwerpen
    protected = (tmp_path / "atlas" / "indicators" / "t_readmit_protected.html").read_text()
    assert re.search(r'class="suppressed" data-code="11002" fill="url\(#hatch\)"', protected)
    assert 'data-code="11002" fill="#' not in protected

    geo = tmp_path / "atlas" / "geo"
    assert len(list(geo.glob("municipality-*.html"))) == 581
    antwerpen = (geo / "municipality-11002.html").read_text()
    assert "t_readmit.html" in antwerpen and "arrondissement-11000.html" in antwerpen
    # offline: nothing is fetched from elsewhere
    for page in (html, readmit, antwerpen):
        assert not re.search(r'(src|href)="(https?:)?//', page)
    assert max(p.stat().st_size for p in geo.iterdir()) < 60_000
