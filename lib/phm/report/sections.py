"""Pages of the Atlas composed from published frames (pandas in, HTML out; no Spark)."""

from __future__ import annotations

import math
from html import escape

import pandas as pd

from phm.report import geo, svg
from phm.report.pages import (
    LANGS,
    UI,
    interval,
    meta_text,
    metadata_block,
    page,
    suppressed_note,
    t,
    table,
    tri,
)

MAP_LEVELS = ("municipality", "arrondissement")


def _num(v) -> float | None:
    if v is None or v is pd.NA:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def decimals_of(meta) -> int:
    d = _num(meta.get("decimals"))
    return int(d) if d is not None else 1


def totals(rows: pd.DataFrame) -> pd.DataFrame:
    """Total cells (``breakdown_key == ''``)."""
    return rows[rows.breakdown_key == ""]


def mapped_column(meta, rows: pd.DataFrame) -> str:
    """``value_standardised`` when the indicator is standardised and has such values, else
    ``value``."""
    std = str(meta.get("standardisation") or "none")
    if std != "none" and "value_standardised" in rows and rows.value_standardised.notna().any():
        return "value_standardised"
    return "value"


def level_breaks(rows: pd.DataFrame, level: str, column: str, decimals: int) -> list[float]:
    """Class edges over ALL periods of the indicator at ``level`` (published total cells)."""
    r = totals(rows)
    r = r[(r.geo_level == level) & ~r.suppressed.astype(bool)]
    return svg.class_breaks(r[column].tolist(), decimals=decimals)


def _tooltip(row, decimals: int) -> str:
    parts = [
        f"{svg.fmt(row['value'], decimals)} {interval(row['ci_low'], row['ci_high'], decimals)}"
    ]
    if _num(row.get("value_standardised")) is not None:
        parts.append(
            "std "
            + svg.fmt(row["value_standardised"], decimals)
            + " "
            + interval(row.get("std_ci_low"), row.get("std_ci_high"), decimals)
        )
    return "; ".join(parts)


def map_areas(
    rows: pd.DataFrame, level: str, period: int, column: str, decimals: int
) -> dict[str, svg.Area]:
    r = totals(rows)
    r = r[(r.geo_level == level) & (r.period == period)]
    out = {}
    for row in r.to_dict("records"):
        if bool(row["suppressed"]):
            out[row["geo_code"]] = svg.Area(suppressed=True)
        else:
            out[row["geo_code"]] = svg.Area(
                value=_num(row[column]), tooltip=_tooltip(row, decimals)
            )
    return out


def _name(level: str, code: str) -> dict[str, str]:
    names = geo.unit_names()
    return names.get((level, code), {lang: code for lang in LANGS})


def value_cells(row, decimals: int) -> list[str]:
    if bool(row["suppressed"]):
        return [suppressed_note(), "", "", "", t("suppressed")]
    return [
        svg.fmt(row["value"], decimals),
        interval(row["ci_low"], row["ci_high"], decimals),
        svg.fmt(row.get("value_standardised"), decimals),
        interval(row.get("std_ci_low"), row.get("std_ci_high"), decimals),
        "",
    ]


def level_table(rows: pd.DataFrame, level: str, period: int, decimals: int) -> str:
    r = totals(rows)
    r = r[(r.geo_level == level) & (r.period == period)].sort_values("geo_code")
    body = []
    for row in r.to_dict("records"):
        link = f'<a href="../geo/{level}-{row["geo_code"]}.html">{tri(_name(level, row["geo_code"]))}</a>'
        body.append([link, row["geo_code"], *value_cells(row, decimals)])
    headers = [
        t("area"),
        t("code"),
        t("value"),
        t("interval"),
        t("standardised"),
        t("interval"),
        t("suppressed"),
    ]
    return table(headers, body, numeric=(2, 3, 4, 5))


