"""Reference data shipped with phm, as pandas frames: Belgian geography, population, ESP2013,
nomenclature, products. No Spark needed (the generator, the statistics and the spec checker read
them); the Spark ``ref_*`` tables are built from them in :mod:`phm.data.reference`.

Everything is read from the package's ``reference_data/`` folder (see its ``SOURCES.md`` for
sources and licences), never from the project's shared folder, so a wheel works anywhere.

NIS codes are always strings with their leading zeros (``"04000"``). Money columns are floats
(convenient for sampling); in Spark they are ``decimal(12,2)`` as the contract says.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import pandas as pd

# Columns read as integers; every other column stays text (codes keep their leading zeros).
_INT_COLUMNS = {
    "pop_2020_male",
    "pop_2020_female",
    "pop_2020_total",
    "year",
    "age_from",
    "age_to",
    "population",
    "esp2013",
    "merged_2025",
    "affected_by_2025_merger",
    "n_municipalities_2019_2024",
    "n_municipalities_2025",
    "pop_2020_on_2019_boundaries",
    "pop_2020_on_2025_boundaries",
}
_FLOAT_COLUMNS = {"fee", "ddd_per_package", "package_price"}

POPULATION_YEARS = (2019, 2020, 2021)  # years of be_population_age5_sex_region_2019_2021.csv
BELGIUM_NIS = "01000"
# Brussels-Capital has no province. At province level it is one unit, coded with the region's
# NIS code (Statbel's REFNIS puts the arrondissement 21000 directly under the region 04000, and
# NUTS 2, the level of the provinces, has the region as BE10), so every level covers Belgium.
BRUSSELS_NIS = "04000"
BRUSSELS_PROVINCE = {
    "prov_nis": BRUSSELS_NIS,
    "prov_name_nl": "Brussels Hoofdstedelijk Gewest",
    "prov_name_fr": "Région de Bruxelles-Capitale",
}


@lru_cache(maxsize=None)
def _read(name: str) -> pd.DataFrame:
    """Read one package CSV: text by default, known numeric columns typed, empty cells -> NA."""
    path = resources.files("phm") / "reference_data" / name
    with path.open("r", encoding="utf-8") as handle:
        frame = pd.read_csv(handle, dtype=str, keep_default_na=False)
    for col in frame.columns:
        if col in _INT_COLUMNS:
            frame[col] = pd.to_numeric(frame[col].replace("", None)).astype("Int64")
        elif col in _FLOAT_COLUMNS:
            frame[col] = pd.to_numeric(frame[col]).astype(float)
        else:
            frame[col] = frame[col].replace("", None)
    return frame


def _copy(name: str) -> pd.DataFrame:
    # Callers may mutate what they get; the cached frame must stay pristine.
    return _read(name).copy()


def municipalities() -> pd.DataFrame:
    """The 581 municipalities of 2019-2024 (one row each) with arrondissement, province, region,
    2025 code and 1/1/2020 population (``pop_2020_male/female/total``). The 19 Brussels-Capital
    municipalities have the province-level unit ``04000`` (:data:`BRUSSELS_PROVINCE`).

    >>> m = municipalities(); m.loc[m.nis == "21004", ["prov_nis", "reg_nis"]].values.tolist()
    [['04000', '04000']]
    """
    return _copy("be_municipalities_2019_2024.csv")


def municipalities_2025() -> pd.DataFrame:
    """The 565 municipalities valid from 1 January 2025 (population re-aggregated from 2020)."""
    return _copy("be_municipalities_2025.csv")


def nis_crosswalk() -> pd.DataFrame:
    """2019-2024 NIS code -> 2025 NIS code (``nis_2019``, ``nis_2025``, names, merger flag)."""
    return _copy("be_nis_crosswalk_2019_2025.csv")


def arrondissements() -> pd.DataFrame:
    """The 43 administrative arrondissements with province, region and 2020 population."""
    return _copy("be_arrondissements.csv")


def provinces_regions() -> pd.DataFrame:
    """Country (01000), the 3 regions and the 11 province-level units: the 10 provinces and
    Brussels-Capital (``04000``, as at region level), with names in NL, FR and EN. ``level``
    tells which; the key is (``level``, ``nis``)."""
    return _copy("be_provinces_regions.csv")


def population_age_sex_region(year: int, *, include_belgium: bool = False) -> pd.DataFrame:
    """Legal population on 1 January by region, sex and 5-year age group (ESP2013 bands).

    Statbel figures exist for 2019-2021 only; other years get the nearest available year (the
    ``year`` column tells which one was used). Belgium rows (``reg_nis == "01000"``) are the sum
    of the regions, so they are left out unless ``include_belgium`` (summing both double-counts).

    >>> p = population_age_sex_region(2020); int(p.population.sum())
    11492641
    """
    nearest = min(POPULATION_YEARS, key=lambda y: (abs(y - year), -y))
    frame = _copy("be_population_age5_sex_region_2019_2021.csv")
    frame = frame[frame["year"] == nearest]
    if not include_belgium:
        frame = frame[frame["reg_nis"] != BELGIUM_NIS]
    return frame.reset_index(drop=True)


def esp2013(*, detailed: bool = False) -> pd.DataFrame:
    """European Standard Population 2013 (total 100,000): 20 five-year bands up to 95+, or 21
    with ``detailed`` (0 and 1-4 split). ``age_to`` is NA for the open band."""
    return _copy("esp2013_detailed.csv" if detailed else "esp2013_5y.csv")


def nomenclature() -> pd.DataFrame:
    """Nomenclature codes with service group, profession digit, fee (EUR, float), setting, source.
    Within a service group the first row is the typical (default) code."""
    return _copy("nomenclature.csv")


def products() -> pd.DataFrame:
    """Products: synthetic CNK -> real ATC5, DDD per package, price (EUR, float), category.
    Within an ATC5 code the first row is the typical package."""
    return _copy("products.csv")
