"""HTML pages of the Atlas, as strings (no Spark, no template engine).

Every page is self-contained: inline CSS, inline SVG, one tiny inline script for the NL/FR/EN
switch (the choice is kept in ``localStorage`` when the browser allows it, also from
``file://``; without JavaScript the page shows Dutch). Links are relative, so the folder works
from a file server or a USB stick.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from html import escape

from phm.report.svg import LICENCE, SUPPRESSED_TEXT, fmt

LANGS = ("nl", "fr", "en")

UI = {
    "atlas": ("IMA Atlas", "Atlas AIM", "IMA Atlas"),
    "home": ("Overzicht", "Sommaire", "Contents"),
    "indicators": ("Indicatoren", "Indicateurs", "Indicators"),
    "geography": ("Geografie", "Géographie", "Geography"),
    "scenarios": ("Financieringsscenario's", "Scénarios de financement", "Financing scenarios"),
    "no_scenarios": (
        "Dit magazijn bevat geen gepubliceerde financieringsscenario's "
        "(tabel simulation_results ontbreekt).",
        "Cet entrepôt ne contient aucun scénario de financement publié "
        "(table simulation_results absente).",
        "This warehouse holds no published financing scenarios (no simulation_results table).",
    ),
    "definition": ("Definitie", "Définition", "Definition"),
    "unit": ("Eenheid", "Unité", "Unit"),
    "method": ("Methode", "Méthode", "Method"),
    "sources": ("Bronnen", "Sources", "Sources"),
    "references": ("Referenties", "Références", "References"),
    "version": ("Versie", "Version", "Version"),
    "period": ("Periode", "Période", "Period"),
    "value": ("Waarde", "Valeur", "Value"),
    "interval": ("Interval", "Intervalle", "Interval"),
    "standardised": ("Gestandaardiseerd", "Standardisé", "Standardised"),
    "suppressed": ("Niet gepubliceerd", "Non publié", "Not published"),
    "area": ("Gebied", "Zone", "Area"),
    "code": ("Code", "Code", "Code"),
    "map_municipality": ("Kaart per gemeente", "Carte par commune", "Map by municipality"),
    "map_arrondissement": (
        "Kaart per arrondissement",
        "Carte par arrondissement",
        "Map by arrondissement",
    ),
    "municipality_table": ("Tabel per gemeente", "Tableau par commune", "Table by municipality"),
    "trend": (
        "Evolutie per gewest en België",
        "Évolution par région et Belgique",
        "Trend by region and Belgium",
    ),
    "hospitals": (
        "Vergelijking van ziekenhuizen",
        "Comparaison des hôpitaux",
        "Hospital comparison",
    ),
    "funnel_note": (
        "Trechterdiagram: O/E (waargenomen / verwacht) tegen het verwachte aantal; "
        "buiten de buitenste grens = uitschieter.",
        "Graphique en entonnoir : O/E (observé / attendu) selon le nombre attendu ; "
        "au-delà de la limite extérieure = valeur aberrante.",
        "Funnel plot: O/E (observed / expected) against the expected count; "
        "outside the outer limit = outlier.",
    ),
    "risk_model": (
        "Risicomodel (coëfficiënten)",
        "Modèle de risque (coefficients)",
        "Risk model (coefficients)",
    ),
    "classes": (
        "Klassen: kwantielen over alle periodes, dus een kleur betekent elk jaar dezelfde waarde.",
        "Classes : quantiles sur toutes les périodes, une couleur signifie donc la même "
        "valeur chaque année.",
        "Classes: quantiles over all periods, so a colour means the same value in every year.",
    ),
    "mapped_std": (
        "De kaart toont de gestandaardiseerde waarde.",
        "La carte montre la valeur standardisée.",
        "The map shows the standardised value.",
    ),
    "mapped_crude": (
        "De kaart toont de ruwe waarde.",
        "La carte montre la valeur brute.",
        "The map shows the crude value.",
    ),
    "profile": (
        "Profiel (laatste periode, totaal)",
        "Profil (dernière période, total)",
        "Profile (latest period, total)",
    ),
    "indicator": ("Indicator", "Indicateur", "Indicator"),
    "arrondissement": ("Arrondissement", "Arrondissement", "Arrondissement"),
    "province": ("Provincie", "Province", "Province"),
    "region": ("Gewest", "Région", "Region"),
    "belgium": ("België", "Belgique", "Belgium"),
    "municipality": ("Gemeente", "Commune", "Municipality"),
    "municipalities": ("Gemeenten", "Communes", "Municipalities"),
    "arrondissements": ("Arrondissementen", "Arrondissements", "Arrondissements"),
    "provinces": ("Provincies", "Provinces", "Provinces"),
    "regions": ("Gewesten", "Régions", "Regions"),
    "no_data": ("geen gegevens", "pas de données", "no data"),
    "data_source": (
        "Gegevens: gepubliceerde cellen van de ziekteverzekeringsgegevens (IMA-AIM), "
        "na statistische geheimhouding (cellen van minder dan 5 personen worden "
        "niet gepubliceerd).",
        "Données : cellules publiées des données de l'assurance maladie (IMA-AIM), "
        "après contrôle de la divulgation (les cellules de moins de 5 personnes ne "
        "sont pas publiées).",
        "Data: published cells of Belgian health-insurance data (IMA-AIM), after "
        "disclosure control (cells of fewer than 5 persons are not published).",
    ),
    "variant": ("Variant", "Variante", "Variant"),
    "expected": ("verwacht", "attendu", "expected"),
    "actual": ("werkelijk", "réel", "actual"),
    "pilot_chart": (
        "Verwachte (met 95%-interval) en werkelijke kosten per pilootzone",
        "Coût attendu (avec intervalle à 95 %) et coût réel par zone pilote",
        "Expected (with 95% interval) and actual cost per pilot area",
    ),
    "predictive": (
        "Voorspellende ratio's (werkelijk / verwacht)",
        "Ratios prédictifs (réel / attendu)",
        "Predictive ratios (actual / expected)",
    ),
    "year": ("Jaar", "Année", "Year"),
    "draft": ("ontwerp", "projet", "draft"),
    "theme": ("Thema", "Thème", "Theme"),
    "collection": ("Collectie", "Collection", "Collection"),
}


def t(key: str, tag: str = "span") -> str:
    """A UI text in the three languages."""
    return tri(dict(zip(LANGS, UI[key], strict=True)), tag)


def tri(texts: dict[str, str], tag: str = "span") -> str:
    return "".join(
        f'<{tag} class="l-{lang}" lang="{lang}">{escape(str(texts[lang] or ""))}</{tag}>'
        for lang in LANGS
    )


def meta_text(meta, field: str) -> dict[str, str]:
    return {
        lang: str(meta.get(f"{field}_{lang}") or meta.get(f"{field}_en") or "") for lang in LANGS
    }


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#222;
line-height:1.4;background:#fff}
header{background:#253494;color:#fff;padding:.6em 1.2em;display:flex;gap:1em;align-items:center;
flex-wrap:wrap}header a{color:#fff}main{padding:0 1.2em 2em;max-width:1100px}
.langs button{background:#fff;color:#253494;border:0;border-radius:3px;padding:.2em .6em;
cursor:pointer;font-weight:bold}
html[data-lang=nl] .l-fr,html[data-lang=nl] .l-en,html[data-lang=fr] .l-nl,
html[data-lang=fr] .l-en,html[data-lang=en] .l-nl,html[data-lang=en] .l-fr{display:none}
html[data-lang=nl] button[data-set-lang=nl],html[data-lang=fr] button[data-set-lang=fr],
html[data-lang=en] button[data-set-lang=en]{background:#ffffcc}
svg{max-width:100%;height:auto;display:block}svg.map{max-width:800px}
svg.trend,svg.funnel,svg.dotwhisker{max-width:680px}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}
td,th{border-bottom:1px solid #ddd;padding:.2em .6em;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.scroll{overflow-x:auto}.muted{color:#666;font-size:.9em}.licence{color:#555;font-size:.85em}
.sup{color:#777;font-style:italic}dl{display:grid;grid-template-columns:max-content 1fr;
gap:.2em 1em}dt{font-weight:bold}dd{margin:0}ul.ind li{margin:.3em 0 1em}ul.ind dl{font-size:.9em;margin:.3em 0}
.badge{background:#fd8d3c;color:#fff;border-radius:3px;padding:0 .3em;font-size:.8em}
"""

