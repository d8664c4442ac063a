"""The spec language as typed models: what a valid indicator, feature, code list, age scheme or
area set looks like on its own. Checks that need other specs or the data model (does this code
list exist? is ``stay_typ`` a column?) live in :mod:`phm.spec.catalogue`.

Every model forbids unknown keys, so a typo such as ``numerater:`` is an error, not a silently
ignored block. ``docs/specs.md`` explains the language with examples; the JSON Schema for editors
is generated from these classes (:mod:`phm.spec.schema`).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Annotated, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from phm.registry.aggregates import AGGREGATES
from phm.registry.geography import GEO_LEVELS
from phm.registry.measures import DENOMINATORS, INTERVALS, MEASURES
from phm.registry.sources import CODE_SYSTEMS, FOLLOW_UP_SOURCES, STAYS
from phm.registry.sources import SOURCES as SOURCE_REGISTRY

Ident = Annotated[
    str,
    Field(
        pattern=r"^[a-z][a-z0-9_]*$",
        min_length=2,
        max_length=64,
        description="Lower-case identifier: letters, digits and _.",
    ),
]
Scalar = bool | int | float | str

THEMES = (
    "demography",
    "prevention",
    "health_status",
    "care_consumption",
    "accessibility",
    "organisation",
    "quality_of_care",
)
SOURCES = tuple(SOURCE_REGISTRY)
# names the registries allow (JSON Schema enums), built from the registries at import time: a
# type checker cannot know them, so it sees plain strings (pydantic sees the Literal enums)
if TYPE_CHECKING:
    AggregateName: TypeAlias = str
    SourceName: TypeAlias = str
    FollowUpSource: TypeAlias = str
    IndexSource: TypeAlias = str
    CodeSystemName: TypeAlias = str
    MeasureName: TypeAlias = str
    IntervalName: TypeAlias = str
    DenominatorName: TypeAlias = str
    GeoLevel: TypeAlias = str
else:
    AggregateName = Literal[tuple(AGGREGATES)]
    SourceName = Literal[SOURCES]
    FollowUpSource = Literal[FOLLOW_UP_SOURCES]
    IndexSource = Literal[STAYS]
    CodeSystemName = Literal[tuple(CODE_SYSTEMS)]
    MeasureName = Literal[tuple(MEASURES)]
    IntervalName = Literal[tuple(INTERVALS)]
    DenominatorName = Literal[DENOMINATORS]
    GeoLevel = Literal[GEO_LEVELS]
ATC_PREFIX = re.compile(r"^[A-Z]([0-9]{2}([A-Z]([A-Z]([0-9]{2})?)?)?)?$")


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Text(Model):
    """The same text in the three languages the Atlas publishes in."""

    nl: str = Field(min_length=1)
    fr: str = Field(min_length=1)
    en: str = Field(min_length=1)


class ChangeEntry(Model):
    version: int = Field(ge=1)
    date: dt.date
    change: str = Field(min_length=3)


# ---------------------------------------------------------------------------------------------
# conditions on person-year variables (features or built-in attributes)


class Condition(Model):
    """A test on one person-year variable: a feature id or a built-in attribute (age, sex, bim,
    nursing_home, ...). Give exactly one kind of test; ``at_least``/``at_most`` may be combined."""

    feature: str = Field(description="Feature id or built-in person attribute.")
    at_least: float | None = None
    at_most: float | None = None
    equals: Scalar | None = None
    in_: list[Scalar] | None = Field(default=None, alias="in")
    top: float | None = Field(
        default=None,
        gt=0,
        lt=1,
        description=(
            "The person's value is among the top share of the indicator's population in the "
            "period year (0.01 = top 1%; ties at the cut are all in). Numerator conditions only."
        ),
    )

    @model_validator(mode="after")
    def _one_test(self) -> Condition:
        kinds = [
            self.at_least is not None or self.at_most is not None,
            self.equals is not None,
            self.in_ is not None,
            self.top is not None,
        ]
        if sum(kinds) != 1:
            raise ValueError("give exactly one test: at_least/at_most, equals, in or top")
        if self.in_ is not None and not self.in_:
            raise ValueError("'in' needs at least one value")
        return self


# ---------------------------------------------------------------------------------------------
# features


class Having(Model):
    """Keep only codes whose yearly total reaches a threshold (e.g. >= 80 DDD of an ATC5)."""

    sum_of: str = Field(description="Column summed per person, year and code (e.g. ddd).")
    at_least: float


class Derived(Model):
    """A feature built from other features and attributes: a flag (any_of / all_of conditions)
    or a number (sum_of numeric features, e.g. health care + pharmacy amounts)."""

    any_of: list[Condition] | None = None
    all_of: list[Condition] | None = None
    sum_of: list[str] | None = None

    @model_validator(mode="after")
    def _one(self) -> Derived:
        given = [x for x in (self.any_of, self.all_of, self.sum_of) if x is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of any_of, all_of or sum_of")
        if not given[0]:
            raise ValueError("the list is empty")
        return self


class Season(Model):
    """Months of the period year Y a feature reads, from the first day of ``from_month`` of Y to
    the last day of ``to_month`` (of Y + 1 when it comes before ``from_month``)."""

    from_month: int = Field(ge=1, le=12)
    to_month: int = Field(ge=1, le=12)

    @property
    def crosses_year(self) -> bool:
        return self.to_month < self.from_month

    @property
    def label(self) -> str:
        months = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
        return (
            f"{months[self.from_month - 1]} Y - {months[self.to_month - 1]} "
            f"{'Y+1' if self.crosses_year else 'Y'}"
        )


class Feature(Model):
    """A person-year variable defined once and reused by many indicators (the IMA 'PATI' idea).

    Either an aggregate of one source table's rows (``source`` + ``aggregate``), selected by a code
    list and column filters, or ``derived`` from other features."""

    id: Ident
    version: int = Field(ge=1)
    label: Text
    description: str | None = None
    unit: str | None = None
    source: SourceName | None = None
    codes: Ident | None = Field(default=None, description="Code list id selecting source rows.")
    where: dict[str, Scalar | list[Scalar]] = Field(
        default_factory=dict, description="Column filters: column -> value or list of values."
    )
    aggregate: AggregateName | None = Field(
        default=None,
        description="; ".join(f"{name}: {a.doc}" for name, a in AGGREGATES.items()) + ".",
    )
    of: str | None = Field(default=None, description="Column for sum / count_distinct / max.")
    having: Having | None = None
    window_years: int = Field(
        default=1,
        ge=1,
        le=5,
        description=(
            "Years the feature looks back over, the period year included (2 = this year and the "
            "previous one). Only for count, sum and any."
        ),
    )
    season: Season | None = Field(
        default=None,
        description=(
            "Read the rows dated in a season instead of the calendar year (flu vaccination: "
            "October to March of the next year)."
        ),
    )
    derived: Derived | None = None

    @model_validator(mode="after")
    def _shape(self) -> Feature:
        if self.derived is not None:
            extra = [
                k
                for k in ("source", "codes", "aggregate", "of", "having")
                if getattr(self, k) is not None
            ] + (["where"] if self.where else [])
            if extra:
                raise ValueError(f"a derived feature takes no {', '.join(extra)}")
            if self.window_years != 1:
                raise ValueError("a derived feature takes no window_years (window its inputs)")
            if self.season is not None:
                raise ValueError("a derived feature takes no season (give it to its inputs)")
            return self
        if self.source is None or self.aggregate is None:
            raise ValueError("give source and aggregate (or derived)")
        problem = AGGREGATES[self.aggregate].check(self)
        if problem:
            raise ValueError(problem)
        return self


# ---------------------------------------------------------------------------------------------
# event sequences: an index event, a follow-up event and a window between them


class Selection(Model):
    """Which rows an event is: a code list and column filters (all must hold), minus exclusions
    (a code list, or column filters of which any one excludes)."""

    codes: Ident | None = Field(default=None, description="Code list the rows must match.")
    where: dict[str, Scalar | list[Scalar]] = Field(
        default_factory=dict, description="Column filters, all must hold: column -> value(s)."
    )
    exclude_codes: Ident | None = Field(
        default=None,
        description=(
            "Code list whose rows are left out (e.g. planned care: chemotherapy, dialysis)."
        ),
    )
    exclude: dict[str, Scalar | list[Scalar]] = Field(
        default_factory=dict, description="Column filters, any one leaves the row out."
    )


# Columns of a hospital episode (classic stays chained across transfers), what index and
# hospital follow-up selections filter on. "first" = of the first stay, "last" = of the last.
EPISODE_COLUMNS = {
    "admission_date": "admission of the first stay",
    "discharge_date": "discharge of the last stay",
    "hospital_id": "discharging hospital (last stay)",
    "admitted_via_ed": "first stay admitted through the emergency department",
    "discharge_destination": "destination at the last discharge (home, death, transfer, ...)",
    "service_type": "service of the last stay (general, psychiatric, ...)",
    "main_diagnosis_group": "linked main diagnosis group of the first stay (null: not linked)",
    "stay_type": "always 'classic': episodes chain classic stays",
    "n_stays": "stays chained in the episode",
    "transferred": "the episode chains stays of more than one hospital",
}


class IndexEvent(Selection):
    """The index: a hospital episode (classic stays chained across transfers), selected on its
    columns (admission and discharge, discharging hospital, destination, service, diagnosis)."""

    source: IndexSource = STAYS


class Window(Model):
    """Days after the index discharge, both ends included (1-30: the day after to day 30)."""

    from_days: int = Field(ge=0, le=365)
    to_days: int = Field(ge=0, le=365)

    @model_validator(mode="after")
    def _order(self) -> Window:
        if self.to_days < self.from_days:
            raise ValueError(f"to_days ({self.to_days}) is before from_days ({self.from_days})")
        return self


class FollowUp(Selection):
    """What is looked for after the index: another hospital episode (by its admission date) or
    a health-care claim (by its service date)."""

    source: FollowUpSource
    window: Window

    @model_validator(mode="after")
    def _later_episode(self) -> FollowUp:
        if SOURCE_REGISTRY[self.source].episodes and self.window.from_days < 1:
            raise ValueError(
                "a later episode starts at least 1 day after the discharge (an "
                "admission on the discharge day is chained into the episode): "
                "window.from_days must be 1 or more"
            )
        return self


class Event(Model):
    """An event sequence: index events, each with or without a follow-up inside the window.

    Index events whose window reaches past the end of the available data are left out, so that
    every counted index had its whole window observed."""

    id: Ident
    version: int = Field(ge=1)
    label: Text
    description: str | None = None
    index: IndexEvent
    follow_up: FollowUp


# ---------------------------------------------------------------------------------------------
# indicators


class AgeRange(Model):
    min: int | None = Field(default=None, ge=0, le=120)
    max: int | None = Field(default=None, ge=0, le=120)

    @model_validator(mode="after")
    def _order(self) -> AgeRange:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is above max ({self.max})")
        return self


class Population(Model):
    """The denominator: persons of the population table in the period year (age at 31 December)
    who pass every filter."""

    age: AgeRange = AgeRange()
    sex: Literal["M", "F"] | None = None
    alive_at_end: bool = Field(default=False, description="Leave out persons who died in the year.")
    insured_previous_year: bool = Field(
        default=False, description="Keep only persons also in the population the year before."
    )
    insured_years: int = Field(
        default=1,
        ge=1,
        le=10,
        description=(
            "Keep only persons in the population in each of these years, the period year included "
            "(3 = this year and the two before; 2 = insured_previous_year)."
        ),
    )
    where: list[Condition] = Field(default_factory=list, description="All must hold.")
    exclude: list[Condition] = Field(default_factory=list, description="Any one excludes.")


class HospitalComparison(Model):
    """Per discharging hospital: observed vs expected follow-ups, the expected count from a
    logistic risk model fitted on every index stay of the year, with funnel-plot limits."""

    risk_factors: list[str] = Field(
        min_length=1,
        description=(
            "Person-year variables of the model: 'age5' (5-year bands), 'sex', flags, numbers."
        ),
    )
    funnel: list[float] = Field(
        default_factory=lambda: [0.95, 0.998],
        min_length=1,
        description="Control-limit levels (two-sided).",
    )

    @field_validator("funnel")
    @classmethod
    def _levels(cls, v: list[float]) -> list[float]:
        bad = [x for x in v if not 0.5 < x < 1]
        if bad:
            raise ValueError(f"levels are between 0.5 and 1 (e.g. 0.95, 0.998), got {bad}")
        return sorted(set(v))


class Numerator(Model):
    """Persons meeting conditions (proportions) or the sum of a feature (rates, means, ratios),
    over the persons meeting ``where`` when both are given (the spending of the top 1%)."""

    where: list[Condition] | None = None
    sum: str | None = None

    @model_validator(mode="after")
    def _one(self) -> Numerator:
        if self.where is None and self.sum is None:
            raise ValueError(
                "give where (persons meeting conditions), sum, or both (a sum over "
                "the persons meeting the conditions)"
            )
        if self.where is not None and not self.where:
            raise ValueError("'where' needs at least one condition")
        return self


class Measure(Model):
    kind: MeasureName = Field(
        description="; ".join(f"{name}: {m.doc}" for name, m in MEASURES.items()) + "."
    )
    per: float = Field(default=1.0, gt=0, description="Multiplier: 100 for %, 1000 for per 1,000.")
    unit: str = Field(min_length=1, description="Unit as published, e.g. '%', 'per 1,000', 'EUR'.")
    decimals: int = Field(default=1, ge=0, le=6)
    denominator_sum: str | None = Field(
        default=None, description="Ratio only: the feature summed in the denominator."
    )
    denominator: DenominatorName = Field(
        default="persons",
        description=(
            "Rate only: persons, or person-time from the days insured in the year "
            "(person_years: days / days in the year; person_days: days)."
        ),
    )
    ci: IntervalName | None = Field(
        default=None,
        description="; ".join(f"{name}: {i.doc}" for name, i in INTERVALS.items())
        + " (default: the measure's first).",
    )
    ci_level: float = Field(default=0.95, gt=0.5, lt=1)

    @model_validator(mode="after")
    def _consistent(self) -> Measure:
        kind = MEASURES[self.kind]
        if kind.summed_denominator != (self.denominator_sum is not None):
            summed = " or ".join(n for n, m in MEASURES.items() if m.summed_denominator)
            raise ValueError(f"denominator_sum is required for a {summed} and only for a {summed}")
        if self.denominator != "persons" and not kind.person_time:
            timed = " or ".join(repr(n) for n, m in MEASURES.items() if m.person_time)
            raise ValueError(
                f"denominator {self.denominator!r} (person-time) goes with kind {timed}"
            )
        if self.ci is not None and self.ci not in kind.intervals:
            raise ValueError(
                f"ci {self.ci!r} does not fit a {self.kind}; use one of {sorted(kind.intervals)}"
            )
        return self

    @property
    def interval(self) -> str:
        return self.ci or MEASURES[self.kind].default_interval


class Breakdowns(Model):
    """Every combination is published at every geography level (a grouping set each)."""

    geography: list[GeoLevel] = Field(default_factory=lambda: list(GEO_LEVELS))
    areas: list[Ident] = Field(default_factory=list, description="Area-set ids (custom areas).")
    by: list[str | list[str]] = Field(
        default_factory=list,
        description=(
            "Breakdowns: 'sex', 'bim', 'age:<scheme>' or a person attribute; a list crosses them."
        ),
    )

    @field_validator("geography")
    @classmethod
    def _has_belgium(cls, v: list[str]) -> list[str]:
        if "belgium" not in v:
            raise ValueError(
                "include 'belgium': the national total is the reference of "
                "indirect standardisation and hospital comparisons"
            )
        if len(set(v)) != len(v):
            raise ValueError("a level is listed twice")
        return v

    @property
    def sets(self) -> list[tuple[str, ...]]:
        """Breakdown combinations, the total () first, each sorted, without repeats."""
        out: list[tuple[str, ...]] = [()]
        for item in self.by:
            combo = tuple(sorted({item} if isinstance(item, str) else set(item)))
            if combo not in out:
                out.append(combo)
        return out

    @property
    def dims(self) -> list[str]:
        return sorted({d for s in self.sets for d in s})


class Standardisation(Model):
    method: Literal["none", "direct", "indirect"] = "none"
    reference: str | None = Field(
        default=None,
        description=(
            "Direct: 'esp2013' or 'belgium_<year>' (age-sex reference population). Indirect: "
            "reference rates are Belgium's, same year."
        ),
    )

    @model_validator(mode="after")
    def _reference(self) -> Standardisation:
        if self.method == "direct":
            if self.reference is None:
                raise ValueError(
                    "direct standardisation needs a reference ('esp2013' or 'belgium_<year>')"
                )
            if not re.fullmatch(r"esp2013|belgium_20(19|20|21)", self.reference):
                raise ValueError(
                    f"unknown reference {self.reference!r}; expected 'esp2013' or "
                    "'belgium_<year>' for a year with Statbel figures shipped "
                    "(2019, 2020, 2021)"
                )
        elif self.reference is not None:
            raise ValueError(f"method {self.method!r} takes no reference")
        return self


class Disclosure(Model):
    min_count: int = Field(default=5, ge=1, description="Smallest publishable count of persons.")
    zero_is_safe: bool = Field(default=True, description="A numerator of 0 persons is publishable.")


class Indicator(Model):
    """One published indicator: who is counted (population), what is counted (numerator), how it
    is expressed (measure), by what it is broken down, standardised and protected."""

    id: Ident
    version: int = Field(ge=1)
    status: Literal["draft", "published", "retired"]
    owner: str = Field(min_length=2)
    changelog: list[ChangeEntry] = Field(min_length=1)
    theme: Literal[
        "demography",
        "prevention",
        "health_status",
        "care_consumption",
        "accessibility",
        "organisation",
        "quality_of_care",
    ]
    label: Text
    definition: Text
    references: list[str] = Field(default_factory=list, description="Sources of the definition.")
    collections: list[Ident] = Field(
        default_factory=lambda: ["atlas"],
        min_length=1,
        description="Sets the indicator is published in.",
    )
    grain: Literal["person_year", "stay", "person"] = Field(
        default="person_year",
        description=(
            "What is counted: persons (person_year), index stays of an event ('stay') or persons "
            "with an index stay ('person')."
        ),
    )
    events: Ident | None = Field(
        default=None,
        description=(
            "Event id (grain stay or person): the proportion of index events with a follow-up."
        ),
    )
    population: Population = Population()
    numerator: Numerator | None = None
    measure: Measure
    breakdowns: Breakdowns = Breakdowns()
    standardisation: Standardisation = Standardisation()
    disclosure: Disclosure = Disclosure()
    hospital_comparison: HospitalComparison | None = None
    pooled_years: int = Field(
        default=1,
        ge=1,
        le=5,
        description=(
            "Years pooled into one period (3: period Y adds up the numerators and denominators of "
            "Y-2, Y-1 and Y), for small areas."
        ),
    )
    change: bool = Field(
        default=False,
        description=(
            "Also publish the change versus the previous period (the period pooled_years before) "
            "with its interval."
        ),
    )

    @model_validator(mode="after")
    def _consistent(self) -> Indicator:
        kind = self.measure.kind
        if self.pooled_years > 1 and self.hospital_comparison is not None:
            raise ValueError("a hospital comparison is fitted per year: pooled_years must be 1")
        if self.pooled_years > 1 and self.standardisation.method == "indirect":
            raise ValueError(
                "indirect standardisation takes Belgium's rates of one year: "
                "pooled_years must be 1 (or standardise directly)"
            )
        versions = [c.version for c in self.changelog]
        if self.version not in versions:
            raise ValueError(f"the changelog has no entry for version {self.version}")
        if self.grain != "person_year":
            if self.events is None:
                raise ValueError(f"grain {self.grain!r} counts index events: give 'events'")
            if self.numerator is not None:
                raise ValueError(
                    "an event indicator's numerator is the index events with a "
                    "follow-up: leave 'numerator' out"
                )
            if kind != "proportion":
                raise ValueError(
                    "an event indicator is a proportion (of index events with a "
                    "follow-up): measure.kind must be 'proportion'"
                )
            if self.hospital_comparison is not None and self.grain != "stay":
                raise ValueError("hospital_comparison needs grain 'stay'")
            return self
        if self.events is not None:
            raise ValueError("'events' needs grain 'stay' or 'person'")
        if self.hospital_comparison is not None:
            raise ValueError("hospital_comparison needs grain 'stay'")
        if self.numerator is None:
            raise ValueError("give a numerator (where or sum)")
        counts = MEASURES[kind].counts_persons
        if counts and (self.numerator.where is None or self.numerator.sum):
            raise ValueError(f"a {kind} counts persons: give numerator.where (and no sum)")
        if not counts and self.numerator.sum is None:
            raise ValueError(f"a {kind} adds up a feature: give numerator.sum")
        if any(c.top is not None for c in self.population.where + self.population.exclude):
            raise ValueError(
                "'top' is relative to the indicator's population: use it in "
                "numerator.where, not in the population"
            )
        if self.standardisation.method != "none" and not MEASURES[kind].standardisable:
            raise ValueError(f"a {kind} of two sums cannot be age-sex standardised here")
        return self


# ---------------------------------------------------------------------------------------------
# code lists, age schemes, areas


class CodeList(Model):
    """A versioned list of codes. ATC lists may hold prefixes (``A10`` = every ATC5 under A10)."""

    id: Ident
    version: int = Field(ge=1)
    label: Text
    system: CodeSystemName
    codes: list[str] = Field(min_length=1)
    references: list[str] = Field(default_factory=list)
    synthetic: bool = Field(default=False, description="Codes are placeholders, not the real list.")
    allow_absent: bool = Field(
        default=False,
        description=(
            "None of the codes is expected in the shipped reference tables (a real list the "
            "synthetic warehouse never uses): a published indicator may use it. Needs 'reason'."
        ),
    )
    reason: str | None = Field(
        default=None,
        min_length=3,
        description=(
            "Why the codes are absent from the reference tables; goes with allow_absent: true."
        ),
    )

    @model_validator(mode="after")
    def _formats(self) -> CodeList:
        bad = {
            "nomenclature": [c for c in self.codes if not re.fullmatch(r"\d{6}", c)],
            "atc": [c for c in self.codes if not ATC_PREFIX.fullmatch(c)],
            "cnk": [c for c in self.codes if not re.fullmatch(r"\d{7}", c)],
            "diagnosis_group": [c for c in self.codes if not re.fullmatch(r"[a-z][a-z0-9_]*", c)],
        }[self.system]
        if bad:
            expected = {
                "nomenclature": "6-digit codes",
                "atc": "ATC codes or prefixes (A10, A10B, A10BA02)",
                "cnk": "7-digit CNK codes",
                "diagnosis_group": "lower-case group names",
            }[self.system]
            raise ValueError(f"expected {expected}, got {bad[:5]}")
        if len(set(self.codes)) != len(self.codes):
            raise ValueError("a code is listed twice")
        return self


class AgeBand(Model):
    from_: int = Field(alias="from", ge=0, le=120)
    to: int | None = Field(default=None, ge=0, le=120, description="Inclusive; none = open.")

    @property
    def label(self) -> str:
        return f"{self.from_}+" if self.to is None else f"{self.from_}-{self.to}"


class AgeScheme(Model):
    """Named age bands for breakdowns; they must cover 0 to any age without gaps or overlaps."""

    id: Ident
    label: Text
    bands: list[AgeBand] = Field(min_length=1)

    @model_validator(mode="after")
    def _contiguous(self) -> AgeScheme:
        expected = 0
        for i, band in enumerate(self.bands):
            if band.from_ != expected:
                raise ValueError(
                    f"band {i} starts at {band.from_}, expected {expected} "
                    "(bands must be contiguous from 0)"
                )
            if band.to is None:
                if i != len(self.bands) - 1:
                    raise ValueError(f"band {i} is open-ended but is not the last")
                return self
            if band.to < band.from_:
                raise ValueError(f"band {i} ends before it starts")
            expected = band.to + 1
        raise ValueError("the last band must be open-ended (to: none)")


class Area(Model):
    label: str
    municipalities: list[str] = Field(min_length=1)


class AreaSet(Model):
    """Custom areas (primary-care zones, pilot regions) defined as sets of municipalities."""

    id: Ident
    version: int = Field(ge=1)
    label: Text
    description: str | None = None
    areas: dict[str, Area] = Field(min_length=1)
