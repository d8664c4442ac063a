"""Write the Atlas: ``index.html``, one page per indicator, per geography unit and per
financing scenario, into one folder that works offline (file server, USB stick)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from phm.report import geo, sections
from phm.report.data import ReportData
from phm.report.pages import index_page, t

Progress = Callable[[str], None]


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def build_report(data: ReportData, out: Path, progress: Progress | None = None) -> Path:
    """Write every page of the report into ``out`` and return the path of ``index.html``.
    ``progress`` receives one line per stage with the elapsed seconds."""
    start = time.perf_counter()

    def stage(message: str) -> None:
        if progress:
            progress(f"{message} ({time.perf_counter() - start:.1f} s)")

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for level in sections.MAP_LEVELS:
        geo.shapes(level)  # projected once, reused by every map
    stage("boundaries projected")

    metadata = data.metadata.sort_values("indicator_id")
    results = data.results
    groups: dict[tuple[str, str], list] = {}
    for meta in metadata.to_dict("records"):
        ind = meta["indicator_id"]
        rows = results[results.indicator_id == ind]
        _write(
            out / "indicators" / f"{ind}.html",
            sections.indicator_page(ind, meta, rows, data.risk_models),
        )
        collections = meta.get("collections")
        collections = list(collections) if collections is not None and len(collections) else ["–"]
        for collection in collections:
            groups.setdefault((str(meta.get("theme") or "–"), str(collection)), []).append(
                (ind, meta)
            )
    stage(f"{len(metadata)} indicator page(s)")

    units = geo.units()
    cells = sections.latest_totals(results)
    for unit in units.to_dict("records"):
        _write(
            out / "geo" / f"{unit['geo_level']}-{unit['geo_code']}.html",
            sections.geo_page(unit, cells, metadata),
        )
    stage(f"{len(units)} geography page(s)")

    if data.has_simulations:
        scenarios = sorted(data.simulation_results.scenario_id.unique())
        for scenario in scenarios:
            _write(
                out / "scenarios" / f"{scenario}.html",
                sections.scenario_page(
                    scenario, data.simulation_results, data.simulation_diagnostics
                ),
            )
        links = (
            "<ul>"
            + "".join(f'<li><a href="scenarios/{s}.html">{s}</a></li>' for s in scenarios)
            + "</ul>"
        )
        stage(f"{len(scenarios)} scenario page(s)")
    else:
        links = f'<p class="muted">{t("no_scenarios")}</p>'
    index = out / "index.html"
    _write(index, index_page(groups, geo_links=sections.geo_links(units), scenarios=links))
    stage("index")
    return index


def build_from_warehouse(
    spark, warehouse, out: Path, *, include_drafts: bool = False, progress: Progress | None = None
) -> Path:
    """Read the published tables of ``warehouse`` and write the report into ``out``."""
    from phm.report.data import load

    start = time.perf_counter()
    data = load(spark, warehouse, include_drafts=include_drafts)
    if progress:
        progress(
            f"published tables read: {len(data.results)} result rows, "
            f"{len(data.metadata)} indicator(s) ({time.perf_counter() - start:.1f} s)"
        )
    return build_report(data, out, progress)
