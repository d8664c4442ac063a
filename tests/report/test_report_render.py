"""The report's pure rendering: maps, class breaks, funnel plots, the language switch."""

from __future__ import annotations

import re

import pandas as pd
from report_frames import metadata_row, result_rows

from phm.report import geo, pages, sections, svg


def _paths(svg_text: str) -> dict[str, str]:
    """data-code -> the whole <path ...> element."""
    return {
        m.group(1): m.group(0)
        for m in re.finditer(r'<path class="[^"]*" data-code="(\d{5})"[^>]*>', svg_text)
    }


def test_map_colours_published_hatches_suppressed_and_greys_missing(two_year_results):
    meta = metadata_row()
    edges = sections.level_breaks(two_year_results, "arrondissement", "value", 1)
    areas = sections.map_areas(two_year_results, "arrondissement", 2023, "value", 1)
    text = svg.choropleth(
        geo.shapes("arrondissement"), areas, edges, unit="%", title=pages.meta_text(meta, "label")
    )
    paths = _paths(text)
    assert len(paths) == 43  # every arrondissement drawn
    colours = set(svg.class_colours(len(edges) - 1))
    # published: a class colour; suppressed: the hatch pattern, never a colour; no row: neutral
    for code in ("11000", "21000"):
        fill = re.search(r'fill="([^"]+)"', paths[code]).group(1)
        assert fill in colours
    assert 'fill="url(#hatch)"' in paths["12000"]
    assert 'class="suppressed"' in paths["12000"]
    assert not any(c in paths["12000"] for c in colours)
    assert f'fill="{svg.NO_DATA}"' in paths["13000"]  # 2022 only: no data in 2023
    assert '<pattern id="hatch"' in text
    assert "not published (fewer than 5 persons)" in text
    assert "AdminVector" in text and "CC BY 4.0" in text
    coloured = [c for c, p in paths.items() if re.search(r'class="c\d"', p)]
    assert sorted(coloured) == ["11000", "21000"]


def test_tooltip_has_value_interval_and_standardised():
    rows = result_rows(
        [
            dict(
                period=2023,
                geo_level="arrondissement",
                geo_code="11000",
                value=12.3,
                ci_low=11.0,
                ci_high=13.5,
                value_standardised=12.9,
                std_ci_low=11.5,
                std_ci_high=14.0,
            )
        ]
    )
    areas = sections.map_areas(rows, "arrondissement", 2023, "value_standardised", 1)
    text = svg.choropleth(geo.shapes("arrondissement"), areas, [12.9, 12.9])
    title = re.search(r'data-code="11000"[^>]*><title>([^<]*)</title>', text).group(1)
    assert "12.3 [11.0; 13.5]" in title and "std 12.9 [11.5; 14.0]" in title


def test_class_breaks_are_computed_over_every_period(two_year_results):
    edges = sections.level_breaks(two_year_results, "arrondissement", "value", 1)
    # over 2022 and 2023: 10, 20, 30, 40, 50, 60 (the suppressed cell is left out)
    assert edges[0] == 10.0 and edges[-1] == 60.0
    only_2023 = two_year_results[two_year_results.period == 2023]
    assert sections.level_breaks(only_2023, "arrondissement", "value", 1) != edges
    # the same edges whichever period is drawn: a value gets the same colour every year
    colours = svg.class_colours(len(edges) - 1)
    for period in (2022, 2023):
        areas = sections.map_areas(two_year_results, "arrondissement", period, "value", 1)
        text = svg.choropleth(geo.shapes("arrondissement"), areas, edges)
        assert all(
            f"{svg.fmt(lo)} – {svg.fmt(hi)}" in text
            for lo, hi in zip(edges, edges[1:], strict=False)
        )
        fill = re.search(r'data-code="11000" fill="([^"]+)"', text).group(1)
        assert fill == colours[svg.classify(10.0 if period == 2022 else 50.0, edges)]