def trend_series(rows: pd.DataFrame, std: bool) -> list[svg.Series]:
    r = totals(rows)
    out = []
    for level, codes in (("belgium", [geo.BELGIUM]), ("region", ["02000", "03000", "04000"])):
        for code in codes:
            cells = r[(r.geo_level == level) & (r.geo_code == code)].sort_values("period")
            if cells.empty:
                continue
            pts = []
            for c in cells.to_dict("records"):
                if bool(c["suppressed"]):
                    continue
                v, lo, hi = (
                    (c["value_standardised"], c["std_ci_low"], c["std_ci_high"])
                    if std
                    else (c["value"], c["ci_low"], c["ci_high"])
                )
                pts.append(svg.Point(float(c["period"]), _num(v), _num(lo), _num(hi)))
            out.append(svg.Series(_name(level, code)["en"], tuple(pts), _name(level, code)))
    return out


def hospital_section(rows: pd.DataFrame, risk: pd.DataFrame, ind: str, decimals: int) -> str:
    h = totals(rows)
    h = h[h.geo_level == "hospital"]
    if h.empty:
        return ""
    period = int(h.period.max())
    h = h[(h.period == period)]
    pub = h[~h.suppressed.astype(bool)]
    units = [
        svg.Unit(
            r["geo_code"],
            _num(r["expected"]),
            _num(r["oe_ratio"]),
            _num(r["funnel_low_inner"]),
            _num(r["funnel_high_inner"]),
            _num(r["funnel_low_outer"]),
            _num(r["funnel_high_outer"]),
            str(r["outlier"] or "within"),
        )
        for r in pub.to_dict("records")
        if _num(r["expected"]) is not None and _num(r["oe_ratio"]) is not None
    ]
    out = [
        f'<h2>{t("hospitals")} {period}</h2><p class="muted">{t("funnel_note")}</p>',
        svg.funnel_plot(units),
    ]
    body = []
    for r in h.sort_values("geo_code").to_dict("records"):
        if bool(r["suppressed"]):
            body.append([escape(r["geo_code"]), suppressed_note(), "", "", "", ""])
        else:
            body.append(
                [
                    escape(r["geo_code"]),
                    svg.fmt(r["value"], decimals),
                    svg.fmt(r["expected"], 1),
                    svg.fmt(r["oe_ratio"], 3),
                    svg.fmt(r["value_standardised"], decimals),
                    escape(str(r["outlier"])),
                ]
            )
    out.append(
        "<details><summary>"
        + t("hospitals")
        + "</summary>"
        + table(
            ["RIZIV/INAMI", t("value"), "E", "O/E", t("standardised"), "outlier"],
            body,
            numeric=(1, 2, 3, 4),
        )
        + "</details>"
    )
    if not risk.empty and "indicator_id" in risk:
        m = risk[risk.indicator_id == ind]
        if not m.empty:
            year = int(m.period.max())
            m = m[m.period == year]
            rows_ = [
                [
                    escape(str(r["term"])),
                    svg.fmt(r["coefficient"], 4),
                    svg.fmt(r["std_error"], 4),
                    svg.fmt(math.exp(r["coefficient"]), 3)
                    if _num(r["coefficient"]) is not None
                    else "–",
                    str(r["stays"]),
                    str(r["events"]),
                    "✓" if r["converged"] else "✗",
                ]
                for r in m.sort_values("term").to_dict("records")
            ]
            out.append(
                f"<h3>{t('risk_model')} {year}</h3>"
                + table(
                    ["term", "β", "SE", "OR", "stays", "events", "converged"],
                    rows_,
                    numeric=(1, 2, 3, 4, 5),
                )
            )
    return "".join(out)


def indicator_page(ind: str, meta, rows: pd.DataFrame, risk: pd.DataFrame) -> str:
    """One indicator: metadata, maps at municipality and arrondissement level (latest period,
    classes over all periods), tables, trends, and the hospital comparison when it has one."""
    decimals = decimals_of(meta)
    unit = str(meta.get("unit") or "")
    column = mapped_column(meta, rows)
    out = [metadata_block(meta)]
    tot = totals(rows)
    for level in ("arrondissement", "municipality"):
        cells = tot[tot.geo_level == level]
        if cells.empty:
            continue
        period = int(cells.period.max())
        edges = level_breaks(rows, level, column, decimals)
        areas = map_areas(rows, level, period, column, decimals)
        label = cells[cells.period == period].period_label.dropna()
        label = str(label.iloc[0]) if len(label) else str(period)
        out.append(f"<h2>{t('map_' + level)} {escape(label)}</h2>")
        out.append(
            f'<p class="muted">{t("mapped_std" if column != "value" else "mapped_crude")} '
            f"{t('classes')}</p>"
        )
        out.append(
            svg.choropleth(
                geo.shapes(level),
                areas,
                edges,
                decimals=decimals,
                unit=unit,
                title=meta_text(meta, "label"),
            )
        )
        tab = level_table(rows, level, period, decimals)
        if level == "municipality":
            out.append(f"<details><summary>{t('municipality_table')}</summary>{tab}</details>")
        else:
            out.append(tab)
    series = trend_series(rows, column != "value")
    if series:
        out.append(f"<h2>{t('trend')}</h2>")
        out.append(svg.trend_chart(series, decimals=decimals, unit=unit))
    out.append(hospital_section(rows, risk, ind, decimals))
    return page(meta_text(meta, "label"), "".join(out), root="../")


