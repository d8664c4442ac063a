"""Load a spec folder into a checked catalogue, with every problem reported at once.

Layout (each file holds one spec whose ``id`` is the file name)::

    indicator_specs/
      indicators/**/<id>.yaml   features/**/<id>.yaml   codelists/**/<id>.yaml
      age_schemes/<id>.yaml     areas/<id>.yaml          simulations/<id>.yaml

Files may end in ``.yaml`` or ``.yml``; a YAML file outside these folders is an error (a
misspelled folder would hide its specs), hidden folders are skipped, and so is ``layouts/``
(delivery layouts, read by :mod:`phm.data.layouts`).

Checks, in order: YAML syntax, duplicate keys and aliases; the shape of each spec (pydantic);
then what a single file cannot tell: references between specs (code lists, features, age
schemes, areas), source columns and their values, types of the tests, cycles between derived
features, code lists of published indicators of which no code is known. Each problem names the
file, the line, the field, what was expected, and the closest known name when it looks like a
typo.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from phm.data.schemas import BOOL, SOURCE_TABLES, STR, Column
from phm.registry.aggregates import AGGREGATES
from phm.registry.sources import CODE_SYSTEMS, SOURCES
from phm.spec.attributes import ATTRIBUTES, BREAKDOWN_ATTRIBUTES
from phm.spec.issues import Loc, SpecError, SpecIssue, display_path, dotted, suggest
from phm.spec.models import (
    EPISODE_COLUMNS,
    AgeScheme,
    AreaSet,
    CodeList,
    Condition,
    Event,
    Feature,
    Indicator,
    Selection,
)
from phm.spec.scenario import SCENARIO_FACTORS, Scenario
from phm.spec.yaml_source import YamlSource, read_yaml

KINDS: dict[str, type[BaseModel]] = {
    "indicators": Indicator,
    "features": Feature,
    "events": Event,
    "codelists": CodeList,
    "age_schemes": AgeScheme,
    "areas": AreaSet,
    "simulations": Scenario,
}


@dataclass
class Catalogue:
    root: Path
    indicators: dict[str, Indicator] = field(default_factory=dict)
    features: dict[str, Feature] = field(default_factory=dict)
    events: dict[str, Event] = field(default_factory=dict)
    codelists: dict[str, CodeList] = field(default_factory=dict)
    age_schemes: dict[str, AgeScheme] = field(default_factory=dict)
    areas: dict[str, AreaSet] = field(default_factory=dict)
    simulations: dict[str, Scenario] = field(default_factory=dict)
    sources: dict[tuple[str, str], YamlSource] = field(default_factory=dict)
    warnings: list[SpecIssue] = field(default_factory=list)
    # specs on disk that did not load (folder -> ids), and who referred to them while checking:
    # a reference to such a spec is not an error of its own (no cascade of 'unknown feature')
    failed: dict[str, set[str]] = field(default_factory=dict, repr=False)
    blocked: dict[tuple[str, str], set[str]] = field(default_factory=dict, repr=False)

    # -- lookups ---------------------------------------------------------------------------
    def select(
        self,
        ids: Iterable[str] | None = None,
        *,
        include_drafts: bool = True,
        collections: Iterable[str] | None = None,
    ) -> list[Indicator]:
        """Indicators by id, plus those of the named collections (all non-retired when both
        are empty), in id order."""
        ids, collections = list(ids or []), list(collections or [])
        unknown = [i for i in ids if i not in self.indicators]
        known = {c for s in self.indicators.values() for c in s.collections}
        issues = [
            SpecIssue("--specs", None, "", f"unknown indicator {u!r}{suggest(u, self.indicators)}")
            for u in unknown
        ]
        issues += [
            SpecIssue(
                "--collection",
                None,
                "",
                f"unknown collection {c!r}{suggest(c, known)} (known: {', '.join(sorted(known))})",
            )
            for c in collections
            if c not in known
        ]
        if issues:
            raise SpecError(issues)
        live = [
            i
            for i, s in self.indicators.items()
            if s.status != "retired" and (include_drafts or s.status == "published")
        ]
        chosen = ids + [i for i in live if set(self.indicators[i].collections) & set(collections)]
        if not ids and not collections:
            chosen = live
        return [self.indicators[i] for i in sorted(set(chosen))]

    def variable_kind(self, name: str) -> str | None:
        """'number', 'flag' or 'category' for an attribute or feature; None when unknown."""
        if name in ATTRIBUTES:
            return ATTRIBUTES[name].kind
        feature = self.features.get(name)
        if feature is None:
            return None
        if feature.derived is not None:
            return "number" if feature.derived.sum_of is not None else "flag"
        assert feature.aggregate is not None  # not derived: Feature._shape requires it
        return AGGREGATES[feature.aggregate].kind

    def events_for(self, indicators: Iterable[Indicator]) -> list[Event]:
        """Event sequences the indicators count, in id order."""
        return [self.events[e] for e in sorted({i.events for i in indicators if i.events})]

    def features_for(self, indicators: Iterable[Indicator]) -> list[Feature]:
        """Every feature the indicators need, derived features' inputs included, inputs first."""
        return self.features_named(
            n for ind in indicators for n in sorted(indicator_variables(ind))
        )

    def features_named(self, names: Iterable[str]) -> list[Feature]:
        """These features (names that are not features are skipped) and their inputs, inputs
        first."""
        order: list[str] = []

        def visit(name: str) -> None:
            feature = self.features.get(name)
            if feature is None or name in order:
                return
            for dep in feature_inputs(feature):
                visit(dep)
            order.append(name)

        for name in names:
            visit(name)
        return [self.features[n] for n in order]

    # -- content hashes --------------------------------------------------------------------
    def hash_of(self, kind: str, ident: str) -> str:
        """sha256 of a spec's canonical content and of everything it depends on."""
        spec = getattr(self, kind)[ident]
        deps: list[str] = []
        if isinstance(spec, Feature):
            if spec.codes:
                deps.append(self.hash_of("codelists", spec.codes))
            deps += [
                self.hash_of("features", f) for f in feature_inputs(spec) if f in self.features
            ]
        elif isinstance(spec, Event):
            deps += [
                self.hash_of("codelists", c) for c in event_codelists(spec) if c in self.codelists
            ]
        elif isinstance(spec, Indicator):
            deps += [
                self.hash_of("features", f)
                for f in sorted(indicator_variables(spec))
                if f in self.features
            ]
            if spec.events and spec.events in self.events:
                deps.append(self.hash_of("events", spec.events))
            deps += [
                self.hash_of("age_schemes", d.split(":", 1)[1])
                for d in spec.breakdowns.dims
                if d.startswith("age:")
            ]
            deps += [self.hash_of("areas", a) for a in spec.breakdowns.areas]
        elif isinstance(spec, Scenario):
            deps += [
                self.hash_of("features", f)
                for f in sorted(scenario_variables(spec))
                if f in self.features
            ]
            if spec.attribution.areas in self.areas:
                deps.append(self.hash_of("areas", spec.attribution.areas))
        payload = json.dumps([spec.model_dump(mode="json", by_alias=True), deps], sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


def feature_inputs(feature: Feature) -> list[str]:
    if feature.derived is None:
        return []
    if feature.derived.sum_of is not None:
        return list(feature.derived.sum_of)
    return [c.feature for c in (feature.derived.any_of or feature.derived.all_of or [])]


def event_codelists(event: Event) -> list[str]:
    return [
        c for sel in (event.index, event.follow_up) for c in (sel.codes, sel.exclude_codes) if c
    ]


def indicator_conditions(ind: Indicator) -> list[tuple[Loc, Condition]]:
    out: list[tuple[Loc, Condition]] = [
        (("population", "where", i), c) for i, c in enumerate(ind.population.where)
    ]
    out += [(("population", "exclude", i), c) for i, c in enumerate(ind.population.exclude)]
    numerator = ind.numerator.where if ind.numerator else None
    out += [(("numerator", "where", i), c) for i, c in enumerate(numerator or [])]
    return out


# risk factors that are not person-year variables of their own
MODEL_ONLY_FACTORS = ("age5",)


def scenario_variables(sc: Scenario) -> set[str]:
    """Person-year variables a scenario reads (its variants' included)."""
    names: set[str] = set()
    for variant in _safe_variants(sc).values():
        names |= {c.feature for c in variant.attribution.target_group}
        names |= set(variant.cost.features)
        names |= {f for f in variant.risk_model.factors if f not in SCENARIO_FACTORS}
    return names


def _safe_variants(sc: Scenario) -> dict[str, Scenario]:
    try:
        return sc.variants()
    except ValidationError:
        return {"base": sc}


def indicator_variables(ind: Indicator) -> set[str]:
    names = {c.feature for _, c in indicator_conditions(ind)}
    names |= {
        n for n in (ind.numerator.sum if ind.numerator else None, ind.measure.denominator_sum) if n
    }
    names |= {d for d in ind.breakdowns.dims if not d.startswith("age:")}
    if ind.hospital_comparison:
        names |= {f for f in ind.hospital_comparison.risk_factors if f not in MODEL_ONLY_FACTORS}
    return names


# ---------------------------------------------------------------------------------------------
# loading


def load_catalogue(root: Path | str) -> Catalogue:
    """Load and check every spec under ``root``; raise :class:`SpecError` listing all errors."""
    root = Path(root)
    if not root.is_dir():
        raise SpecError([SpecIssue(str(root), None, "", "spec folder not found")])
    cat = Catalogue(root)
    files, issues = _spec_files(root)
    for folder, model in KINDS.items():
        for path in files.get(folder, []):
            try:
                source = read_yaml(path)
            except SpecError as exc:
                issues += exc.issues
                cat.failed.setdefault(folder, set()).add(path.stem)
                continue
            spec = _validate(source, model, issues)
            if spec is None:
                cat.failed.setdefault(folder, set()).add(path.stem)
                continue
            if spec.id != path.stem:
                cat.failed.setdefault(folder, set()).add(path.stem)
                issues.append(
                    SpecIssue(
                        source.name,
                        source.line_of(("id",)),
                        "id",
                        f"id {spec.id!r} differs from the file name "
                        f"{path.stem!r}; name the file <id>.yaml",
                    )
                )
            bucket = getattr(cat, folder)
            if spec.id in bucket:
                first = cat.sources[(folder, spec.id)].name
                issues.append(
                    SpecIssue(
                        source.name,
                        source.line_of(("id",)),
                        "id",
                        f"{folder[:-1]} {spec.id!r} is already defined in {first}",
                    )
                )
                continue
            bucket[spec.id] = spec
            cat.sources[(folder, spec.id)] = source
    issues += _check_references(cat)
    issues += _blocked_notes(cat)
    cat.warnings = [i for i in issues if i.severity == "warning"]
    errors = [i for i in issues if i.severity == "error"]
    if errors:
        raise SpecError(errors + [i for i in issues if i.severity == "note"])
    return cat


def _failed(cat: Catalogue, kind: str, name: str, referrer: str) -> bool:
    """Whether ``name`` is a spec of ``kind`` that exists on disk but did not load: its own
    errors are reported, so a reference to it is not one more ('unknown feature x; did you mean
    <another id>' would send the reader to the wrong spec). The referrer is remembered for one
    note."""
    if name not in cat.failed.get(kind, ()):
        return False
    cat.blocked.setdefault((kind, name), set()).add(referrer)
    return True


def _blocked_notes(cat: Catalogue) -> list[SpecIssue]:
    """One note per spec that did not load, naming the specs that use it."""
    notes = []
    for (kind, name), user_set in sorted(cat.blocked.items()):
        file = _failed_file(cat, kind, name)
        users = sorted(user_set)
        shown = ", ".join(users[:6]) + (f" and {len(users) - 6} more" if len(users) > 6 else "")
        notes.append(
            SpecIssue(
                file,
                None,
                "",
                f"not loaded because of the error(s) above; used by {shown} (checked without it)",
                "note",
            )
        )
    return notes


def _failed_file(cat: Catalogue, kind: str, name: str) -> str:
    found = [p for suffix in YAML_SUFFIXES for p in (cat.root / kind).rglob(f"{name}{suffix}")]
    return display_path(found[0]) if found else f"{kind}/{name}"


YAML_SUFFIXES = (".yaml", ".yml")
# folders of the specs directory that hold other YAML than specs: delivery layouts
# (phm.data.layouts reads and checks them; the catalogue leaves them alone)
NOT_SPEC_FOLDERS = frozenset({"layouts"})


def _spec_files(root: Path) -> tuple[dict[str, list[Path]], list[SpecIssue]]:
    """Every YAML file under ``root`` by spec folder; a YAML file outside the spec folders is an
    error (a misspelled folder would otherwise hide its specs)."""
    files: dict[str, list[Path]] = {}
    issues: list[SpecIssue] = []
    found = sorted(
        p
        for p in root.rglob("*")
        if p.suffix.lower() in YAML_SUFFIXES
        and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )
    for path in found:
        parts = path.relative_to(root).parts
        folder = parts[0] if len(parts) > 1 else None
        if folder in KINDS:
            files.setdefault(folder, []).append(path)
            continue
        if folder in NOT_SPEC_FOLDERS:
            continue
        known = ", ".join(KINDS)
        if folder is None:
            message = f"not in a spec folder: put it in one of {known} (it is not read)"
        else:
            message = (
                f"the file is not read: {folder!r} is not a spec folder"
                f"{suggest(folder, KINDS)} (spec folders: {known})"
            )
        issues.append(SpecIssue(display_path(path), None, "", message))
    return files, issues


_TYPE_NAMES = {
    dict: "a mapping",
    list: "a list",
    str: "a text",
    int: "a number",
    float: "a number",
    bool: "true/false",
}


def _validate(source: YamlSource, model: type[BaseModel], issues: list[SpecIssue]) -> Any:
    if not isinstance(source.data, dict):
        got = (
            "an empty file"
            if source.data is None
            else _TYPE_NAMES.get(type(source.data), "a single value")
        )
        issues.append(
            SpecIssue(
                source.name, 1, "", f"expected a mapping of fields (key: value lines), got {got}"
            )
        )
        return None
    try:
        return model.model_validate(source.data)
    except ValidationError as exc:
        for err in exc.errors():
            issues.append(_issue_from_pydantic(source, model, err))
        return None


def _issue_from_pydantic(
    source: YamlSource, model: type[BaseModel], err: ErrorDetails
) -> SpecIssue:
    # keep only the parts of the location that exist in the YAML (unions add type tags)
    loc: Loc = ()
    for part in err["loc"]:
        if loc + (part,) in source.lines or err["type"] == "missing":
            loc += (part,)
    message = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        allowed = _fields_at(model, loc[:-1])
        message = f"unknown field {loc[-1]!r}{suggest(str(loc[-1]), allowed)}"
        if allowed:
            message += f" (allowed: {', '.join(sorted(allowed))})"
    elif err["type"] == "missing":
        message = "required field missing"
    elif err["type"] == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        choices = [c.strip(" '") for c in expected.replace(" or ", ",").split(",")]
        message = (
            f"expected one of {expected}, got {err.get('input')!r}"
            f"{suggest(str(err.get('input')), choices)}"
        )
    else:
        message = _plain_message(err, message)
        if "input" in err and not isinstance(err["input"], (dict, list)):
            message += f" (got {err['input']!r})"
    line = source.line_of(loc if err["type"] != "missing" else loc[:-1])
    return SpecIssue(source.name, line, dotted(loc), message)


IDENT_PATTERN = "^[a-z][a-z0-9_]*$"


def _plain_message(err: ErrorDetails, message: str) -> str:
    """pydantic's wording without Python or regex jargon ('instance of Text', patterns)."""
    kind = err["type"]
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        got = err.get("input")
        what = "nothing" if got is None else _TYPE_NAMES.get(type(got), "a single value")
        return f"expected a mapping (key: value lines), got {what}"
    if kind == "string_pattern_mismatch":
        if err.get("ctx", {}).get("pattern") == IDENT_PATTERN:
            return (
                "expected a lower-case identifier: letters a-z, digits and _, starting with "
                "a letter"
            )
        return "the text does not have the expected form"
    return message.replace("NoneType", "nothing")


def _fields_at(model: type[BaseModel], loc: Loc) -> list[str]:
    """Field names (aliases) of the model found at ``loc`` inside ``model``, for suggestions."""
    current: Any = model
    for part in loc:
        current = _unwrap(current, part)
        if current is None:
            return []
    current = _unwrap(current, None)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or n for n, f in current.model_fields.items()]
    return []