def test_class_breaks_edge_cases():
    assert svg.class_breaks([]) == []
    assert svg.class_breaks([3.0, 3.0, 3.0]) == [3.0, 3.0]
    edges = svg.class_breaks(range(101), classes=5, decimals=0)
    assert edges == [0, 20, 40, 60, 80, 100]
    assert svg.classify(0, edges) == 0 and svg.classify(100, edges) == 4
    assert svg.classify(20, edges) == 0 and svg.classify(21, edges) == 1


def test_funnel_plot_draws_both_limits_and_marks_outliers():
    units = [
        svg.Unit(
            f"h{i}", e, r, 1 - 1 / e**0.5, 1 + 1 / e**0.5, 1 - 1.5 / e**0.5, 1 + 1.5 / e**0.5, o
        )
        for i, (e, r, o) in enumerate(
            [
                (4, 1.1, "within"),
                (9, 2.0, "above_99.8"),
                (16, 0.9, "within"),
                (25, 0.5, "below_99.8"),
            ]
        )
    ]
    text = svg.funnel_plot(units)
    assert text.count('class="limit-inner"') == 2  # lower and upper
    assert text.count('class="limit-outer"') == 2
    assert text.count('class="outlier"') == 2
    assert text.count('class="unit"') == 2
    assert "h1: O/E 2.000" in text


def test_hospital_section_has_funnel_and_risk_model():
    rows = result_rows(
        [
            dict(period=2023, geo_level="belgium", geo_code="01000", value=20.0),
            dict(
                period=2023,
                geo_level="hospital",
                geo_code="71000000001",
                value=30.0,
                expected=10.0,
                oe_ratio=1.5,
                funnel_low_inner=0.4,
                funnel_high_inner=1.6,
                funnel_low_outer=0.1,
                funnel_high_outer=1.9,
                outlier="within",
            ),
            dict(
                period=2023,
                geo_level="hospital",
                geo_code="71000000002",
                value=60.0,
                expected=20.0,
                oe_ratio=3.0,
                funnel_low_inner=0.6,
                funnel_high_inner=1.4,
                funnel_low_outer=0.4,
                funnel_high_outer=1.6,
                outlier="above_99.8",
            ),
            dict(period=2023, geo_level="hospital", geo_code="71000000003", suppressed=True),
        ]
    )
    risk = pd.DataFrame(
        {
            "indicator_id": "t_ind",
            "spec_hash": "h1",
            "period": 2023,
            "term": ["intercept", "sex=M"],
            "coefficient": [-1.2, 0.3],
            "std_error": [0.1, 0.2],
            "stays": 100,
            "events": 20,
            "converged": True,
            "run_id": "r",
        }
    )
    html = sections.indicator_page("t_ind", metadata_row(), rows, risk)
    assert 'class="funnel"' in html and 'class="outlier"' in html
    assert "sex=M" in html and "1.350" in html  # exp(0.3)
    assert "71000000003" in html


def test_language_switch_holds_all_three_languages(two_year_results):
    meta = metadata_row()
    html = pages.index_page(
        {("prevention", "atlas"): [("t_ind", meta)]}, geo_links="", scenarios=""
    )
    for lang in ("nl", "fr", "en"):
        assert f'data-set-lang="{lang}"' in html
        assert f'<span class="l-{lang}" lang="{lang}">' in html
        assert f"html[data-lang={lang}]" in html
    assert "Label NL t_ind" in html and "Libellé FR t_ind" in html and "Label EN t_ind" in html
    assert 'href="indicators/t_ind.html"' in html
    assert "AdminVector" in html
    # self-contained: no external request
    assert not re.search(r'(src|href)="(https?:)?//', html)
    page = sections.indicator_page("t_ind", meta, two_year_results, pd.DataFrame())
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert page.count('class="map"') == 1  # arrondissement rows only
    assert 'class="trend"' in page


def test_geo_page_compares_with_arrondissement_region_and_belgium():
    rows = result_rows(
        [
            dict(period=2023, geo_level="municipality", geo_code="11002", value=33.3),
            dict(period=2023, geo_level="arrondissement", geo_code="11000", value=40.0),
            dict(period=2023, geo_level="region", geo_code="02000", value=41.0),
            dict(period=2023, geo_level="belgium", geo_code="01000", suppressed=True),
        ]
    )
    meta = pd.DataFrame([metadata_row()])
    unit = geo.units().set_index(["geo_level", "geo_code"]).loc[("municipality", "11002")]
    unit = {"geo_level": "municipality", "geo_code": "11002", **unit.to_dict()}
    html = sections.geo_page(unit, sections.latest_totals(rows), meta)
    for text in ("Antwerpen", "33.3", "40.0", "41.0", "not published"):
        assert text in html
    assert 'href="arrondissement-11000.html"' in html and 'href="belgium-01000.html"' in html