# ------------------------------------------------------------------------------ geography


def latest_totals(results: pd.DataFrame) -> dict[tuple[str, str], dict[str, dict]]:
    """(level, code) -> indicator -> the total cell of the indicator's latest period."""
    r = totals(results)
    r = r[r.geo_level.isin(geo.LEVELS)]
    latest = r.groupby("indicator_id").period.transform("max")
    r = r[r.period == latest]
    out: dict[tuple[str, str], dict[str, dict]] = {}
    for row in r.to_dict("records"):
        out.setdefault((row["geo_level"], row["geo_code"]), {})[row["indicator_id"]] = row
    return out


def _cell(row, decimals: int, std: bool) -> str:
    if row is None:
        return f'<span class="muted">{t("no_data")}</span>'
    if bool(row["suppressed"]):
        return suppressed_note()
    v, lo, hi = (
        (row["value_standardised"], row["std_ci_low"], row["std_ci_high"])
        if std
        else (row["value"], row["ci_low"], row["ci_high"])
    )
    return f'{svg.fmt(v, decimals)} <span class="muted">{interval(lo, hi, decimals)}</span>'


def geo_page(
    unit: dict, cells: dict[tuple[str, str], dict[str, dict]], metadata: pd.DataFrame
) -> str:
    """One geography unit against its arrondissement, region and Belgium."""
    level, code = unit["geo_level"], unit["geo_code"]
    compare = []
    if level == "municipality" and unit["arr_code"]:
        compare.append(("arrondissement", unit["arr_code"]))
    if level == "arrondissement" and unit["prov_code"]:
        compare.append(("province", unit["prov_code"]))
    if level in ("municipality", "arrondissement", "province") and unit["reg_code"]:
        compare.append(("region", unit["reg_code"]))
    if level != "belgium":
        compare.append(("belgium", geo.BELGIUM))
    links = " · ".join(
        f'<a href="{lvl}-{c}.html">{t(lvl)}: {tri(_name(lvl, c))}</a>' for lvl, c in compare
    )
    headers = [
        t("indicator"),
        t("period"),
        tri(_name(level, code)),
        *(tri(_name(lvl, c)) for lvl, c in compare),
    ]
    own = cells.get((level, code), {})
    body = []
    for meta in metadata.sort_values(["theme", "indicator_id"]).to_dict("records"):
        ind = meta["indicator_id"]
        row = own.get(ind)
        anyrow = row or next(
            (cells.get(k, {}).get(ind) for k in compare if cells.get(k, {}).get(ind)), None
        )
        if anyrow is None:
            continue
        decimals = decimals_of(meta)
        std = str(meta.get("standardisation") or "none") != "none"
        label = (
            f'<a href="../indicators/{escape(ind)}.html">{tri(meta_text(meta, "label"))}'
            f'</a> <span class="muted">{escape(str(meta.get("unit") or ""))}</span>'
        )
        body.append(
            [
                label,
                escape(str(anyrow.get("period_label") or anyrow["period"])),
                _cell(row, decimals, std),
                *(_cell(cells.get(k, {}).get(ind), decimals, std) for k in compare),
            ]
        )
    kind = dict(zip(LANGS, UI[level], strict=True))
    title = {lang: f"{_name(level, code)[lang]} ({code})" for lang in LANGS}
    body_html = f"<p>{tri(kind)} · {links}</p><h2>{t('profile')}</h2>" + table(
        headers, body, numeric=tuple(range(2, 3 + len(compare)))
    )
    return page(title, body_html, root="../")