def _unwrap(tp: Any, part: Any) -> Any:
    """Step from a type into its field / item ``part`` (None = just unwrap containers)."""
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        if part is None:
            return tp
        for name, f in tp.model_fields.items():
            if part in (name, f.alias):
                return f.annotation
        return None
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        for arg in args:
            found = _unwrap(arg, part)
            if found is not None:
                return found
        return None
    if origin is typing.Annotated:
        return _unwrap(args[0], part)
    if origin is list and part is not None and isinstance(part, int):
        return args[0]
    if origin is dict and part is not None and isinstance(part, str):
        return args[1]
    return None if part is not None else tp


# ---------------------------------------------------------------------------------------------
# checks across specs


def _check_references(cat: Catalogue) -> list[SpecIssue]:
    issues: list[SpecIssue] = []
    for fid, feature in cat.features.items():
        issues += _check_feature(cat, fid, feature)
    issues += _check_cycles(cat)
    for eid, event in cat.events.items():
        issues += _check_event(cat, eid, event)
    for iid, ind in cat.indicators.items():
        issues += _check_indicator(cat, iid, ind)
    for aid, area_set in cat.areas.items():
        issues += _check_areas(cat, aid, area_set)
    used_by = _published_users(cat)
    for cid, codelist in cat.codelists.items():
        issues += _check_codelist(cat, cid, codelist, used_by.get(cid, []))
    for sid, scenario in cat.simulations.items():
        issues += _check_scenario(cat, sid, scenario)
    return issues


