"""Charts as inline SVG text: choropleth maps, trend lines, funnel plots, dot-and-whisker charts.

Pure Python (no Spark, no plotting library): every function returns an ``<svg>`` string.
Text in three languages is written as ``<tspan class="l-nl">`` / ``l-fr`` / ``l-en``; the page's
CSS shows one. Tooltips are native ``<title>`` elements.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape

from phm.report.geo import MapShapes

# ColorBrewer YlGnBu, 5 classes (sequential, colour-blind safe, prints in grey)
PALETTE = ("#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494")
NO_DATA = "#e4e4e4"
HATCH_ID = "hatch"
SERIES_COLOURS = ("#000000", "#d95f02", "#1b9e77", "#7570b3", "#e7298a", "#66a61e")
LICENCE = {
    "nl": "Grenzen: © NGI-IGN Belgium, AdminVector (CC BY 4.0); NIS-codes: Statbel (CC BY 4.0)",
    "fr": "Limites : © NGI-IGN Belgium, AdminVector (CC BY 4.0) ; codes INS : Statbel (CC BY 4.0)",
    "en": "Boundaries: © NGI-IGN Belgium, AdminVector (CC BY 4.0); NIS codes: Statbel (CC BY 4.0)",
}
SUPPRESSED_TEXT = {
    "nl": "niet gepubliceerd (minder dan 5 personen)",
    "fr": "non publié (moins de 5 personnes)",
    "en": "not published (fewer than 5 persons)",
}
NO_DATA_TEXT = {"nl": "geen gegevens", "fr": "pas de données", "en": "no data"}


def tr(texts: dict[str, str], tag: str = "tspan") -> str:
    """One text in the three languages, each in its own element (CSS shows one)."""
    return "".join(
        f'<{tag} class="l-{lang}">{escape(texts[lang])}</{tag}>' for lang in ("nl", "fr", "en")
    )


def all_languages(texts: dict[str, str]) -> str:
    """The three languages in one plain string (for <title> tooltips)."""
    return " / ".join(dict.fromkeys(texts[lang] for lang in ("nl", "fr", "en")))


def fmt(value, decimals: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{float(value):,.{max(int(decimals), 0)}f}".replace(",", "\u202f")


# ------------------------------------------------------------------------------ class breaks


def class_breaks(values: Iterable[float], classes: int = 5, decimals: int = 1) -> list[float]:
    """Edges ``[min, b1, ..., max]`` of up to ``classes`` quantile classes over ``values``
    (all periods of an indicator at one level, so a colour means the same value every year),
    rounded to ``decimals`` and deduplicated; ``[]`` when there is no value."""
    vals = sorted(
        float(v) for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))
    )
    if not vals:
        return []
    edges = [vals[0]]
    for k in range(1, classes):
        q = k / classes
        pos = q * (len(vals) - 1)
        lo = math.floor(pos)
        hi = min(lo + 1, len(vals) - 1)
        b = round(vals[lo] + (vals[hi] - vals[lo]) * (pos - lo), decimals)
        if b > edges[-1]:
            edges.append(b)
    if vals[-1] > edges[-1] or len(edges) == 1:
        edges.append(vals[-1])
    return edges


def classify(value: float, edges: Sequence[float]) -> int:
    """Class index of ``value`` (class k holds ``edges[k] < v <= edges[k+1]``, the first class
    including its minimum); values beyond the edges go to the first or last class."""
    n = max(len(edges) - 1, 1)
    for k in range(1, len(edges) - 1):
        if value <= edges[k]:
            return k - 1
    return n - 1


def class_colours(n: int) -> tuple[str, ...]:
    if n <= 1:
        return (PALETTE[2],)
    idx = [round(i * (len(PALETTE) - 1) / (n - 1)) for i in range(n)]
    return tuple(PALETTE[i] for i in idx)


# ------------------------------------------------------------------------------------ maps


@dataclass(frozen=True)
class Area:
    """What a map shows for one area."""

    value: float | None = None  # the mapped value (standardised when the indicator is)
    suppressed: bool = False
    tooltip: str = ""


def hatch_defs() -> str:
    return (
        f'<defs><pattern id="{HATCH_ID}" patternUnits="userSpaceOnUse" width="6" height="6" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#ffffff"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#888888" stroke-width="2"/>'
        "</pattern></defs>"
    )


def choropleth(
    shapes: MapShapes,
    areas: dict[str, Area],
    edges: Sequence[float],
    *,
    decimals: int = 1,
    unit: str = "",
    title: dict[str, str] | None = None,
) -> str:
    """A map of one level: a coloured path per published area, a hatched path (SVG pattern)
    per suppressed area, a light neutral path for areas without a row; legend and licence."""
    colours = class_colours(len(edges) - 1) if len(edges) > 1 else ()
    legend_w = 250
    w, h = shapes.width + legend_w, shapes.height + 40
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="map" viewBox="0 0 {w:.0f} {h:.0f}" '
        f'role="img">',
        hatch_defs(),
    ]
    if title:
        out.append(f"<desc>{escape(all_languages(title))}</desc>")
    out.append('<g stroke="#ffffff" stroke-width="0.4" stroke-linejoin="round">')
    for code, d in shapes.paths.items():
        area = areas.get(code)
        name = " / ".join(dict.fromkeys(shapes.names.get(code, (code,))))
        if area is None:
            fill, cls, tip = NO_DATA, "nodata", f"{name} ({code}): {all_languages(NO_DATA_TEXT)}"
        elif area.suppressed:
            fill, cls = f"url(#{HATCH_ID})", "suppressed"
            tip = f"{name} ({code}): {all_languages(SUPPRESSED_TEXT)}"
        elif area.value is None or not colours:
            fill, cls, tip = NO_DATA, "nodata", f"{name} ({code}): {all_languages(NO_DATA_TEXT)}"
        else:
            k = classify(area.value, edges)
            fill, cls = colours[k], f"c{k}"
            tip = f"{name} ({code}): {area.tooltip}"
        out.append(
            f'<path class="{cls}" data-code="{code}" fill="{fill}" d="{d}">'
            f"<title>{escape(tip)}</title></path>"
        )
    out.append("</g>")
    # legend
    x0, y = shapes.width + 15, 20
    out.append(
        f'<g font-size="12" font-family="sans-serif"><text x="{x0}" y="{y}">{escape(unit)}</text>'
    )
    for k, colour in enumerate(colours):
        y += 20
        lo, hi = edges[k], edges[k + 1]
        out.append(
            f'<rect class="legend" x="{x0}" y="{y - 12}" width="18" height="14" '
            f'fill="{colour}" stroke="#999"/><text x="{x0 + 24}" y="{y}">'
            f"{fmt(lo, decimals)} – {fmt(hi, decimals)}</text>"
        )
    for fill, texts in ((f"url(#{HATCH_ID})", SUPPRESSED_TEXT), (NO_DATA, NO_DATA_TEXT)):
        y += 22
        out.append(
            f'<rect class="legend" x="{x0}" y="{y - 12}" width="18" height="14" '
            f'fill="{fill}" stroke="#999"/><text x="{x0 + 24}" y="{y}" font-size="10">'
            f"{tr(texts)}</text>"
        )
    out.append(
        f'</g><text x="4" y="{h - 8:.0f}" font-size="10" font-family="sans-serif" '
        f'fill="#555">{tr(LICENCE)}</text></svg>'
    )
    return "".join(out)


# ------------------------------------------------------------------------------ axes, helpers


def _nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0]
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    ticks, t = [], start
    while t <= hi + step * 0.5:
        ticks.append(round(t, 10))
        t += step
    return ticks


def _finite(values: Iterable) -> list[float]:
    out = []
    for v in values:
        if v is None:
            continue
        try:
            f = float(v)
        except (TypeError, ValueError):
            continue
        if math.isfinite(f):
            out.append(f)
    return out


class _Frame:
    """A plotting area with linear x and y scales."""

    def __init__(
        self,
        xs: list[float],
        ys: list[float],
        width=640,
        height=320,
        left=60,
        right=160,
        top=15,
        bottom=40,
        ypad=True,
    ):
        self.width, self.height = width, height
        self.left, self.right, self.top, self.bottom = left, right, top, bottom
        xs, ys = xs or [0.0, 1.0], ys or [0.0, 1.0]
        self.xticks = _nice_ticks(min(xs), max(xs))
        self.yticks = _nice_ticks(min(ys), max(ys)) if ypad else sorted(set(ys))
        self.x0, self.x1 = min(self.xticks[0], min(xs)), max(self.xticks[-1], max(xs))
        self.y0, self.y1 = min(self.yticks[0], min(ys)), max(self.yticks[-1], max(ys))
        if self.x1 == self.x0:
            self.x0, self.x1 = self.x0 - 1, self.x1 + 1
        if self.y1 == self.y0:
            self.y0, self.y1 = self.y0 - 1, self.y1 + 1

    def x(self, v: float) -> float:
        span = self.width - self.left - self.right
        return round(self.left + (v - self.x0) / (self.x1 - self.x0) * span, 1)

    def y(self, v: float) -> float:
        span = self.height - self.top - self.bottom
        return round(self.height - self.bottom - (v - self.y0) / (self.y1 - self.y0) * span, 1)

    def axes(
        self,
        xlabel: str = "",
        ylabel: str = "",
        xticks: Sequence[float] | None = None,
        xfmt=lambda v: fmt(v, 0),
        ygrid: bool = True,
    ) -> str:
        out = ['<g font-size="11" font-family="sans-serif" fill="#333">']
        xb, yb = self.height - self.bottom, self.left
        for t in self.yticks if ygrid else ():
            if self.y0 <= t <= self.y1:
                y = self.y(t)
                out.append(
                    f'<line x1="{yb}" x2="{self.width - self.right}" y1="{y}" y2="{y}" '
                    f'stroke="#eee"/><text x="{yb - 4}" y="{y + 4}" text-anchor="end">'
                    f"{_tick(t)}</text>"
                )
        for t in xticks if xticks is not None else self.xticks:
            if self.x0 <= t <= self.x1:
                x = self.x(t)
                out.append(
                    f'<line x1="{x}" x2="{x}" y1="{xb}" y2="{xb + 4}" stroke="#333"/>'
                    f'<text x="{x}" y="{xb + 16}" text-anchor="middle">{xfmt(t)}</text>'
                )
        out.append(
            f'<line x1="{yb}" x2="{self.width - self.right}" y1="{xb}" y2="{xb}" '
            f'stroke="#333"/><line x1="{yb}" x2="{yb}" y1="{self.top}" y2="{xb}" '
            'stroke="#333"/>'
        )
        if xlabel:
            out.append(
                f'<text x="{(yb + self.width - self.right) / 2}" y="{self.height - 4}" '
                f'text-anchor="middle">{xlabel}</text>'
            )
        if ylabel:
            out.append(f'<text x="12" y="{self.top + 10}">{ylabel}</text>')
        out.append("</g>")
        return "".join(out)


def _tick(t: float) -> str:
    return f"{t:g}" if abs(t) < 1e6 else f"{t:.4g}"


def _open(frame: _Frame, cls: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{cls}" '
        f'viewBox="0 0 {frame.width} {frame.height}" role="img">'
    )


# ------------------------------------------------------------------------------- trend lines


@dataclass(frozen=True)
class Point:
    x: float
    value: float | None
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class Series:
    name: str
    points: tuple[Point, ...]
    names: dict[str, str] | None = None  # the name in NL/FR/EN for the legend


def trend_chart(series: Sequence[Series], *, decimals: int = 1, unit: str = "") -> str:
    """Lines over the periods with an interval band (two points or more) and whiskers."""
    xs = [p.x for s in series for p in s.points]
    ys = _finite(v for s in series for p in s.points for v in (p.value, p.low, p.high))
    frame = _Frame(xs, ys)
    periods = sorted(set(xs))
    if len(periods) == 1:
        frame.x0, frame.x1 = periods[0] - 1, periods[0] + 1
    out = [
        _open(frame, "trend"),
        frame.axes(ylabel=escape(unit), xticks=periods, xfmt=lambda v: f"{v:g}"),
    ]
    for i, s in enumerate(series):
        colour = SERIES_COLOURS[i % len(SERIES_COLOURS)]
        pts = [p for p in s.points if p.value is not None and math.isfinite(p.value)]
        band = [p for p in pts if p.low is not None and p.high is not None]
        out.append(f'<g class="series" data-name="{escape(s.name)}">')
        if len(band) >= 2:
            upper = " ".join(f"{frame.x(p.x)},{frame.y(p.high)}" for p in band)
            lower = " ".join(f"{frame.x(p.x)},{frame.y(p.low)}" for p in reversed(band))
            out.append(
                f'<polygon class="band" points="{upper} {lower}" fill="{colour}" '
                'fill-opacity="0.12" stroke="none"/>'
            )
        if len(pts) >= 2:
            line = " ".join(f"{frame.x(p.x)},{frame.y(p.value)}" for p in pts)
            out.append(
                f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2"/>'
            )
        for p in pts:
            x, y = frame.x(p.x), frame.y(p.value)
            tip = f"{s.name} {p.x:g}: {fmt(p.value, decimals)}"
            if p.low is not None and p.high is not None:
                out.append(
                    f'<line class="whisker" x1="{x}" x2="{x}" y1="{frame.y(p.low)}" '
                    f'y2="{frame.y(p.high)}" stroke="{colour}"/>'
                )
                tip += f" [{fmt(p.low, decimals)}; {fmt(p.high, decimals)}]"
            out.append(
                f'<circle cx="{x}" cy="{y}" r="3.5" fill="{colour}">'
                f"<title>{escape(tip)}</title></circle>"
            )
        out.append("</g>")
    out.append(_legend(frame, [tr(s.names) if s.names else escape(s.name) for s in series]))
    out.append("</svg>")
    return "".join(out)


def _legend(frame: _Frame, names: Sequence[str], markers: Sequence[str] = ()) -> str:
    """Line legend; ``names`` are SVG text content (escaped already)."""
    x = frame.width - frame.right + 12
    out = ['<g class="legend" font-size="11" font-family="sans-serif">']
    for i, name in enumerate(names):
        y = frame.top + 12 + 18 * i
        colour = SERIES_COLOURS[i % len(SERIES_COLOURS)]
        out.append(
            f'<line x1="{x}" x2="{x + 16}" y1="{y - 4}" y2="{y - 4}" stroke="{colour}" '
            f'stroke-width="2"/><text x="{x + 22}" y="{y}">{name}</text>'
        )
    out.extend(markers)
    out.append("</g>")
    return "".join(out)


# ------------------------------------------------------------------------------ funnel plot


@dataclass(frozen=True)
class Unit:
    """One hospital (or pilot) in a funnel plot."""

    code: str
    expected: float
    ratio: float
    low_inner: float | None = None
    high_inner: float | None = None
    low_outer: float | None = None
    high_outer: float | None = None
    outlier: str = "within"


def funnel_plot(units: Sequence[Unit], *, inner: str = "95%", outer: str = "99.8%") -> str:
    """O/E against expected, with the inner and outer funnel limits as lines and the outliers
    (outside the outer limits) marked."""
    units = [
        u
        for u in units
        if u.expected is not None
        and u.ratio is not None
        and math.isfinite(u.expected)
        and math.isfinite(u.ratio)
    ]
    units = sorted(units, key=lambda u: u.expected)
    ys = _finite(
        [
            1.0,
            *(
                v
                for u in units
                for v in (u.ratio, u.low_outer, u.high_outer, u.low_inner, u.high_inner)
            ),
        ]
    )
    frame = _Frame([0.0, *(u.expected for u in units)], [max(min(ys), 0.0), *ys])
    out = [_open(frame, "funnel"), frame.axes(xlabel="E", ylabel="O/E")]
    out.append(
        f'<line class="target" x1="{frame.x(frame.x0)}" x2="{frame.x(frame.x1)}" '
        f'y1="{frame.y(1)}" y2="{frame.y(1)}" stroke="#333" stroke-dasharray="4 3"/>'
    )
    for cls, lo_attr, hi_attr, colour, dash in (
        ("limit-inner", "low_inner", "high_inner", "#1f78b4", "5 3"),
        ("limit-outer", "low_outer", "high_outer", "#e31a1c", ""),
    ):
        for attr in (lo_attr, hi_attr):
            pts = [
                (frame.x(u.expected), frame.y(getattr(u, attr)))
                for u in units
                if getattr(u, attr) is not None and math.isfinite(getattr(u, attr))
            ]
            if pts:
                d = " ".join(f"{x},{y}" for x, y in pts)
                extra = f' stroke-dasharray="{dash}"' if dash else ""
                out.append(
                    f'<polyline class="{cls}" points="{d}" fill="none" '
                    f'stroke="{colour}" stroke-width="1.5"{extra}/>'
                )
    for u in units:
        x, y = frame.x(u.expected), frame.y(u.ratio)
        tip = escape(f"{u.code}: O/E {u.ratio:.3f}, E {u.expected:.1f} ({u.outlier})")
        if u.outlier and u.outlier != "within":
            out.append(
                f'<path class="outlier" d="M{x - 5},{y - 5}L{x + 5},{y + 5}M{x - 5},'
                f'{y + 5}L{x + 5},{y - 5}" stroke="#e31a1c" stroke-width="2.5">'
                f"<title>{tip}</title></path>"
            )
        else:
            out.append(
                f'<circle class="unit" cx="{x}" cy="{y}" r="3.5" fill="#555" '
                f'fill-opacity="0.7"><title>{tip}</title></circle>'
            )
    lx = frame.width - frame.right + 12
    out.append(
        f'<g font-size="11" font-family="sans-serif">'
        f'<line x1="{lx}" x2="{lx + 16}" y1="20" y2="20" stroke="#1f78b4" '
        f'stroke-dasharray="5 3" stroke-width="1.5"/><text x="{lx + 22}" y="24">{inner}</text>'
        f'<line x1="{lx}" x2="{lx + 16}" y1="38" y2="38" stroke="#e31a1c" '
        f'stroke-width="1.5"/><text x="{lx + 22}" y="42">{outer}</text>'
        f'<path d="M{lx + 3},51L{lx + 13},61M{lx + 3},61L{lx + 13},51" stroke="#e31a1c" '
        f'stroke-width="2.5"/><text x="{lx + 22}" y="60">outlier</text></g></svg>'
    )
    return "".join(out)


# ------------------------------------------------------------------ dot-and-whisker (rows)


@dataclass(frozen=True)
class Row:
    label: str
    value: float | None
    low: float | None = None
    high: float | None = None
    other: float | None = None  # a second marker (e.g. actual beside expected)
    suppressed: bool = False


def dot_whisker(
    rows: Sequence[Row],
    *,
    names: tuple[str, str] = ("", ""),
    reference: float | None = None,
    decimals: int = 0,
) -> str:
    """One row per item: a dot with a whisker (``value``, ``low``-``high``) and an optional
    diamond (``other``); suppressed rows say so; an optional vertical reference line."""
    xs = _finite([reference, *(v for r in rows for v in (r.value, r.low, r.high, r.other))])
    height = 40 + 22 * max(len(rows), 1)
    frame = _Frame(xs, [0.0, 1.0], height=height, left=170, right=150, top=10, bottom=30)
    out = [_open(frame, "dotwhisker"), frame.axes(xfmt=_tick, ygrid=False)]
    if reference is not None:
        out.append(
            f'<line class="reference" x1="{frame.x(reference)}" x2="{frame.x(reference)}"'
            f' y1="{frame.top}" y2="{height - frame.bottom}" stroke="#333" '
            'stroke-dasharray="4 3"/>'
        )
    out.append('<g font-size="11" font-family="sans-serif">')
    for i, r in enumerate(rows):
        y = frame.top + 12 + 22 * i
        out.append(
            f'<text x="{frame.left - 6}" y="{y + 4}" text-anchor="end">{escape(r.label)}</text>'
        )
        if r.suppressed or r.value is None:
            out.append(
                f'<text class="suppressed" x="{frame.left + 6}" y="{y + 4}" fill="#777">'
                f"{tr(SUPPRESSED_TEXT)}</text>"
            )
            continue
        tip = f"{r.label}: {fmt(r.value, decimals)}"
        if r.low is not None and r.high is not None:
            out.append(
                f'<line class="whisker" x1="{frame.x(r.low)}" x2="{frame.x(r.high)}" '
                f'y1="{y}" y2="{y}" stroke="{SERIES_COLOURS[0]}" stroke-width="1.5"/>'
            )
            tip += f" [{fmt(r.low, decimals)}; {fmt(r.high, decimals)}]"
        out.append(
            f'<circle cx="{frame.x(r.value)}" cy="{y}" r="4" fill="{SERIES_COLOURS[0]}">'
            f"<title>{escape(tip)}</title></circle>"
        )
        if r.other is not None:
            x = frame.x(r.other)
            out.append(
                f'<path class="other" d="M{x},{y - 5}L{x + 5},{y}L{x},{y + 5}L{x - 5},{y}Z"'
                f' fill="{SERIES_COLOURS[1]}"><title>{escape(names[1])}: '
                f"{fmt(r.other, decimals)}</title></path>"
            )
    out.append("</g>")
    lx = frame.width - frame.right + 12
    if names[0] or names[1]:
        out.append(
            f'<g font-size="11" font-family="sans-serif"><circle cx="{lx + 6}" cy="16" r="4"'
            f' fill="{SERIES_COLOURS[0]}"/><text x="{lx + 16}" y="20">{escape(names[0])}'
            "</text>"
        )
        if names[1]:
            out.append(
                f'<path d="M{lx + 6},29L{lx + 11},34L{lx + 6},39L{lx + 1},34Z" '
                f'fill="{SERIES_COLOURS[1]}"/><text x="{lx + 16}" y="38">'
                f"{escape(names[1])}</text>"
            )
        out.append("</g>")
    out.append("</svg>")
    return "".join(out)
