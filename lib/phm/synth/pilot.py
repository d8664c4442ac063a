"""A planted pilot effect: a known change of cost in the pilot areas from a year on.

The financing simulations estimate a pilot's gain (expected minus actual cost); with
``phm generate --pilot-effect pilot_regions:2023:-4`` the warehouse carries a gain whose size is
known, so a test can check that a scenario recovers it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pyspark.sql import Column
from pyspark.sql import functions as F

from phm.errors import InputError

OPTION = "--pilot-effect"


@dataclass(frozen=True)
class PilotEffect:
    area_set: str
    municipalities: tuple[str, ...]  # NIS codes, sorted
    from_year: int
    percent: float

    @property
    def factor(self) -> float:
        return 1 + self.percent / 100

    def to_state(self) -> dict[str, Any]:
        return {
            "area_set": self.area_set,
            "municipalities": list(self.municipalities),
            "from_year": self.from_year,
            "percent": self.percent,
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any] | None) -> PilotEffect | None:
        if not state:
            return None
        return cls(
            state["area_set"],
            tuple(state["municipalities"]),
            int(state["from_year"]),
            float(state["percent"]),
        )


def parse_pilot_effect(text: str, area_sets: Mapping[str, Any], years: list[int]) -> PilotEffect:
    """``AREA_SET:YEAR:PERCENT`` -> the effect, its municipalities read from the area set
    (``area_sets`` is the catalogue's ``areas``: id -> AreaSet)."""
    parts = text.strip().split(":")
    if len(parts) != 3 or not all(p.strip() for p in parts):
        raise InputError(
            f"{OPTION} {text!r}: expected AREA_SET:YEAR:PERCENT, e.g. pilot_regions:2023:-4"
        )
    area_set, year_text, percent_text = (p.strip() for p in parts)
    if area_set not in area_sets:
        raise InputError(
            f"{OPTION} {text!r}: unknown area set {area_set!r}; known: {', '.join(sorted(area_sets)) or 'none'}"
        )
    try:
        from_year = int(year_text)
    except ValueError:
        raise InputError(f"{OPTION} {text!r}: {year_text!r} is not a year") from None
    try:
        percent = float(percent_text)
    except ValueError:
        percent = math.nan
    if not math.isfinite(percent):
        raise InputError(
            f"{OPTION} {text!r}: {percent_text!r} is not a number (a percentage, e.g. -4 or 2.5)"
        )
    municipalities = tuple(
        sorted({nis for area in area_sets[area_set].areas.values() for nis in area.municipalities})
    )
    effect = PilotEffect(area_set, municipalities, from_year, percent)
    check_pilot_effect(effect, years)
    return effect


def check_pilot_effect(effect: PilotEffect, years: list[int]) -> None:
    if effect.from_year not in years:
        raise InputError(
            f"{OPTION}: year {effect.from_year} is not a generated year ({years[0]}-{years[-1]})"
        )
    if not -100 < effect.percent <= 100:  # NaN fails too
        raise InputError(
            f"{OPTION}: PERCENT must be above -100 (costs stay positive) and at most 100; got {effect.percent:g}"
        )


def scaled(amount: Column, effect: PilotEffect | None, *, nis: Column, year: Column) -> Column:
    """``amount`` times the effect's factor for residents of the pilot municipalities from the
    effect's year on; other rows keep the very same expression, so without an effect nothing
    changes. Apply it to the unrounded amount: rounding to cents follows as usual.

    ``nis`` is the person-year's municipality: the generator draws it once per person, so it is
    also the municipality of the population row of the service year."""
    if effect is None:
        return amount
    hit = nis.isin(*effect.municipalities) & (year >= F.lit(effect.from_year))
    return F.when(hit, amount * F.lit(effect.factor)).otherwise(amount)
