"""The resolved plan of a run: what is computed, in how many passes, and everything the passes
need to know about the specs. Pure Python, no Spark.

Resolve, then execute (like dbt's manifest): :func:`build_plan` reads the catalogue once and
copies into the plan every code list, age scheme, area membership and variable kind the passes
use, the columns each pass reads (with the spec file and line that asks for them) and the
geography hierarchy. The Spark passes (:mod:`phm.execute`) take ``(spark, warehouse, plan,
years)`` and never see the catalogue, and the plan round-trips through JSON
(:func:`plan_to_json`, :func:`plan_from_json`), so it can be stored, diffed and tested alone.

Sharing is decided here:
- every feature needed by the selected indicators is computed once, and all features that read
  the same source table share one pass over it (conditional aggregates in one group-by);
- all indicators and all their breakdowns are aggregated in one grouping-sets pass over a small
  cube (person-year table summed to municipality x breakdown values x age-sex strata).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from phm.spec.catalogue import Catalogue, feature_inputs, indicator_variables
from phm.spec.issues import Loc, dotted
from phm.registry.geography import GEO_COLUMNS, GEO_LEVELS
from phm.registry.sources import CODE_SYSTEMS, SOURCES, STAYS
from phm.spec.models import (
    EPISODE_COLUMNS,
    AgeScheme,
    CodeList,
    Event,
    Feature,
    Indicator,
    Selection,
)

# episode columns computed by the chaining of stays, not read from hospital_stay
DERIVED_EPISODE_COLUMNS = frozenset({"n_stays", "transferred", "stay_type"})


def dim_column(dim: str) -> str:
    """Cube column of a breakdown dimension: 'age:atlas' -> 'age_atlas'."""
    return dim.replace(":", "_")


def code_column(codelist: CodeList) -> str:
    """The source column a code list is matched against."""
    return CODE_SYSTEMS[codelist.system][1]


@dataclass(frozen=True)
class SourcePass:
    """One scan of a source table computing several features in one aggregation."""

    table: str
    features: tuple[Feature, ...]

    @property
    def per_code(self) -> str | None:
        """The code column the pass first sums per (pharmacy: ATC5, so thresholds per medicine,
        >= 80 DDD, and distinct medicines come out of the same pass); None: one group-by."""
        return SOURCES[self.table].per_code

    @property
    def max_window(self) -> int:
        return max(f.window_years for f in self.features)


@dataclass(frozen=True)
class ColumnRead:
    """A source column a pass reads, and the spec field that asks for it (for the error a
    warehouse without the column gets: file, line, field, and the indicators that need it)."""

    table: str
    column: str
    file: str
    line: int | None
    field: str
    used_by: tuple[str, ...]  # indicator ids


@dataclass(frozen=True)
class Plan:
    indicators: tuple[Indicator, ...]
    passes: tuple[SourcePass, ...]
    derived: tuple[Feature, ...]  # in dependency order
    dims: tuple[str, ...]  # breakdown dimensions present in the cube
    grouping_sets: tuple[tuple[str, tuple[str, ...]], ...]  # (geo level, breakdown dims)
    area_sets: tuple[tuple[str, tuple[tuple[str, ...], ...]], ...]  # (area set, breakdowns)
    hashes: dict[str, str]
    events: tuple[Event, ...] = ()  # event sequences, indexed in one pass over the stays
    # -- resolved from the catalogue: what the passes would otherwise look up while running
    codelists: dict[str, CodeList] = field(default_factory=dict)  # read by features, events
    age_schemes: dict[str, AgeScheme] = field(default_factory=dict)  # of 'age:' breakdowns
    area_members: dict[str, tuple[tuple[str, str], ...]] = field(
        default_factory=dict
    )  # area set -> (municipality NIS, area code) pairs
    variable_kinds: dict[str, str] = field(default_factory=dict)  # of risk-model factors
    indicator_features: dict[str, tuple[str, ...]] = field(
        default_factory=dict
    )  # indicator id -> features it reads, inputs included
    reads: tuple[ColumnRead, ...] = ()  # source columns the passes read
    geography: tuple[tuple[str, str | None], ...] = tuple(GEO_COLUMNS.items())

    @property
    def features(self) -> tuple[Feature, ...]:
        return tuple(f for p in self.passes for f in p.features) + self.derived

    def feature(self, name: str) -> Feature | None:
        return next((f for f in self.features if f.id == name), None)

    def features_of(self, ind: Indicator) -> list[Feature]:
        """The features an indicator reads (derived features' inputs included), inputs first."""
        by_id = {f.id: f for f in self.features}
        return [by_id[name] for name in self.indicator_features[ind.id]]

    def event(self, event_id: str) -> Event:
        return next(e for e in self.events if e.id == event_id)

    @property
    def geo_columns(self) -> dict[str, str | None]:
        return dict(self.geography)

    @property
    def lookback_years(self) -> int:
        """Years read before the first period year: windows and 'insured_previous_year'."""
        return max([p.max_window for p in self.passes] + [2]) - 1


def _passes(features: list[Feature]) -> tuple[SourcePass, ...]:
    return tuple(
        SourcePass(table, tuple(f for f in features if f.source == table))
        for table in SOURCES
        if any(f.source == table for f in features)
    )


def _codelists(
    catalogue: Catalogue, features: list[Feature], events: list[Event]
) -> dict[str, CodeList]:
    names = {f.codes for f in features if f.codes}
    names |= {
        c
        for e in events
        for sel in (e.index, e.follow_up)
        for c in (sel.codes, sel.exclude_codes)
        if c
    }
    return {n: catalogue.codelists[n] for n in sorted(names)}


def _area_members(catalogue: Catalogue, names: list[str]) -> dict[str, tuple[tuple[str, str], ...]]:
    return {
        name: tuple(
            (nis, code)
            for code, area in catalogue.areas[name].areas.items()
            for nis in area.municipalities
        )
        for name in sorted(names)
    }


def feature_plan(catalogue: Catalogue, names: list[str]) -> Plan:
    """A plan computing only these person-year features (and their inputs), for readers of
    the person-year table other than indicators (financing simulations)."""
    features = catalogue.features_named(sorted(names))
    return Plan(
        (),
        _passes(features),
        tuple(f for f in features if f.derived is not None),
        (),
        (),
        (),
        {},
        codelists=_codelists(catalogue, features, []),
        reads=tuple(_reads(catalogue, features, [], [])),
    )


def build_plan(catalogue: Catalogue, indicators: list[Indicator]) -> Plan:
    features = catalogue.features_for(indicators)
    events = catalogue.events_for(indicators)
    dims = tuple(sorted({d for ind in indicators for d in ind.breakdowns.dims}))
    sets: list[tuple[str, tuple[str, ...]]] = []
    for level in GEO_LEVELS:
        for ind in indicators:
            if level not in ind.breakdowns.geography:
                continue
            for combo in ind.breakdowns.sets:
                if (level, combo) not in sets:
                    sets.append((level, combo))
    area_sets: dict[str, list[tuple[str, ...]]] = {}
    for ind in indicators:
        for area in ind.breakdowns.areas:
            combos = area_sets.setdefault(area, [])
            combos += [c for c in ind.breakdowns.sets if c not in combos]
    factors = {
        f
        for ind in indicators
        if ind.hospital_comparison
        for f in ind.hospital_comparison.risk_factors
    }
    return Plan(
        indicators=tuple(indicators),
        passes=_passes(features),
        derived=tuple(f for f in features if f.derived is not None),
        dims=dims,
        grouping_sets=tuple(sets),
        area_sets=tuple((a, tuple(c)) for a, c in sorted(area_sets.items())),
        hashes={ind.id: catalogue.hash_of("indicators", ind.id) for ind in indicators},
        events=tuple(events),
        codelists=_codelists(catalogue, features, events),
        age_schemes={
            s: catalogue.age_schemes[s]
            for s in sorted(d.split(":", 1)[1] for d in dims if d.startswith("age:"))
        },
        area_members=_area_members(catalogue, list(area_sets)),
        variable_kinds={
            f: kind for f in sorted(factors) if (kind := catalogue.variable_kind(f)) is not None
        },
        indicator_features={
            ind.id: tuple(f.id for f in catalogue.features_for([ind])) for ind in indicators
        },
        reads=tuple(_reads(catalogue, features, events, indicators)),
    )


# ---------------------------------------------------------------------------------------------
# columns each pass reads


def _read(
    catalogue: Catalogue,
    kind: str,
    ident: str,
    table: str,
    column: str,
    loc: Loc,
    users: tuple[str, ...],
) -> ColumnRead:
    source = catalogue.sources.get((kind, ident))
    return ColumnRead(
        table,
        column,
        source.name if source else f"{kind}/{ident}",
        source.line_of(loc) if source else None,
        dotted(loc),
        users,
    )


def _selection_reads(
    catalogue: Catalogue, table: str, ident: str, loc: Loc, sel: Selection, users: tuple[str, ...]
) -> list[ColumnRead]:
    out = []
    for key in ("codes", "exclude_codes"):
        name = getattr(sel, key)
        if name:
            out.append(
                _read(
                    catalogue,
                    "events",
                    ident,
                    table,
                    code_column(catalogue.codelists[name]),
                    loc + (key,),
                    users,
                )
            )
    for key in ("where", "exclude"):
        for col in getattr(sel, key):
            if SOURCES[table].episodes and col in DERIVED_EPISODE_COLUMNS:
                continue
            out.append(_read(catalogue, "events", ident, table, col, loc + (key, col), users))
    return out


def _reads(
    catalogue: Catalogue, features: list[Feature], events: list[Event], indicators: list[Indicator]
) -> list[ColumnRead]:
    """Every source column the feature passes and the event indexing read."""
    by_feature = {
        f.id: tuple(i.id for i in indicators if f.id in {g.id for g in catalogue.features_for([i])})
        for f in features
    }
    out: list[ColumnRead] = []
    for f in features:
        if f.derived is not None:
            continue
        assert f.source is not None  # not derived: Feature._shape requires it
        users = by_feature[f.id]
        if f.codes:
            out.append(
                _read(
                    catalogue,
                    "features",
                    f.id,
                    f.source,
                    code_column(catalogue.codelists[f.codes]),
                    ("codes",),
                    users,
                )
            )
        out += [
            _read(catalogue, "features", f.id, f.source, c, ("where", c), users) for c in f.where
        ]
        if f.of:
            out.append(_read(catalogue, "features", f.id, f.source, f.of, ("of",), users))
        if f.having:
            out.append(
                _read(
                    catalogue,
                    "features",
                    f.id,
                    f.source,
                    f.having.sum_of,
                    ("having", "sum_of"),
                    users,
                )
            )
    for e in events:
        users = tuple(i.id for i in indicators if i.events == e.id)
        out += _selection_reads(catalogue, STAYS, e.id, ("index",), e.index, users)
        out += _selection_reads(
            catalogue, e.follow_up.source, e.id, ("follow_up",), e.follow_up, users
        )
    if events:  # the chaining of stays into episodes itself
        users = tuple(i.id for i in indicators if i.events)
        out += [
            _read(catalogue, "events", events[0].id, STAYS, c, ("index",), users)
            for c in EPISODE_COLUMNS
            if c not in DERIVED_EPISODE_COLUMNS and c != "main_diagnosis_group"
        ]
    return out


# ---------------------------------------------------------------------------------------------
# serialisation


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    """The plan as JSON-ready data (spec models dumped by alias, as written in YAML)."""

    def dump(model: Any) -> Any:
        return model.model_dump(mode="json", by_alias=True, exclude_unset=False)

    return {
        "indicators": [dump(i) for i in plan.indicators],
        "passes": [
            {"table": p.table, "features": [dump(f) for f in p.features]} for p in plan.passes
        ],
        "derived": [dump(f) for f in plan.derived],
        "dims": list(plan.dims),
        "grouping_sets": [[level, list(combo)] for level, combo in plan.grouping_sets],
        "area_sets": [[a, [list(c) for c in combos]] for a, combos in plan.area_sets],
        "hashes": dict(plan.hashes),
        "events": [dump(e) for e in plan.events],
        "codelists": {n: dump(c) for n, c in plan.codelists.items()},
        "age_schemes": {n: dump(s) for n, s in plan.age_schemes.items()},
        "area_members": {a: [list(m) for m in members] for a, members in plan.area_members.items()},
        "variable_kinds": dict(plan.variable_kinds),
        "indicator_features": {i: list(fs) for i, fs in plan.indicator_features.items()},
        "reads": [
            {
                "table": r.table,
                "column": r.column,
                "file": r.file,
                "line": r.line,
                "field": r.field,
                "used_by": list(r.used_by),
            }
            for r in plan.reads
        ],
        "geography": [[level, column] for level, column in plan.geography],
    }


def plan_from_dict(data: dict[str, Any]) -> Plan:
    """The inverse of :func:`plan_to_dict` (the spec models are validated again)."""
    return Plan(
        indicators=tuple(Indicator.model_validate(i) for i in data["indicators"]),
        passes=tuple(
            SourcePass(p["table"], tuple(Feature.model_validate(f) for f in p["features"]))
            for p in data["passes"]
        ),
        derived=tuple(Feature.model_validate(f) for f in data["derived"]),
        dims=tuple(data["dims"]),
        grouping_sets=tuple((level, tuple(combo)) for level, combo in data["grouping_sets"]),
        area_sets=tuple((a, tuple(tuple(c) for c in combos)) for a, combos in data["area_sets"]),
        hashes=dict(data["hashes"]),
        events=tuple(Event.model_validate(e) for e in data["events"]),
        codelists={n: CodeList.model_validate(c) for n, c in data["codelists"].items()},
        age_schemes={n: AgeScheme.model_validate(s) for n, s in data["age_schemes"].items()},
        area_members={
            a: tuple((nis, code) for nis, code in members)
            for a, members in data["area_members"].items()
        },
        variable_kinds=dict(data["variable_kinds"]),
        indicator_features={i: tuple(fs) for i, fs in data["indicator_features"].items()},
        reads=tuple(
            ColumnRead(
                r["table"], r["column"], r["file"], r["line"], r["field"], tuple(r["used_by"])
            )
            for r in data["reads"]
        ),
        geography=tuple((level, column) for level, column in data["geography"]),
    )


def plan_to_json(plan: Plan) -> str:
    return json.dumps(plan_to_dict(plan), indent=1, sort_keys=True, ensure_ascii=False)


def plan_from_json(text: str) -> Plan:
    return plan_from_dict(json.loads(text))


__all__ = [
    "GEO_COLUMNS",
    "ColumnRead",
    "Plan",
    "SourcePass",
    "build_plan",
    "code_column",
    "dim_column",
    "feature_inputs",
    "feature_plan",
    "indicator_variables",
    "plan_from_dict",
    "plan_from_json",
    "plan_to_dict",
    "plan_to_json",
]