def _at(
    cat: Catalogue, kind: str, ident: str, loc: Loc, message: str, severity: str = "error"
) -> SpecIssue:
    source = cat.sources[(kind, ident)]
    return SpecIssue(source.name, source.line_of(loc), dotted(loc), message, severity)


def _check_condition(
    cat: Catalogue, kind: str, ident: str, loc: Loc, cond: Condition
) -> list[SpecIssue]:
    var_kind = cat.variable_kind(cond.feature)
    if var_kind is None and _failed(cat, "features", cond.feature, ident):
        return []
    if var_kind is None:
        known = list(cat.features) + list(ATTRIBUTES)
        return [
            _at(
                cat,
                kind,
                ident,
                loc + ("feature",),
                f"unknown feature or attribute {cond.feature!r}{suggest(cond.feature, known)}",
            )
        ]
    numeric_test = cond.at_least is not None or cond.at_most is not None or cond.top is not None
    if cond.top is not None and (kind != "indicators" or loc[:2] != ("numerator", "where")):
        return [
            _at(
                cat,
                kind,
                ident,
                loc + ("top",),
                "'top' ranks the persons of an "
                "indicator's population: it goes in an indicator's numerator.where only",
            )
        ]
    if numeric_test and var_kind != "number":
        return [
            _at(
                cat,
                kind,
                ident,
                loc,
                f"{cond.feature!r} is a {var_kind}: test it with "
                "equals/in, not at_least/at_most/top",
            )
        ]
    if var_kind == "flag" and cond.equals is not None and not isinstance(cond.equals, bool):
        return [
            _at(
                cat,
                kind,
                ident,
                loc + ("equals",),
                f"{cond.feature!r} is a flag: expected true or false, got {cond.equals!r}",
            )
        ]
    population = SOURCE_TABLES["population"]
    if (
        var_kind == "category"
        and cond.feature in ATTRIBUTES
        and cond.feature in population.column_names
    ):
        test = "equals" if cond.equals is not None else "in"
        value = cond.equals if cond.equals is not None else cond.in_
        message = _check_values("population", population.column(cond.feature), value)
        if message:
            return [_at(cat, kind, ident, loc + (test,), message)]
    return []