SCRIPT = (
    "(function(){var d=document.documentElement;"
    "try{var s=window.localStorage.getItem('phm-lang');"
    "if(s==='nl'||s==='fr'||s==='en'){d.setAttribute('data-lang',s);d.setAttribute('lang',s);}"
    "}catch(e){}"
    "document.addEventListener('click',function(e){var b=e.target;"
    "var l=b&&b.getAttribute?b.getAttribute('data-set-lang'):null;if(!l){return;}"
    "d.setAttribute('data-lang',l);d.setAttribute('lang',l);"
    "try{window.localStorage.setItem('phm-lang',l);}catch(err){}});})();"
)


def page(title: dict[str, str], body: str, *, root: str = "") -> str:
    """A whole page: ``root`` is the relative path back to the report's folder."""
    switch = "".join(
        f'<button type="button" data-set-lang="{lang}">{lang.upper()}</button>' for lang in LANGS
    )
    plain = escape(" / ".join(dict.fromkeys(title[lang] for lang in LANGS)))
    return (
        '<!DOCTYPE html>\n<html lang="nl" data-lang="nl"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{plain}</title><style>{CSS}</style><script>{SCRIPT}</script></head><body>"
        f'<header><a href="{root}index.html"><strong>{t("atlas")}</strong></a>'
        f'<span class="langs">{switch}</span></header><main>'
        f"<h1>{tri(title)}</h1>{body}"
        f'<footer><p class="licence">{tri(LICENCE)}</p>'
        f'<p class="licence">{t("data_source")}</p></footer></main></body></html>\n'
    )


