"""Source tables as specs see them: which code systems they carry, which date places a row in
a year, a window or a season, at which grain features are summed, and which roles (feature
rows, index events, follow-ups) their rows can play.

The columns and types of each table are its data contract (:mod:`phm.data.schemas`); this
registry adds what the compiler needs to know about it. One :class:`Source` per table: a new
claims table is one entry here plus its contract (docs/extending.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Source:
    name: str
    date_column: str  # the date that places a row in a season, and a follow-up after its index
    code_systems: dict[str, str] = field(default_factory=dict)  # code-list system -> column
    # features on this table are first summed per person, year and this code (thresholds per
    # medicine, distinct medicines, the PDC fold), then per person and year
    per_code: str | None = None
    episodes: bool = False  # rows are chained into episodes: index events and their follow-ups
    follow_up: bool = False  # event follow-ups may be rows of this table
    row: str = "a row"  # what one row is, in words


HEALTH_CARE = Source(
    "health_care", "service_date", {"nomenclature": "nomen_code"}, follow_up=True, row="a claim"
)
PHARMACY = Source(
    "pharmacy", "delivery_date", {"atc": "atc5", "cnk": "cnk"}, per_code="atc5", row="a delivery"
)
HOSPITAL_STAY = Source(
    "hospital_stay",
    "admission_date",
    {"diagnosis_group": "main_diagnosis_group"},
    episodes=True,
    follow_up=True,
    row="an episode",
)

SOURCES: dict[str, Source] = {s.name: s for s in (HEALTH_CARE, PHARMACY, HOSPITAL_STAY)}
# the table whose rows are chained into hospital episodes (index events)
STAYS = next(s.name for s in SOURCES.values() if s.episodes)
# code-list system -> (table, code column)
CODE_SYSTEMS: dict[str, tuple[str, str]] = {
    system: (s.name, column) for s in SOURCES.values() for system, column in s.code_systems.items()
}
FOLLOW_UP_SOURCES = tuple(s.name for s in SOURCES.values() if s.follow_up)