def _check_feature(cat: Catalogue, fid: str, f: Feature) -> list[SpecIssue]:
    issues: list[SpecIssue] = []
    if f.derived is not None and f.derived.sum_of is not None:
        for i, name in enumerate(f.derived.sum_of):
            kind = cat.variable_kind(name)
            if kind is None and _failed(cat, "features", name, fid):
                continue
            if kind != "number":
                what = "unknown feature" if kind is None else f"{kind} feature"
                issues.append(
                    _at(
                        cat,
                        "features",
                        fid,
                        ("derived", "sum_of", i),
                        f"{what} "
                        f"{name!r}: sum_of adds numeric features"
                        f"{suggest(name, cat.features) if kind is None else ''}",
                    )
                )
        return issues
    if f.derived is not None:
        conds = f.derived.any_of or f.derived.all_of or []
        key = "any_of" if f.derived.any_of else "all_of"
        for i, cond in enumerate(conds):
            issues += _check_condition(cat, "features", fid, ("derived", key, i), cond)
        return issues
    # not derived: Feature._shape requires source and aggregate
    assert f.source is not None and f.aggregate is not None
    table = SOURCE_TABLES[f.source]
    columns = {c.name: c for c in table.columns}
    if f.codes is not None:
        issues += _check_codelist_use(cat, "features", fid, ("codes",), f.codes, f.source)
    for col, value in f.where.items():
        if col not in columns:
            issues.append(
                _at(
                    cat,
                    "features",
                    fid,
                    ("where", col),
                    f"{f.source} has no column {col!r}{suggest(col, columns)}",
                )
            )
        else:
            message = _check_values(f.source, columns[col], value)
            if message:
                issues.append(_at(cat, "features", fid, ("where", col), message))
    if f.of is not None:
        if f.of not in columns:
            issues.append(
                _at(
                    cat,
                    "features",
                    fid,
                    ("of",),
                    f"{f.source} has no column {f.of!r}{suggest(f.of, columns)}",
                )
            )
        elif AGGREGATES[f.aggregate].numeric_of and not columns[f.of].dtype.numeric:
            issues.append(
                _at(
                    cat,
                    "features",
                    fid,
                    ("of",),
                    f"{f.aggregate} needs a numeric "
                    f"column; {f.source}.{f.of} is {columns[f.of].dtype.ddl}",
                )
            )
    per_code = SOURCES[f.source].per_code
    if per_code and f.aggregate == "count_distinct" and f.of != per_code:
        # such a table is aggregated per person, year and code first (thresholds per medicine)
        issues.append(
            _at(
                cat,
                "features",
                fid,
                ("of",),
                f"on {f.source}, count_distinct counts codes: expected of: {per_code}",
            )
        )
    if f.having is not None:
        if per_code is None:
            having = " and ".join(s.name for s in SOURCES.values() if s.per_code)
            issues.append(
                _at(
                    cat,
                    "features",
                    fid,
                    ("having",),
                    f"'having' (a threshold per code) is available on {having} only",
                )
            )
        elif f.having.sum_of not in columns or not columns[f.having.sum_of].dtype.numeric:
            issues.append(
                _at(
                    cat,
                    "features",
                    fid,
                    ("having", "sum_of"),
                    f"expected a numeric "
                    f"pharmacy column (ddd, packages, amounts), got {f.having.sum_of!r}",
                )
            )
    return issues