def _is_missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def interval(lo, hi, decimals: int) -> str:
    if _is_missing(lo) or _is_missing(hi):
        return "–"
    return f"[{fmt(lo, decimals)}; {fmt(hi, decimals)}]"


def _list(values) -> str:
    if values is None or (not isinstance(values, str) and len(values) == 0):
        return "–"
    if isinstance(values, str):
        return escape(values)
    return "<br>".join(escape(str(v)) for v in values)


def method_text(meta) -> str:
    parts = [str(meta.get("measure") or "")]
    per = meta.get("per")
    if not _is_missing(per) and per not in (1, 1.0):
        parts.append(f"× {per:g}")
    if meta.get("confidence_interval"):
        parts.append(f"CI: {meta['confidence_interval']}")
    std = meta.get("standardisation")
    if std and std != "none":
        parts.append(f"standardisation: {std}")
    if not _is_missing(meta.get("min_count")):
        parts.append(f"min. {int(meta['min_count'])} persons")
    return escape(", ".join(p for p in parts if p))


def metadata_block(meta) -> str:
    rows = [
        ("definition", tri(meta_text(meta, "definition"))),
        ("unit", escape(str(meta.get("unit") or ""))),
        ("method", method_text(meta)),
        ("sources", _list(meta.get("sources"))),
        ("references", _list(meta.get("references"))),
        ("version", escape(f"{meta.get('indicator_version')} ({str(meta.get('spec_hash'))[:12]})")),
    ]
    return "<dl>" + "".join(f"<dt>{t(k)}</dt><dd>{v}</dd>" for k, v in rows) + "</dl>"


def table(
    headers: Sequence[str], rows: Iterable[Sequence[str]], numeric: Sequence[int] = ()
) -> str:
    """An HTML table; ``headers`` are HTML, cells are HTML."""
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = []
    for r in rows:
        body.append(
            "<tr>"
            + "".join(
                f'<td class="n">{c}</td>' if i in numeric else f"<td>{c}</td>"
                for i, c in enumerate(r)
            )
            + "</tr>"
        )
    return (
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def suppressed_note() -> str:
    return f'<span class="sup">{tri(SUPPRESSED_TEXT)}</span>'


def index_page(groups: dict[tuple[str, str], list], *, geo_links: str, scenarios: str) -> str:
    """``groups``: (theme, collection) -> [(indicator id, metadata row)]."""
    out = [
        f'<p class="muted">{t("data_source")}</p><p class="licence">{tri(LICENCE)}</p>',
        f"<h2>{t('indicators')}</h2>",
    ]
    last_theme = None
    for (theme, collection), items in sorted(groups.items()):
        if theme != last_theme:
            out.append(f"<h3>{t('theme')}: {escape(theme.replace('_', ' '))}</h3>")
            last_theme = theme
        out.append(f'<h4>{t("collection")}: {escape(collection)}</h4><ul class="ind">')
        for ind, meta in items:
            badge = (
                f' <span class="badge">{t("draft")}</span>' if meta.get("status") == "draft" else ""
            )
            out.append(
                f'<li><a href="indicators/{escape(ind)}.html">{tri(meta_text(meta, "label"))}</a>'
                f"{badge}{metadata_block(meta)}</li>"
            )
        out.append("</ul>")
    out.append(f"<h2>{t('geography')}</h2>{geo_links}")
    out.append(f"<h2>{t('scenarios')}</h2>{scenarios}")
    return page(dict(zip(LANGS, UI["atlas"], strict=True)), "".join(out))
