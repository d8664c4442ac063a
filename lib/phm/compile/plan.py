"""The logical plan of a run: what is computed, in how many passes. Pure Python, no Spark.

Sharing is decided here:
- every feature needed by the selected indicators is computed once, and all features that read
  the same source table share one pass over it (conditional aggregates in one group-by);
- all indicators and all their breakdowns are aggregated in one grouping-sets pass over a small
  cube (person-year table summed to municipality x breakdown values x age-sex strata).
"""

from __future__ import annotations

from dataclasses import dataclass

from phm.spec.catalogue import Catalogue, feature_inputs
from phm.spec.models import GEO_LEVELS, SOURCES, Event, Feature, Indicator

# the column of the cube that carries each geography level (belgium: no column, all rows)
GEO_COLUMNS = {"municipality": "nis", "arrondissement": "arr_nis", "province": "prov_nis",
               "region": "reg_nis", "belgium": None}


def dim_column(dim: str) -> str:
    """Cube column of a breakdown dimension: 'age:atlas' -> 'age_atlas'."""
    return dim.replace(":", "_")


@dataclass(frozen=True)
class SourcePass:
    """One scan of a source table computing several features in one aggregation."""

    table: str
    features: tuple[Feature, ...]

    @property
    def per_code(self) -> bool:
        """Pharmacy is first summed per person, year and ATC5, so thresholds per medicine
        (>= 80 DDD) and distinct medicines come out of the same pass."""
        return self.table == "pharmacy"

    @property
    def max_window(self) -> int:
        return max(f.window_years for f in self.features)


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

    @property
    def features(self) -> tuple[Feature, ...]:
        return tuple(f for p in self.passes for f in p.features) + self.derived

    @property
    def lookback_years(self) -> int:
        """Years read before the first period year: windows and 'insured_previous_year'."""
        return max([p.max_window for p in self.passes] + [2]) - 1


def _passes(features: list[Feature]) -> tuple[SourcePass, ...]:
    return tuple(SourcePass(table, tuple(f for f in features if f.source == table))
                 for table in SOURCES if any(f.source == table for f in features))


def feature_plan(catalogue: Catalogue, names: list[str]) -> Plan:
    """A plan computing only these person-year features (and their inputs), for readers of
    the person-year table other than indicators (financing simulations)."""
    features = catalogue.features_named(sorted(names))
    return Plan((), _passes(features), tuple(f for f in features if f.derived is not None),
                (), (), (), {})


def build_plan(catalogue: Catalogue, indicators: list[Indicator]) -> Plan:
    features = catalogue.features_for(indicators)
    passes = _passes(features)
    derived = tuple(f for f in features if f.derived is not None)
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
    hashes = {ind.id: catalogue.hash_of("indicators", ind.id) for ind in indicators}
    return Plan(tuple(indicators), passes, derived, dims, tuple(sets),
                tuple((a, tuple(c)) for a, c in sorted(area_sets.items())), hashes,
                tuple(catalogue.events_for(indicators)))