def _check_event(cat: Catalogue, eid: str, event: Event) -> list[SpecIssue]:
    issues: list[SpecIssue] = []
    for part, sel in (("index", event.index), ("follow_up", event.follow_up)):
        source = sel.source
        columns: Mapping[str, object]
        if SOURCES[source].episodes:
            columns = EPISODE_COLUMNS
        else:
            columns = {c.name: c for c in SOURCE_TABLES[source].columns}
        issues += _check_selection(cat, "events", eid, (part,), sel, source, columns)
    return issues


def _check_codelist_use(
    cat: Catalogue, kind: str, ident: str, loc: Loc, name: str, source: str
) -> list[SpecIssue]:
    """A spec's reference to a code list: the list exists (a list that failed to load is
    reported once, with the list) and its codes are matched on the table the spec reads."""
    codelist = cat.codelists.get(name)
    if codelist is None:
        if _failed(cat, "codelists", name, ident):
            return []
        return [
            _at(cat, kind, ident, loc, f"unknown code list {name!r}{suggest(name, cat.codelists)}")
        ]
    want_table, column = CODE_SYSTEMS[codelist.system]
    if want_table == source:
        return []
    reader = "feature" if kind == "features" else "event"
    return [
        _at(
            cat,
            kind,
            ident,
            loc,
            f"code list {name!r} holds {codelist.system} codes, matched on "
            f"{want_table}.{column}; this {reader} reads {source}",
        )
    ]


