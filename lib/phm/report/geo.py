"""Boundaries and names of the Atlas geography, without Spark.

The NGI-IGN AdminVector boundaries (2019-2024 municipalities and arrondissements, GeoJSON in
WGS84 lon/lat, package data, see ``reference_data/SOURCES.md``) are projected once per level
with an equirectangular projection scaled by cos(50.5°) (Belgium is small enough), simplified
(Douglas-Peucker at a fraction of a pixel) and rounded to one decimal of the SVG user unit, and
cached: every page drawing a map reuses the same path strings.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import pandas as pd

LEVEL_FILES = {
    "municipality": "be_municipalities_2019_2024.geojson",
    "arrondissement": "be_arrondissements_2019_2024.geojson",
}
MAP_WIDTH = 600.0  # SVG user units
TOLERANCE = 0.35  # Douglas-Peucker tolerance, SVG user units (~0.1 mm on screen)
COS_LAT = math.cos(math.radians(50.5))
BELGIUM = "01000"
LEVELS = ("belgium", "region", "province", "arrondissement", "municipality")


@dataclass(frozen=True)
class MapShapes:
    """Projected outlines of one level: ``paths`` code -> SVG path data, names, viewBox."""

    level: str
    paths: dict[str, str]
    names: dict[str, tuple[str, str]]
    width: float
    height: float


def _reference(name: str):
    return resources.files("phm") / "reference_data" / name


def _simplify(points: list[tuple[float, float]], tolerance: float) -> list[tuple[float, float]]:
    """Douglas-Peucker (iterative), keeping the first and last point."""
    if len(points) < 4:
        return points
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        (x1, y1), (x2, y2) = points[first], points[last]
        dx, dy = x2 - x1, y2 - y1
        norm = math.hypot(dx, dy)
        best, index = -1.0, -1
        for i in range(first + 1, last):
            px, py = points[i]
            if norm == 0:
                d = math.hypot(px - x1, py - y1)
            else:
                d = abs(dy * px - dx * py + x2 * y1 - y2 * x1) / norm
            if d > best:
                best, index = d, i
        if best > tolerance and index > 0:
            keep[index] = True
            stack += [(first, index), (index, last)]
    return [p for p, k in zip(points, keep, strict=True) if k]


def _ring_path(ring: list[tuple[float, float]]) -> str:
    """A closed ring as compact path data: absolute move, then relative line-tos between
    points rounded to 0.1 unit (deltas of rounded points, so nothing drifts)."""
    pts = []
    for x, y in _simplify(ring, TOLERANCE):
        p = (round(x * 10), round(y * 10))  # tenths of a unit, as integers
        if not pts or p != pts[-1]:
            pts.append(p)
    if len(pts) > 1 and pts[0] == pts[-1]:
        pts.pop()
    if len(pts) < 3:
        return ""

    def num(v: int) -> str:
        text = f"{v / 10:.1f}".rstrip("0").rstrip(".")
        return text.replace("0.", ".", 1) if text.startswith(("0.", "-0.")) else text

    out = [f"M{num(pts[0][0])} {num(pts[0][1])}l"]
    deltas = []
    for (x0, y0), (x1, y1) in zip(pts, pts[1:], strict=False):
        deltas.append(f"{num(x1 - x0)} {num(y1 - y0)}")
    return out[0] + " ".join(deltas) + "z"


@lru_cache(maxsize=None)
def shapes(level: str) -> MapShapes:
    """The projected outlines of ``municipality`` or ``arrondissement`` (cached)."""
    with _reference(LEVEL_FILES[level]).open("r", encoding="utf-8") as handle:
        collection = json.load(handle)
    features = collection["features"]

    def polygons(geometry):
        return (
            geometry["coordinates"]
            if geometry["type"] == "MultiPolygon"
            else [geometry["coordinates"]]
        )

    lons, lats = [], []
    for f in features:
        for poly in polygons(f["geometry"]):
            for ring in poly:
                for lon, lat in ring:
                    lons.append(lon)
                    lats.append(lat)
    lon0, lat1 = min(lons), max(lats)
    span = (max(lons) - lon0) * COS_LAT
    scale = MAP_WIDTH / span
    height = (lat1 - min(lats)) * scale
    paths: dict[str, str] = {}
    names: dict[str, tuple[str, str]] = {}
    for f in features:
        props = f["properties"]
        code = str(props["nis"]).zfill(5)
        parts = []
        for poly in polygons(f["geometry"]):
            for ring in poly:
                projected = [
                    ((lon - lon0) * COS_LAT * scale, (lat1 - lat) * scale) for lon, lat in ring
                ]
                d = _ring_path(projected)
                if d:
                    parts.append(d)
        paths[code] = "".join(parts)
        names[code] = (props.get("name_nl") or code, props.get("name_fr") or code)
    return MapShapes(level, paths, names, MAP_WIDTH, round(height, 1))


def _csv(name: str) -> pd.DataFrame:
    with _reference(name).open("r", encoding="utf-8") as handle:
        return pd.read_csv(handle, dtype=str, keep_default_na=False)


@lru_cache(maxsize=None)
def units() -> pd.DataFrame:
    """Every geography unit: ``geo_level``, ``geo_code``, names NL/FR/EN and its parents
    (``arr_code``, ``prov_code``, ``reg_code``; empty when not applicable)."""
    m = _csv("be_municipalities_2019_2024.csv")
    mun = pd.DataFrame(
        {
            "geo_level": "municipality",
            "geo_code": m.nis,
            "name_nl": m.name_nl,
            "name_fr": m.name_fr,
            "name_en": "",
            "arr_code": m.arr_nis,
            "prov_code": m.prov_nis,
            "reg_code": m.reg_nis,
        }
    )
    a = _csv("be_arrondissements.csv")
    arr = pd.DataFrame(
        {
            "geo_level": "arrondissement",
            "geo_code": a.arr_nis,
            "name_nl": a.name_nl,
            "name_fr": a.name_fr,
            "name_en": "",
            "arr_code": "",
            "prov_code": a.prov_nis,
            "reg_code": a.reg_nis,
        }
    )
    pr = _csv("be_provinces_regions.csv")
    level = pr.level.map({"country": "belgium", "region": "region", "province": "province"})
    reg = pr.parent_reg_nis.where(pr.level == "province", "")
    reg = reg.where((pr.level != "province") | (reg != ""), pr.nis)  # Brussels: itself
    top = pd.DataFrame(
        {
            "geo_level": level,
            "geo_code": pr.nis,
            "name_nl": pr.name_nl,
            "name_fr": pr.name_fr,
            "name_en": pr.name_en,
            "arr_code": "",
            "prov_code": "",
            "reg_code": reg,
        }
    )
    out = pd.concat([mun, arr, top], ignore_index=True).fillna("")
    for col in ("name_en",):
        out[col] = out[col].where(out[col] != "", out.name_nl)
    return out


def unit_name(level: str, code: str, lang: str = "nl") -> str:
    u = units()
    row = u[(u.geo_level == level) & (u.geo_code == code)]
    if row.empty:
        return code
    return str(row.iloc[0][f"name_{lang}"])


@lru_cache(maxsize=None)
def unit_names() -> dict[tuple[str, str], dict[str, str]]:
    """(level, code) -> {"nl", "fr", "en"} names (English falls back on Dutch)."""
    return {
        (r.geo_level, r.geo_code): {"nl": r.name_nl, "fr": r.name_fr, "en": r.name_en}
        for r in units().itertuples(index=False)
    }