def explain(plan: Plan, catalogue: Catalogue) -> str:
    """The plan in words, for ``phm explain``."""
    lines = [f"{len(plan.indicators)} indicator(s): "
             + ", ".join(f"{i.id} v{i.version}" for i in plan.indicators), ""]
    if plan.events:
        follow = sorted({e.follow_up.source for e in plan.events})
        lines.append("0. Index events (materialised once, one row per index episode): "
                     "hospital_stay read ONCE, classic stays chained into episodes "
                     "(transfers the same or next day elsewhere, overlapping stays), each "
                     "event's index a flag on the same rows; follow-ups from "
                     f"{' and '.join(follow)} (read ONCE) found by one window per person, a "
                     "range frame per event, no join:")
        for e in plan.events:
            lines.append(f"   - {e.id}: {_describe_event(e)}")
        lines.append("")
    lines.append("1. Person-year table (materialised once, one row per person and year):")
    lines.append("   - population: the period years and the year before "
                 "(age, sex, BIM, residence, flags, insured the previous year)")
    for p in plan.passes:
        how = ("summed per person, year and ATC5, then per person and year" if p.per_code
               else "one group-by per person and year")
        window = (f"; reads {p.max_window - 1} extra year(s) for windows (a period whose "
                  "window starts before the data is not computed)" if p.max_window > 1 else "")
        lines.append(f"   - {p.table}: ONE pass, {len(p.features)} feature(s) as conditional "
                     f"aggregates, {how}{window}:")
        for f in p.features:
            lines.append(f"       {f.id}: {_describe_feature(f, catalogue)}")
    if plan.derived:
        lines.append("   - derived from the above, no extra pass: "
                     + ", ".join(f.id for f in plan.derived))
    if plan.events:
        lines.append(f"   - event counts (index stays, followed stays) of {len(plan.events)} "
                     "event(s), from the index-event table above")
    lines.append("")
    n_sets = len(plan.grouping_sets)
    lines.append(f"2. Aggregation: the person-year table summed once into a cube (municipality x "
                 f"{', '.join(plan.dims) or 'no breakdown'} x age band x sex), then ONE "
                 f"grouping-sets pass over it ({n_sets} set(s); each indicator's rows go to "
                 "its own sets only), strata added up per cell:")
    for level, combo in plan.grouping_sets:
        lines.append(f"   - {level}" + (f" x {' x '.join(combo)}" if combo else ""))
    for area, combos in plan.area_sets:
        lines.append(f"   - custom areas {area!r} x {len(combos)} breakdown set(s)")
    lines.append("")
    compared = [i for i in plan.indicators if i.hospital_comparison]
    if compared:
        lines.append("2b. Hospital comparison (index stays per discharging hospital; a logistic "
                     "risk model per indicator and year, fitted on covariate patterns):")
        for ind in compared:
            hc = ind.hospital_comparison
            lines.append(f"   - {ind.id}: risk factors {', '.join(hc.risk_factors)}; funnel "
                         f"limits {', '.join(f'{x:.1%}' for x in hc.funnel)}")
        lines.append("")
    lines.append("3. Per indicator (statistics, then disclosure control):")
    for ind in plan.indicators:
        std = ind.standardisation
        std_text = {"none": "crude only", "direct": f"direct age-sex standardisation on "
                    f"{std.reference}", "indirect": "indirect standardisation (O/E against "
                    "Belgium's age-sex rates)"}[std.method]
        grain = {"person_year": "", "stay": f" of index stays of {ind.events}",
                 "person": f" of persons with an index stay of {ind.events}"}[ind.grain]
        lines.append(f"   - {ind.id} [{plan.hashes[ind.id]}]: {ind.measure.kind}{grain} "
                     f"x{ind.measure.per:g}"
                     f" ({ind.measure.unit}), CI {ind.measure.interval}, {std_text}; person "
                     f"counts perturbed (cell key), cells under {ind.disclosure.min_count} "
                     "persons hidden")
    lines += ["", "Indicators, as compiled from their specs (who is counted, what, how it is "
              "expressed):"]
    for ind in plan.indicators:
        lines += describe_indicator(ind, catalogue)
    return "\n".join(lines)


def describe_indicator(ind: Indicator, catalogue: Catalogue) -> list[str]:
    """An indicator in words: population, numerator, measure and the spec's definition, so an
    analyst can check that the spec says what was meant."""
    m = ind.measure
    lines = [f"   - {ind.id} v{ind.version} ({ind.status}): {ind.label.en}",
             f"       population: {_describe_population(ind)}",
             f"       numerator: {_describe_numerator(ind, catalogue)}"]
    per = "" if m.per == 1 else f" x {m.per:g}"
    value = {"proportion": f"numerator / population{per}",
             "rate": {"persons": f"numerator / persons of the population{per}",
                      "person_years": f"numerator / person-years insured{per}",
                      "person_days": f"numerator / person-days insured{per}"}[m.denominator],
             "mean": f"numerator / persons of the population{per} (persons with 0 count as 0)",
             "ratio": f"numerator / sum of {m.denominator_sum} over the population{per}"}[m.kind]
    if ind.grain != "person_year":
        value = "numerator / " + {"stay": "index stays", "person": "persons with an index "
                                  "stay"}[ind.grain] + f" of {ind.events}{per}"
    std = ind.standardisation
    std_text = {"none": "crude", "direct": f"direct age-sex standardisation on {std.reference}",
                "indirect": "indirect age-sex standardisation (O/E against Belgium)"}[std.method]
    ci = "no interval" if m.interval == "none" else f"{m.interval} {m.ci_level:.0%} interval"
    lines.append(f"       measure: {m.kind} = {value}, in {m.unit}, {m.decimals} decimal(s); "
                 f"{ci}; {std_text}")
    if ind.pooled_years > 1:
        lines.append(f"       period: {ind.pooled_years} years pooled (period Y adds up the "
                     f"numerators and denominators of Y-{ind.pooled_years - 1} to Y)")
    if ind.change:
        lines.append("       change: the value minus that of the previous period, with its "
                     "interval")
    lines.append(f"       definition: {' '.join(ind.definition.en.split())}")
    return lines