def _check_selection(
    cat: Catalogue,
    kind: str,
    ident: str,
    loc: Loc,
    sel: Selection,
    source: str,
    columns: Mapping[str, object],
) -> list[SpecIssue]:
    issues: list[SpecIssue] = []
    for key in ("codes", "exclude_codes"):
        name = getattr(sel, key)
        if name is not None:
            issues += _check_codelist_use(cat, kind, ident, loc + (key,), name, source)
    for key in ("where", "exclude"):
        for col, value in getattr(sel, key).items():
            if col not in columns:
                what = "a hospital episode" if SOURCES[source].episodes else source
                issues.append(
                    _at(
                        cat,
                        kind,
                        ident,
                        loc + (key, col),
                        f"{what} has no column "
                        f"{col!r}{suggest(col, columns)} (columns: "
                        f"{', '.join(sorted(columns))})",
                    )
                )
                continue
            column = _column_of(source, col)
            message = _check_values(source, column, value) if column is not None else None
            if message:
                issues.append(_at(cat, kind, ident, loc + (key, col), message))
    return issues


def _column_of(source: str, name: str) -> Column | None:
    """The source column behind a filter: episode columns of hospital stays share the names and
    values of the stay's columns (an episode's stay_type is always 'classic')."""
    table = SOURCE_TABLES[source]
    if name not in table.column_names:
        return None
    column = table.column(name)
    if SOURCES[source].episodes and name == "stay_type":
        return dataclasses.replace(column, values=("classic",))
    return column


def _check_values(source: str, column: Column, value: Any) -> str | None:
    """A filter value the column can never hold (a typo such as 'clasic') would select nothing,
    silently: the first such value, with the allowed ones."""
    values = value if isinstance(value, list) else [value]
    where = f"{source}.{column.name}"
    for v in values:
        if column.dtype == BOOL:
            if not isinstance(v, bool):
                return f"{where} is true or false, got {v!r}"
        elif column.values:
            if v not in column.values:
                return (
                    f"{where} has no value {v!r}{suggest(str(v), column.values)} "
                    f"(values: {', '.join(column.values)})"
                )
        elif column.dtype == STR and isinstance(v, bool):
            return f"{where} holds text, got {v!r}"
    return None


def _check_cycles(cat: Catalogue) -> list[SpecIssue]:
    issues: list[SpecIssue] = []
    state: dict[str, int] = {}

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == 2 or name not in cat.features:
            return
        if state.get(name) == 1:
            cycle = path[path.index(name) :] + [name]
            issues.append(
                _at(
                    cat,
                    "features",
                    name,
                    ("derived",),
                    f"derived features form a cycle: {' -> '.join(cycle)}",
                )
            )
            return
        state[name] = 1
        for dep in feature_inputs(cat.features[name]):
            visit(dep, path + [name])
        state[name] = 2

    for name in cat.features:
        visit(name, [])
    return issues


