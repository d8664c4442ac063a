"""Geography levels of publication, finest first: each level's units are unions of the units of
the level before (municipalities in arrondissements, in provinces, in regions, in Belgium), so
a figure of a coarser unit adds up from the finer ones.

A level names the column of the person-year table (and of the cube) carrying the unit's NIS
code, read from ``ref_geography`` (:mod:`phm.data.schemas`), or, for a level with one unit,
that unit's code. Custom area sets (``breakdowns.areas``) are not levels: they are specs.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GeoLevel:
    name: str
    column: str | None  # person-year / cube column holding the unit's NIS code
    ref_column: str | None  # its column in ref_geography
    code: str | None = None  # the code of the only unit of a level without a column
    doc: str = ""


LEVELS: tuple[GeoLevel, ...] = (
    GeoLevel("municipality", "nis", "nis", doc="581 municipalities (2019-2024 boundaries)"),
    GeoLevel("arrondissement", "arr_nis", "arr_nis", doc="43 administrative arrondissements"),
    GeoLevel(
        "province",
        "prov_nis",
        "prov_nis",
        doc="10 provinces and Brussels-Capital (04000) as one province-level unit",
    ),
    GeoLevel("region", "reg_nis", "reg_nis", doc="Flanders, Wallonia, Brussels-Capital"),
    GeoLevel("belgium", None, None, code="01000", doc="the country"),
)
GEO: dict[str, GeoLevel] = {level.name: level for level in LEVELS}
GEO_LEVELS: tuple[str, ...] = tuple(GEO)
# the column of the cube that carries each level (None: one unit, every row)
GEO_COLUMNS: dict[str, str | None] = {level.name: level.column for level in LEVELS}