def geo_links(units: pd.DataFrame) -> str:
    out = []
    for level, plural in (
        ("belgium", "belgium"),
        ("region", "regions"),
        ("province", "provinces"),
        ("arrondissement", "arrondissements"),
        ("municipality", "municipalities"),
    ):
        u = units[units.geo_level == level].sort_values("geo_code")
        items = ", ".join(
            f'<a href="geo/{level}-{c}.html">{tri(_name(level, c))}</a>' for c in u.geo_code
        )
        if level in ("arrondissement", "municipality"):
            out.append(
                f"<details><summary>{t(plural)} ({len(u)})</summary><p>{items}</p></details>"
            )
        else:
            out.append(f"<p><strong>{t(plural)}</strong>: {items}</p>")
    return "".join(out)


# ------------------------------------------------------------------------------ scenarios


def scenario_page(scenario: str, results: pd.DataFrame, diagnostics: pd.DataFrame | None) -> str:
    """Expected against actual cost per pilot (dot + whisker), per variant, latest year; the
    predictive ratios of the risk model when published."""
    r = results[results.scenario_id == scenario]
    out = []
    variants = sorted(r.variant.unique(), key=lambda v: (v != "base", v))
    for variant in variants:
        v = r[r.variant == variant]
        year = int(v.year.max())
        latest = v[v.year == year].sort_values("area")
        out.append(
            f"<h2>{t('variant')}: {escape(variant)} · {year}</h2>"
            f'<p class="muted">{t("pilot_chart")}</p>'
        )
        rows = [
            svg.Row(
                str(p["area"]),
                _num(p["expected"]),
                _num(p["expected_low"]),
                _num(p["expected_high"]),
                _num(p["actual"]),
                bool(p["suppressed"]),
            )
            for p in latest.to_dict("records")
        ]
        out.append(svg.dot_whisker(rows, names=(UI["expected"][2], UI["actual"][2])))
        body = []
        for p in v.sort_values(["year", "area"]).to_dict("records"):
            if bool(p["suppressed"]):
                body.append(
                    [escape(str(p["area"])), str(p["year"]), suppressed_note(), "", "", "", ""]
                )
                continue
            body.append(
                [
                    escape(str(p["area"])),
                    str(p["year"]),
                    svg.fmt(p["persons"], 0),
                    svg.fmt(p["actual"], 0),
                    f"{svg.fmt(p['expected'], 0)} "
                    f"{interval(p['expected_low'], p['expected_high'], 0)}",
                    f"{svg.fmt(p['oe_ratio'], 3)} {interval(p['oe_low'], p['oe_high'], 3)}",
                    f"{svg.fmt(p['gain'], 0)} {interval(p['gain_low'], p['gain_high'], 0)}",
                ]
            )
        out.append(
            table(
                [
                    t("area"),
                    t("year"),
                    "persons",
                    "actual (EUR)",
                    "expected (EUR)",
                    "O/E",
                    "gain (EUR)",
                ],
                body,
                numeric=(2, 3, 4, 5, 6),
            )
        )
        if diagnostics is not None and not diagnostics.empty:
            d = diagnostics[
                (diagnostics.scenario_id == scenario)
                & (diagnostics.variant == variant)
                & (diagnostics.year == year)
            ]
            for population in sorted(d.population.unique()):
                dp = d[d.population == population].sort_values(["dimension", "level"])
                drows = [
                    svg.Row(
                        f"{x['dimension']}={x['level']}",
                        _num(x["ratio"]),
                        _num(x["ratio_low"]),
                        _num(x["ratio_high"]),
                        suppressed=bool(x["suppressed"]),
                    )
                    for x in dp.to_dict("records")
                ]
                out.append(f"<h3>{t('predictive')}: {escape(population)}</h3>")
                out.append(
                    svg.dot_whisker(
                        drows, reference=1.0, decimals=3, names=("actual / expected", "")
                    )
                )
    title = {lang: f"{UI['scenarios'][i]}: {scenario}" for i, lang in enumerate(LANGS)}
    return page(title, "".join(out), root="../")