def _check_indicator(cat: Catalogue, iid: str, ind: Indicator) -> list[SpecIssue]:
    issues: list[SpecIssue] = []
    for loc, cond in indicator_conditions(ind):
        issues += _check_condition(cat, "indicators", iid, loc, cond)
    if (
        ind.events is not None
        and ind.events not in cat.events
        and not _failed(cat, "events", ind.events, iid)
    ):
        issues.append(
            _at(
                cat,
                "indicators",
                iid,
                ("events",),
                f"unknown event {ind.events!r}{suggest(ind.events, cat.events)}",
            )
        )
    if ind.hospital_comparison is not None:
        for i, factor in enumerate(ind.hospital_comparison.risk_factors):
            if (
                factor not in MODEL_ONLY_FACTORS
                and cat.variable_kind(factor) is None
                and not _failed(cat, "features", factor, iid)
            ):
                known = list(cat.features) + list(ATTRIBUTES) + list(MODEL_ONLY_FACTORS)
                issues.append(
                    _at(
                        cat,
                        "indicators",
                        iid,
                        ("hospital_comparison", "risk_factors", i),
                        f"unknown risk factor {factor!r}{suggest(factor, known)}; "
                        "expected 'age5', a person attribute or a feature",
                    )
                )
    for loc, name in (
        (("numerator", "sum"), ind.numerator.sum if ind.numerator else None),
        (("measure", "denominator_sum"), ind.measure.denominator_sum),
    ):
        if name is None:
            continue
        kind = cat.variable_kind(name)
        if kind is None and _failed(cat, "features", name, iid):
            continue
        if kind is None:
            issues.append(
                _at(
                    cat,
                    "indicators",
                    iid,
                    loc,
                    f"unknown feature {name!r}{suggest(name, cat.features)}",
                )
            )
        elif kind not in ("number", "flag"):  # a flag adds 1 when true (deaths)
            issues.append(
                _at(
                    cat,
                    "indicators",
                    iid,
                    loc,
                    f"{name!r} is a {kind}; a sum needs a "
                    "numeric feature (count, sum, ...) or a flag (counts 1)",
                )
            )
    for i, item in enumerate(ind.breakdowns.by):
        for dim in [item] if isinstance(item, str) else item:
            message = _check_dim(cat, dim, iid)
            if message:
                issues.append(_at(cat, "indicators", iid, ("breakdowns", "by", i), message))
    for i, area in enumerate(ind.breakdowns.areas):
        if area not in cat.areas and not _failed(cat, "areas", area, iid):
            issues.append(
                _at(
                    cat,
                    "indicators",
                    iid,
                    ("breakdowns", "areas", i),
                    f"unknown area set {area!r}{suggest(area, cat.areas)}",
                )
            )
    if ind.population.sex and "sex" in ind.breakdowns.dims:
        issues.append(
            _at(
                cat,
                "indicators",
                iid,
                ("breakdowns", "by"),
                "the population has one sex only: a breakdown by sex repeats the total",
                "warning",
            )
        )
    return issues


def _check_dim(cat: Catalogue, dim: str, referrer: str) -> str | None:
    if dim.startswith("age:"):
        scheme = dim.split(":", 1)[1]
        if scheme not in cat.age_schemes and not _failed(cat, "age_schemes", scheme, referrer):
            return f"unknown age scheme {scheme!r}{suggest(scheme, cat.age_schemes)}"
        return None
    if dim in BREAKDOWN_ATTRIBUTES or cat.variable_kind(dim) == "flag":
        return None
    if _failed(cat, "features", dim, referrer):
        return None
    if dim == "age":
        return "break down by age through a named scheme: 'age:<scheme>' such as 'age:atlas'"
    known = (
        list(BREAKDOWN_ATTRIBUTES)
        + [f"age:{s}" for s in cat.age_schemes]
        + [f for f in cat.features if cat.variable_kind(f) == "flag"]
    )
    if cat.variable_kind(dim) == "number":
        return f"{dim!r} is a number; break down by flags or categories only"
    return f"unknown breakdown {dim!r}{suggest(dim, known)}"


def _check_areas(cat: Catalogue, aid: str, area_set: AreaSet) -> list[SpecIssue]:
    from phm.data.reference_data import municipalities

    known = set(municipalities()["nis"])
    issues = []
    seen: dict[str, str] = {}
    for code, area in area_set.areas.items():
        for i, nis in enumerate(area.municipalities):
            if nis in seen:
                # areas of one set partition (part of) the country, so an area is a geography level
                issues.append(
                    _at(
                        cat,
                        "areas",
                        aid,
                        ("areas", code, "municipalities", i),
                        f"municipality {nis} is already in area {seen[nis]!r}; areas of "
                        "one set must not overlap (make a second set instead)",
                    )
                )
            seen.setdefault(nis, code)
            if nis not in known:
                issues.append(
                    _at(
                        cat,
                        "areas",
                        aid,
                        ("areas", code, "municipalities", i),
                        f"unknown municipality NIS code {nis!r} (2019-2024 codes)"
                        f"{suggest(nis, known)}",
                    )
                )
    return issues


def _published_users(cat: Catalogue) -> dict[str, list[str]]:
    """Code list id -> the published indicators reading it (through features or events)."""
    out: dict[str, set[str]] = {}
    for iid, ind in cat.indicators.items():
        if ind.status != "published":
            continue
        names = {f.codes for f in cat.features_for([ind]) if f.codes}
        if ind.events in cat.events:
            names |= set(event_codelists(cat.events[ind.events]))
        for name in names:
            out.setdefault(name, set()).add(iid)
    return {k: sorted(v) for k, v in out.items()}