def test_scenario_page_draws_pilots_and_predictive_ratios():
    res = pd.DataFrame(
        {
            "scenario_id": "s",
            "variant": "base",
            "spec_hash": "h",
            "year": 2023,
            "area": ["P1", "P2"],
            "persons": [100, None],
            "actual": [1000.0, None],
            "expected": [1100.0, None],
            "expected_low": [1000.0, None],
            "expected_high": [1200.0, None],
            "gain": [100.0, None],
            "gain_low": [0.0, None],
            "gain_high": [200.0, None],
            "oe_ratio": [0.91, None],
            "oe_low": [0.8, None],
            "oe_high": [1.0, None],
            "suppressed": [False, True],
        }
    )
    diag = pd.DataFrame(
        {
            "scenario_id": "s",
            "variant": "base",
            "year": 2023,
            "population": "reference",
            "dimension": ["sex", "sex"],
            "level": ["F", "M"],
            "ratio": [1.02, 0.97],
            "ratio_low": [0.99, 0.94],
            "ratio_high": [1.05, 1.0],
            "suppressed": False,
        }
    )
    html = sections.scenario_page("s", res, diag)
    assert html.count('class="dotwhisker"') == 2
    assert 'class="reference"' in html and "sex=F" in html
    assert "not published" in html


def test_build_report_from_frames_is_deterministic_and_links_scenarios(two_year_results, tmp_path):
    from phm.report.build import build_report
    from phm.report.data import ReportData

    sims = pd.DataFrame(
        {
            "scenario_id": "s",
            "variant": "base",
            "spec_hash": "h",
            "year": 2023,
            "area": ["P1"],
            "persons": [100],
            "actual": [1000.0],
            "expected": [1100.0],
            "expected_low": [1000.0],
            "expected_high": [1200.0],
            "gain": [100.0],
            "gain_low": [0.0],
            "gain_high": [200.0],
            "oe_ratio": [0.91],
            "oe_low": [0.8],
            "oe_high": [1.0],
            "suppressed": [False],
        }
    )
    data = ReportData(two_year_results, pd.DataFrame([metadata_row()]), pd.DataFrame(), sims)
    first = build_report(data, tmp_path / "a")
    second = build_report(data, tmp_path / "b")
    for page in (
        "index.html",
        "indicators/t_ind.html",
        "geo/arrondissement-11000.html",
        "scenarios/s.html",
    ):
        assert (tmp_path / "a" / page).read_bytes() == (tmp_path / "b" / page).read_bytes()
    assert 'href="scenarios/s.html"' in first.read_text()
    assert second == tmp_path / "b" / "index.html"


def test_latest_spec_hash_and_drafts():
    from phm.report.data import latest_versions

    old = result_rows(
        [
            dict(
                period=2022,
                geo_level="belgium",
                geo_code="01000",
                value=1.0,
                spec_hash="old",
                computed_at=pd.Timestamp("2026-01-01"),
            )
        ]
    )
    new = result_rows(
        [
            dict(
                period=2023,
                geo_level="belgium",
                geo_code="01000",
                value=2.0,
                spec_hash="new",
                computed_at=pd.Timestamp("2026-06-01"),
            )
        ]
    )
    meta = pd.DataFrame([metadata_row(spec_hash="old"), metadata_row(spec_hash="new")])
    results, m = latest_versions(pd.concat([old, new]), meta)
    assert list(results.spec_hash) == ["new"] and list(m.spec_hash) == ["new"]
    meta.loc[:, "status"] = "draft"
    assert latest_versions(pd.concat([old, new]), meta)[0].empty
    assert len(latest_versions(pd.concat([old, new]), meta, include_drafts=True)[0]) == 1