def _describe_population(ind: Indicator) -> str:
    pop = ind.population
    who = "index stays of persons" if ind.grain == "stay" else "persons"
    age = pop.age
    if age.min is not None and age.max is not None:
        ages = f"aged {age.min}-{age.max} at 31 December"
    elif age.min is not None:
        ages = f"aged {age.min} and over at 31 December"
    elif age.max is not None:
        ages = f"aged {age.max} or under at 31 December"
    else:
        ages = "of all ages"
    parts = [f"{who} in the population of the year, {ages}"]
    if pop.sex:
        parts.append({"F": "women only", "M": "men only"}[pop.sex])
    if pop.alive_at_end:
        parts.append("alive at the end of the year")
    if pop.insured_previous_year:
        parts.append("also insured the year before")
    if pop.insured_years > 1:
        parts.append(f"in the population in each of the {pop.insured_years} years up to the "
                     "period year")
    if pop.where:
        parts.append("with " + " and ".join(describe_condition(c) for c in pop.where))
    if pop.exclude:
        parts.append("excluding " + " or ".join(describe_condition(c) for c in pop.exclude))
    return ", ".join(parts)


def _describe_numerator(ind: Indicator, catalogue: Catalogue) -> str:
    if ind.grain == "stay":
        return f"index stays of {ind.events} with a follow-up in the window"
    if ind.grain == "person":
        return f"persons with a followed index stay of {ind.events}"
    num = ind.numerator
    if num.sum is None:
        return "persons with " + " and ".join(describe_condition(c) for c in num.where)
    feature = catalogue.features.get(num.sum)
    unit = f" ({feature.unit})" if feature is not None and feature.unit else ""
    who = ("the persons of the population with "
           + " and ".join(describe_condition(c) for c in num.where)) if num.where \
        else "the persons of the population"
    return f"sum of {num.sum}{unit} over {who}"


def describe_condition(c) -> str:
    """A population or target-group condition in words (also used for scenarios)."""
    if c.equals is not None:
        value = str(c.equals).lower() if isinstance(c.equals, bool) else c.equals
        return f"{c.feature} = {value}"
    if c.in_ is not None:
        return f"{c.feature} in {', '.join(map(str, c.in_))}"
    if c.top is not None:
        return (f"{c.feature} in the top {c.top * 100:g}% of the population of the year "
                "(ties at the cut included)")
    if c.at_least is not None and c.at_most is not None:
        return f"{c.feature} {c.at_least:g}-{c.at_most:g}"
    if c.at_least is not None:
        return f"{c.feature} >= {c.at_least:g}"
    return f"{c.feature} <= {c.at_most:g}"


def _describe_selection(sel) -> str:
    parts = []
    if sel.codes:
        parts.append(f"codes {sel.codes}")
    parts += [f"{k} = {v}" for k, v in sel.where.items()]
    if sel.exclude_codes:
        parts.append(f"not codes {sel.exclude_codes}")
    parts += [f"not {k} = {v}" for k, v in sel.exclude.items()]
    return ", ".join(parts) or "all"


def _describe_event(e: Event) -> str:
    w = e.follow_up.window
    what = "an episode" if e.follow_up.source == "hospital_stay" else "a claim"
    return (f"index episodes ({_describe_selection(e.index)}) followed by {what} "
            f"({_describe_selection(e.follow_up)}) {w.from_days}-{w.to_days} days after "
            f"discharge; indexes whose window passes the data end are left out")


def _describe_feature(f: Feature, catalogue: Catalogue) -> str:
    what = {"count": "number of rows", "sum": f"sum of {f.of}", "count_distinct":
            f"distinct {f.of}", "any": "at least one row", "max": f"max of {f.of}",
            "pdc": f"proportion of days covered ({f.of} = days, overlaps shifted)"}[f.aggregate]
    parts = [what]
    if f.codes:
        cl = catalogue.codelists[f.codes]
        parts.append(f"with {cl.system} in {f.codes} v{cl.version} ({len(cl.codes)} code(s))")
    if f.where:
        parts.append("where " + ", ".join(f"{k} = {v}" for k, v in f.where.items()))
    if f.having:
        parts.append(f"counting codes with sum({f.having.sum_of}) >= {f.having.at_least:g}")
    if f.window_years > 1:
        parts.append(f"over {f.window_years} years")
    if f.season is not None:
        parts.append(f"dated in the season {f.season.label} of period year Y")
    return " ".join(parts)


__all__ = ["GEO_COLUMNS", "Plan", "SourcePass", "build_plan", "describe_indicator", "dim_column",
           "explain", "feature_inputs"]