def _check_codelist(
    cat: Catalogue, cid: str, cl: CodeList, published: Sequence[str] = ()
) -> list[SpecIssue]:
    """Codes absent from the shipped reference tables are warnings: real lists may hold codes
    the synthetic warehouse never uses. A list of which no code is known, read by a published
    indicator, is an error (the indicator would be 0 everywhere) unless it says so with
    ``allow_absent: true`` and a ``reason``."""
    from phm.data.reference_data import nomenclature, products

    if cl.allow_absent != (cl.reason is not None):
        loc = ("allow_absent",) if cl.allow_absent else ("reason",)
        return [
            _at(
                cat,
                "codelists",
                cid,
                loc,
                "allow_absent: true and reason go together: "
                "give both (why none of the codes is in the reference tables) or neither",
            )
        ]

    if cl.system == "nomenclature":
        known = set(nomenclature()["nomen_code"])
        missing = [c for c in cl.codes if c not in known]
    elif cl.system == "atc":
        atc = set(products()["atc5"])
        missing = [c for c in cl.codes if not any(a.startswith(c) for a in atc)]
    elif cl.system == "cnk":
        known = set(products()["cnk"])
        missing = [c for c in cl.codes if c not in known]
    else:
        missing = []
    if missing and len(missing) == len(cl.codes) and published and not cl.allow_absent:
        return [
            _at(
                cat,
                "codelists",
                cid,
                ("codes",),
                f"none of the {len(cl.codes)} codes is "
                f"in the reference tables, so the published indicator(s) "
                f"{', '.join(published)} would be 0 everywhere; fix the codes, or add "
                "'allow_absent: true' and a 'reason' when that is expected",
            )
        ]
    if missing:
        return [
            _at(
                cat,
                "codelists",
                cid,
                ("codes",),
                f"{len(missing)} code(s) not in the reference tables: {missing[:5]}",
                "warning",
            )
        ]
    return []


def _check_scenario(cat: Catalogue, sid: str, sc: Scenario) -> list[SpecIssue]:
    """References of a scenario and of each of its variants (a grid value is checked where the
    grid gives it)."""
    try:
        variants = sc.variants()
    except ValidationError as exc:
        out = []
        for err in exc.errors():
            path = ".".join(str(p) for p in err["loc"])
            at = next((g for g in sc.grid if path.startswith(g) or g.startswith(path)), None)
            out.append(
                _at(
                    cat,
                    "simulations",
                    sid,
                    ("grid", at) if at else ("grid",),
                    f"a variant is invalid at {path}: "
                    f"{str(err['msg']).removeprefix('Value error, ')}",
                )
            )
        return out
    issues: list[SpecIssue] = []
    if sc.attribution.areas not in cat.areas and not _failed(
        cat, "areas", sc.attribution.areas, sid
    ):
        issues.append(
            _at(
                cat,
                "simulations",
                sid,
                ("attribution", "areas"),
                f"unknown area set {sc.attribution.areas!r}"
                f"{suggest(sc.attribution.areas, cat.areas)}",
            )
        )
    for i, cond in enumerate(sc.attribution.target_group):
        issues += _check_condition(
            cat, "simulations", sid, ("attribution", "target_group", i), cond
        )
    seen: set[tuple[Loc, str]] = set()
    for name, variant in variants.items():
        where = () if name == "base" else ("grid",)
        for i, feature in enumerate(variant.cost.features):
            loc = where or ("cost", "features", i)
            kind = cat.variable_kind(feature)
            if kind is None and _failed(cat, "features", feature, sid):
                continue
            if kind != "number" and (loc, feature) not in seen:
                seen.add((loc, feature))
                issues.append(
                    _at(
                        cat,
                        "simulations",
                        sid,
                        loc,
                        f"cost feature {feature!r}: "
                        + (
                            "expected a numeric feature, it is a " + kind
                            if kind
                            else f"unknown feature{suggest(feature, cat.features)}"
                        ),
                    )
                )
        for i, factor in enumerate(variant.risk_model.factors):
            loc = where or ("risk_model", "factors", i)
            if (
                factor not in SCENARIO_FACTORS
                and cat.variable_kind(factor) is None
                and (loc, factor) not in seen
                and not _failed(cat, "features", factor, sid)
            ):
                seen.add((loc, factor))
                known = [*cat.features, *ATTRIBUTES, *SCENARIO_FACTORS]
                issues.append(
                    _at(
                        cat,
                        "simulations",
                        sid,
                        loc,
                        f"unknown risk factor {factor!r}{suggest(factor, known)}",
                    )
                )
    return issues
